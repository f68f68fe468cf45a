"""Generated scores as MusicXML: valid against the MusicXML 4.0 XSD, and music21's export traps."""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import pytest
from lxml import etree
from music21 import chord, converter, corpus, harmony, key, meter, note, stream

from music21_melgen import engine
from tiny_model import save_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


class _LocalSchemas(etree.Resolver):
    """The XSD imports xml.xsd and xlink.xsd by URL; read them from the schema's folder instead."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, url, pubid, context):  # noqa: ANN001, ANN201 - lxml's resolver signature
        local = self.folder / url.rsplit("/", 1)[-1]
        if local.is_file():
            return self.resolve_filename(str(local), context)
        return None


@pytest.fixture(scope="module")
def schema(musicxml_xsd: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSchemas(musicxml_xsd.parent))
    return etree.XMLSchema(etree.parse(str(musicxml_xsd), parser))


def assert_valid(schema: etree.XMLSchema, path: Path) -> etree._ElementTree:
    document = etree.parse(str(path), etree.XMLParser(no_network=True))
    if not schema.validate(document):
        problems = "\n".join(str(error) for error in list(schema.error_log)[:5])
        pytest.fail(f"{path.name} is not valid MusicXML 4.0:\n{problems}")
    return document


def midi_chord_track(path: Path) -> Path:
    piano = stream.Part()
    piano.insert(0, meter.TimeSignature("4/4"))
    for figure in (["C3", "E3", "G3"], ["A2", "C3", "E3"], ["F2", "A2", "C3"], ["G2", "B2", "D3", "F3"]):
        piano.append(chord.Chord(figure, quarterLength=4))
    stream.Score([piano]).write("midi", fp=path)
    return path


def check_generated(schema: etree.XMLSchema, score: stream.Score, model: Path, out: Path) -> stream.Score:
    harmonies = len(list(score.recurse().getElementsByClass(harmony.ChordSymbol)))
    engine.generate(score, seed=5, model=model)
    engine.write_score(score, out)
    document = assert_valid(schema, out)
    assert len(document.findall(".//harmony")) == harmonies  # chord symbols still shown
    back = converter.parse(out, forceSource=True)
    melody = back.parts[0]
    assert melody.partName == "Melody (melgen)"
    for bar in melody.getElementsByClass(stream.Measure):
        filled = sum((F(n.quarterLength) for n in bar.notesAndRests), F(0))
        assert filled == F(bar.duration.quarterLength) > 0
    return back


def test_lead_sheet_from_music21s_corpus(schema: etree.XMLSchema, model: Path, tmp_path: Path) -> None:
    score = corpus.parse("leadSheet/fosterBrownHair", forceSource=True)
    back = check_generated(schema, score, model, tmp_path / "lead.musicxml")
    assert len(back.parts) == 2


def test_romantext_analysis_from_music21s_corpus(schema: etree.XMLSchema, model: Path, tmp_path: Path) -> None:
    score = corpus.parse("bach/choraleAnalyses/riemenschneider004.rntxt", forceSource=True)
    back = check_generated(schema, score, model, tmp_path / "roman.musicxml")
    first = back.parts[0].getElementsByClass(stream.Measure).first()
    assert first.number == score.parts[0].getElementsByClass(stream.Measure).first().number


def test_midi_chord_track(schema: etree.XMLSchema, model: Path, tmp_path: Path) -> None:
    score = engine.read_score(midi_chord_track(tmp_path / "chords.mid"))
    check_generated(schema, score, model, tmp_path / "midi.musicxml")


def test_rock_corpus_song(schema: etree.XMLSchema, model: Path, rock_corpus: Path, tmp_path: Path) -> None:
    score = engine.read_score(rock_corpus / "har" / "a_change_is_gonna_come_dt.har")
    back = check_generated(schema, score, model, tmp_path / "rock.musicxml")
    signatures = [m.timeSignature.ratioString for m in back.parts[0].getElementsByClass(stream.Measure) if m.timeSignature]
    assert signatures[0] == "12/8"


def test_compressed_mxl_holds_valid_musicxml(schema: etree.XMLSchema, model: Path, tmp_path: Path) -> None:
    result = engine.generate_file(
        Path(engine.__file__).parent / "examples" / "sixteen_bars_in_f.musicxml", tmp_path / "out.mxl", model=model
    )
    back = converter.parse(result.output, forceSource=True)
    assert [p.partName for p in back.parts] == ["Melody (melgen)", "Bass"]


def test_meter_changes_survive_writing(schema: etree.XMLSchema, model: Path, tmp_path: Path) -> None:
    """music21's trap: write() with makeNotation can re-flow measures after a meter change."""
    part = stream.Part()
    plan = [("4/4", "C"), (None, "F"), ("3/4", "G"), (None, "C"), ("6/8", "Am"), ("2/4", "G7"), ("12/8", "C")]
    for number, (signature, figure) in enumerate(plan, start=1):
        bar = stream.Measure(number=number)
        if signature:
            bar.insert(0, meter.TimeSignature(signature))
        if number == 1:
            bar.insert(0, key.Key("C"))
        bar.insert(0, harmony.ChordSymbol(figure))
        current = meter.TimeSignature(signature) if signature else current
        bar.append(note.Rest(quarterLength=current.barDuration.quarterLength))
        part.append(bar)
    score = stream.Score([part])
    back = check_generated(schema, score, model, tmp_path / "meters.musicxml")
    for written in back.parts:
        bars = list(written.getElementsByClass(stream.Measure))
        assert len(bars) == len(plan)
        assert [b.timeSignature.ratioString if b.timeSignature else None for b in bars] == [s for s, _ in plan]


