"""music21 integration: our .har converter wins over the built-in, .mel parses, errors stay ours."""

from __future__ import annotations

import pytest
from music21 import converter, roman, stream

import music21_melgen
from music21_melgen.converters import RockCorpusHarConverter, RockCorpusMelConverter, register
from music21_melgen.errors import CorpusFormatError


def test_ours_wins_over_the_builtin_clercq_temperley(rock_corpus, fresh_registry) -> None:
    path = rock_corpus / "har" / "one_dt.har"
    converter.resetSubConverters()
    builtin = converter.parse(path, forceSource=True)
    assert not isinstance(builtin, stream.Score)  # music21's own reader returns a bare Part
    music21_melgen.register()
    ours = converter.parse(path, forceSource=True)
    assert isinstance(ours, stream.Score)
    assert [part.id for part in ours.parts] == ["Harmony"]
    assert ours.metadata.title == "one"
    numerals = list(ours.recurse().getElementsByClass(roman.RomanNumeral))
    assert (numerals[0].figure, str(numerals[0].key)) == ("i", "a minor")


def test_har_format_name_resolves_to_ours(fresh_registry) -> None:
    assert converter.Converter().getSubConverterFromFormat("har").__class__ is RockCorpusHarConverter
    converter.resetSubConverters()
    assert converter.Converter().getSubConverterFromFormat("har").__class__ is not RockCorpusHarConverter


def test_register_is_idempotent(fresh_registry) -> None:
    register()
    register()
    music21_melgen.register()
    listed = converter.Converter().subConvertersList()
    assert listed.count(RockCorpusHarConverter) == 1
    assert listed.count(RockCorpusMelConverter) == 1


def test_mel_parses_to_a_melody_score(rock_corpus, fresh_registry) -> None:
    score = converter.parse(rock_corpus / "mel" / "hey_jude_dt.mel", forceSource=True)
    assert [part.id for part in score.parts] == ["Melody"]
    melody = score.parts[0]
    assert len(melody.getElementsByClass("Measure")) == 132
    first = melody.recurse().notes[0]
    assert (first.pitch.midi, first.getOffsetInHierarchy(melody)) == (60, 3.0)
    assert str(melody.recurse().getElementsByClass("Key")[0]) == "F major"


def test_parse_data_with_format(fresh_registry) -> None:
    score = converter.parseData("S: [G] I | V7 |", format="har")
    assert [rn.figure for rn in score.recurse().getElementsByClass(roman.RomanNumeral)] == ["I", "V7"]
    melody = converter.parseData("[G] [OCT=4] 1 5 |", format="mel")
    assert [n.pitch.midi for n in melody.recurse().notes] == [67, 62]


def test_bad_file_raises_our_error(tmp_path, fresh_registry) -> None:
    path = tmp_path / "bad_dt.har"
    path.write_text("S: [C] $Nowhere |\n")
    with pytest.raises(CorpusFormatError, match="never defined") as caught:
        converter.parse(path, forceSource=True)
    assert caught.value.path == str(path)
