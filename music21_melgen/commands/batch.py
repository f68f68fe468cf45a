"""``melgen batch``: a melody for every score of a corpus (see ``music21_melgen.batch``).

Exit status: 0 when every input was written or already there, 1 when any
input failed (each is in the manifest and the summary), 2 for bad arguments
or an output folder that cannot be written.
"""

from __future__ import annotations

import argparse
from typing import Any

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
        "-j", "--jobs", type=_positive_int, default=1, metavar="N",
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
        "--seed", type=_non_negative_int, default=0,
        help="base seed; each song's seed derives from it and the song's path (default 0)",
    )
    parser.add_argument(
        "--model", default="default",
        help="bundled model name (default, seed) or a checkpoint folder (default: default)",
    )
    _add_sampling_arguments(parser)
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
        temperature=args.temperature,
        top_p=args.top_p,
        chord_tone_weight=args.chord_tone_weight,
        continuation_reduction=args.continuation_reduction,
        candidates=args.candidates,
        pitch_range=args.pitch_range,
        longest_note=args.longest_note,
    )
    print(report.summary())
    return 0 if report.success else 1


def _add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """The sampling options of ``melgen generate``, same names, defaults and parsers."""
    from music21_melgen.commands.generate import parse_chord_parts, parse_range, parse_reduction

    group = parser.add_argument_group("sampling (as in melgen generate, applied to every song)")
    group.add_argument(
        "--temperature", type=_positive_float, default=1.0, metavar="T",
        help="below 1 safer and more repetitive, above 1 wilder (default 1.0)",
    )
    group.add_argument(
        "--top-p", type=_positive_float, default=0.95, metavar="P",
        help="nucleus share in (0, 1]; lower is safer, 1 turns it off (default 0.95)",
    )
    group.add_argument(
        "--chord-tone-weight", type=_positive_float, default=1.0, metavar="W",
        help="above 1 more chord tones, below 1 fewer (default 1.0 = the model as trained)",
    )
    reduction = group.add_mutually_exclusive_group()
    reduction.add_argument(
        "--continuation-reduction", type=parse_reduction, default=(1.3, 1.4), metavar="START,GROWTH",
        help="divisor of the chance to hold a note, growing each sixteenth held; larger "
        "values give shorter notes (default 1.3,1.4)",
    )
    reduction.add_argument(
        "--no-continuation-reduction", dest="continuation_reduction", action="store_const", const=None,
        help="hold notes as long as the model likes",
    )
    group.add_argument(
        "--candidates", type=_positive_int, default=1, metavar="N",
        help="best of N melodies by the model's likelihood; more is slower and safer (default 1)",
    )
    group.add_argument(
        "--range", dest="pitch_range", type=parse_range, default=(55, 79), metavar="LOW-HIGH",
        help="lowest and highest melody pitch, MIDI numbers or note names (default 55-79, G3-G5)",
    )
    group.add_argument(
        "--longest-note", type=_positive_float, default=None, metavar="QL",
        help="longest note in quarter notes (4 = a 4/4 bar) (default: no limit)",
    )
    group.add_argument(
        "--chord-parts", type=parse_chord_parts, metavar="PARTS",
        help="parts to read the chords from in every score, names or numbers from 1, "
        "comma-separated (default: chord symbols, else Roman numerals, else the accompaniment)",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value
