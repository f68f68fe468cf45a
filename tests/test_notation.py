"""Melody notes to a Part fitted to the score (music21_melgen.notation)."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from music21 import converter, key, meter, note, stream

from music21_melgen.engine import melody_notes, write_score
from music21_melgen.errors import GenerationError
from music21_melgen.notation import melody_part, spell
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote


def timeline_for(signatures: list[str], *, pickup: F | None = None, tonic: int = 0, mode: str = "major") -> ChordTimeline:
    """Measures in the given meters (the first a pickup of ``pickup`` quarters), one chord throughout."""
    bars = []
    offset = F(0)
    for index, signature in enumerate(signatures):
        ts = meter.TimeSignature(signature)
        length = pickup if index == 0 and pickup else F(ts.barDuration.quarterLength)
        bars.append(MeasureSpan(index, offset, length, signature, F(ts.beatDuration.quarterLength)))
        offset += length
    chords = (ChordSpan(F(0), offset, tonic, frozenset({tonic, (tonic + 4) % 12, (tonic + 7) % 12}), tonic, mode, 0, "I"),)
    return ChordTimeline(chords, tuple(bars))


def measure_contents(part: stream.Part) -> list[F]:
    return [sum((F(n.quarterLength) for n in m.notesAndRests), F(0)) for m in part.getElementsByClass(stream.Measure)]


def test_measures_follow_the_timeline_with_meters_and_pickup() -> None:
    timeline = timeline_for(["4/4", "4/4", "3/4", "6/8", "12/8"], pickup=F(1))
    part = melody_part([MelodyNote(F(0), F(2), 67), MelodyNote(F(7), F(5), 64)], timeline)
    bars = list(part.getElementsByClass(stream.Measure))
    assert [m.number for m in bars] == [0, 1, 2, 3, 4]
    assert [F(m.offset) for m in bars] == [span.offset for span in timeline.measures]
    assert measure_contents(part) == [span.length for span in timeline.measures]
    assert bars[0].paddingLeft == 3
    assert [m.timeSignature.ratioString if m.timeSignature else None for m in bars] == ["4/4", None, "3/4", "6/8", "12/8"]
    first = part.recurse().notes.first()
    assert first.tie.type == "start"  # the pickup note goes over the barline


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4 * 23), st.integers(1, 30), st.integers(55, 79)), min_size=1, max_size=25
    ),
    st.sampled_from([["4/4"] * 6, ["3/4", "6/8", "2/4", "12/8", "5/4", "7/8"], ["6/8"] * 6]),
)
def test_every_measure_is_full_and_ties_give_back_the_notes(raw: list[tuple[int, int, int]], signatures: list[str]) -> None:
    timeline = timeline_for(signatures)
    end = timeline.length
    notes = sorted(
        {MelodyNote(F(start, 4), F(length, 4), midi) for start, length, midi in raw if F(start, 4) < end},
        key=lambda n: (n.offset, n.midi),
    )
    cleaned = []
    for index, item in enumerate(notes):  # what melody_part promises to keep: no overlaps, inside the timeline
        stop = min(item.end, end, notes[index + 1].offset if index + 1 < len(notes) else end)
        if stop > item.offset:
            cleaned.append(MelodyNote(item.offset, stop - item.offset, item.midi))
    part = melody_part(notes, timeline)
    assert measure_contents(part) == [span.length for span in timeline.measures]
    assert all(
        n.duration.type not in ("complex", "inexpressible")
        for n in part.recurse().notesAndRests
        if not (n.isRest and n.fullMeasure is True)  # a whole-bar rest is written as one measure rest
    )
    if cleaned:
        assert melody_notes(part) == tuple(cleaned)
    else:
        assert len(part.recurse().notes) == 0


def test_pitches_are_spelled_for_the_key() -> None:
    eb = key.Key("E-")
    assert [spell(m, eb).name for m in (63, 65, 67, 68, 70, 72, 74, 66, 71, 61)] == [
        "E-", "F", "G", "A-", "B-", "C", "D", "G-", "B", "D-"
    ]
    assert [spell(m, key.Key("F")).name for m in (71, 66, 68)] == ["B", "G-", "A-"]
    assert [spell(m, key.Key("E")).name for m in (68, 70, 63)] == ["G#", "A#", "D#"]
    a_minor = key.Key("a")
    assert [spell(m, a_minor).name for m in (68, 66, 70)] == ["G#", "F#", "B-"]
    assert spell(59, key.Key("C-")).nameWithOctave == "C-4"  # Cb4 sounds as B3
    with pytest.raises(GenerationError):
        spell(128, eb)


def test_key_signature_from_the_timeline_and_spelled_notes() -> None:
    timeline = timeline_for(["4/4", "4/4"], tonic=3)
    part = melody_part([MelodyNote(F(0), F(1), 68), MelodyNote(F(1), F(1), 66)], timeline)
    assert part.recurse().getElementsByClass(key.Key).first().sharps == -3
    assert [n.pitch.name for n in part.recurse().notes] == ["A-", "G-"]
    assert part.partName == "Melody (melgen)"
    assert part.getInstrument().midiProgram is not None


def test_key_changes_are_written_at_their_measures() -> None:
    timeline = timeline_for(["4/4"] * 3)
    part = melody_part(
        [MelodyNote(F(8), F(1), 66)], timeline, key_signature=[(F(0), key.Key("C")), (F(8), key.Key("D-"))]
    )
    bars = list(part.getElementsByClass(stream.Measure))
    assert [m.keySignature.sharps if m.keySignature else None for m in bars] == [0, None, -5]
    assert part.recurse().notes.first().pitch.name == "G-"


def test_notes_outside_the_timeline_are_clipped_and_overlaps_cut() -> None:
    timeline = timeline_for(["4/4"])
    part = melody_part([MelodyNote(F(3), F(4), 60), MelodyNote(F(1), F(3), 62)], timeline)
    assert melody_notes(part) == (MelodyNote(F(1), F(2), 62), MelodyNote(F(3), F(1), 60))


def test_ties_between_differently_spelled_notes_still_merge() -> None:
    """music21's stripTies trap: G#4 tied to Ab4 is one note by pitch, two by name."""
    part = stream.Part()
    bar1, bar2 = stream.Measure(number=1), stream.Measure(number=2)
    bar1.append([meter.TimeSignature("4/4"), note.Rest(quarterLength=3), note.Note("G#4")])
    bar2.append([note.Note("A-4", quarterLength=2), note.Rest(quarterLength=2)])
    part.append([bar1, bar2])
    bar1.notes.first().tie = __import__("music21").tie.Tie("start")
    bar2.notes.first().tie = __import__("music21").tie.Tie("stop")
    assert melody_notes(part) == (MelodyNote(F(3), F(3), 68),)


@pytest.mark.parametrize("signature", ["5/4", "7/8"])
def test_full_measure_rests_in_odd_meters_survive_a_round_trip(signature: str, tmp_path) -> None:
    """music21's full-measure rest trap: an empty 5/4 or 7/8 bar must come back at its full length."""
    timeline = timeline_for([signature] * 3)
    bar_length = timeline.measures[0].length
    part = melody_part([MelodyNote(F(0), bar_length, 64)], timeline)
    target = write_score(stream.Score([part]), tmp_path / "odd.musicxml")
    back = converter.parse(target, forceSource=True)
    lengths = [
        sum((F(n.quarterLength) for n in m.notesAndRests), F(0))
        for m in back.parts[0].getElementsByClass(stream.Measure)
    ]
    assert lengths == [bar_length] * 3
    assert [m.timeSignature.ratioString for m in back.parts[0].getElementsByClass(stream.Measure) if m.timeSignature] == [signature]
