"""The grid representation: events, conditioning, decoding, config round-trip, bad input."""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from music21_melgen.encoding import (
    HOLD,
    REST,
    ChordGridRepresentation,
    GridConfig,
    representation_from_dict,
)
from music21_melgen.errors import GenerationError, ModelError, ScoreError
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote

C, G, AM, F_ = (0, {0, 4, 7}), (7, {7, 11, 2}), (9, {9, 0, 4}), (5, {5, 9, 0})


def make_timeline(bars=4, meter="4/4", length=F(4), beat=F(1), tonic=0, mode="major", progression=(C, G, AM, F_)):
    measures = tuple(MeasureSpan(i + 1, length * i, length, meter, beat) for i in range(bars))
    chords = tuple(
        ChordSpan(length * i, length, root, frozenset(pcs), tonic, mode, i + 1, "x")
        for i, (root, pcs) in ((i, progression[i % len(progression)]) for i in range(bars))
    )
    return ChordTimeline(chords, measures)


def test_events_for_notes_rests_and_holds():
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=1)
    notes = [MelodyNote(F(0), F(1), 60), MelodyNote(F(2), F(1, 2), 64)]
    events, cond = rep.encode(timeline, notes)
    assert len(events) == 16 and cond.shape == (16, rep.conditioning_size)
    assert rep.vocabulary[events[0]] == "NOTE:+0"  # tonic C placed in MIDI 54..65 is 60
    assert list(events[1:4]) == [HOLD] * 3 and events[4] == REST
    assert rep.decode(events, timeline) == tuple(notes)


def test_reference_tonic_in_fixed_register():
    rep = ChordGridRepresentation()
    for tonic in range(12):
        timeline = make_timeline(bars=1, tonic=tonic, progression=((tonic, {tonic}),))
        reference = 54 + (tonic - 54) % 12
        events, _ = rep.encode(timeline, [MelodyNote(F(0), F(1), reference)])
        assert rep.vocabulary[events[0]] == "NOTE:+0"


def test_onsets_rounded_to_nearest_step_and_same_step_keeps_later():
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=1)
    notes = [MelodyNote(F(1, 3), F(1), 62), MelodyNote(F(2, 5), F(1), 67)]  # steps 4/3 and 8/5
    events, _ = rep.encode(timeline, notes)
    assert events[0] == REST and events[1] >= 2 and events[2] >= 2  # nearest steps: 1 and 2
    same = [MelodyNote(F(1, 4), F(1), 62), MelodyNote(F(9, 32), F(1), 67)]  # both nearest to step 1
    events, _ = rep.encode(timeline, same)
    assert rep.decode(events, timeline)[0].midi == 67
    assert len(rep.decode(events, timeline)) == 1


def test_overlapping_note_ends_where_next_begins():
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=1)
    events, _ = rep.encode(timeline, [MelodyNote(F(0), F(4), 60), MelodyNote(F(1), F(1), 62)])
    decoded = rep.decode(events, timeline)
    assert [(n.offset, n.length) for n in decoded] == [(F(0), F(1)), (F(1), F(1))]


def test_out_of_range_notes_fold_by_octaves():
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=1)
    events, _ = rep.encode(timeline, [MelodyNote(F(0), F(1), 60 + 36), MelodyNote(F(1), F(1), 60 - 36)])
    decoded = rep.decode(events, timeline)
    assert [n.midi % 12 for n in decoded] == [0, 0]
    low, high = 60 + rep.config.lowest_interval, 60 + rep.config.highest_interval
    assert all(low <= n.midi <= high for n in decoded)


def test_conditioning_blocks():
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=2, tonic=0)
    cond = rep.encode_timeline(timeline).conditioning
    assert cond[0, 0] == 1.0 and cond[0, 12] == 0.0  # root I
    assert set(np.flatnonzero(cond[0, 13:25])) == {0, 4, 7}  # C major triad, quality kept
    assert cond[0, 25 + 7] == 1.0  # next chord V
    assert cond[16, 0 + 7] == 1.0  # second bar: V
    downbeat = 50 + 11 + 8 + 8
    assert cond[0, downbeat] == 1.0 and cond[1, downbeat] == 0.0
    assert cond[0, downbeat + 1] == 0.0  # major
    minor = rep.encode_timeline(make_timeline(bars=1, mode="minor")).conditioning
    assert minor[0, downbeat + 1] == 1.0


def test_compound_meter_beats_and_sub_beats():
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=1, meter="12/8", length=F(6), beat=F(3, 2))
    grid = rep.grid(timeline)
    assert grid.length == 24
    assert list(grid.beat[:7]) == [0] * 6 + [1]
    assert list(grid.sub_beat[:7]) == [0, 1, 2, 3, 4, 5, 0]


def test_meter_the_grid_cannot_hold():
    rep = ChordGridRepresentation()
    measures = (MeasureSpan(7, F(0), F(10, 3), "10/12", F(1, 3)),)
    timeline = ChordTimeline((ChordSpan(F(0), F(10, 3), 0, frozenset({0, 4, 7}), 0, "major", 7, "I"),), measures)
    with pytest.raises(ScoreError, match="measure 7: a meter the grid cannot hold"):
        rep.encode(timeline, [])


def test_unknown_chord_root_and_pitch_classes():
    with pytest.raises(ScoreError, match="pitch classes must lie in 0..11"):
        ChordSpan(F(0), F(4), 12, frozenset({0}), 0, "major", 3, "?")
    rep = ChordGridRepresentation()
    bad = ChordTimeline(
        (ChordSpan(F(0), F(4), 0, frozenset({0, 13}), 0, "major", 3, "I?"),),
        (MeasureSpan(3, F(0), F(4), "4/4", F(1)),),
    )
    with pytest.raises(ScoreError, match="measure 3: chord 'I\\?' has pitch classes outside"):
        rep.encode(bad, [])


def test_no_chords_is_a_score_error():
    with pytest.raises(ScoreError, match="no chords"):
        make_timeline(bars=1, progression=((None, set()),))


def test_decode_rejects_wrong_length():
    rep = ChordGridRepresentation()
    with pytest.raises(GenerationError, match="do not fit"):
        rep.decode(np.zeros(3, dtype=np.int64), make_timeline(bars=1))


def test_config_round_trips_through_json():
    rep = ChordGridRepresentation(GridConfig(steps_per_quarter=2, highest_interval=20))
    again = representation_from_dict(json.loads(json.dumps(rep.to_dict())))
    assert again.config == rep.config and again.vocabulary == rep.vocabulary


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": "nope"}, "'nope' does not belong to this model kind"),
        ({"version": 99}, "version 99"),
        ({"vocabulary": ["REST"]}, "vocabulary does not match"),
        ({"config": {"steps_per_quarter": 4, "colour": 1}}, "unknown grid settings"),
        ({"config": {"steps_per_quarter": 0}}, "positive integer"),
    ],
)
def test_bad_representation_dicts(change, message):
    data = {**ChordGridRepresentation().to_dict(), **change}
    with pytest.raises(ModelError, match=message):
        representation_from_dict(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(1, 12), st.integers(48, 80)), max_size=20))
def test_decode_encode_is_identity_on_grid_melodies(raw):
    rep = ChordGridRepresentation()
    timeline = make_timeline(bars=4)
    notes = [MelodyNote(F(s, 4), F(n, 4), m) for s, n, m in sorted(raw)]
    events, _ = rep.encode(timeline, notes)
    decoded = rep.decode(events, timeline)
    again, _ = rep.encode(timeline, decoded)
    assert np.array_equal(events, again)
    assert all(d.offset * 4 == int(d.offset * 4) for d in decoded)
