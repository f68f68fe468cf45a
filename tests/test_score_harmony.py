"""Any score to a chord timeline (music21_melgen.score_harmony)."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from music21 import chord, corpus, harmony, instrument, key, meter, note, roman, stream

from music21_melgen.errors import ScoreError
from music21_melgen.score_harmony import ScoreTimeline, diatonic_triad, timeline_from_score


def measure(number: int, *items: tuple[float, object], signature: str | None = None) -> stream.Measure:
    bar = stream.Measure(number=number)
    if signature:
        bar.insert(0, meter.TimeSignature(signature))
    for offset, item in items:
        bar.insert(offset, item)
    return bar


def part_of(*bars: stream.Measure, name: str = "") -> stream.Part:
    part = stream.Part()
    if name:
        part.partName = name
    for bar in bars:
        part.append(bar)
    return part


def test_chord_symbols_last_until_the_next_and_no_chord_has_no_root() -> None:
    bars = part_of(
        measure(1, (0, key.Key("E-")), (0, harmony.ChordSymbol("E-")), (0, note.Rest(quarterLength=4)), signature="4/4"),
        measure(2, (0, harmony.ChordSymbol("A-7")), (3, harmony.NoChord()), (0, note.Rest(quarterLength=4))),
        measure(3, (0, harmony.ChordSymbol("B-7/D")), (0, note.Rest(quarterLength=4))),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    assert [(c.label, c.offset, c.length, c.root) for c in timeline.chords] == [
        ("E-", F(0), F(4), 3),
        ("A-7", F(4), F(3), 8),
        ("N.C.", F(7), F(1), None),
        ("B-7/D", F(8), F(4), 10),
    ]
    assert timeline.chords[3].pitch_classes == frozenset({10, 2, 5, 8})
    assert timeline.chords[2].pitch_classes == frozenset()
    assert {(c.key_tonic, c.mode) for c in timeline.chords} == {(3, "major")}
    assert not timeline.key_estimated
    assert timeline.source == "chord symbols"


def test_repeated_chord_symbols_merge() -> None:
    bars = part_of(
        measure(1, (0, harmony.ChordSymbol("C")), (0, note.Rest(quarterLength=4)), signature="4/4"),
        measure(2, (0, harmony.ChordSymbol("C")), (0, note.Rest(quarterLength=4))),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    assert [(c.offset, c.length) for c in timeline.chords] == [(F(0), F(8))]


def test_roman_numerals_use_their_own_keys_and_secondary_functions() -> None:
    bars = part_of(
        measure(1, (0, key.Key("C")), (0, roman.RomanNumeral("I", "C", quarterLength=2)),
                (2, roman.RomanNumeral("V7/IV", "C", quarterLength=2)), signature="4/4"),
        measure(2, (0, roman.RomanNumeral("IV", "C", quarterLength=2)),
                (2, roman.RomanNumeral("V", "a", quarterLength=2))),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    secondary = timeline.chords[1]
    assert (secondary.label, secondary.root, secondary.pitch_classes) == ("V7/IV", 0, frozenset({0, 4, 7, 10}))
    last = timeline.chords[-1]
    assert (last.root, last.key_tonic, last.mode, last.pitch_classes) == (4, 9, "minor", frozenset({4, 8, 11}))
    assert timeline.source == "roman numerals"


def test_romantext_from_music21s_corpus_keeps_its_pickup_and_meter() -> None:
    score = corpus.parse("bach/choraleAnalyses/riemenschneider001.rntxt", forceSource=True)
    timeline = timeline_from_score(score)
    first, second = timeline.measures[:2]
    assert (first.number, first.length, first.time_signature) == (0, F(1), "3/4")
    assert (second.number, second.offset, second.length) == (1, F(1), F(3))
    assert timeline.chords[0].key_tonic == 7 and timeline.chords[0].mode == "major"
    assert sum(c.length for c in timeline.chords) == timeline.length


def test_lead_sheet_from_music21s_corpus() -> None:
    score = corpus.parse("leadSheet/berlinAlexandersRagtime", forceSource=True)
    timeline = timeline_from_score(score)
    labels = {c.label for c in timeline.chords}
    assert {"F", "C7", "B-"} <= labels
    assert timeline.measures[-1].offset + timeline.measures[-1].length == timeline.length


@pytest.mark.parametrize(
    ("signature", "beat"), [("2/4", F(1)), ("3/4", F(1)), ("4/4", F(1)), ("6/8", F(3, 2)), ("12/8", F(3, 2))]
)
def test_meters_give_measure_lengths_and_beats(signature: str, beat: F) -> None:
    bar_length = F(meter.TimeSignature(signature).barDuration.quarterLength)
    bars = part_of(
        measure(1, (0, harmony.ChordSymbol("G")), (0, note.Rest(quarterLength=float(bar_length))), signature=signature),
        measure(2, (0, harmony.ChordSymbol("D")), (0, note.Rest(quarterLength=float(bar_length)))),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    assert [(m.length, m.beat_length, m.time_signature) for m in timeline.measures] == [
        (bar_length, beat, signature)
    ] * 2


def test_meter_changes_and_pickup() -> None:
    bars = part_of(
        measure(0, (0, harmony.ChordSymbol("C")), (0, note.Note("G4")), signature="4/4"),
        measure(1, (0, note.Rest(quarterLength=4))),
        measure(2, (0, harmony.ChordSymbol("F")), (0, note.Rest(quarterLength=3)), signature="3/4"),
        measure(3, (0, harmony.ChordSymbol("G")), (0, note.Rest(quarterLength=3, )), signature="6/8"),
    )
    bars.getElementsByClass(stream.Measure).first().paddingLeft = 3
    timeline = timeline_from_score(stream.Score([bars]))
    assert [(m.number, m.offset, m.length, m.time_signature) for m in timeline.measures] == [
        (0, F(0), F(1), "4/4"),
        (1, F(1), F(4), "4/4"),
        (2, F(5), F(3), "3/4"),
        (3, F(8), F(3), "6/8"),
    ]
    assert [c.measure for c in timeline.chords] == [0, 2, 3]


def test_key_signature_reads_minor_when_the_harmony_ends_on_the_relative_minor() -> None:
    bars = part_of(
        measure(1, (0, key.KeySignature(0)), (0, harmony.ChordSymbol("Am")), (0, note.Rest(quarterLength=4)), signature="4/4"),
        measure(2, (0, harmony.ChordSymbol("E7")), (2, harmony.ChordSymbol("Am")), (0, note.Rest(quarterLength=4))),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    assert {(c.key_tonic, c.mode) for c in timeline.chords} == {(9, "minor")}
    assert not timeline.key_estimated


def test_no_written_key_is_estimated_and_reported() -> None:
    bars = part_of(
        measure(1, (0, harmony.ChordSymbol("D")), (0, note.Rest(quarterLength=4)), signature="4/4"),
        measure(2, (0, harmony.ChordSymbol("A7")), (0, note.Rest(quarterLength=4))),
        measure(3, (0, harmony.ChordSymbol("D")), (0, note.Rest(quarterLength=4))),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    assert timeline.key_estimated
    assert (timeline.chords[0].key_tonic, timeline.chords[0].mode) == (2, "major")
    assert "(estimated)" in str(timeline)


def accompaniment_score() -> stream.Score:
    """Melody on top, piano chords, and drums: only the piano should count."""
    melody = part_of(
        measure(1, (0, note.Note("E5", quarterLength=2)), (2, note.Note("G5", quarterLength=2)), signature="4/4"),
        measure(2, (0, note.Note("A5", quarterLength=4))),
        name="Voice",
    )
    piano = part_of(
        measure(1, (0, chord.Chord(["C3", "E3", "G3"], quarterLength=4)), signature="4/4"),
        measure(2, (0, chord.Chord(["F3", "A3", "C4"], quarterLength=2)), (2, chord.Chord(["G3", "B3", "D4"], quarterLength=2))),
        name="Piano",
    )
    drums = part_of(
        measure(1, (0, note.Unpitched(quarterLength=4)), signature="4/4"),
        measure(2, (0, note.Unpitched(quarterLength=4))),
        name="Drums",
    )
    drums.insert(0, instrument.BassDrum())
    score = stream.Score([melody, piano, drums])
    score.insert(0, key.Key("C"))
    return score


def test_accompaniment_is_chordified_by_beat_without_melody_and_drums() -> None:
    timeline = timeline_from_score(accompaniment_score())
    assert [(c.offset, c.length, c.root, c.pitch_classes) for c in timeline.chords] == [
        (F(0), F(4), 0, frozenset({0, 4, 7})),
        (F(4), F(2), 5, frozenset({5, 9, 0})),
        (F(6), F(2), 7, frozenset({7, 11, 2})),
    ]
    assert timeline.source == "chordified parts: Piano"


def test_chord_parts_by_name_or_index_chordify_those_parts() -> None:
    score = accompaniment_score()
    by_name = timeline_from_score(score, chord_parts=["voice"])
    by_index = timeline_from_score(score, chord_parts=[0])
    assert by_name.chords == by_index.chords
    assert by_name.chords[0].root == 4  # E alone: the diatonic triad on E in C major, E G B
    assert by_name.chords[0].pitch_classes == frozenset({4, 7, 11})
    with pytest.raises(ScoreError, match="no part named 'Bass'.*part 1 'Voice'.*part 2 'Piano'.*part 3 'Drums'"):
        timeline_from_score(score, chord_parts=["Bass"])
    with pytest.raises(ScoreError, match=r"there is no part 99 \(index 98\); the score has 3 parts: part 1 'Voice' \(index 0\)"):
        timeline_from_score(score, chord_parts=[98])
    with pytest.raises(ScoreError, match="chord_parts must be a list"):
        timeline_from_score(score, chord_parts=5)  # type: ignore[arg-type]


def test_single_bass_notes_are_diatonic_triads_of_the_estimated_key() -> None:
    bass = part_of(
        measure(1, (0, note.Note("C3", quarterLength=4)), signature="4/4"),
        measure(2, (0, note.Note("D3", quarterLength=4))),
        measure(3, (0, note.Note("G2", quarterLength=4))),
        measure(4, (0, note.Note("C3", quarterLength=4))),
    )
    timeline = timeline_from_score(stream.Score([bass]))
    assert timeline.key_estimated
    assert [(c.root, sorted(c.pitch_classes)) for c in timeline.chords] == [
        (0, [0, 4, 7]), (2, [2, 5, 9]), (7, [2, 7, 11]), (0, [0, 4, 7])
    ]


def test_flat_stream_without_measures_is_measured() -> None:
    flat = stream.Part()
    flat.insert(0, meter.TimeSignature("3/4"))
    for offset, figure in ((0, "C"), (3, "G7"), (6, "C")):
        flat.insert(offset, harmony.ChordSymbol(figure))
        flat.insert(offset, note.Rest(quarterLength=3))
    timeline = timeline_from_score(stream.Score([flat]))
    assert [(m.number, m.offset, m.length) for m in timeline.measures] == [(1, F(0), F(3)), (2, F(3), F(3)), (3, F(6), F(3))]


def test_no_harmony_is_a_score_error_naming_the_file() -> None:
    silent = part_of(measure(1, (0, note.Rest(quarterLength=4)), signature="4/4"))
    score = stream.Score([silent])
    score.filePath = "/music/empty.musicxml"
    with pytest.raises(ScoreError, match=r"/music/empty.musicxml: no harmony found.*chord symbols.*--chord-parts"):
        timeline_from_score(score)


def test_timeline_prints_one_line_per_chord() -> None:
    bars = part_of(
        measure(1, (0, key.Key("B-")), (0, harmony.ChordSymbol("B-")), (2, harmony.ChordSymbol("E-")),
                (0, note.Rest(quarterLength=4)), signature="4/4"),
    )
    timeline = timeline_from_score(stream.Score([bars]))
    assert isinstance(timeline, ScoreTimeline)
    lines = str(timeline).splitlines()
    assert len(lines) == 2 + len(timeline.chords)
    assert lines[3].split()[:6] == ["1", "3", "2", "2", "Eb", "Eb"]
    assert "Bb major" in lines[0]


def test_diatonic_triad_in_minor_makes_the_dominant_major() -> None:
    assert diatonic_triad(7, 0, "minor") == frozenset({7, 11, 2})
    assert diatonic_triad(3, 0, "minor") == frozenset({3, 7, 10})
