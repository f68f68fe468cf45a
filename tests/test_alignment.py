"""The new melody part has the score's measures exactly, read back by music21 (issue 14, item 1).

Pickups in 4/4, 3/4 and 6/8, the short bars of ABC repeats and endings, a
RomanText pickup, and MIDI files with a wrong or missing meter: after
``generate_file`` the output is parsed again and every part must show the same
measure numbers and lengths, and no measure may hold more than its meter.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import SHARED
from music21 import converter, harmony, meter, note, stream
from tiny_model import save_tiny_model

from music21_melgen import engine
from music21_melgen.score_harmony import timeline_from_score

POP909 = SHARED / "pop909"

JIG = """X:1
T:A jig with a pickup, repeats and endings
M:6/8
L:1/8
K:G
D|:"G"G2B d2B|"C"c2e "D"d2B|"G"G2B "Em"d2g|1"D"fed "G"g2:|2"D"fed "G"g2||
|:B/c/|"G"d2g "C"e2c|"D"d2B A2G|"G"G3 "D"A2:|
"""

WALTZ = """X:2
T:A waltz with a pickup
M:3/4
L:1/4
K:D
"A"A|"D"d2 f|"G"g2 e|"A"c2 e|"D"d2:|
"""

ROMANTEXT = """Composer: Nobody
Title: A pickup in RomanText
Analyst: melgen tests
Proofreader: melgen tests

Time Signature: 3/4
m0 b3 C: V
m1 I b2 IV
m2 V7 b3 I
m3 I
"""


def measure_rows(path: Path) -> list[list[tuple[int, Fraction]]]:
    """(number, length) of every measure of every part of ``path`` as music21 reads it."""
    score = converter.parse(path, forceSource=True)
    return [
        [(m.number, Fraction(m.duration.quarterLength).limit_denominator(1 << 12)) for m in p.getElementsByClass(stream.Measure)]
        for p in score.parts
    ]


def assert_aligned(path: Path) -> list[list[tuple[int, Fraction]]]:
    rows = measure_rows(path)
    assert len(rows) >= 2, rows
    for row in rows[1:]:
        assert row == rows[0], f"part measures differ from the melody's:\n{row[:8]}\n{rows[0][:8]}"
    score = converter.parse(path, forceSource=True)
    for part in score.parts:
        signature = meter.TimeSignature("4/4")
        for measure in part.getElementsByClass(stream.Measure):
            signature = measure.timeSignature or signature
            assert measure.duration.quarterLength <= signature.barDuration.quarterLength, (
                f"measure {measure.number} of {part.partName} overflows its {signature.ratioString}"
            )
    return rows


_TINY: list[Path] = []


def tiny_model() -> Path:
    """The tiny test model (made once per session): it always sings, whatever the default model's state."""
    if not _TINY:
        import tempfile

        _TINY.append(save_tiny_model(Path(tempfile.mkdtemp()) / "tiny"))
    return _TINY[0]


def generate(source: Path, target: Path, seed: int = 3) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine.generate_file(source, target, seed=seed, model=tiny_model())


def generated(tmp_path: Path, name: str, text: str, output: str = "out.musicxml") -> Path:
    source = tmp_path / name
    source.write_text(text)
    target = tmp_path / output
    generate(source, target)
    return target


def lead_sheet_with_pickup(signature: str, pickup: float, path: Path) -> Path:
    """A one-part lead sheet in ``signature`` with a pickup of ``pickup`` quarters, written as MusicXML."""
    ts = meter.TimeSignature(signature)
    bar = ts.barDuration.quarterLength
    part = stream.Part()
    first = stream.Measure(number=0)
    first.insert(0, meter.TimeSignature(signature))
    first.insert(0, harmony.ChordSymbol("G7"))
    first.append(note.Note("D5", quarterLength=pickup))
    first.paddingLeft = bar - pickup
    part.append(first)
    for number, symbol in enumerate(["C", "F", "G7", "C"], start=1):
        measure = stream.Measure(number=number)
        measure.insert(0, harmony.ChordSymbol(symbol))
        measure.append(note.Note("E4", quarterLength=bar))
        part.append(measure)
    score = stream.Score([part])
    score.write("musicxml", fp=path)
    return path


