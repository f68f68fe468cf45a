"""A book of tunes (an ABC file of several ``X:`` tunes) in a scores folder: one song per tune."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from music21_melgen.errors import ScoreError
from music21_melgen.reading import read_book, read_score
from music21_melgen.training.evaluate import score_songs
from music21_melgen.training.sources import book_songs, read_source
from music21_melgen.training.split import split_of

# Three tunes: a waltz (3/4) and a jig (6/8) with chord symbols, and an air with none.
BOOK = """\
X: 7
T:Little Waltz
M:3/4
L:1/4
K:G
D|"G"G2B|"D7"A2F|"G"G3/2A/2B|"C"c2e|"G"d2B|"D7"A3/2B/2A|"G"G3-|"G"G2|]

X: 12
T:Little Jig
M:6/8
L:1/8
K:D
A|"D"dfa afd|"A7"cea gec|"D"dfa "G"bag|"A7"fed "D"d2:|

X: 13
T:Air Without Chords
M:3/4
L:1/4
K:C
C|E2G|c2G|E2D|C3|]
"""

ONE_TUNE = """\
X: 1
T:Lonely Air
M:3/4
L:1/4
K:C
E2G|c2G|E2D|C3|]
"""


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "book.abc").write_text(BOOK)
    return tmp_path


def test_book_reads_one_song_per_tune_and_skips_the_one_without_chords(folder: Path):
    read = read_source(folder)
    assert read.source.corpus == "scores"
    assert [song.name for song in read.songs] == ["book.abc#7", "book.abc#12"]
    assert [song.stem for song in read.songs] == ["book/7", "book/12"]
    assert read.files == [folder / "book.abc"]
    waltz, jig = read.songs
    assert {m.time_signature for m in waltz.timeline.measures} == {"3/4"}
    assert {m.time_signature for m in jig.timeline.measures} == {"6/8"}
    assert jig.timeline.measures[1].length == Fraction(3)  # a full 6/8 bar after the pickup
    assert all(song.notes for song in read.songs)
    assert waltz.split == split_of("book/7", "scores")  # the split is per tune: key scores/book/7
    [(name, reason)] = read.skipped
    assert name == "book.abc#13"
    assert "no chord symbols or numerals" in reason and "book.abc" not in reason


def test_book_split_and_limit_choose_tunes(folder: Path):
    every = read_source(folder)
    parts = [read_source(folder, split) for split in ("train", "validation", "test")]
    assert sorted(s.name for part in parts for s in part.songs) == sorted(s.name for s in every.songs)
    assert [s.name for s in read_source(folder, limit=1).songs] == ["book.abc#7"]
    assert [s.name for s in read_source(folder, stems=["book/12"]).songs] == ["book.abc#12"]


def test_evaluate_reads_the_tunes_of_one_split_and_lists_the_skipped(folder: Path):
    songs = score_songs(folder)
    assert [song.name for song in songs.songs] == ["book.abc#7", "book.abc#12"]
    assert len(songs.skipped) == 1 and songs.skipped[0].startswith("book.abc#13: ")
    test = score_songs(folder, split="test")
    assert [s.name for s in test.songs] == [
        s.name for s in songs.songs if split_of(s.name.replace(".abc#", "/"), "scores") == "test"
    ]


def test_a_single_tune_file_that_cannot_be_used_stays_an_error(tmp_path: Path):
    (tmp_path / "lonely.abc").write_text(ONE_TUNE)
    with pytest.raises(ScoreError, match=r"lonely\.abc: the melody is the only part"):
        read_source(tmp_path)


def test_books_read_whole_but_generate_still_wants_one_score(folder: Path):
    scores = read_book(folder / "book.abc")
    assert [score.metadata.number for score in scores] == ["7", "12", "13"]
    assert all(score.metadata.filePath == str(folder / "book.abc") for score in scores)
    with pytest.raises(ScoreError, match="holds 3 scores"):
        read_score(folder / "book.abc")

