"""Benchmark: train the ``default`` preset from scratch and print its wall time and losses.

This is the exact run that rebuilds the bundled model (goal: under 15 minutes
on a 2-core CPU). Run from the repository root::

    python -m benchmarks.train_default --corpus ../shared/rock_corpus --out runs/default

then copy ``runs/default/*`` to ``music21_melgen/models/default/`` to bundle it.
"""

from __future__ import annotations

import argparse
import time

from music21_melgen.training.train import train

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Train, then print minutes, epochs and bits per step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="Rock Corpus folder (har/, mel/)")
    parser.add_argument("--out", required=True, help="checkpoint folder to write")
    parser.add_argument("--preset", default="default", help="training preset (default: default)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = train(args.corpus, args.out, preset=args.preset, progress=False)
    wall = time.perf_counter() - start
    metrics = result.metrics
    print(f"training wall time: {wall / 60:.1f} min ({wall:.0f} s, data loading included), {result.epochs} epochs")
    print(
        f"bits per step: train {metrics['train_bits_per_step']}, validation {metrics['val_bits_per_step']}, "
        f"test {metrics['test_bits_per_step']}; {metrics['parameters']} parameters"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
