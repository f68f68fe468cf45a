"""``melgen train``: train a melody model on the Rock Corpus and write a checkpoint folder."""

from __future__ import annotations

import argparse
import shlex
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Attach ``train`` to the ``melgen`` parser."""
    parser = subparsers.add_parser(
        "train",
        help="train a melody model on the Rock Corpus",
        description="Train a melody model on a Rock Corpus folder (har/, mel/) and write "
        "model.safetensors + config.json to --out. Songs are split by stem into "
        "train / validation / test (training/split.py).",
    )
    parser.add_argument("--corpus", required=True, help="Rock Corpus folder holding har/ and mel/")
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
    from music21_melgen.training.train import train

    command = "melgen " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else None
    result = train(
        args.corpus,
        args.out,
        preset=args.preset,
        max_epochs=args.epochs,
        max_minutes=args.max_minutes,
        progress=not args.quiet,
        command=command,
    )
    print(f"checkpoint: {result.checkpoint}")
    return 0