KINDS_OUTSIDE_THE_SCHEMA = [kind for kind in harmony.CHORD_TYPES if kind not in engine.SCHEMA_KINDS]


def test_chord_kinds_outside_the_schema_are_rewritten(schema: etree.XMLSchema, tmp_path: Path) -> None:
    """music21 writes kinds such as 'seventh-flat-five' that the XSD rejects; ours become kind + degrees."""
    assert "seventh-flat-five" in KINDS_OUTSIDE_THE_SCHEMA
    part = stream.Part()
    for number, kind in enumerate(KINDS_OUTSIDE_THE_SCHEMA, start=1):
        bar = stream.Measure(number=number)
        if number == 1:
            bar.insert(0, meter.TimeSignature("4/4"))
        bar.insert(0, harmony.ChordSymbol(root="C", kind=kind))
        bar.append(note.Rest(quarterLength=4))
        part.append(bar)
    out = engine.write_score(stream.Score([part]), tmp_path / "kinds.musicxml")
    document = assert_valid(schema, out)
    assert {k.text for k in document.iter("kind")} <= set(engine.SCHEMA_KINDS)
    back = list(converter.parse(out, forceSource=True).recurse().getElementsByClass(harmony.ChordSymbol))
    for kind, symbol in zip(KINDS_OUTSIDE_THE_SCHEMA, back, strict=True):
        expected = {p.pitchClass for p in harmony.ChordSymbol(root="C", kind=kind).pitches}
        assert {p.pitchClass for p in symbol.pitches} == expected, kind


def test_parse_never_serves_a_stale_pickle(tmp_path: Path) -> None:
    """music21's trap: converter.parse caches pickles by path; read_score always reads the file."""
    path = tmp_path / "song.musicxml"
    for figure in ("C", "G"):
        bar = stream.Measure([meter.TimeSignature("4/4"), harmony.ChordSymbol(figure), note.Rest(quarterLength=4)], number=1)
        stream.Score([stream.Part([bar])]).write("musicxml", fp=path)
        score = engine.read_score(path)
        assert [c.figure for c in score.recurse().getElementsByClass(harmony.ChordSymbol)] == [figure]
