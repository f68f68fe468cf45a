"""Melody metrics: how a melody sits on its chords, measured the same way for
real and generated melodies.

Every function here is pure: it reads a melody (a sequence of
:class:`~music21_melgen.timeline.MelodyNote`) and the
:class:`~music21_melgen.timeline.ChordTimeline` it was written over, and
returns numbers. Nothing here imports torch or music21, so the evaluation can
measure any melody, from the corpus, from a model, or from a score.

Definitions (the README's evaluation table uses these words):

* **chord tone**: a note whose pitch class is one of the pitch classes of the
  chord sounding at its onset. Notes over no chord (N.C., or outside the
  timeline's chords) count neither way.
* **on a beat**: the onset lies a whole number of beats
  (``MeasureSpan.beat_length``) after the start of its measure.
* **rest share**: the share of the timeline's *duration* that no note covers
  (on a grid of equal steps this equals the share of time steps in rest).
* **stuck**: a note longer than the measure it starts in.
* **longest note**: in measures (note length / length of its measure), so
  a 12/8 bar and a 4/4 bar both count as 1.
* **pitch range**: highest minus lowest MIDI pitch of one melody, semitones.
* **interval**: the signed semitone step from one note to the next, across
  rests too.
* **stepwise**: an interval of 1 or 2 semitones, up or down.
* **key-relative pitch class**: ``(midi - key_tonic) % 12``, the tonic taken
  from the chord at the onset (the nearest chord outside the timeline).

Histograms count notes (not durations). :func:`overlap` compares two of them
as the area the two normalised histograms share: 1.0 = identical shapes,
0.0 = nothing in common.

>>> from fractions import Fraction as F
>>> from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
>>> bar = MeasureSpan(1, F(0), F(4), '4/4', F(1))
>>> c_major = ChordSpan(F(0), F(4), 0, frozenset({0, 4, 7}), 0, 'major', 1, 'I')
>>> timeline = ChordTimeline((c_major,), (bar,))
>>> notes = [MelodyNote(F(0), F(1), 60), MelodyNote(F(1), F(1), 62), MelodyNote(F(2), F(1), 64)]
>>> chord_tone_ratio(notes, timeline)
0.6666666666666666
>>> rest_share(notes, timeline)
0.25
>>> overlap([1, 1, 0], [1, 0, 1])
0.5
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from music21_melgen.timeline import ChordSpan, ChordTimeline, MelodyNote

__all__ = [
    "LENGTH_BIN_EDGES",
    "LENGTH_BIN_LABELS",
    "INTERVAL_LIMIT",
    "INTERVAL_BIN_LABELS",
    "PITCH_CLASS_LABELS",
    "HISTOGRAMS",
    "MelodyCounts",
    "chord_tone_ratio",
    "notes_per_bar",
    "rest_share",
    "stuck_share",
    "longest_note",
    "pitch_range",
    "intervals",
    "mean_absolute_interval",
    "stepwise_share",
    "pitch_class_histogram",
    "length_histogram",
    "interval_histogram",
    "overlap",
    "count_melody",
    "summarise",
]

# Upper edges (quarter lengths, inclusive) of the note-length bins; the last
# bin holds everything longer than the last edge. Sixteenth, eighth, dotted
# eighth, quarter, dotted quarter, half, dotted half, whole, two whole notes.
LENGTH_BIN_EDGES: tuple[Fraction, ...] = tuple(
    Fraction(x) for x in ("1/4", "1/2", "3/4", "1", "3/2", "2", "3", "4", "8")
)
LENGTH_BIN_LABELS: tuple[str, ...] = tuple(
    ["<=1/4", "<=1/2", "<=3/4", "<=1", "<=3/2", "<=2", "<=3", "<=4", "<=8", ">8"]
)

# Intervals beyond an octave either way share an outer bin.
INTERVAL_LIMIT = 12
INTERVAL_BIN_LABELS: tuple[str, ...] = tuple(
    [f"<-{INTERVAL_LIMIT}"]
    + [str(i) for i in range(-INTERVAL_LIMIT, INTERVAL_LIMIT + 1)]
    + [f">{INTERVAL_LIMIT}"]
)

PITCH_CLASS_LABELS: tuple[str, ...] = (
    "1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7",
)

# The three histograms, by name, with the labels of their bins.
HISTOGRAMS: dict[str, tuple[str, ...]] = {
    "pitch_class": PITCH_CLASS_LABELS,
    "length": LENGTH_BIN_LABELS,
    "interval": INTERVAL_BIN_LABELS,
}


def _sorted(notes: Iterable[MelodyNote]) -> list[MelodyNote]:
    return sorted(notes, key=lambda note: (note.offset, note.midi))


def _chord_near(timeline: ChordTimeline, offset: Fraction) -> ChordSpan:
    """The chord at ``offset``, else the nearest one before it, else the first."""
    index = bisect_right([chord.offset for chord in timeline.chords], offset) - 1
    return timeline.chords[max(index, 0)]


def _on_beat(note: MelodyNote, timeline: ChordTimeline) -> bool:
    measure = timeline.measure_at(note.offset)
    return (note.offset - measure.offset) % measure.beat_length == 0


def _bars(note: MelodyNote, timeline: ChordTimeline) -> Fraction:
    """The note's length in measures of the measure it starts in."""
    return note.length / timeline.measure_at(note.offset).length


