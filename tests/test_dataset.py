"""Corpus songs to training sequences: the SongData adapter, skipped songs, the data hash."""

from __future__ import annotations

from fractions import Fraction as F
from types import SimpleNamespace

import numpy as np
import pytest

from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import ScoreError
from music21_melgen.training.dataset import beat_length, corpus_hash, load_corpus, song_timeline

STEMS = {"a_hard_days_night", "let_it_be", "foxey_lady"}


def fake_song(signature="12/8"):
    measure = SimpleNamespace(number=1, offset=F(0), length=F(6), time_signature=signature)
    chord = SimpleNamespace(
        offset=F(0), length=F(6), symbol="IV", key_tonic=2, mode="major", root=7,
        pitch_classes=frozenset({7, 11, 2}), measure=1,
    )
    note = SimpleNamespace(offset=F(3, 2), length=F(3, 2), midi=66)
    return SimpleNamespace(measures=(measure,), chords=(chord,), notes=(note,))


def test_song_timeline_from_song_data():
    timeline, notes = song_timeline(fake_song())
    assert timeline.measures[0].beat_length == F(3, 2)
    assert timeline.chords[0].label == "IV" and timeline.chords[0].root == 7
    assert notes[0].midi == 66 and notes[0].offset == F(3, 2)
    events, cond = ChordGridRepresentation().encode(timeline, notes)
    assert len(events) == 24 and events[6] >= 2


def test_bad_time_signature_is_score_error():
    with pytest.raises(ScoreError, match="not a time signature"):
        song_timeline(fake_song("x/8"))
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
    measures = tuple(SimpleNamespace(number=i + 1, offset=F(4 * i), length=F(4), time_signature="4/4") for i in range(5))
    chords = tuple(
        SimpleNamespace(offset=F(6 * i), length=F(6) if i < 3 else F(2), symbol=s, key_tonic=0, mode="major",
                        root=r, pitch_classes=frozenset({r}), measure=1 + (6 * i) // 4)
        for i, (s, r) in enumerate([("I", 0), ("IV", 5), ("V", 7), ("I", 0)])
    )
    notes = (SimpleNamespace(offset=F(5), length=F(2), midi=60), SimpleNamespace(offset=F(11), length=F(3), midi=62))
    timeline, melody = song_timeline(SimpleNamespace(measures=measures, chords=chords, notes=notes))
    encoded = rep.encode_timeline(timeline)
    events = rep.encode_melody(encoded, melody)
    cut, kept = sung_part(timeline, melody, encoded.grid.measure_index[events != 0])
    assert [m.number for m in cut.measures] == [2, 3, 4]  # the note of bar 3 holds into bar 4
    assert [(c.label, c.offset, c.length) for c in cut.chords] == [("I", F(4), F(2)), ("IV", F(6), F(6)), ("V", F(12), F(4))]
    assert kept == melody
