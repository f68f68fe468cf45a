"""The ``melgen`` command line.

Thin argparse subcommands over the same library functions users call. Each
subcommand lives in ``music21_melgen.commands.<name>`` and exposes
``add_parser(subparsers)``, which sets ``handler`` to a function taking the
parsed arguments and returning an exit code. Errors of the package's family
print as ``melgen: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from music21_melgen.errors import MelgenError

# Subcommand modules, in the order ``melgen --help`` lists them.
COMMANDS = (
    "generate",
    "batch",
    "train",
    "evaluate",
    "corpus",
    "models",
    "example",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every subcommand attached."""
    parser = argparse.ArgumentParser(
        prog="melgen",
        description="Write a melody over the chords of a score (music21-melgen).",
    )
    from music21_melgen import __version__

    parser.add_argument("--version", action="version", version=f"melgen (music21-melgen) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"music21_melgen.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``melgen`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args) or 0)
    except MelgenError as error:
        print(f"melgen: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("melgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`melgen ... | head`): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
