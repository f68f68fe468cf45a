"""``melgen generate``: one score in, the same score with a generated melody out.

A thin layer over :func:`music21_melgen.engine.generate_file`. INPUT is
anything music21 reads (MusicXML, MIDI, ABC, RomanText, ...) plus the Rock
Corpus ``.har``; the output format follows OUTPUT's extension. MelGen's own
call (a MIDI of chord bass notes plus a seed-melody MIDI, giving a melody
MIDI) is ``melgen generate chords.mid --primer seed.mid -o mel.mid``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from music21_melgen.commands.options import (
    add_sampling_arguments,
    count,
    parse_chord_parts,
    parse_form,
    positive_float,
    sampling_controls,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Attach ``generate`` to the ``melgen`` subcommands."""
    parser = subparsers.add_parser(
        "generate",
        help="write a melody over the chords of one score",
        description=(
            "Read the chords of INPUT (chord symbols, Roman numerals, or a chordified "
            "accompaniment), generate a melody over them and write the score with the melody "
            "as a new top part to OUTPUT. The output format follows the extension: .musicxml, "
            ".xml, .mxl (MusicXML) or .mid, .midi (MIDI)."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="a score music21 reads, or a Rock Corpus .har file")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the score to write")
    parser.add_argument(
        "--seed", type=count, default=0, metavar="N",
        help="random seed; the same input, settings and seed give the same melody (default 0)",
    )
    add_sampling_arguments(parser)
    parser.add_argument(
        "--model", default="default", metavar="PATH",
        help="bundled model name (default, melgen2019; see melgen models) or a checkpoint folder (default: default); "
        "each model brings its own recommended sampling settings, which the options above override",
    )
    parser.add_argument(
        "--primer", metavar="FILE",
        help="a melody (MIDI, MusicXML, ...) the generated line starts with and continues",
    )
    parser.add_argument(
        "--chord-parts", type=parse_chord_parts, metavar="PARTS",
        help="parts to read the chords from, chordified: names or numbers counted from 1 "
        "(top part = 1), comma-separated; default: chord symbols, else Roman numerals, else "
        "every part but drums and the melody",
    )
    parser.add_argument(
        "--form", type=parse_form, default="auto", metavar="auto|none|LETTERS|PASSAGES",
        help="which passages echo earlier ones: auto (found in the repeated harmony, default), "
        "none (every passage new), letters over equal phrases such as AABA, or passages by "
        "measure number such as 9-16=1-8,25-32=1-8; --repetition sets "
        "how closely an echo repeats",
    )
    parser.add_argument(
        "--print-form", action="store_true", help="print the passages found (or given) before generating",
    )
    parser.add_argument(
        "--print-chords", action="store_true",
        help="print the chord timeline read from INPUT before generating",
    )
    parser.add_argument(
        "--max-input-mb", type=positive_float, default=50, metavar="MB",
        help="most MusicXML read from one input, in MB (an .mxl: its unpacked score); default 50, "
        "raise it for a larger score",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Generate as the arguments say; print what was written; return the exit status."""
    from music21_melgen import engine

    limit = int(args.max_input_mb * 1_000_000)
    if args.print_chords or args.print_form:
        score = engine.read_score(args.input, limit=limit)
        if args.print_chords:
            print(engine.chords(score, chord_parts=args.chord_parts))
        if args.print_form:
            print(engine.form(score, form=args.form, chord_parts=args.chord_parts))
    result = engine.generate_file(
        args.input,
        args.output,
        seed=args.seed,
        model=args.model,
        chord_parts=args.chord_parts,
        primer=args.primer,
        limit=limit,
        form=args.form,
        **sampling_controls(args),
    )
    if result.key_estimated:
        print(f"melgen: note: {result.input} has no written key; estimated {result.key}", file=sys.stderr)
    print(
        f"wrote {result.output}: {result.notes} notes over {result.measures} measures, key {result.key}, "
        f"seed {result.seed}, model {result.model} ({result.model_hash[:12]}), {result.seconds:.1f} s"
    )
    return 0
