"""``melgen train``: train a melody model on song folders and write a checkpoint folder.

``--corpus DIR`` (a Rock Corpus or POP909 folder) and ``--scores DIR`` (a
folder of scores with chords and a melody part) may each be given several
times; the songs of every source are pooled, each source with its own fixed
split (:mod:`music21_melgen.training.sources`, :mod:`music21_melgen.training.split`).
"""

from __future__ import annotations

import argparse
import shlex
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Attach ``train`` to the ``melgen`` parser."""
    parser = subparsers.add_parser(
        "train",
        help="train a melody model on corpora and score folders",
        description="Train a melody model on song folders (Rock Corpus, POP909, scores; repeat "
        "--corpus and --scores to pool them) and write model.safetensors + config.json to --out. "
        "Songs are split by corpus and stem into train / validation / test (training/split.py).",
    )
    parser.add_argument(
        "--corpus", action="append", default=[], metavar="DIR",
        help="Rock Corpus folder (har/, mel/) or POP909 folder (NNN/ song folders); repeat for more",
    )
    parser.add_argument(
        "--scores", action="append", default=[], metavar="DIR",
        help="folder of scores with chord symbols (or an accompaniment) and a melody part; repeat for more",
    )
    parser.add_argument("--out", required=True, help="checkpoint folder to write (created if needed)")
    parser.add_argument("--preset", default="default", help="training preset name (default: default)")
    parser.add_argument(
        "--epochs", type=int, default=None, help="passes over the training songs at most (default: the preset's)"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=None,
        help="wall-clock budget in minutes; training stops after it (default: the preset's)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Train, print the figures, return 0."""
    from music21_melgen.errors import MelgenError
    from music21_melgen.training.sources import as_source
    from music21_melgen.training.train import train

    if not args.corpus and not args.scores:
        raise MelgenError("train needs at least one song source: --corpus DIR or --scores DIR")
    sources = [as_source(folder) for folder in args.corpus]
    sources += [as_source(folder, "scores") for folder in args.scores]
    command = "melgen " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else None
    result = train(
        sources,
        args.out,
        preset=args.preset,
        max_epochs=args.epochs,
        max_minutes=args.max_minutes,
        progress=not args.quiet,
        command=command,
    )
    print(f"checkpoint: {result.checkpoint}")
    return 0
