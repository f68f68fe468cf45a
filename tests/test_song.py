"""Songs in quarter lengths, their music21 Scores, and the corpus folder API."""

from __future__ import annotations

import shutil
from fractions import Fraction as F

import pytest

from music21_melgen.corpus_adapters.corpus import iter_songs, load_corpus_song
from music21_melgen.corpus_adapters.har import parse_har
from music21_melgen.corpus_adapters.mel import parse_mel, read_mel
from music21_melgen.corpus_adapters.rock_numerals import parse_numeral
from music21_melgen.corpus_adapters.song import NOTE_CAP_BEATS, load_melody, load_song, song_to_score
from music21_melgen.corpus_adapters.tim import parse_tim
from music21_melgen.errors import CorpusFormatError


def test_measure_lengths_come_from_meters() -> None:
    song = load_song(parse_har("S: [C] [12/8] I | [2/4] V | [0] I | [7/8] IV |"))
    assert [(m.number, m.offset, m.length, m.time_signature, m.beat_length) for m in song.measures] == [
        (1, F(0), F(6), "12/8", F(3, 2)), (2, F(6), F(2), "2/4", F(1)),
        (3, F(8), F(4), "4/4", F(1)), (4, F(12), F(7, 2), "7/8", F(1, 2))]
    assert song.unmetered == {3}
    assert [(c.label, c.offset, c.length, c.measure) for c in song.chords] == [
        ("I", F(0), F(6), 1), ("V", F(6), F(2), 2), ("I", F(8), F(4), 3), ("IV", F(12), F(7, 2), 4)]


def test_rest_at_start_leaves_a_gap_and_chords_are_absolute() -> None:
    song = load_song(parse_har("S: [D] R | V7/IV . ii V |"))
    first = song.chords[0]
    assert (first.offset, first.root, first.key_tonic) == (F(4), 2, 2)
    assert first.pitch_classes == frozenset({2, 6, 9, 0})
    assert [c.offset for c in song.chords] == [F(4), F(6), F(7)]


def test_mode_from_the_tonic_numeral_per_key_region() -> None:
    song = load_song(parse_har("S: [A] i | bVII | [C] I | V | [A] bVI |"))
    assert [c.mode for c in song.chords] == ["minor", "minor", "major", "major", "minor"]
    assert [k[1:] for k in song.keys] == [(9, "minor"), (0, "major"), (9, "minor")]


def test_mode_comes_from_the_analysis_not_the_melody_mode_token() -> None:
    """The .mel's [..b..bb] spells the melody's digits; the .har's I says the key is major."""
    harmony = parse_har("S: [E] I | IV | bVII | I |")
    plain = load_song(harmony)
    modal = load_song(harmony, parse_mel("[E] [OCT=4] 1 | 1 | [..b..bb] 1 | 1 |"))
    assert [c.mode for c in plain.chords] == ["major"] * 4
    assert modal.chords == plain.chords


def test_notes_last_to_the_next_onset_capped_in_beats() -> None:
    harmony = parse_har("S: [C] I | | | |")
    song = load_song(harmony, parse_mel("[C] [OCT=4] 1.2. | 3 | | 5 |"))
    assert [(n.offset, n.length) for n in song.notes] == [
        (F(0), F(2)), (F(2), F(2)), (F(4), F(NOTE_CAP_BEATS)), (F(12), F(NOTE_CAP_BEATS))]
    compound = load_song(parse_har("S: [C] [12/8] I | |"), parse_mel("[C] [OCT=4] [12/8] 1 | 2 |"))
    assert [n.length for n in compound.notes] == [F(3), F(3)]


def test_last_note_stops_at_the_song_end() -> None:
    song = load_song(parse_har("S: [C] I |"), parse_mel("[C] [OCT=4] ...1 |"))
    assert song.notes[0].length == 1


def test_melody_longer_than_the_analysis_is_an_error() -> None:
    with pytest.raises(CorpusFormatError, match="measures"):
        load_song(parse_har("S: [C] I |"), parse_mel("[C] [OCT=4] 1 | 1 |"))


def test_note_cap_is_the_90th_percentile_of_the_corpus(rock_corpus) -> None:
    gaps = []
    for path in sorted((rock_corpus / "mel").glob("*.mel")):
        song = load_melody(read_mel(path))
        starts = [m.offset for m in song.measures]
        for a, b in zip(song.notes, song.notes[1:]):
            measure = song.measures[max(i for i, s in enumerate(starts) if s <= a.offset)]
            gaps.append((b.offset - a.offset) / measure.beat_length)
    gaps.sort()
    assert len(gaps) > 50_000
    assert gaps[int(0.9 * len(gaps))] == NOTE_CAP_BEATS


