"""Tests of training.metrics on hand-made melodies whose answers are known."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
from music21_melgen.training import metrics


def _timeline() -> ChordTimeline:
    """Two 4/4 bars in C major: C major (bar 1), G major (bar 2)."""
    bars = (MeasureSpan(1, F(0), F(4), "4/4", F(1)), MeasureSpan(2, F(4), F(4), "4/4", F(1)))
    chords = (
        ChordSpan(F(0), F(4), 0, frozenset({0, 4, 7}), 0, "major", 1, "I"),
        ChordSpan(F(4), F(4), 7, frozenset({7, 11, 2}), 0, "major", 2, "V"),
    )
    return ChordTimeline(chords, bars)


def _note(offset: str, length: str, midi: int) -> MelodyNote:
    return MelodyNote(F(offset), F(length), midi)


# C E D (bar 1: two chord tones on beats, D off the beat) | B (on beat, chord tone) F (not) rest.
MELODY = [
    _note("0", "1", 60),
    _note("1", "3/2", 64),
    _note("5/2", "1/2", 62),
    _note("4", "1", 71),
    _note("5", "1", 65),
]


def test_chord_tone_ratio_all_and_on_beats():
    timeline = _timeline()
    assert metrics.chord_tone_ratio(MELODY, timeline) == pytest.approx(3 / 5)
    # On beats: C, E, B, F -> 3 of 4 (D at 5/2 is off the beat).
    assert metrics.chord_tone_ratio(MELODY, timeline, on_beats=True) == pytest.approx(3 / 4)


def test_chord_tone_ratio_skips_no_chord():
    bars = (MeasureSpan(1, F(0), F(4), "4/4", F(1)),)
    chords = (
        ChordSpan(F(0), F(2), None, frozenset(), 0, "major", 1, "N.C."),
        ChordSpan(F(2), F(2), 0, frozenset({0, 4, 7}), 0, "major", 1, "I"),
    )
    timeline = ChordTimeline(chords, bars)
    notes = [_note("0", "1", 61), _note("2", "1", 60), _note("3", "1", 62)]
    assert metrics.chord_tone_ratio(notes, timeline) == pytest.approx(1 / 2)


def test_beats_follow_the_meter():
    bar = MeasureSpan(1, F(0), F(6), "12/8", F(3, 2))
    timeline = ChordTimeline((ChordSpan(F(0), F(6), 0, frozenset({0, 4, 7}), 0, "major", 1, "I"),), (bar,))
    # A chord tone at 1 (not a beat in 12/8) and a non-chord tone at 3/2 (a beat).
    notes = [_note("1", "1/2", 60), _note("3/2", "1/2", 62)]
    assert metrics.chord_tone_ratio(notes, timeline, on_beats=True) == 0.0


def test_notes_per_bar_and_rest_share():
    timeline = _timeline()
    assert metrics.notes_per_bar(MELODY, timeline) == pytest.approx(2.5)
    # Sounding: 0..3 and 4..6 -> 5 of 8 quarter lengths; 3/8 in rest.
    assert metrics.rest_share(MELODY, timeline) == pytest.approx(3 / 8)
    assert metrics.rest_share([], timeline) == 1.0


def test_rest_share_counts_overlaps_once_and_clips_to_timeline():
    timeline = _timeline()
    notes = [_note("0", "4", 60), _note("2", "4", 64), _note("7", "4", 67)]
    # Covered: 0..6 and 7..8 -> 7 of 8.
    assert metrics.rest_share(notes, timeline) == pytest.approx(1 / 8)


def test_stuck_share_and_longest_note():
    timeline = _timeline()
    assert metrics.stuck_share(MELODY, timeline) == 0.0
    held = [_note("0", "4", 60), _note("4", "9/2", 67), _note("17/2", "1", 65)]
    # Exactly one bar is not stuck; 9/2 quarters in a 4/4 bar is.
    assert metrics.stuck_share(held, timeline) == pytest.approx(1 / 3)
    assert metrics.longest_note(held, timeline) == pytest.approx(9 / 8)
    assert metrics.longest_note([], timeline) == 0.0


def test_pitch_range_and_intervals():
    assert metrics.pitch_range(MELODY) == 11
    assert metrics.intervals(MELODY) == [4, -2, 9, -6]
    assert metrics.mean_absolute_interval(MELODY) == pytest.approx(21 / 4)
    assert metrics.stepwise_share(MELODY) == pytest.approx(1 / 4)
    assert metrics.mean_absolute_interval(MELODY[:1]) == 0.0
    assert metrics.stepwise_share([]) == 0.0


def test_pitch_class_histogram_is_key_relative():
    bars = (MeasureSpan(1, F(0), F(4), "4/4", F(1)),)
    chords = (ChordSpan(F(0), F(4), 2, frozenset({2, 6, 9}), 2, "major", 1, "I"),)
    timeline = ChordTimeline(chords, bars)
    # In D: D (tonic), F# (3), A (5), and C (b7).
    notes = [_note("0", "1", 62), _note("1", "1", 66), _note("2", "1", 69), _note("3", "1", 72)]
    histogram = metrics.pitch_class_histogram(notes, timeline)
    assert histogram.tolist() == [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]


def test_length_histogram_bins():
    notes = [_note("0", "1/4", 60), _note("1", "1/3", 60), _note("2", "1", 60), _note("3", "12", 60)]
    histogram = metrics.length_histogram(notes)
    labels = metrics.LENGTH_BIN_LABELS
    assert histogram.sum() == 4
    assert histogram[labels.index("<=1/4")] == 1
    assert histogram[labels.index("<=1/2")] == 1
    assert histogram[labels.index("<=1")] == 1
    assert histogram[labels.index(">8")] == 1


def test_interval_histogram_bins_and_outer_bins():
    notes = [_note(str(i), "1", midi) for i, midi in enumerate([60, 62, 60, 80, 60])]
    histogram = metrics.interval_histogram(notes)
    labels = metrics.INTERVAL_BIN_LABELS
    assert histogram[labels.index("2")] == 1
    assert histogram[labels.index("-2")] == 1
    assert histogram[labels.index(">12")] == 1
    assert histogram[labels.index("<-12")] == 1
    assert histogram.sum() == 4


def test_overlap():
    assert metrics.overlap([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert metrics.overlap([1, 0, 0], [0, 0, 5]) == 0.0
    assert metrics.overlap([3, 1], [1, 3]) == pytest.approx(0.5)
    assert metrics.overlap([0, 0], [1, 1]) == 0.0
    with pytest.raises(ValueError):
        metrics.overlap([1, 2], [1, 2, 3])


def test_count_melody_matches_the_single_functions():
    timeline = _timeline()
    summary = metrics.count_melody(MELODY, timeline).summary()
    assert summary["chord_tone_ratio"] == pytest.approx(metrics.chord_tone_ratio(MELODY, timeline))
    assert summary["chord_tone_ratio_beats"] == pytest.approx(3 / 4)
    assert summary["notes_per_bar"] == pytest.approx(2.5)
    assert summary["rest_share"] == pytest.approx(3 / 8)
    assert summary["stuck_share"] == 0.0
    assert summary["longest_note_bars"] == pytest.approx(3 / 8)
    assert summary["pitch_range"] == 11
    assert summary["mean_abs_interval"] == pytest.approx(21 / 4)
    assert summary["stepwise_share"] == pytest.approx(1 / 4)


def test_pooled_counts_weigh_notes_and_average_songs():
    timeline = _timeline()
    held = [_note("0", "8", 60)]
    pooled = metrics.summarise([(MELODY, timeline), (held, timeline)])
    summary = pooled.summary()
    assert pooled.songs == 2 and pooled.notes == 6
    # Ratios pool notes: 1 stuck of 6; 4 chord tones of 6.
    assert summary["stuck_share"] == pytest.approx(1 / 6)
    assert summary["chord_tone_ratio"] == pytest.approx(4 / 6)
    # Rest pools duration: 3 + 0 of 16 quarter lengths.
    assert summary["rest_share"] == pytest.approx(3 / 16)
    # Longest note and range average songs: (3/8 + 2) / 2, (11 + 0) / 2.
    assert summary["longest_note_bars"] == pytest.approx((3 / 8 + 2) / 2)
    assert summary["pitch_range"] == pytest.approx(5.5)
    assert np.array_equal(
        pooled.histograms["pitch_class"],
        metrics.pitch_class_histogram(MELODY, timeline) + metrics.pitch_class_histogram(held, timeline),
    )
    data = pooled.to_json()
    assert data["songs"] == 2 and sum(data["histograms"]["length"]) == 6


def test_empty_summary_is_all_zero():
    assert all(value == 0.0 for value in metrics.MelodyCounts().summary().values())
