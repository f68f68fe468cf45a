"""The chord timeline: the one shape harmony takes between a score and the model.

Every source of harmony (Rock Corpus analyses, chord symbols, Roman numerals,
a chordified accompaniment) becomes a :class:`ChordTimeline`; the encoding
reads only this. Times are music21 quarter lengths from the start of the
score, kept as exact ``Fraction`` values. Pitch classes are absolute (0 = C).
A melody travels beside it as :class:`MelodyNote` values on the same axis.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction

from music21_melgen.errors import ScoreError

__all__ = ["MeasureSpan", "ChordSpan", "ChordTimeline", "MelodyNote", "MODES", "append_tied"]

MODES = ("major", "minor")


@dataclass(frozen=True, slots=True)
class MeasureSpan:
    """One measure: where it lies and what meter governs it."""

    number: int  # measure number as in the score (music21 ``Measure.number``)
    offset: Fraction  # quarter lengths from the start of the score
    length: Fraction  # quarter lengths the measure covers (a pickup is shorter)
    time_signature: str  # ratio string, '4/4', '6/8'
    beat_length: Fraction  # quarter lengths of one beat: 1 in 4/4, 3/2 in 6/8
    # The section the measure lies in, as the source names it ('Vr', 'Intro'): a Rock Corpus
    # section or the latest rehearsal mark; None when the source names none.
    section: str | None = None
    # The ending (volta) the measure lies under, from the score's repeat brackets: 1 for a
    # first ending, 2 for a second ...; None outside them.
    ending: int | None = None

    def __post_init__(self) -> None:
        if self.length <= 0:
            raise ScoreError(f"measure {self.number}: length must be positive, got {self.length}")


@dataclass(frozen=True, slots=True)
class ChordSpan:
    """One chord (or a stretch with no chord, ``root is None``) of the timeline."""

    offset: Fraction  # quarter lengths from the start of the score
    length: Fraction  # quarter lengths it sounds
    root: int | None  # absolute pitch class of the root; None = no chord (N.C.)
    pitch_classes: frozenset[int]  # absolute pitch classes sounding; empty for N.C.
    key_tonic: int  # pitch class of the tonic of the key in force
    mode: str  # 'major' or 'minor'
    measure: int  # number of the measure the chord starts in
    label: str = ""  # the chord as written: 'V7/IV', 'Cmaj7', 'N.C.'

    def __post_init__(self) -> None:
        if self.length <= 0:
            raise ScoreError(f"measure {self.measure}: chord {self.label!r} has no length")
        if self.mode not in MODES:
            raise ScoreError(f"measure {self.measure}: unknown mode {self.mode!r}")
        if not 0 <= self.key_tonic < 12 or (self.root is not None and not 0 <= self.root < 12):
            raise ScoreError(f"measure {self.measure}: pitch classes must lie in 0..11")

    @property
    def end(self) -> Fraction:
        return self.offset + self.length


@dataclass(frozen=True, slots=True)
class MelodyNote:
    """A melody note on the timeline's axis; gaps between notes are rests."""

    offset: Fraction  # quarter lengths from the start of the score
    length: Fraction  # quarter lengths
    midi: int  # MIDI pitch number, 60 = middle C

    @property
    def end(self) -> Fraction:
        return self.offset + self.length


@dataclass(frozen=True)
class ChordTimeline:
    """The harmony of a piece: chords in time order over a run of measures.

    >>> from fractions import Fraction as F
    >>> bar = MeasureSpan(1, F(0), F(4), '4/4', F(1))
    >>> c = ChordSpan(F(0), F(2), 0, frozenset({0, 4, 7}), 0, 'major', 1, 'I')
    >>> g = ChordSpan(F(2), F(2), 7, frozenset({7, 11, 2}), 0, 'major', 1, 'V')
    >>> timeline = ChordTimeline((c, g), (bar,))
    >>> timeline.chord_at(F(3)).label
    'V'
    >>> timeline.length
    Fraction(4, 1)
    """

    chords: tuple[ChordSpan, ...]
    measures: tuple[MeasureSpan, ...]
    key_estimated: bool = False  # True when no key was written and one was estimated

    def __post_init__(self) -> None:
        if not self.measures:
            raise ScoreError("the chord timeline has no measures")
        if not any(chord.root is not None for chord in self.chords):
            raise ScoreError("the chord timeline has no chords")
        offsets = [chord.offset for chord in self.chords]
        if offsets != sorted(offsets):
            raise ScoreError("chords of the timeline are not in time order")

    @property
    def length(self) -> Fraction:
        """Quarter lengths from the first measure's start to the last one's end."""
        last = self.measures[-1]
        return last.offset + last.length - self.measures[0].offset

    def chord_at(self, offset: Fraction) -> ChordSpan | None:
        """The chord sounding at ``offset`` (None before the first chord or after the last)."""
        index = bisect_right([chord.offset for chord in self.chords], offset) - 1
        if index < 0 or offset >= self.chords[index].end:
            return None
        return self.chords[index]

    def measure_at(self, offset: Fraction) -> MeasureSpan:
        """The measure containing ``offset``."""
        index = bisect_right([m.offset for m in self.measures], offset) - 1
        return self.measures[max(index, 0)]


def append_tied(notes: list[MelodyNote], new: MelodyNote, *, tied: bool) -> None:
    """Append ``new`` to ``notes``; a tied continuation of the last note (same pitch, no gap) lengthens it.

    Merging by MIDI pitch keeps ties between differently spelled notes (G# tied to Ab).

    >>> from fractions import Fraction as F
    >>> notes = [MelodyNote(F(0), F(2), 60)]
    >>> append_tied(notes, MelodyNote(F(2), F(1), 60), tied=True)
    >>> append_tied(notes, MelodyNote(F(3), F(1), 60), tied=False)
    >>> [(n.offset, n.length) for n in notes]
    [(Fraction(0, 1), Fraction(3, 1)), (Fraction(3, 1), Fraction(1, 1))]
    """
    if tied and notes and notes[-1].midi == new.midi and notes[-1].end == new.offset:
        last = notes.pop()
        new = MelodyNote(last.offset, last.length + new.length, new.midi)
    notes.append(new)
