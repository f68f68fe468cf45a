"""Time the Rock Corpus readers over the whole corpus, and the songs and Scores built on them.

Usage::

    python benchmarks/parse_corpus.py [CORPUS_DIR] [--scores]

CORPUS_DIR defaults to ../shared/rock_corpus next to the repository. Prints
the seconds for (1) parsing all ``.har`` and ``.mel`` files (readers only;
the goal is under 10 s), (2) building ``SongData`` for every analysis with
its melody, and, with ``--scores``, (3) building a music21 ``Score`` for each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from music21_melgen.corpus_adapters.corpus import iter_songs  # noqa: E402
from music21_melgen.corpus_adapters.har import read_har  # noqa: E402
from music21_melgen.corpus_adapters.mel import read_mel  # noqa: E402
from music21_melgen.corpus_adapters.song import load_song, song_to_score  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "rock_corpus"))
    parser.add_argument("--scores", action="store_true", help="also build a music21 Score per analysis")
    args = parser.parse_args()
    root = Path(args.folder)
    har_paths = sorted((root / "har").glob("*.har"))
    mel_paths = sorted((root / "mel").glob("*.mel"))

    start = time.perf_counter()
    analyses = {path.stem: read_har(path) for path in har_paths}
    melodies = {path.stem: read_mel(path) for path in mel_paths}
    readers = time.perf_counter() - start
    events = sum(len(a.events) for a in analyses.values())
    notes = sum(len(m.notes) for m in melodies.values())
    print(f"readers: {len(har_paths)} .har + {len(mel_paths)} .mel ({events} chord events, "
          f"{notes} notes) in {readers:.2f} s (goal < 10 s)")

    start = time.perf_counter()
    songs = []
    for song in iter_songs(root):
        melody = melodies.get(song.melody.stem) if song.melody else None
        for analyst in song.analysts:
            analysis = analyses[song.harmony[analyst].stem]
            songs.append(load_song(analysis, melody, stem=song.stem, analyst=analyst,
                                   melody_analyst=song.melody_analyst))
    building = time.perf_counter() - start
    print(f"SongData: {len(songs)} songs in {building:.2f} s")

    if args.scores:
        start = time.perf_counter()
        for song in songs:
            song_to_score(song)
        scoring = time.perf_counter() - start
        print(f"Scores: {len(songs)} music21 Scores in {scoring:.2f} s ({scoring / len(songs) * 1000:.0f} ms each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
