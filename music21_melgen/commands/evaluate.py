"""``melgen evaluate``: generated melodies against real ones, model against model.

A thin layer over :mod:`training.evaluate`: reads the held-out Rock Corpus
songs (``--corpus``, split ``test`` by default) or a folder of scores with
chords and a melody (``--scores``), generates over their real chords with each
``--model`` (first: the one under test; default ``default`` then ``seed``),
prints the table and the goals, and writes ``evaluation.json``,
``evaluation.md`` and the histogram plots into ``--out``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from music21_melgen.commands.generate import parse_length, recommendation
from music21_melgen.sampling import Bars

__all__ = ["add_parser", "run"]

_KEEP = object()  # --continuation-reduction not given: the model's recommendation


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def _reduction(text: str) -> tuple[float, float] | None:
    """``off`` or ``START,GROWTH`` of the continuation reduction."""
    if text.strip().lower() == "off":
        return None
    try:
        start, growth = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write off or START,GROWTH, e.g. 1.3,1.4") from None
    if not (start > 0 and growth > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: START and GROWTH must be positive")
    return start, growth


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Attach ``evaluate`` to the ``melgen`` subcommands."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure generated melodies against real ones (and models against each other)",
        description=(
            "Generate a melody over the real chords of each held-out song with each model, and "
            "set chord-tone ratio, rests, stuck notes, intervals and histograms beside the real "
            "melodies'. Rows: real, each model, each model without continuation reduction. "
            "Writes evaluation.json, evaluation.md and histogram_*.png into OUT."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", metavar="DIR", help="Rock Corpus folder (har/, mel/)")
    source.add_argument(
        "--scores", metavar="DIR",
        help="a folder of scores with chords and a melody part (the highest mostly-monophonic part)",
    )
    parser.add_argument(
        "--model", action="append", metavar="PATH",
        help="bundled model (default, seed) or checkpoint folder; repeat for more rows; the first "
        "is the one under test (default: --model default --model seed)",
    )
    parser.add_argument(
        "--split", choices=("train", "validation", "test", "all"), default="test",
        help="which corpus songs (default: test, the held-out ones)",
    )
    parser.add_argument("--out", default="evaluation", metavar="DIR", help="report folder (default: evaluation)")
    parser.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="N",
        help="song i is sampled with seed N+i in every row (default 0)",
    )
    parser.add_argument("--limit", type=_non_negative_int, metavar="N", help="only the first N songs")
    parser.add_argument(
        "--whole-songs", action="store_true",
        help="keep each corpus song's instrumental intro and outro (default: the sung part, as in training)",
    )
    tuning = parser.add_argument_group(
        "sampling of the first model (each model otherwise samples with its own recommended settings)"
    )
    tuning.add_argument(
        "--temperature", type=_positive_float, metavar="T",
        help=f"<1 safer, >1 wilder ({recommendation('temperature')})",
    )
    tuning.add_argument(
        "--top-p", type=_positive_float, metavar="P",
        help=f"nucleus share, 1.0 = off ({recommendation('top_p')})",
    )
    tuning.add_argument(
        "--chord-tone-weight", type=_positive_float, metavar="W",
        help=f"multiplies the probability of chord tones; >1 more chord tones ({recommendation('chord_tone_weight')})",
    )
    tuning.add_argument(
        "--longest-note", type=parse_length, metavar="QL|Nbar",
        help="no note held longer than this many quarter lengths, or bars of the meter (1bar) "
        f"({recommendation('longest_note')})",
    )
    tuning.add_argument(
        "--continuation-reduction", type=_reduction, default=_KEEP, metavar="START,GROWTH|off",
        help="MelGen's divisor of held notes for the model under test, off = none "
        f"({recommendation('continuation_reduction')}); a model sampled with it also gets a "
        "'..., no CR' row with it off",
    )
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG plots")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=run)
    return parser


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run."""
    words = ["melgen", "evaluate"]
    if args.corpus is not None:
        words += ["--corpus", args.corpus, "--split", args.split]
    else:
        words += ["--scores", args.scores]
    for model in args.model or ():
        words += ["--model", model]
    words += ["--seed", str(args.seed), "--out", args.out]
    if args.limit is not None:
        words += ["--limit", str(args.limit)]
    if args.whole_songs:
        words.append("--whole-songs")
    for flag, value in _controls(args).items():
        if flag == "continuation_reduction":
            value = "off" if value is None else ",".join(str(part) for part in value)
        elif isinstance(value, Bars):
            value = f"{value.count}bar"
        words += [f"--{flag.replace('_', '-')}", str(value)]
    return shlex.join(words)


def _controls(args: argparse.Namespace) -> dict[str, Any]:
    names = ("temperature", "top_p", "chord_tone_weight", "longest_note")
    controls: dict[str, Any] = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.continuation_reduction is not _KEEP:
        controls["continuation_reduction"] = args.continuation_reduction
    return controls


def run(args: argparse.Namespace) -> int:
    """Run the evaluation; print the table, the goals and the files written."""
    from training.evaluate import DEFAULT_MODELS, corpus_songs, evaluate, format_table, goals, score_songs, write_report

    def say(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    if args.corpus is not None:
        songs = corpus_songs(args.corpus, split=args.split, limit=args.limit, whole_songs=args.whole_songs)
    else:
        songs = score_songs(args.scores, limit=args.limit)
    say(f"{songs.source}: {len(songs.songs)} songs")
    models = args.model or list(DEFAULT_MODELS)
    evaluation = evaluate(
        songs, models, seed=args.seed, controls=_controls(args), command=_command(args), progress=say
    )
    print(format_table(evaluation))
    print()
    for goal in goals(evaluation):
        print(f"[{'met' if goal.met else 'MISSED'}] {evaluation.rows[1].label}: {goal.text} — {goal.detail}")
    if evaluation.skipped:
        print(f"\nleft out {len(evaluation.skipped)}: " + "; ".join(evaluation.skipped))
    written = write_report(evaluation, args.out, plots=args.plots)
    print("\nwrote " + ", ".join(str(path) for path in written))
    return 0
