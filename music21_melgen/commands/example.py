"""``melgen example``: copy the bundled example lead sheet, to try the quick start from anywhere."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Attach ``example`` to the ``melgen`` subcommands."""
    parser = subparsers.add_parser("example", help="copy the bundled example lead sheet", description=__doc__)
    parser.add_argument(
        "target", nargs="?", default=".", metavar="TARGET", help="a file or folder to copy it to (default: here)"
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Copy the example and say where it went."""
    from music21_melgen.examples import copy_example

    print(f"wrote {copy_example(args.target)}")
    return 0
