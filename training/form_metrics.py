"""Form measures: how much of a melody comes back when its song does.

Per song, with onsets on the 16th grid and pitches relative to the key's tonic
(the key of the chord at the note's onset, as :mod:`~music21_melgen.training.metrics`):

* **bar repeat**: the share of measures with notes whose notes (onset in the
  measure, pitch) exactly repeat those of an earlier measure;
* **chord echo**: for each two-measure passage whose chords (key-relative
  pitch classes at the same positions, :func:`music21_melgen.form.find_form`'s
  signature) repeat an earlier passage (the latest that does not overlap
  it), the Jaccard similarity of the two melodies' (measure, onset, pitch)
  sets; the song's mean over such passages with notes in either;
* **rhythm echo**: the same on (measure, onset) only.

A song without such passages has no chord or rhythm echo (None), and is left
out of those means.

>>> from fractions import Fraction as F
>>> from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
>>> bars = tuple(MeasureSpan(i + 1, F(4 * i), F(4), '4/4', F(1)) for i in range(4))
>>> chords = tuple(ChordSpan(F(4 * i), F(4), 0, frozenset({0, 4, 7}), 0, 'major', i + 1) for i in range(4))
>>> timeline = ChordTimeline(chords, bars)
>>> notes = [MelodyNote(F(4 * i), F(2), 60) for i in range(4)]
>>> form_measures(notes, timeline)
{'bar_repeat': 0.75, 'chord_echo': 1.0, 'rhythm_echo': 1.0}
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction

from music21_melgen.form import PASSAGE_BARS, harmony_signatures
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = ["FORM_MEASURES", "form_measures"]

FORM_MEASURES = ("bar_repeat", "chord_echo", "rhythm_echo")
STEPS_PER_QUARTER = 4  # the 16th grid


def _events_by_measure(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> list[set[tuple[int, int]]]:
    """(onset step in the measure, key-relative pitch) of the notes starting in each measure."""
    measures = timeline.measures
    starts = [m.offset for m in measures]
    events: list[set[tuple[int, int]]] = [set() for _ in measures]
    from bisect import bisect_right

    chord_offsets = [c.offset for c in timeline.chords]
    for note in notes:
        index = bisect_right(starts, note.offset) - 1
        if index < 0 or note.offset >= measures[index].offset + measures[index].length:
            continue
        chord_index = max(bisect_right(chord_offsets, note.offset) - 1, 0)
        tonic = timeline.chords[chord_index].key_tonic if timeline.chords else 0
        step = math.floor((note.offset - measures[index].offset) * STEPS_PER_QUARTER + Fraction(1, 2))
        events[index].add((step, (note.midi - tonic) % 12 + 12 * ((note.midi - tonic) // 12)))
    return events


def form_measures(notes: Sequence[MelodyNote], timeline: ChordTimeline) -> dict[str, float | None]:
    """The three form measures of one melody over its timeline (see the module doc)."""
    events = _events_by_measure(notes, timeline)
    seen: set[frozenset] = set()
    with_notes = repeated = 0
    for bar in events:
        if not bar:
            continue
        with_notes += 1
        key = frozenset(bar)
        repeated += key in seen
        seen.add(key)
    signatures = harmony_signatures(timeline)
    count = len(signatures)
    pitch_scores: list[float] = []
    rhythm_scores: list[float] = []
    for start in range(count - PASSAGE_BARS + 1):
        window = signatures[start : start + PASSAGE_BARS]
        for earlier in range(start - PASSAGE_BARS, -1, -1):
            if signatures[earlier : earlier + PASSAGE_BARS] == window:
                now = {(k, *e) for k in range(PASSAGE_BARS) for e in events[start + k]}
                then = {(k, *e) for k in range(PASSAGE_BARS) for e in events[earlier + k]}
                if now or then:
                    pitch_scores.append(len(now & then) / len(now | then))
                    now_r = {(k, s) for k, s, _ in now}
                    then_r = {(k, s) for k, s, _ in then}
                    rhythm_scores.append(len(now_r & then_r) / len(now_r | then_r))
                break
    return {
        "bar_repeat": repeated / with_notes if with_notes else 0.0,
        "chord_echo": sum(pitch_scores) / len(pitch_scores) if pitch_scores else None,
        "rhythm_echo": sum(rhythm_scores) / len(rhythm_scores) if rhythm_scores else None,
    }


def mean_form(per_song: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """Song means of each measure, songs without a value left out."""
    sums: dict[str, list[float]] = defaultdict(list)
    for song in per_song:
        for name in FORM_MEASURES:
            if song.get(name) is not None:
                sums[name].append(float(song[name]))
    return {name: (sum(sums[name]) / len(sums[name]) if sums[name] else None) for name in FORM_MEASURES}
