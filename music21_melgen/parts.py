"""The roles of a score's parts: drums, melody, accompaniment. One rule for every reader.

The chord reader (:mod:`music21_melgen.score_harmony`), the evaluation's
melody reader (:mod:`music21_melgen.training.evaluate`) and the primer reader
(:func:`music21_melgen.engine.melody_notes`) all ask this module which part
plays what, so they cannot drift apart. The rule (:func:`part_roles`):

1. **Drums**: a part whose instrument is unpitched percussion or plays on
   MIDI channel 10, or whose notes are all unpitched. Drums never count.
2. **Pitched parts**: the other parts that hold pitched notes or chords.
   Chord symbols and Roman numerals are harmony written *about* the music,
   not notes of the part, so they never count as notes.
3. **Melody**: the pitched part with the highest mean pitch, if it is mostly
   monophonic (at least :data:`MONOPHONIC_SHARE` of its onsets single
   notes); none otherwise. Among equal means, the first in score order.
4. **Accompaniment**: every other pitched part.

A lone pitched line is thus the melody. A reader that needs chords and finds
no accompaniment chordifies that line instead (a bass line, MelGen's chord
MIDI); a reader that needs a melody and finds none says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from music21 import chord, harmony, instrument, note, percussion, stream

from music21_melgen.timeline import MelodyNote, append_tied

__all__ = ["MONOPHONIC_SHARE", "PartRoles", "is_drums", "is_pitched", "melody_of", "part_roles", "parts_of", "pitched_notes"]

# A part is "mostly monophonic" when at least this share of its onsets are single notes.
MONOPHONIC_SHARE = 0.9
_MAX_DENOMINATOR = 1 << 16


@dataclass(frozen=True)
class PartRoles:
    """What each part of a score plays, as 0-based indices into :func:`parts_of`."""

    drums: tuple[int, ...]
    melody: int | None  # None: no part is a melody (the highest is chords, or nothing is pitched)
    accompaniment: tuple[int, ...]


def parts_of(score: stream.Stream) -> list[stream.Stream]:
    """The parts of a Score; any other stream (or a Score without parts) is one part."""
    if isinstance(score, stream.Score):
        parts = list(score.parts)
        return parts if parts else [score]
    return [score]


def pitched_notes(part: stream.Stream) -> list[note.NotRest]:
    """The part's sounding notes and chords, in time order; chord symbols and numerals left out.

    (``harmony.Harmony`` covers both: a ``RomanNumeral`` is one.)
    """
    return [element for element in part.recurse().notes if is_pitched(element)]


def is_pitched(element: object) -> bool:
    """A sounding note or chord with pitches (not a chord symbol, numeral or unpitched hit).

    >>> from music21 import harmony
    >>> is_pitched(note.Note('C4')), is_pitched(harmony.ChordSymbol('C')), is_pitched(note.Unpitched())
    (True, False, False)
    """
    return (
        isinstance(element, (note.Note, chord.Chord))
        and not isinstance(element, harmony.Harmony)
        and bool(element.pitches)
    )


def is_drums(part: stream.Stream) -> bool:
    """True for unpitched percussion, a MIDI channel 10 part, or a part of unpitched notes only.

    >>> from music21 import instrument, note, stream
    >>> is_drums(stream.Part([instrument.SnareDrum(), note.Unpitched()]))
    True
    >>> is_drums(stream.Part([note.Note('C4')]))
    False
    """
    played = part.getInstrument(returnDefault=False)
    if isinstance(played, instrument.UnpitchedPercussion):
        return True
    if played is not None and played.midiChannel == 9:
        return True
    notes = part.recurse().notes
    return bool(notes) and all(isinstance(n, (note.Unpitched, percussion.PercussionChord)) for n in notes)


def part_roles(score: stream.Stream) -> PartRoles:
    """Which parts of ``score`` are drums, which one is the melody, which accompany (module rule).

    >>> from music21 import chord, note, stream
    >>> voice = stream.Part([note.Note('E5'), note.Note('G5')])
    >>> piano = stream.Part([chord.Chord(['C3', 'E3', 'G3']), chord.Chord(['G2', 'B2', 'D3'])])
    >>> part_roles(stream.Score([piano, voice]))
    PartRoles(drums=(), melody=1, accompaniment=(0,))
    >>> part_roles(stream.Score([piano]))
    PartRoles(drums=(), melody=None, accompaniment=(0,))
    """
    drums: list[int] = []
    pitched: list[tuple[int, list[note.NotRest]]] = []
    for index, part in enumerate(parts_of(score)):
        if is_drums(part):
            drums.append(index)
            continue
        notes = pitched_notes(part)
        if notes:
            pitched.append((index, notes))
    melody = None
    if pitched:

        def mean_pitch(item: tuple[int, list[note.NotRest]]) -> float:
            heights = [p.ps for n in item[1] for p in n.pitches]
            return sum(heights) / len(heights)

        highest, notes = max(pitched, key=mean_pitch)
        singles = sum(1 for n in notes if len(n.pitches) == 1)
        if singles >= MONOPHONIC_SHARE * len(notes):
            melody = highest
    accompaniment = tuple(index for index, _ in pitched if index != melody)
    return PartRoles(tuple(drums), melody, accompaniment)


def melody_of(part: stream.Stream) -> tuple[MelodyNote, ...]:
    """The notes of a melody part, offsets from the part's start.

    A chord gives its top note; tied notes of one MIDI pitch merge (so G#
    tied to Ab holds); grace notes, which take no time, are left out.

    >>> from music21 import chord, note, stream
    >>> [(str(n.offset), n.midi) for n in melody_of(stream.Part([note.Note('C4'), chord.Chord(['E4', 'G4'])]))]
    [('0', 60), ('1', 67)]
    """
    notes: list[MelodyNote] = []
    for element in pitched_notes(part):
        midi = max(p.midi for p in element.pitches)
        offset = Fraction(element.getOffsetInHierarchy(part)).limit_denominator(_MAX_DENOMINATOR)
        length = Fraction(element.quarterLength).limit_denominator(_MAX_DENOMINATOR)
        if length <= 0:
            continue
        tied = element.tie is not None and element.tie.type in ("stop", "continue")
        append_tied(notes, MelodyNote(offset, length, midi), tied=tied)
    return tuple(notes)
