"""One route from a .har to a chord timeline: the corpus readers and ``converter.parse`` agree.

Training reads a song through the corpus readers (``load_corpus_song(...).timeline``);
``melgen generate song.har`` reads the Score the ``.har`` converter builds with
``score_harmony.timeline_from_score``. Every analysis of the corpus must give
the same measures and chords (offset, length, root, pitch classes, key, mode,
measure number) both ways.

Run as a script to measure the disagreement over a corpus folder::

    python tests/test_corpus_route.py [CORPUS_DIR]
"""

from __future__ import annotations

import sys
from collections import Counter
from fractions import Fraction as F
from pathlib import Path

from music21 import converter

import music21_melgen  # noqa: F401  (registers the .har converter)
from music21_melgen.corpus_adapters.corpus import iter_songs, load_corpus_song
from music21_melgen.corpus_adapters.har import parse_har
from music21_melgen.corpus_adapters.song import load_song, song_to_score
from music21_melgen.score_harmony import timeline_from_score
from music21_melgen.timeline import ChordTimeline


def _chords(timeline: ChordTimeline) -> list[tuple]:
    return [(c.offset, c.length, c.root, c.pitch_classes, c.key_tonic, c.mode, c.measure) for c in timeline.chords]


def _measures(timeline: ChordTimeline) -> list[tuple]:
    return [(m.number, m.offset, m.length, m.time_signature, m.beat_length) for m in timeline.measures]


def difference(reader: ChordTimeline, score: ChordTimeline) -> str:
    """'' when both timelines agree, else the class of disagreement and where it starts."""
    found = []
    mine, theirs = _chords(reader), _chords(score)
    if len(mine) != len(theirs):
        found.append(f"chord count {len(mine)} vs {len(theirs)}")
    elif any(a[5] != b[5] for a, b in zip(mine, theirs)):
        found.append("mode")
    elif mine != theirs:
        found.append("chords")
    if _measures(reader) != _measures(score):
        found.append("measures")
    if reader.key_estimated != score.key_estimated:
        found.append("key estimated")
    if not found:
        return ""
    first = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
    where = f" (first at offset {mine[first][0]})" if first < len(mine) else ""
    return ", ".join(found) + where


def route_differences(corpus: Path) -> tuple[int, dict[str, str]]:
    """(analyses compared, name -> difference) over every analysis of the corpus."""
    compared = 0
    differences: dict[str, str] = {}
    for song in iter_songs(corpus):
        for analyst in song.analysts:
            compared += 1
            reader = load_corpus_song(song, analyst).timeline
            score = timeline_from_score(converter.parse(song.harmony[analyst], forceSource=True))
            found = difference(reader, score)
            if found:
                differences[f"{song.stem}_{analyst}"] = found
    return compared, differences


def test_every_corpus_analysis_gives_one_timeline_both_ways(rock_corpus: Path) -> None:
    compared, differences = route_differences(rock_corpus)
    assert compared == len(list((rock_corpus / "har").glob("*.har")))
    assert differences == {}


def test_back_in_black_is_major_both_ways(rock_corpus: Path) -> None:
    """The issue's example: E at offset 8 was minor in training (the melody's mode token), major at inference."""
    song = next(s for s in iter_songs(rock_corpus) if s.stem == "back_in_black")
    reader = load_corpus_song(song, "dt").timeline
    score = timeline_from_score(converter.parse(song.harmony["dt"], forceSource=True))
    for timeline in (reader, score):
        chord = timeline.chord_at(F(8))
        assert (chord.offset, chord.root, chord.key_tonic, chord.mode) == (F(8), 4, 4, "major")


def test_equal_neighbours_stay_two_chords_and_tied_restatements_one() -> None:
    """``I I6`` and ``I V/IV`` are two chords as written; ``I | I`` is one chord tied over the barline."""
    song = load_song(parse_har("S: [C] I I6 | V/IV I | | IV |"))
    score = timeline_from_score(song_to_score(song))
    assert difference(song.timeline, score) == ""
    assert [(c.label, c.offset, c.length) for c in song.timeline.chords] == [
        ("I", F(0), F(2)), ("I6", F(2), F(2)), ("V/IV", F(4), F(2)), ("I", F(6), F(6)), ("IV", F(12), F(4)),
    ]


def main(argv: list[str]) -> int:
    """Print how many analyses disagree between the two routes, by class, and which."""
    corpus = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "rock_corpus"
    compared, differences = route_differences(corpus)
    classes = Counter(text.split(" (")[0].split(" ")[0] for text in differences.values())
    print(f"{len(differences)} of {compared} analyses disagree: {dict(classes)}")
    for name, text in sorted(differences.items()):
        print(f"  {name}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
