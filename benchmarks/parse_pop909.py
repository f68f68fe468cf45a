"""Time the POP909 reader over every song of the corpus (issue 16 item 4: the goal is under a minute).

Usage::

    python benchmarks/parse_pop909.py [POP909_DIR]

POP909_DIR defaults to ../shared/pop909 next to the repository. Prints the
seconds for reading every song (MIDI, beats, chords, keys) into a chord
timeline and melody notes, and how many read cleanly.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from music21_melgen.corpus_adapters.pop909 import iter_pop909  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "pop909"))
    args = parser.parse_args()
    start = time.perf_counter()
    results = list(iter_pop909(args.folder))
    seconds = time.perf_counter() - start
    clean = sum(not isinstance(song, str) for _, song in results)
    print(f"read {len(results)} POP909 songs ({clean} clean) in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
