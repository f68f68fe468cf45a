"""Corpus songs to training sequences: the readers' timelines, skipped songs, the data hashes."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from music21_melgen.corpus_adapters.har import parse_har
from music21_melgen.corpus_adapters.mel import parse_mel
from music21_melgen.corpus_adapters.song import load_song
from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import ScoreError
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
from music21_melgen.training.dataset import beat_length, corpus_hash, load_corpus

STEMS = {"a_hard_days_night", "let_it_be", "foxey_lady"}


def test_the_readers_give_a_timeline_the_grid_encodes():
    song = load_song(parse_har("S: [D] [12/8] IV |"), parse_mel("[D] [OCT=4] [12/8] .3 |"))
    timeline, notes = song.timeline, song.notes
    assert isinstance(timeline, ChordTimeline) and timeline.measures[0].beat_length == F(3, 2)
    assert timeline.chords[0].label == "IV" and timeline.chords[0].root == 7
    assert notes == (MelodyNote(F(3), F(3), 66),)
    events, cond = ChordGridRepresentation().encode(timeline, notes)
    assert len(events) == 24 and events[12] >= 2


def test_bad_time_signature_is_score_error():
    with pytest.raises(ScoreError, match="not a time signature"):
        beat_length("x/8")
    with pytest.raises(ScoreError, match="not a time signature"):
        beat_length("0/4")


def test_load_corpus_both_analysts_and_skips_reported(rock_corpus):
    lines: list[str] = []
    data = load_corpus(rock_corpus, ChordGridRepresentation(), stems=STEMS, log=lines.append)
    names = sorted(f"{s.stem}_{s.analyst}" for s in data.songs)
    assert names == ["a_hard_days_night_dt", "a_hard_days_night_tdc", "let_it_be_dt", "let_it_be_tdc"]
    assert data.skipped == {"no melody notes": ["foxey_lady_dt", "foxey_lady_tdc"]}
    assert any("skipped 2 sequences, no melody notes" in line for line in lines)
    dt, tdc = (s for s in data.songs if s.stem == "let_it_be")
    assert len(dt.events) == len(tdc.events)  # one melody, two harmonisations
    assert dt.conditioning.dtype == np.float32 and dt.conditioning.shape[0] == len(dt.events)
    assert {s.split for s in data.songs} == {"train", "validation"}
    assert len(data.data_hash) == 64
    assert len(data.sequences_hash()) == 64
    data.songs[0].events[-1] += 1
    before = data.sequences_hash()
    data.songs[0].events[-1] -= 1
    assert data.sequences_hash() != before  # follows the encoded bytes, not only the files


def test_corpus_hash_follows_content(tmp_path):
    (tmp_path / "har").mkdir()
    (tmp_path / "mel").mkdir()
    (tmp_path / "har" / "x_dt.har").write_text("S: [C] I |\n")
    first = corpus_hash(tmp_path)
    assert corpus_hash(tmp_path) == first
    (tmp_path / "mel" / "x_dt.mel").write_text("[C] [OCT=4] 1 |\n")
    assert corpus_hash(tmp_path) != first


def test_sung_part_cuts_intro_and_outro():
    from music21_melgen.training.dataset import sung_part

    rep = ChordGridRepresentation()
    measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(5))
    chords = tuple(
        ChordSpan(F(6 * i), F(6) if i < 3 else F(2), r, frozenset({r}), 0, "major", 1 + (6 * i) // 4, s)
        for i, (s, r) in enumerate([("I", 0), ("IV", 5), ("V", 7), ("I", 0)])
    )
    melody = (MelodyNote(F(5), F(2), 60), MelodyNote(F(11), F(3), 62))
    timeline = ChordTimeline(chords, measures)
    encoded = rep.encode_timeline(timeline)
    events = rep.encode_melody(encoded, melody)
    cut, kept = sung_part(timeline, melody, encoded.grid.measure_index[events != 0])
    assert [m.number for m in cut.measures] == [2, 3, 4]  # the note of bar 3 holds into bar 4
    assert [(c.label, c.offset, c.length) for c in cut.chords] == [("I", F(4), F(2)), ("IV", F(6), F(6)), ("V", F(12), F(4))]
    assert kept == melody
