"""The one rule for part roles, and the three readers that follow it."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from music21 import chord, harmony, instrument, note, stream, tie

from music21_melgen import engine, score_harmony
from music21_melgen.errors import GenerationError, ScoreError
from music21_melgen.parts import PartRoles, is_drums, melody_of, part_roles, pitched_notes
from music21_melgen.timeline import MelodyNote
from music21_melgen.training import evaluate


def voice(*names: str) -> stream.Part:
    part = stream.Part([note.Note(name) for name in names])
    part.partName = "Voice"
    return part


def piano() -> stream.Part:
    part = stream.Part([chord.Chord(["C4", "E4", "G4"]), chord.Chord(["F3", "A3", "C4"]),
                        chord.Chord(["G3", "B3", "D4"]), chord.Chord(["C4", "E4", "G4"])])
    part.partName = "Piano"
    return part


def drums() -> stream.Part:
    part = stream.Part([instrument.HiHatCymbal(), *(note.Unpitched() for _ in range(4))])
    part.partName = "Drums"
    return part


def test_drums_by_instrument_channel_or_unpitched_notes() -> None:
    assert is_drums(drums())
    on_ten = stream.Part([instrument.Piano(), note.Note("C2")])
    on_ten.getInstrument().midiChannel = 9
    assert is_drums(on_ten)
    assert is_drums(stream.Part([note.Unpitched(), note.Unpitched()]))
    assert not is_drums(voice("C4")) and not is_drums(stream.Part())


def test_roles_of_voice_piano_and_drums() -> None:
    score = stream.Score([drums(), piano(), voice("E5", "G5", "C6", "B5")])
    assert part_roles(score) == PartRoles(drums=(0,), melody=2, accompaniment=(1,))


def test_chord_symbols_are_not_notes() -> None:
    """A lead sheet's chord symbols neither lower its mean pitch nor make it chords."""
    lead = voice("E4", "F4", "G4", "E4")
    for offset, figure in enumerate(["C", "F", "G7", "C"]):
        lead.insert(offset, harmony.ChordSymbol(figure))
    assert len(pitched_notes(lead)) == 4
    assert part_roles(stream.Score([lead])) == PartRoles((), 0, ())


def test_the_highest_part_in_chords_is_no_melody() -> None:
    high_chords = stream.Part([chord.Chord(["C5", "E5", "G5"]) for _ in range(4)])
    roles = part_roles(stream.Score([voice("C4", "D4", "E4", "F4"), high_chords]))
    assert roles == PartRoles((), None, (0, 1))


def test_melody_of_merges_ties_and_takes_top_notes() -> None:
    first, second = note.Note("G#4", quarterLength=2), note.Note("A-4")
    first.tie, second.tie = tie.Tie("start"), tie.Tie("stop")
    part = stream.Part([first, second, chord.Chord(["C4", "E5"])])
    assert melody_of(part) == (MelodyNote(F(0), F(3), 68), MelodyNote(F(3), F(1), 76))


def test_the_three_readers_agree() -> None:
    """Evaluation's melody, the primer's melody and the chord reader's accompaniment: one split."""
    score = stream.Score([drums(), piano(), voice("E5", "G5", "C6", "B5")])
    sung = (MelodyNote(F(0), F(1), 76), MelodyNote(F(1), F(1), 79), MelodyNote(F(2), F(1), 84), MelodyNote(F(3), F(1), 83))
    assert evaluate.melody_from_score(score) == sung
    assert engine.melody_notes(score) == sung
    timeline = score_harmony.timeline_from_score(score)
    assert timeline.source == "chordified parts: Piano"
    assert [chord.root for chord in timeline.chords] == [0, 5, 7, 0]


def test_a_lone_line_is_the_melody_and_the_chords_when_nothing_else_plays() -> None:
    bass = voice("C3", "F3", "G3", "C3")
    assert engine.melody_notes(bass)[0] == MelodyNote(F(0), F(1), 48)
    assert [chord.root for chord in score_harmony.timeline_from_score(stream.Score([bass])).chords] == [0, 5, 7, 0]


def test_no_melody_is_an_error_naming_the_part() -> None:
    with pytest.raises(ScoreError, match=r"highest part \(Piano\) is chords"):
        evaluate.melody_from_score(stream.Score([piano()]))
    with pytest.raises(GenerationError, match="no melody part"):
        engine.melody_notes(stream.Score([piano()]))
    with pytest.raises(GenerationError, match="no pitched notes"):
        engine.melody_notes(stream.Score([drums()]))
