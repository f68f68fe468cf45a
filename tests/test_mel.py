"""The .mel reader: slots, degrees, modes, octave placement, errors, every file against the reference."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from music21_melgen.corpus_adapters.har import read_har
from music21_melgen.corpus_adapters.mel import format_notes, parse_mel, read_mel
from music21_melgen.errors import CorpusFormatError


def notes(text: str) -> list[tuple[F, int, int]]:
    return [(n.onset, n.midi, n.degree) for n in parse_mel(text).notes]


def test_slots_are_equal_across_groups() -> None:
    assert [n[0] for n in notes("[C] [OCT=4] .. .. .4 43 |")] == [F(5, 8), F(6, 8), F(7, 8)]
    assert [n[0] for n in notes("[C] [OCT=4] 543. _ _ 4.3. |")] == [F(k, 16) for k in (0, 1, 2, 12, 14)]
    assert [n[0] for n in notes("[C] [OCT=4] - 1 = 2 |")] == [F(3, 11), F(10, 11)]


def test_single_digit_is_a_downbeat_and_rest_measures_count() -> None:
    melody = parse_mel("[C] [OCT=4] 5 | R*3 | R | 1 |")
    assert [(n.onset, n.midi) for n in melody.notes] == [(F(0), 67), (F(5), 72)]
    assert melody.measure_count == 6


def test_first_note_by_octave_then_nearest_with_tritone_up() -> None:
    assert [n[1] for n in notes("[C] [OCT=3] 1 4 1 #4 |")] == [48, 53, 48, 54]
    assert [n[1] for n in notes("[C] [OCT=4] 1 b5 |")] == [60, 66]
    assert [n[1] for n in notes("[C] [OCT=4] 1 5 |")] == [60, 55]
    assert [n[1] for n in notes("[G] [OCT=4] 1 |")] == [67]


def test_octave_marks_move_after_placement() -> None:
    assert [n[1] for n in notes("[C] [OCT=4] 1 ^1 v5 vv3 ^^b7 |")] == [60, 72, 55, 28, 58]


def test_accidentals_are_relative_to_major_and_the_mode_to_plain_digits() -> None:
    assert [n[2] for n in notes("[C] [OCT=4] [..b..bb] 3 b3 n3 6 n6 7 #4 |")] == [3, 3, 4, 8, 9, 10, 6]
    assert [n[2] for n in notes("[C] [OCT=4] b1 #3 |")] == [11, 5]


def test_key_token_resets_the_mode() -> None:
    melody = parse_mel("[A] [OCT=4] [..b..bb] 3 | [D] 3 |")
    assert [(n.degree, n.key) for n in melody.notes] == [(3, 9), (4, 2)]
    assert [(c.position, c.mode) for c in melody.modes] == [(F(0), "major"), (F(0), "minor"), (F(1), "major")]
    assert melody.mode_at(F(1, 2)).mode == "minor"


def test_mid_measure_key_changes_later_notes() -> None:
    melody = parse_mel("[C] [OCT=4] .1.. [D] 5... |")
    assert [(n.onset, n.midi, n.key) for n in melody.notes] == [(F(1, 8), 60, 0), (F(1, 2), 57, 2)]
    assert melody.modes[-1].position == F(1, 2)


def test_meters_label_measures() -> None:
    melody = parse_mel("[C] [OCT=4] [12/8] 1 | [0] 2 | [4/4] |")
    assert melody.meters == ("12/8", None, "4/4")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[C] [OCT=4] 8 |", "unknown token"),
        ("[C] [OCT=4] 1b |", "unknown token"),
        ("[OCT=4] 1 |", "before any key"),
        ("[C] 1 |", "octave token"),
        ("[C] [OCT=4] 1", "after the last barline"),
        ("[C] [OCT=4] [x] 1 |", "bad bracket"),
        ("[C] [OCT=4] R*0 |", "N >= 1"),
        ("[C] [OCT=9] 1 ^^^^^1 |", "outside 0-127"),
        ("[C] R*999999999 |", "measures"),
    ],
)
def test_bad_input_raises_with_location(text: str, message: str) -> None:
    with pytest.raises(CorpusFormatError, match=message) as caught:
        parse_mel(text, "bad.mel")
    assert caught.value.path == "bad.mel"


def test_error_carries_line_and_column() -> None:
    with pytest.raises(CorpusFormatError) as caught:
        parse_mel("% title\n[C] [OCT=4]\n1 2 | 3 x |\n")
    assert (caught.value.line, caught.value.column) == (3, 9)


def test_comment_word_ends_the_line() -> None:
    assert len(parse_mel("[C] [OCT=4] 1 | %2 3 |\n").notes) == 1


def test_every_melody_matches_the_reference(rock_corpus) -> None:
    failures = []
    paths = sorted((rock_corpus / "mel").glob("*.mel"))
    assert len(paths) == 199
    compared = 0
    for path in paths:
        melody = read_mel(path)
        harmony = read_har(rock_corpus / "har" / f"{path.stem}.har")
        if (melody.measure_count, melody.meters) != (harmony.measure_count, harmony.meters):
            failures.append(f"{path.name}: measures or meters differ from the analysis")
        reference = rock_corpus / "reference" / "notes" / f"{path.stem}.txt"
        if reference.exists():
            compared += 1
            if format_notes(melody) != reference.read_text().splitlines():
                failures.append(f"{path.name}: note list")
        elif melody.notes:
            failures.append(f"{path.name}: notes but no reference")
    assert failures == []
    assert compared == 193
