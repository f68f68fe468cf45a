"""``melgen batch``: a melody for every score of a corpus (see ``music21_melgen.batch``).

Exit status: 0 when every input was written or already there, 1 when any
input failed (each is in the manifest and the summary), 2 for bad arguments
or an output folder that cannot be written, 130 when interrupted (Ctrl-C or
SIGTERM: the workers are stopped, the manifest keeps its whole lines).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from music21_melgen.commands.options import (
    add_sampling_arguments,
    count,
    parse_chord_parts,
    parse_form,
    positive_int,
    sampling_controls,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Attach ``batch`` to the ``melgen`` subcommands."""
    from music21_melgen.batch import INPUT_EXTENSIONS, MANIFEST_NAME, OUTPUT_FORMATS

    parser = subparsers.add_parser(
        "batch",
        help="generate a melody for every score of a corpus, locally or on a Dask cluster",
        description=(
            "Generate a melody for every input and write one output score each into OUT_DIR, "
            f"with a manifest ({MANIFEST_NAME}, one JSON line per input). Outputs already "
            "there are skipped, so re-running after an interruption resumes. Folders are "
            "searched recursively for: " + " ".join(INPUT_EXTENSIONS) + "."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="score files, folders or glob patterns (quote them)")
    parser.add_argument("-o", "--out-dir", required=True, metavar="OUT_DIR", help="output folder (created if missing)")
    parser.add_argument(
        "-j", "--jobs", type=positive_int, default=1, metavar="N",
        help="worker processes on this machine (default 1; ignored with --scheduler)",
    )
    parser.add_argument(
        "--format", choices=tuple(OUTPUT_FORMATS), default="musicxml",
        help="output format (default musicxml)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (needs the 'dask' extra; "
        "workers must see the same paths)",
    )
    parser.add_argument(
        "--seed", type=count, default=0,
        help="base seed; each song's seed derives from it and the song's path (default 0)",
    )
    parser.add_argument(
        "--model", default="default",
        help="bundled model name (default, seed) or a checkpoint folder (default: default)",
    )
    group = parser.add_argument_group(
        "sampling (as in melgen generate, applied to every song; unset: the model's recommended settings)"
    )
    add_sampling_arguments(group)
    group.add_argument(
        "--chord-parts", type=parse_chord_parts, metavar="PARTS",
        help="parts to read the chords from in every score, names or numbers from 1, "
        "comma-separated (default: chord symbols, else Roman numerals, else the accompaniment)",
    )
    group.add_argument(
        "--form", type=parse_form, default="auto", metavar="auto|none|LETTERS|PASSAGES",
        help="which passages echo earlier ones in every score: auto (repeated harmony, default), "
        "none, letters over equal phrases such as AABA, or passages such as 9-16=1-8",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="regenerate outputs that are already there",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the batch the arguments describe; print the summary; return the exit status."""
    from music21_melgen.batch import run_batch

    with _terminate_as_interrupt():
        report = run_batch(
            args.inputs,
            args.out_dir,
            jobs=args.jobs,
            format=args.format,
            scheduler=args.scheduler,
            seed=args.seed,
            model=args.model,
            overwrite=args.overwrite,
            progress=args.progress,
            chord_parts=args.chord_parts,
            form=args.form,
            **sampling_controls(args),
        )
    print(report.summary())
    return 0 if report.success else 1


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While open, SIGTERM is handled like Ctrl-C: the batch stops its workers, the manifest
    keeps its whole lines, no output is left half written (``melgen`` then exits with 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
