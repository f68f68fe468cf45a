"""The .har expander: the README's tricky cases, errors, and every file against the reference."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from music21_melgen.corpus_adapters.har import (
    MAX_MEASURES,
    MAX_TOKENS,
    format_chords_line,
    format_table,
    parse_har,
    read_har,
)
from music21_melgen.errors import CorpusFormatError


def events(text: str) -> list[tuple[str, F, int]]:
    return [(e.symbol, e.start, e.key) for e in parse_har(text).events]


def test_key_and_meter_are_scoped_to_a_section() -> None:
    song = parse_har("In: [A] [3/4] i | IV |\nCh: I | V |\nS: [C] $In $Ch\n")
    assert events("In: [A] i | IV |\nCh: I | V |\nS: [C] $In $Ch\n") == [
        ("i", F(0), 9), ("IV", F(1), 9), ("I", F(2), 0), ("V", F(3), 0)]
    assert song.meters == ("3/4", "3/4", "4/4", "4/4")


def test_r_at_the_start_delays_the_first_chord() -> None:
    song = parse_har("S: [F] R | I |")
    assert [(e.symbol, e.start, e.end) for e in song.events] == [("I", F(1), F(2))]
    assert song.rows[0].start == 1


def test_r_sharing_a_measure_takes_a_slot() -> None:
    assert events("S: [C] R bVII | I |") == [("bVII", F(1, 2), 0), ("I", F(1), 0)]


def test_r_later_lets_the_previous_chord_last() -> None:
    song = parse_har("S: [C] I | R | V |")
    assert [(e.symbol, e.start, e.end) for e in song.events] == [("I", F(0), F(2)), ("V", F(2), F(3))]


def test_key_change_mid_measure_applies_to_later_chords() -> None:
    assert events("S: [Bb] V | I [B] V7 |") == [("V", F(0), 10), ("I", F(1), 10), ("V7", F(3, 2), 11)]


def test_bar_repeat_and_empty_measures_continue_the_chord() -> None:
    song = parse_har("S: [C] I |*4 V | | IV |")
    assert song.measure_count == 7
    assert [(e.symbol, e.start, e.end) for e in song.events] == [
        ("I", F(0), F(4)), ("V", F(4), F(6)), ("IV", F(6), F(7))]


def test_placeholders_split_the_measure_evenly() -> None:
    assert events("S: [C] I . . bVII |") == [("I", F(0), 0), ("bVII", F(3, 4), 0)]
    assert [e.start for e in parse_har("S: [C] ii65 V43/ii ii vi6 bVIId7 . VId7 . |").events] == [
        F(k, 8) for k in (0, 1, 2, 3, 4, 6)]


def test_unmetered_measures_have_no_meter_but_full_length() -> None:
    song = parse_har("S: [F] [0] I | IV V | [4/4] I |")
    assert song.meters == (None, None, "4/4")
    assert [e.start for e in song.events] == [F(0), F(1), F(3, 2), F(2)]


def test_same_symbol_same_key_is_a_continuation() -> None:
    assert events("S: [C] I | I V | V |") == [("I", F(0), 0), ("V", F(3, 2), 0)]
    assert events("S: [C] I [D] I |") == [("I", F(0), 0), ("I", F(1, 2), 2)]


def test_rows_merge_same_root_and_key() -> None:
    song = parse_har("S: [C] I | I7 | V/IV | IV |")
    assert [(r.symbol, r.start, r.end, r.absolute_root) for r in song.rows] == [
        ("I", F(0), F(3), 0), ("IV", F(3), F(4), 5)]
    assert format_table(song)[0] == " 0.00  3.00     I   0   1   0   0"


def test_repeats_of_sections_and_comments() -> None:
    text = "% title | I\nA: I V |   % a comment with $B and |\nS: [E] $A*3 |*2\n"
    song = parse_har(text)
    assert song.measure_count == 5
    assert len(song.events) == 6
    assert format_chords_line(song).startswith("Chords: I (0.000) V (0.500) I (1.000)")


def test_expanded_text_prints_like_the_expander() -> None:
    song = parse_har("Unused: I |\nA: I | | I . . [G] IV |\nS: [C] R | [3/4] $A [4/4] I |")
    assert song.warnings_text() == "Warning: 'Unused' is defined but never used\n"
    assert song.expanded_text() == "[C] R | [3/4] I | | . . . [G] IV | [4/4] [C] I | "


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("S: [C] $A |", "never defined", 1),
        ("A: $B |\nB: $A |\nS: [C] $A", "refers to itself", None),
        ("A: I $A |\nS: [C] $A", "refers to itself", 1),
        ("I | V |", "expected a rule", 1),
        ("A: I |\n", "no song rule", None),
        ("S: [C] I |\nS: [D] I |", "defined twice", 2),
        ("S: [C] I @ |", "bad chord symbol", 1),
        ("S: [H] I |", "bad bracket token", 1),
        ("S: [C] I |*0", "N >= 1", 1),
        ("S: I |", "before any key token", 1),
    ],
)
def test_bad_input_raises_with_location(text: str, message: str, line: int | None) -> None:
    with pytest.raises(CorpusFormatError, match=message) as caught:
        parse_har(text, "bad.har")
    assert caught.value.path == "bad.har"
    if line is not None:
        assert caught.value.line == line


def test_column_points_at_the_token() -> None:
    with pytest.raises(CorpusFormatError) as caught:
        parse_har("S: [C] I | Vx |")
    assert (caught.value.line, caught.value.column) == (1, 12)


def test_absurd_repeats_fail_before_expanding() -> None:
    with pytest.raises(CorpusFormatError, match=f"limit of {MAX_TOKENS}"):
        parse_har("A: I |\nS: [C] $A*999999999")
    with pytest.raises(CorpusFormatError, match="limit"):
        parse_har("A: |*9999\nB: $A*9999\nS: [C] $B*9999")
    with pytest.raises(CorpusFormatError, match=f"limit of {MAX_MEASURES}"):
        parse_har("S: [C] I |*200000")


def test_deep_chains_do_not_overflow_the_stack() -> None:
    rules = "".join(f"A{i}: $A{i + 1} |\n" for i in range(5000)) + "A5000: I |\nS: [C] $A0\n"
    assert parse_har(rules).measure_count == 5001


def test_read_har_reports_unreadable_files(tmp_path) -> None:
    with pytest.raises(CorpusFormatError, match="cannot read"):
        read_har(tmp_path / "missing.har")
    (tmp_path / "latin.har").write_bytes(b"S: [C] I | % caf\xe9\n")
    with pytest.raises(CorpusFormatError, match="not ASCII"):
        read_har(tmp_path / "latin.har")


def test_every_analysis_matches_the_reference(rock_corpus) -> None:
    failures = []
    paths = sorted((rock_corpus / "har").glob("*.har"))
    assert len(paths) == 400
    for path in paths:
        analysis = read_har(path)
        reference = (rock_corpus / "reference" / "chords" / f"{path.stem}.txt").read_text().split("\n")
        start = reference.index("Chords w/ timepoints and roots:") + 1
        table = reference[start:reference.index("---", start)]
        if format_table(analysis) != table:
            failures.append(f"{path.name}: chord table")
        chords_lines = [line for line in reference if line.startswith("Chords: ")]
        if chords_lines and chords_lines != [format_chords_line(analysis)]:
            failures.append(f"{path.name}: Chords: line")
        exp = (rock_corpus / "exp" / f"{path.stem}.txt").read_text()
        if exp != analysis.warnings_text() + analysis.expanded_text() + "\n":
            failures.append(f"{path.name}: exp line")
    assert failures == []
