"""The user's file comes back intact: MusicXML plus one part, MIDI plus one track (issue 14, item 2)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from conftest import SHARED
from lxml import etree
from music21 import converter

from music21_melgen import engine
from music21_melgen.errors import ScoreError
from music21_melgen.midi_io import midi_with_melody
from music21_melgen.musicxml_merge import merged_musicxml, read_musicxml_bytes
from music21_melgen.timeline import MelodyNote

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"

# What music21 drops or rewrites on its own export: layout, a pedal mark, a
# lyric with an elision, a words direction, an unusual measure number.
EXTRAS = b"""<print new-system="yes"><system-layout><system-distance>121</system-distance></system-layout></print>
      <direction placement="below"><direction-type><pedal type="start" line="yes"/></direction-type></direction>
      <direction placement="above"><direction-type><words font-style="italic">dolce, ma non troppo</words></direction-type></direction>
"""


def _c14n_parts(data: bytes) -> dict[str, bytes]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    found = {}
    for element in [*root.findall("part"), *root.findall("part-list/score-part")]:
        found[f"{element.tag}:{element.get('id')}"] = etree.tostring(element, method="c14n")
    return found


def _decorated(tmp_path: Path) -> Path:
    data = EXAMPLE.read_bytes()
    first_measure = data.index(b"<measure", data.index(b"<part "))
    body = data.index(b">", first_measure) + 1
    data = data[:body] + EXTRAS + data[body:]
    note_end = data.index(b"</note>", body)
    lyric = b'<lyric number="1"><syllabic>begin</syllabic><text>La</text><elision>_</elision><syllabic>end</syllabic><text>la</text></lyric>'
    data = data[:note_end] + lyric + data[note_end:]
    path = tmp_path / "decorated.musicxml"
    path.write_bytes(data)
    return path


def _generate(source: Path, target: Path) -> None:
    from test_alignment import generate

    generate(source, target, seed=5)


def test_musicxml_output_is_the_input_plus_one_part(tmp_path: Path) -> None:
    source = _decorated(tmp_path)
    before = source.read_bytes()
    target = tmp_path / "out.musicxml"
    _generate(source, target)
    assert source.read_bytes() == before
    old, new = _c14n_parts(before), _c14n_parts(target.read_bytes())
    assert set(new) - set(old) == {"part:melgen-P1", "score-part:melgen-P1"}
    for name, canonical in old.items():
        assert new[name] == canonical, name
    root = etree.parse(str(target)).getroot()
    assert root.find("part").get("id") == "melgen-P1" and root.find("part-list/score-part").get("id") == "melgen-P1"
    def outside(element: etree._Element) -> list[bytes]:
        return [etree.tostring(e) for e in element if isinstance(e.tag, str) and e.tag not in ("part", "part-list")]

    assert outside(root) == outside(etree.fromstring(before))
    assert b"dolce, ma non troppo" in target.read_bytes() and b"<pedal" in target.read_bytes()


def test_musicxml_output_validates_and_music21_reads_the_melody(tmp_path: Path, musicxml_xsd: Path) -> None:
    target = tmp_path / "out.musicxml"
    _generate(_decorated(tmp_path), target)
    from test_musicxml_export import _LocalSchemas

    parser = etree.XMLParser()
    parser.resolvers.add(_LocalSchemas(musicxml_xsd.parent))
    schema = etree.XMLSchema(etree.parse(str(musicxml_xsd), parser))
    assert schema.validate(etree.parse(str(target))), schema.error_log.last_error
    score = converter.parse(target, forceSource=True)
    assert score.parts[0].partName == "Melody (melgen)" and len(score.parts[0].recurse().notes) > 0


def test_mxl_in_mxl_out_keeps_the_parts(tmp_path: Path) -> None:
    source = tmp_path / "in.mxl"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>')
        archive.writestr("score.xml", EXAMPLE.read_bytes())
    target = tmp_path / "out.mxl"
    _generate(source, target)
    written = read_musicxml_bytes(target)
    old = _c14n_parts(EXAMPLE.read_bytes())
    new = _c14n_parts(written)
    assert all(new[name] == canonical for name, canonical in old.items()) and len(new) == len(old) + 2


def test_a_decompression_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.xml", b"<score-partwise>" + b" " * (3 << 20) + b"</score-partwise>")
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ScoreError, match=r"bomb\.mxl: the score is larger than 1 MB"):
        read_musicxml_bytes(bomb, limit=1_000_000)
    with pytest.raises(ScoreError, match="larger than"):
        engine.read_score(bomb, limit=1_000_000)


def test_a_bomb_past_the_default_limit_fails_within_seconds(tmp_path: Path) -> None:
    import time

    bomb = tmp_path / "big.mxl"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("score.xml", "w") as member:
            member.write(b"<score-partwise>")
            for _ in range(51):
                member.write(b" " * (1 << 20))
            member.write(b"</score-partwise>")
    assert bomb.stat().st_size < 1_000_000
    started = time.perf_counter()
    with pytest.raises(ScoreError, match="larger than 50 MB of MusicXML; raise the limit"):
        engine.generate_file(bomb, tmp_path / "out.musicxml")
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "out.musicxml").exists()


def test_merge_refuses_a_timewise_document() -> None:
    from music21_melgen.errors import OutputError

    with pytest.raises(OutputError, match="score-timewise"):
        merged_musicxml(b"<score-timewise/>", b"<score-partwise/>")


def _chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 0
    while at < len(data):
        length = struct.unpack(">I", data[at + 4:at + 8])[0]
        chunks.append(data[at:at + 8 + length])
        at += 8 + length
    return chunks


def test_midi_in_midi_out_keeps_every_track(tmp_path: Path) -> None:
    sources = sorted((SHARED / "pop909").glob("*/*.mid"))[:1]
    if not sources:
        pytest.skip(f"POP909 not found at {SHARED / 'pop909'} (set MELGEN_SHARED to ../shared)")
    target = tmp_path / "out.mid"
    _generate(sources[0], target)
    before, after = _chunks(sources[0].read_bytes()), _chunks(target.read_bytes())
    assert after[1:-1] == before[1:] and len(after) == len(before) + 1
    assert struct.unpack(">H", after[0][10:12])[0] == len(before)  # the header counts the new track
    melody = converter.parse(target, forceSource=True).parts[-1]
    assert len(melody.recurse().notes) > 0


def test_a_format_0_midi_becomes_format_1_with_its_track_unchanged() -> None:
    events = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00\x00\xff\x2f\x00"
    track = b"MTrk" + struct.pack(">I", len(events)) + events
    original = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + track
    data = midi_with_melody(original, [MelodyNote(0, 1, 67), MelodyNote(1, 1, 69)], name="Melody")
    assert struct.unpack(">HHH", data[8:14]) == (1, 2, 480)
    assert data[14:14 + len(track)] == track
    parsed = converter.parseData(data, format="midi")
    assert [n.pitch.midi for n in parsed.parts[-1].recurse().notes] == [67, 69]


def test_midi_parts_written_directly_equal_music21s_export(musicxml_xsd: Path) -> None:
    from test_musicxml_export import _LocalSchemas

    from music21_melgen.files import musicxml_bytes
    from music21_melgen.midi_io import read_midi
    from music21_melgen.midi_musicxml import parts_musicxml

    sources = sorted((SHARED / "pop909").glob("*/*.mid"))[:1]
    if not sources:
        pytest.skip(f"POP909 not found at {SHARED / 'pop909'} (set MELGEN_SHARED to ../shared)")
    score = read_midi(sources[0])
    ours, theirs = parts_musicxml(score), musicxml_bytes(score)
    parser = etree.XMLParser()
    parser.resolvers.add(_LocalSchemas(musicxml_xsd.parent))
    schema = etree.XMLSchema(etree.parse(str(musicxml_xsd), parser))
    assert schema.validate(etree.fromstring(ours)), schema.error_log.last_error

    def music(data: bytes) -> list[list[tuple[float, tuple[int, ...], float]]]:
        parsed = converter.parseData(data, format="musicxml")
        return [
            [(float(n.offset), tuple(p.midi for p in n.pitches), float(n.quarterLength)) for n in part.flatten().notes]
            for part in parsed.parts
        ]

    assert music(ours) == music(theirs)
