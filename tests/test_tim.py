"""The .tim reader: downbeats, the untimed pickup estimate, positions in seconds."""

from __future__ import annotations

import pytest

from music21_melgen.corpus_adapters.tim import parse_tim, read_tim
from music21_melgen.errors import CorpusFormatError


def test_measure_zero_timed() -> None:
    times = parse_tim("0.5\t0\n2.5\t1\n4.5\t2\n")
    assert times.first_measure == 0
    assert times.seconds == (0.5, 2.5, 4.5)
    assert times.measure_count == 2
    assert times.seconds_at(1.25) == pytest.approx(3.0)


def test_untimed_pickup_is_estimated() -> None:
    times = parse_tim("1.0\t1\n3.0\t2\n5.5\t3\n")
    assert times.seconds[0] == pytest.approx(-1.0)
    assert times.downbeat(1) == 1.0
    assert times.seconds_at(2.5) == pytest.approx(4.25)


def test_measure_at_inverts_seconds_at() -> None:
    times = parse_tim("0\t0\n2\t1\n5\t2\n")
    assert times.measure_at(3.5) == pytest.approx(1.5)
    assert times.measure_at(times.seconds_at(0.25)) == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("0.0\t0\n1.0\t2\n", "consecutive", 2),
        ("0.0\t3\n1.0\t4\n", "measure 0 or 1", 1),
        ("x\t0\n", "expected a number", 1),
        ("0.0\t0\t7\n", "2 fields", 1),
        ("1.0\t0\n0.5\t1\n", "backwards", 2),
        ("nan\t0\n1\t1\n", "finite", 1),
        ("0.0\t0\n", "at least two", None),
    ],
)
def test_bad_input(text: str, message: str, line: int | None) -> None:
    with pytest.raises(CorpusFormatError, match=message) as caught:
        parse_tim(text, "x.tim")
    assert caught.value.line == line


def test_position_outside_the_song() -> None:
    with pytest.raises(CorpusFormatError, match="outside"):
        parse_tim("0\t0\n1\t1\n").seconds_at(5)


def test_every_tim_file_reads_and_matches_the_analyses(rock_corpus) -> None:
    paths = sorted((rock_corpus / "tim").glob("*.tim"))
    assert len(paths) == 200
    pickups = 0
    for path in paths:
        times = read_tim(path)
        pickups += times.first_measure == 1
        assert all(b >= a for a, b in zip(times.seconds, times.seconds[1:]))
    assert pickups == 21