@pytest.mark.parametrize(("signature", "pickup"), [("4/4", 1.0), ("3/4", 1.0), ("6/8", 0.5)])
def test_pickup_lead_sheets_stay_aligned(tmp_path: Path, signature: str, pickup: float) -> None:
    source = lead_sheet_with_pickup(signature, pickup, tmp_path / "lead.musicxml")
    target = tmp_path / "out.musicxml"
    generate(source, target, seed=1)
    rows = assert_aligned(target)
    assert rows[0][0] == (0, Fraction(pickup).limit_denominator(64))
    from lxml import etree

    pickups = etree.parse(str(target)).getroot().findall("part/measure[1]")
    assert len(pickups) == 2 and all(m.find("note/rest[@measure='yes']") is None for m in pickups)


def test_abc_with_repeats_endings_and_anacruses(tmp_path: Path) -> None:
    rows = assert_aligned(generated(tmp_path, "jig.abc", JIG))
    lengths = [length for _, length in rows[0]]
    assert lengths[0] == Fraction(1, 2) and Fraction(5, 2) in lengths and len(lengths) == 10


def test_abc_waltz_pickup(tmp_path: Path) -> None:
    rows = assert_aligned(generated(tmp_path, "waltz.abc", WALTZ))
    assert rows[0][0][1] == 1


def test_romantext_pickup(tmp_path: Path) -> None:
    rows = assert_aligned(generated(tmp_path, "pickup.rntxt", ROMANTEXT))
    assert rows[0][0] == (0, Fraction(1))


def test_print_chords_counts_a_pickup_from_its_barline() -> None:
    score = converter.parse(WALTZ, format="abc", forceSource=True)
    table = str(timeline_from_score(score)).splitlines()
    first_chord = table[2].split()
    assert first_chord[0] == "0" and first_chord[1] == "3", table[2]


def pop909_files(count: int) -> list[Path]:
    if not POP909.is_dir():
        pytest.skip(f"POP909 not found at {POP909} (set MELGEN_SHARED to ../shared)")
    return sorted(POP909.glob("*/*.mid"))[:count]


def test_midi_with_a_wrong_meter_is_barred_without_overflow(tmp_path: Path) -> None:
    from music21 import midi

    checked = 0
    for source in pop909_files(40):
        midi_file = midi.MidiFile()
        midi_file.open(str(source))
        midi_file.read()
        midi_file.close()
        declared = [e.data for t in midi_file.tracks for e in t.events if e.type == midi.MetaEvents.TIME_SIGNATURE]
        if not declared or declared[0][:2] == bytes([4, 2]):
            continue  # looking for a declared 1/4 or 2/4
        target = tmp_path / f"{source.stem}.musicxml"
        generate(source, target, seed=0)
        assert_aligned(target)
        checked += 1
        if checked == 2:
            break
    if not checked:
        pytest.skip("no POP909 file among the first 40 declares a meter other than 4/4")


def test_midi_without_a_meter_is_barred_in_four_four(tmp_path: Path) -> None:
    from music21 import chord, midi

    part = stream.Part()
    for index, name in enumerate(["C4 E4 G4", "F4 A4 C5", "G4 B4 D5", "C4 E4 G4"] * 2):
        part.insert(index * 2 + 0.25 * (index % 2), chord.Chord(name.split(), quarterLength=2))
    midi_file = midi.translate.streamToMidiFile(stream.Score([part]))
    midi_file.tracks = [t for t in midi_file.tracks]
    for track in midi_file.tracks:
        track.events = [e for e in track.events if e.type != midi.MetaEvents.TIME_SIGNATURE]
    source = tmp_path / "no_meter.mid"
    source.write_bytes(midi_file.writestr())
    target = tmp_path / "out.musicxml"
    generate(source, target, seed=0)
    rows = assert_aligned(target)
    assert {length for _, length in rows[0][:-1]} == {Fraction(4)}