def _check_score(song, score) -> None:
    from music21 import key, roman

    harmony = score.parts["Harmony"]
    measures = list(harmony.getElementsByClass("Measure"))
    assert [m.number for m in measures] == [m.number for m in song.measures]
    for part in score.parts:
        for measure in part.getElementsByClass("Measure"):
            total = sum(F(e.quarterLength) for e in measure.notesAndRests)
            assert total == F(measure.barDuration.quarterLength), (part.id, measure.number)
    chords = {c.offset: c for c in song.chords}
    flat = harmony.flatten()
    for rn in flat.getElementsByClass(roman.RomanNumeral):
        offset = F(rn.getOffsetInHierarchy(harmony))
        if rn.tie is not None and rn.tie.type != "start":
            continue
        chord = chords[offset]
        numeral = parse_numeral(chord.label)
        assert {p.pitchClass for p in rn.pitches} == set(chord.pitch_classes)
        assert rn.root().pitchClass == (numeral.chromatic_root + chord.key_tonic) % 12
        assert rn.bass().pitchClass == (numeral.bass + chord.key_tonic) % 12
    assert len([rn for rn in flat.getElementsByClass(roman.RomanNumeral)
                if rn.tie is None or rn.tie.type == "start"]) == len(song.chords)
    keys = [(F(k.getOffsetInHierarchy(harmony)), k.tonic.pitchClass, k.mode) for k in flat.getElementsByClass(key.Key)]
    assert keys == list(song.keys)


@pytest.mark.parametrize(
    ("stem", "analyst"),
    [("crazy", "dt"), ("hey_jude", "dt"), ("bohemian_rhapsody", "tdc"), ("shout", "tdc"), ("kashmir", "dt")],
)
def test_corpus_scores_fill_their_measures(rock_corpus, stem: str, analyst: str) -> None:
    song = next(s for s in iter_songs(rock_corpus) if s.stem == stem)
    data = load_corpus_song(song, analyst)
    score = song_to_score(data)
    _check_score(data, score)
    melody = score.parts["Melody"]
    assert len(list(melody.recurse().notes)) >= len(data.notes)
    assert score.metadata.title == stem


def test_score_from_text_with_ties_and_keys() -> None:
    song = load_song(
        parse_har("S: [C] R | I . . [A] i | | bVI64 V7 |"),
        parse_mel("[C] [OCT=4] | 1 . . 3 | | 5 |"),
        stem="toy",
    )
    score = song_to_score(song)
    _check_score(song, score)
    measure = score.parts["Harmony"].measure(3)
    tied = measure.notes[0]
    assert (tied.tie.type, tied.quarterLength) == ("stop", 4.0)
    assert [str(k) for k in score.parts["Harmony"].recurse().getElementsByClass("Key")] == [
        "C major", "a minor"]


def test_timing_adds_tempo_marks() -> None:
    song = load_song(parse_har("S: [C] I | V | I |"))
    score = song_to_score(song, parse_tim("0\t0\n2\t1\n4\t2\n5\t3\n"))
    marks = list(score.parts[0].recurse().getElementsByClass("MetronomeMark"))
    assert [m.number for m in marks] == [120.0, 240.0]


def test_iter_songs_pairs_by_stem_in_both_layouts(rock_corpus, tmp_path) -> None:
    songs = list(iter_songs(rock_corpus))
    assert len(songs) == 200
    assert [s.stem for s in songs] == sorted(s.stem for s in songs)
    assert sum(s.melody is not None for s in songs) == 199
    one = next(s for s in songs if s.stem == "hey_jude")
    assert one.analysts == ("dt", "tdc") and one.melody_analyst == "dt" and one.timing is not None
    for name in ("har/hey_jude_dt.har", "har/hey_jude_tdc.har", "mel/hey_jude_dt.mel", "tim/hey_jude.tim"):
        shutil.copy(rock_corpus / name, tmp_path)
    (flat,) = iter_songs(tmp_path)
    assert (flat.stem, flat.analysts, flat.melody_analyst) == ("hey_jude", ("dt", "tdc"), "dt")
    data = load_corpus_song(flat, "tdc")
    assert data.analyst == "tdc" and data.melody_analyst == "dt" and data.notes
    with pytest.raises(CorpusFormatError, match="no analysis by 'xy'"):
        load_corpus_song(flat, "xy")
