"""Property tests: the readers raise only the package's errors, never hang, and stay small.

Random text and mutated real corpus files (characters deleted, inserted or
duplicated, slices duplicated, lines swapped) go through every reader; the
only exceptions allowed are :class:`MelgenError` subclasses. Hypothesis's
deadline catches a hang; tracemalloc bounds the memory of expansion bombs.
"""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from music21_melgen.corpus_adapters.har import parse_har
from music21_melgen.corpus_adapters.mel import parse_mel
from music21_melgen.corpus_adapters.rock_numerals import parse_numeral
from music21_melgen.corpus_adapters.song import load_song
from music21_melgen.corpus_adapters.tim import parse_tim
from music21_melgen.errors import CorpusFormatError, MelgenError

FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HAR_ALPHABET = "IViv b#$|*.R[]/0123456789:%\n\tSABCxdhos+aE"
MEL_ALPHABET = "1234567.b#n^v_-=|R*[]OCT=/0%\n ABCDEFG"
TIM_ALPHABET = "0123456789.-\t\n e+naif"


def run_readers(har: str | None = None, mel: str | None = None) -> None:
    """Run the readers (and load_song when both parse); only MelgenError may escape."""
    harmony = melody = None
    try:
        if har is not None:
            harmony = parse_har(har, "fuzz.har")
    except MelgenError:
        pass
    try:
        if mel is not None:
            melody = parse_mel(mel, "fuzz.mel")
    except MelgenError:
        pass
    if harmony is not None:
        try:
            load_song(harmony, melody if melody is not None and melody.measure_count else None)
        except MelgenError:
            pass


@FUZZ
@given(st.text(alphabet=HAR_ALPHABET, max_size=400))
def test_random_har_text(text: str) -> None:
    run_readers(har=text)


@FUZZ
@given(st.text(alphabet=MEL_ALPHABET, max_size=400))
def test_random_mel_text(text: str) -> None:
    run_readers(mel=text)


@FUZZ
@given(st.text(alphabet=TIM_ALPHABET, max_size=200))
def test_random_tim_text(text: str) -> None:
    try:
        times = parse_tim(text, "fuzz.tim")
    except MelgenError:
        return
    assert len(times.seconds) >= 2


@FUZZ
@given(st.text(max_size=20))
def test_random_numerals(text: str) -> None:
    try:
        numeral = parse_numeral(text)
    except CorpusFormatError:
        return
    assert numeral.chromatic_root in numeral.pitch_classes


@pytest.fixture(scope="module")
def corpus_texts(rock_corpus) -> dict[str, list[str]]:
    """Every 8th analysis and every 4th melody of the corpus, as text."""
    return {
        "har": [p.read_text() for p in sorted((rock_corpus / "har").glob("*.har"))[::8]],
        "mel": [p.read_text() for p in sorted((rock_corpus / "mel").glob("*.mel"))[::4]],
    }


@st.composite
def mutated(draw, texts: list[str]) -> str:
    """A corpus text with a few random edits."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "bomb"]))
        at = draw(st.integers(0, len(text)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
        elif kind == "insert":
            text = text[:at] + draw(st.text(alphabet=HAR_ALPHABET + MEL_ALPHABET, min_size=1, max_size=6)) + text[at:]
        elif kind == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 40)))
            text = text[:end] + text[at:end] * draw(st.integers(1, 3)) + text[end:]
        elif kind == "swap":
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        else:
            text = text[:at] + draw(st.sampled_from(["*999999999", "*99999", " $S ", " R*99999 ", "|*999999"])) + text[at:]
    return text


@settings(FUZZ, max_examples=1000)
@given(data=st.data())
def test_mutated_corpus_files(corpus_texts, data) -> None:
    har = data.draw(mutated(corpus_texts["har"]))
    mel = data.draw(mutated(corpus_texts["mel"]))
    run_readers(har=har, mel=mel)


@pytest.mark.parametrize(
    "text",
    [
        "A: I V |\nS: [C] $A*999999999\n",
        "A: I |*999999999\nS: [C] $A\n",
        "A: I |\nB: $A*9999 $A*9999\nC: $B*9999\nS: [C] $C*9999\n",
        "A: I | $B\nB: V | $A\nS: [C] $A\n",
    ],
)
def test_expansion_bombs_fail_fast_and_small(text: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(CorpusFormatError):
            parse_har(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_bomb_in_a_real_file_stays_small(rock_corpus) -> None:
    text = (rock_corpus / "har" / "the_message_tdc.har").read_text().replace("$A*178", "$A*999999999")
    tracemalloc.start()
    try:
        with pytest.raises(CorpusFormatError, match="limit"):
            parse_har(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_melody_rest_bomb_stays_small() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(CorpusFormatError):
            parse_mel("[C] [OCT=4] 1 | R*999999999 |")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