def chord_tone_ratio(
    notes: Sequence[MelodyNote], timeline: ChordTimeline, *, on_beats: bool = False
) -> float:
    """Share of notes (over a chord) whose pitch class belongs to that chord.

    With ``on_beats=True`` only notes whose onset falls on a beat count.
    Returns 0.0 when no note counts.
    """
    hits = total = 0
    for note in notes:
        if on_beats and not _on_beat(note, timeline):
            continue
        chord = timeline.chord_at(note.offset)
        if chord is None or chord.root is None:
            continue
        total += 1
        hits += note.midi % 12 in chord.pitch_classes
    return hits / total if total else 0.0


def notes_per_bar(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> float:
    """Notes per measure of the timeline (every measure counts, sung or not)."""
    return len(notes) / len(timeline.measures)


def _covered(notes: Sequence[MelodyNote], start: Fraction, end: Fraction) -> Fraction:
    """Duration within [start, end) that at least one note sounds."""
    covered = Fraction(0)
    reach = start
    for note in _sorted(notes):
        note_start, note_end = max(note.offset, reach), min(note.end, end)
        if note_end > note_start:
            covered += note_end - note_start
            reach = note_end
    return covered


def rest_share(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> float:
    """Share of the timeline's duration in which no note sounds (0.0–1.0)."""
    start = timeline.measures[0].offset
    end = start + timeline.length
    return float(1 - _covered(notes, start, end) / timeline.length)


def stuck_share(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> float:
    """Share of notes held longer than the measure they start in."""
    if not notes:
        return 0.0
    return sum(_bars(note, timeline) > 1 for note in notes) / len(notes)


def longest_note(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> float:
    """Length of the longest note, in measures (0.0 for no notes)."""
    return float(max((_bars(note, timeline) for note in notes), default=0))


def pitch_range(notes: Sequence[MelodyNote]) -> int:
    """Highest minus lowest MIDI pitch, in semitones (0 for no notes)."""
    if not notes:
        return 0
    pitches = [note.midi for note in notes]
    return max(pitches) - min(pitches)


def intervals(notes: Sequence[MelodyNote]) -> list[int]:
    """Signed semitone steps between consecutive notes, in time order.

    >>> from fractions import Fraction as F
    >>> intervals([MelodyNote(F(1), F(1), 64), MelodyNote(F(0), F(1), 60), MelodyNote(F(3), F(1), 62)])
    [4, -2]
    """
    ordered = _sorted(notes)
    return [b.midi - a.midi for a, b in zip(ordered, ordered[1:])]


def mean_absolute_interval(notes: Sequence[MelodyNote]) -> float:
    """Mean size of the steps between consecutive notes, semitones (0.0 if none)."""
    steps = intervals(notes)
    return sum(abs(step) for step in steps) / len(steps) if steps else 0.0


def stepwise_share(notes: Sequence[MelodyNote]) -> float:
    """Share of intervals that move by 1 or 2 semitones (0.0 if none)."""
    steps = intervals(notes)
    return sum(1 <= abs(step) <= 2 for step in steps) / len(steps) if steps else 0.0


def pitch_class_histogram(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> np.ndarray:
    """Note counts per key-relative pitch class 0–11 (0 = the tonic)."""
    counts = np.zeros(12, dtype=np.int64)
    for note in notes:
        counts[(note.midi - _chord_near(timeline, note.offset).key_tonic) % 12] += 1
    return counts


def _length_bin(length: Fraction) -> int:
    for index, edge in enumerate(LENGTH_BIN_EDGES):
        if length <= edge:
            return index
    return len(LENGTH_BIN_EDGES)


def length_histogram(notes: Sequence[MelodyNote]) -> np.ndarray:
    """Note counts per length bin (:data:`LENGTH_BIN_LABELS`, quarter lengths)."""
    counts = np.zeros(len(LENGTH_BIN_LABELS), dtype=np.int64)
    for note in notes:
        counts[_length_bin(note.length)] += 1
    return counts


def interval_histogram(notes: Sequence[MelodyNote]) -> np.ndarray:
    """Interval counts per bin (:data:`INTERVAL_BIN_LABELS`): each semitone
    from -12 to +12, and one outer bin each way."""
    counts = np.zeros(len(INTERVAL_BIN_LABELS), dtype=np.int64)
    for step in intervals(notes):
        counts[min(max(step, -INTERVAL_LIMIT - 1), INTERVAL_LIMIT + 1) + INTERVAL_LIMIT + 1] += 1
    return counts


def overlap(first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray) -> float:
    """Area shared by two histograms once each is normalised to sum 1.

    1.0 means the same shape, 0.0 nothing in common; an empty histogram
    shares nothing (0.0).

    >>> overlap([2, 2], [10, 10])
    1.0
    >>> overlap([1, 0], [0, 1])
    0.0
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"histograms differ in size: {a.shape} and {b.shape}")
    if a.sum() <= 0 or b.sum() <= 0:
        return 0.0
    return float(np.minimum(a / a.sum(), b / b.sum()).sum())


@dataclass
class MelodyCounts:
    """Counts from one or more melodies, pooled by adding (``a + b``).

    Ratios in :meth:`summary` are pooled over all notes (a long song weighs
    more than a short one); pitch range and longest note are means over songs.
    """

    songs: int = 0
    notes: int = 0
    chord_notes: int = 0  # notes over a chord
    chord_tones: int = 0
    beat_chord_notes: int = 0  # notes on a beat over a chord
    beat_chord_tones: int = 0
    bars: int = 0
    duration: Fraction = Fraction(0)  # quarter lengths of the timelines
    rest: Fraction = Fraction(0)  # quarter lengths with no note sounding
    stuck: int = 0
    longest_sum: float = 0.0  # sum over songs of the longest note, in measures
    range_sum: int = 0  # sum over songs of the pitch range
    interval_count: int = 0
    interval_abs_sum: int = 0
    stepwise: int = 0
    histograms: dict[str, np.ndarray] = field(
        default_factory=lambda: {
            name: np.zeros(len(labels), dtype=np.int64) for name, labels in HISTOGRAMS.items()
        }
    )

    def __add__(self, other: MelodyCounts) -> MelodyCounts:
        merged = MelodyCounts()
        for name in self.__dataclass_fields__:
            if name == "histograms":
                merged.histograms = {
                    key: self.histograms[key] + other.histograms[key] for key in HISTOGRAMS
                }
            else:
                setattr(merged, name, getattr(self, name) + getattr(other, name))
        return merged

    def summary(self) -> dict[str, float]:
        """The metrics as plain floats, keyed by the names the report uses."""

        def ratio(numerator: float, denominator: float) -> float:
            return float(numerator / denominator) if denominator else 0.0

        return {
            "chord_tone_ratio": ratio(self.chord_tones, self.chord_notes),
            "chord_tone_ratio_beats": ratio(self.beat_chord_tones, self.beat_chord_notes),
            "notes_per_bar": ratio(self.notes, self.bars),
            "rest_share": ratio(self.rest, self.duration),
            "stuck_share": ratio(self.stuck, self.notes),
            "longest_note_bars": ratio(self.longest_sum, self.songs),
            "pitch_range": ratio(self.range_sum, self.songs),
            "mean_abs_interval": ratio(self.interval_abs_sum, self.interval_count),
            "stepwise_share": ratio(self.stepwise, self.interval_count),
        }

    def to_json(self) -> dict[str, Any]:
        """Summary, raw histograms and song/note counts, ready for ``json.dump``."""
        return {
            "songs": self.songs,
            "notes": self.notes,
            "metrics": self.summary(),
            "histograms": {name: counts.tolist() for name, counts in self.histograms.items()},
        }


def count_melody(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> MelodyCounts:
    """All counts of one melody over its timeline (one song)."""
    steps = intervals(notes)
    counts = MelodyCounts(songs=1, notes=len(notes), bars=len(timeline.measures))
    for note in notes:
        chord = timeline.chord_at(note.offset)
        if chord is None or chord.root is None:
            continue
        tone = note.midi % 12 in chord.pitch_classes
        counts.chord_notes += 1
        counts.chord_tones += tone
        if _on_beat(note, timeline):
            counts.beat_chord_notes += 1
            counts.beat_chord_tones += tone
    start = timeline.measures[0].offset
    counts.duration = timeline.length
    counts.rest = timeline.length - _covered(notes, start, start + timeline.length)
    counts.stuck = sum(_bars(note, timeline) > 1 for note in notes)
    counts.longest_sum = longest_note(notes, timeline)
    counts.range_sum = pitch_range(notes)
    counts.interval_count = len(steps)
    counts.interval_abs_sum = sum(abs(step) for step in steps)
    counts.stepwise = sum(1 <= abs(step) <= 2 for step in steps)
    counts.histograms = {
        "pitch_class": pitch_class_histogram(notes, timeline),
        "length": length_histogram(notes),
        "interval": interval_histogram(notes),
    }
    return counts


def summarise(songs: Iterable[tuple[Sequence[MelodyNote], ChordTimeline]]) -> MelodyCounts:
    """Pooled counts of many ``(notes, timeline)`` songs.

    >>> from fractions import Fraction as F
    >>> from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan
    >>> bar = MeasureSpan(1, F(0), F(4), '4/4', F(1))
    >>> timeline = ChordTimeline((ChordSpan(F(0), F(4), 0, frozenset({0, 4, 7}), 0, 'major', 1, 'I'),), (bar,))
    >>> pooled = summarise([([MelodyNote(F(0), F(4), 60)], timeline), ([], timeline)])
    >>> pooled.songs, pooled.notes, pooled.summary()['rest_share']
    (2, 1, 0.5)
    """
    total = MelodyCounts()
    for notes, timeline in songs:
        total = total + count_melody(notes, timeline)
    return total
