"""Rock Corpus numerals: roots as the reference tables print them, pitch classes, errors."""

from __future__ import annotations

import re

import pytest

from music21_melgen.corpus_adapters.rock_numerals import QUALITIES, diatonic_root, parse_numeral
from music21_melgen.errors import CorpusFormatError, MelgenError


@pytest.mark.parametrize(
    ("symbol", "root"),
    [("I", 0), ("bII", 1), ("#I", 1), ("II", 2), ("bIII", 3), ("#II", 3), ("iii", 4), ("IV", 5),
     ("#IV", 6), ("bV", 6), ("V", 7), ("bVI", 8), ("#V", 8), ("vi", 9), ("bVII", 10), ("#VI", 10),
     ("vii", 11)],
)
def test_chromatic_roots_follow_the_readme_table(symbol: str, root: int) -> None:
    assert parse_numeral(symbol).chromatic_root == root


@pytest.mark.parametrize(
    ("symbol", "root"),
    [("V/V", 2), ("V7/IV", 0), ("viio/ii", 1), ("V7/I", 7), ("bVII/bVII", 8), ("V/bVI", 3)],
)
def test_secondary_roots_add_both_numerals(symbol: str, root: int) -> None:
    assert parse_numeral(symbol).chromatic_root == root


def test_diatonic_root_from_chromatic_root() -> None:
    assert [diatonic_root(c) for c in (1, 3, 6, 8, 10)] == [2, 3, 4, 6, 7]
    assert parse_numeral("bVII").diatonic_root == 7
    assert parse_numeral("#IV").diatonic_root == 4


@pytest.mark.parametrize(
    ("symbol", "pitch_classes", "quality"),
    [
        ("I", {0, 4, 7}, "major"),
        ("vi", {9, 0, 4}, "minor"),
        ("viio", {11, 2, 5}, "diminished"),
        ("bVIa", {8, 0, 4}, "augmented"),
        ("Vs4", {7, 0, 2}, "suspended"),
        ("V7s4", {7, 0, 2, 5}, "suspended-seventh"),
        ("I7", {0, 4, 7, 11}, "major-seventh"),
        ("IV7", {5, 9, 0, 4}, "major-seventh"),
        ("V7", {7, 11, 2, 5}, "dominant-seventh"),
        ("bVII7", {10, 2, 5, 8}, "dominant-seventh"),
        ("ii7", {2, 5, 9, 0}, "minor-seventh"),
        ("IVd7", {5, 9, 0, 3}, "dominant-seventh"),
        ("iih7", {2, 5, 8, 0}, "half-diminished-seventh"),
        ("viix7/V", {6, 9, 0, 3}, "diminished-seventh"),
        ("I9", {0, 4, 7, 2}, "major"),
        ("V11", {7, 11, 2, 0}, "major"),
        ("Id7#9", {0, 4, 7, 10, 3}, "dominant-seventh"),
        ("V7b9", {7, 11, 2, 5, 8}, "dominant-seventh"),
        ("bVIb5", {8, 0, 2}, "major-flat-five"),
        ("Va7/vi", {4, 8, 0, 2}, "augmented-seventh"),
    ],
)
def test_pitch_classes_and_quality(symbol: str, pitch_classes: set[int], quality: str) -> None:
    numeral = parse_numeral(symbol)
    assert numeral.pitch_classes == frozenset(pitch_classes)
    assert numeral.quality == quality
    assert numeral.quality in QUALITIES


@pytest.mark.parametrize(
    ("symbol", "inversion", "bass"),
    [("I6", 1, 4), ("I64", 2, 7), ("V65", 1, 11), ("V43", 2, 2), ("V42", 3, 5), ("ii", 0, 2)],
)
def test_inversion_figures_keep_the_set_and_set_the_bass(symbol: str, inversion: int, bass: int) -> None:
    numeral = parse_numeral(symbol)
    assert (numeral.inversion, numeral.bass) == (inversion, bass)
    base = parse_numeral("V7" if symbol.startswith("V") and symbol != "V" else symbol.rstrip("6453"))
    assert numeral.pitch_classes == base.pitch_classes


@pytest.mark.parametrize("symbol", ["", "Q", "IIII", "Iv", "V7/", "V/Q", "bbV", "V7z", "V//V", " I", "I7/V/V"])
def test_garbage_raises_corpus_format_error(symbol: str) -> None:
    with pytest.raises(CorpusFormatError) as caught:
        parse_numeral(symbol, source="x.har", line=3)
    assert caught.value.path == "x.har" and caught.value.line == 3
    assert isinstance(caught.value, MelgenError) and isinstance(caught.value, ValueError)


def test_results_are_cached() -> None:
    assert parse_numeral("V65/IV") is parse_numeral("V65/IV")


def test_every_symbol_of_the_corpus_parses(rock_corpus) -> None:
    symbols = set()
    for path in (rock_corpus / "har").glob("*.har"):
        for line in path.read_text().split("\n"):
            body = line.split("%", 1)[0].partition(":")[2]
            symbols.update(t for t in body.split() if re.match(r"[b#]?[IViv]", t))
    assert len(symbols) > 150
    for symbol in symbols:
        numeral = parse_numeral(symbol)
        assert numeral.chromatic_root in numeral.pitch_classes
        assert numeral.bass in numeral.pitch_classes
