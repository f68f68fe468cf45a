"""``melgen evaluate``: generated melodies against real ones, model against model.

A thin layer over :mod:`music21_melgen.training.evaluate`: reads the held-out songs
of a corpus (``--corpus``: a Rock Corpus or POP909 folder, split ``test`` by
default, read by :mod:`music21_melgen.training.sources`) or a folder of scores with
chords and a melody (``--scores``, every score unless ``--split`` is given; an
ABC book gives one song per tune), generates over their real chords with each
``--model`` (first: the one under test; default ``default`` then ``seed``),
prints the table and the goals, and writes ``evaluation.json``,
``evaluation.md`` and the histogram plots into ``--out``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from music21_melgen.commands.options import add_sampling_arguments, count, sampling_controls
from music21_melgen.sampling import Bars

__all__ = ["add_parser", "run"]

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
    source.add_argument(
        "--corpus", metavar="DIR", help="Rock Corpus folder (har/, mel/) or POP909 folder (NNN/ song folders)"
    )
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
        "--split", choices=("train", "validation", "test", "all"),
        help="which songs: the held-out test split by default for --corpus, every score by default "
        "for --scores (a model trained on that folder: give --split test)",
    )
    parser.add_argument("--out", default="evaluation", metavar="DIR", help="report folder (default: evaluation)")
    parser.add_argument(
        "--seed", type=count, default=0, metavar="N",
        help="song i is sampled with seed N+i in every row (default 0)",
    )
    parser.add_argument("--limit", type=count, metavar="N", help="only the first N songs")
    parser.add_argument(
        "--whole-songs", action="store_true",
        help="keep each corpus song's instrumental intro and outro (default: the sung part, as in training)",
    )
    parser.add_argument(
        "--analysts", default="dt,tdc", metavar="A,B",
        help="whose Rock Corpus harmonies to read: dt, tdc or both (default; Rock Corpus only); "
        "the form measures use dt",
    )
    tuning = parser.add_argument_group(
        "sampling of the first model (each model otherwise samples with its own recommended settings)"
    )
    add_sampling_arguments(tuning)
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG plots")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=run)
    return parser


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run."""
    words = ["melgen", "evaluate"]
    if args.corpus is not None:
        words += ["--corpus", args.corpus, "--split", args.split or "test"]
    else:
        words += ["--scores", args.scores]
        if args.split is not None:
            words += ["--split", args.split]
    for model in args.model or ():
        words += ["--model", model]
    words += ["--seed", str(args.seed), "--out", args.out]
    if args.limit is not None:
        words += ["--limit", str(args.limit)]
    if args.whole_songs:
        words.append("--whole-songs")
    for flag, value in sampling_controls(args).items():
        if flag == "continuation_reduction":
            value = "off" if value is None else ",".join(str(part) for part in value)
        elif flag == "pitch_range":
            value = "-".join(str(part) for part in value)
        elif isinstance(value, Bars):
            value = f"{value.count}bar"
        option = "range" if flag == "pitch_range" else flag.replace("_", "-")
        words += [f"--{option}", str(value)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation; print the table, the goals and the files written."""
    from music21_melgen.training.evaluate import DEFAULT_MODELS, corpus_songs, evaluate, score_songs
    from music21_melgen.training.report import format_table, goals, write_report

    def say(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    if args.corpus is not None:
        analysts = tuple(name.strip() for name in args.analysts.split(",") if name.strip())
        songs = corpus_songs(
            args.corpus, split=args.split or "test", limit=args.limit, whole_songs=args.whole_songs, analysts=analysts
        )
    else:
        songs = score_songs(args.scores, split=args.split or "all", limit=args.limit)
    say(f"{songs.source}: {len(songs.songs)} songs")
    models = args.model or list(DEFAULT_MODELS)
    evaluation = evaluate(
        songs, models, seed=args.seed, controls=sampling_controls(args), command=_command(args), progress=say
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
