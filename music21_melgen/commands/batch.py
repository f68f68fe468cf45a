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
        longest_rest=args.longest_rest,
    )
    print(report.summary())
    return 0 if report.success else 1


def _add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """The sampling options of ``melgen generate``, same names, defaults and parsers.

    Each defaults to ``MODEL_DEFAULT``: the model's recommended value.
    """
    from music21_melgen.commands.generate import (
        parse_chord_parts,
        parse_length,
        parse_range,
        parse_reduction,
        recommendation,
    )
    from music21_melgen.sampling import MODEL_DEFAULT

    group = parser.add_argument_group(
        "sampling (as in melgen generate, applied to every song; unset: the model's recommended settings)"
    )
    group.add_argument(
        "--temperature", type=_positive_float, default=MODEL_DEFAULT, metavar="T",
        help=f"below 1 safer and more repetitive, above 1 wilder ({recommendation('temperature')})",
    )
    group.add_argument(
        "--top-p", type=_positive_float, default=MODEL_DEFAULT, metavar="P",
        help=f"nucleus share in (0, 1]; lower is safer, 1 turns it off ({recommendation('top_p')})",
    )
    group.add_argument(
        "--chord-tone-weight", type=_positive_float, default=MODEL_DEFAULT, metavar="W",
        help=f"above 1 more chord tones, below 1 fewer, 1 = the model as trained ({recommendation('chord_tone_weight')})",
    )
    reduction = group.add_mutually_exclusive_group()
    reduction.add_argument(
        "--continuation-reduction", type=parse_reduction, default=MODEL_DEFAULT, metavar="START,GROWTH",
        help="divisor of the chance to hold a note, growing each sixteenth held; larger "
        f"values give shorter notes ({recommendation('continuation_reduction')})",
    )
    reduction.add_argument(
        "--no-continuation-reduction", dest="continuation_reduction", action="store_const", const=None,
        help="hold notes as long as the model likes",
    )
    group.add_argument(
        "--candidates", type=_positive_int, default=MODEL_DEFAULT, metavar="N",
        help=f"best of N melodies by the model's likelihood; more is slower and safer ({recommendation('candidates')})",
    )
    group.add_argument(
        "--range", dest="pitch_range", type=parse_range, default=MODEL_DEFAULT, metavar="LOW-HIGH",
        help="lowest and highest melody pitch, MIDI numbers or note names, e.g. G3-G5 "
        f"({recommendation('pitch_range')})",
    )
    group.add_argument(
        "--longest-note", type=parse_length, default=MODEL_DEFAULT, metavar="QL|Nbar",
        help="longest note in quarter notes (4 = a 4/4 bar) or bars of the meter (1bar) "
        f"({recommendation('longest_note')})",
    )
    group.add_argument(
        "--longest-rest", type=_positive_float, default=MODEL_DEFAULT, metavar="QL",
        help=f"longest rest in quarter notes ({recommendation('longest_rest')})",
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
