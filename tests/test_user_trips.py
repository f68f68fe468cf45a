"""What users trip over (issue 14, item 4) and the messages that must not mislead (issue 15, items 4, 6, 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from music21 import (
    converter,
    harmony,
    instrument,
    key,
    meter,
    note,
    stream,
)
from tiny_model import save_tiny_model

from music21_melgen import engine
from music21_melgen.errors import GenerationError, OutputError, ScoreError
from music21_melgen.examples import copy_example, example_path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"

BOOK = """X:1
T:First
M:4/4
L:1/4
K:C
"C"c d e f|"G"g a b c'|

X:2
T:Second
M:3/4
L:1/4
K:G
"G"G A B|"D"A2 F|
"""

BAD_ROMANTEXT = """Composer: Nobody
Title: Broken
Time Signature: 4/4
m1 C: I b2 V
m2 I b1.5 IV b1.2 V
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def lead_sheet(tonic: str, figures: list[str], melody: list[str]) -> stream.Score:
    part = stream.Part()
    for number, (figure, name) in enumerate(zip(figures, melody), start=1):
        bar = stream.Measure(number=number)
        if number == 1:
            bar.append([meter.TimeSignature("4/4"), key.Key(tonic)])
        bar.insert(0, harmony.ChordSymbol(figure))
        bar.append(note.Note(name, quarterLength=4))
        part.append(bar)
    return stream.Score([part])


# --- item 4: an Opus, spelling, keys, .har output, the example ---------------------


def test_a_book_of_tunes_is_a_clear_error_not_one_timeline(tmp_path: Path) -> None:
    book = tmp_path / "book.abc"
    book.write_text(BOOK)
    with pytest.raises(ScoreError, match=r"book\.abc: holds 2 scores .* one melody per score"):
        engine.read_score(book)
    opus = converter.parse(BOOK, format="abc", forceSource=True)
    assert isinstance(opus, stream.Opus)
    with pytest.raises(ScoreError, match="an Opus of 2 scores"):
        engine.generate(opus, inPlace=False)


def test_chords_spell_pitches_as_the_score_does() -> None:
    table = str(engine.chords(lead_sheet("F", ["F", "D7", "Gm", "C7"], ["F4", "F#4", "G4", "E4"])))
    d7 = next(line for line in table.splitlines() if " D7 " in line)
    assert "D F# A C" in d7 and "Gb" not in d7


def test_c_sharp_major_is_named_and_written_as_such(tmp_path: Path, model: Path) -> None:
    source = tmp_path / "cs.musicxml"
    lead_sheet("C#", ["C#", "F#", "G#7", "C#"], ["C#4", "E#4", "G#4", "C#5"]).write("musicxml", fp=source)
    result = engine.generate_file(source, tmp_path / "out.musicxml", seed=1, model=model)
    assert result.key == "C# major"
    assert "key C# major" in str(engine.chords(engine.read_score(source)))
    melody = etree.parse(str(result.output)).getroot().find("part")
    notes = [n for n in melody.iter("note") if n.find("pitch") is not None]
    shown = [n.findtext("accidental") for n in notes if n.find("accidental") is not None]
    assert notes and len(shown) < len(notes) / 2, shown  # not a sharp on every note


def test_har_output_shows_chord_names(tmp_path: Path, model: Path, rock_corpus: Path) -> None:
    source = sorted((rock_corpus / "har").glob("*.har"))[0]
    target = tmp_path / "out.musicxml"
    engine.generate_file(source, target, seed=0, model=model)
    names = etree.parse(str(target)).getroot().find("part").findall("measure/harmony/root/root-step")
    assert len(names) > 10
    score = converter.parse(target, forceSource=True)
    assert [h.figure for h in score.parts[0].recurse().getElementsByClass(harmony.ChordSymbol)][:1]


def test_the_example_is_reachable_from_anywhere(tmp_path: Path) -> None:
    assert example_path().read_bytes() == EXAMPLE.read_bytes()
    copied = copy_example(tmp_path / "mine.musicxml")
    assert copied.read_bytes() == EXAMPLE.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "music21_melgen.examples"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sixteen_bars_in_f.musicxml").read_bytes() == EXAMPLE.read_bytes()
    with pytest.raises(OutputError, match="does not exist"):
        copy_example(tmp_path / "missing" / "x.musicxml")


# --- issue 15: one line, naming the file --------------------------------------------


def test_a_bad_romantext_file_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "broken.rntxt"
    source.write_text(BAD_ROMANTEXT)
    with pytest.raises(ScoreError) as caught:
        engine.read_score(source)
    message = str(caught.value)
    assert "\n" not in message and "broken.rntxt" in message and "Traceback" not in message
    assert "too many notes in this measure" in message


def test_folders_and_fifos_are_not_called_missing(tmp_path: Path, model: Path) -> None:
    with pytest.raises(ScoreError, match="is a folder, not a score file"):
        engine.read_score(tmp_path)
    fifo = tmp_path / "pipe.musicxml"
    os.mkfifo(fifo)
    with pytest.raises(ScoreError, match="not a regular file"):
        engine.read_score(fifo)
    with pytest.raises(ScoreError, match=r"the primer .*is a folder"):
        engine.generate_file(EXAMPLE, tmp_path / "out.musicxml", model=model, primer=tmp_path)
    with pytest.raises(ScoreError, match="no such file"):
        engine.read_score(tmp_path / "absent.musicxml")


def test_outputs_under_a_file_or_in_proc_are_one_line_errors(tmp_path: Path, model: Path) -> None:
    a_file = tmp_path / "some_file"
    a_file.write_text("")
    with pytest.raises(OutputError, match="some_file is a file, not a folder"):
        engine.generate_file(EXAMPLE, a_file / "x.musicxml", model=model)
    with pytest.raises(OutputError, match=r"/proc/x\.musicxml: cannot write"):
        engine.generate_file(EXAMPLE, "/proc/x.musicxml", model=model)


def test_a_pitch_range_error_names_the_file(tmp_path: Path, model: Path) -> None:
    with pytest.raises(GenerationError, match=r"sixteen_bars_in_f\.musicxml: .*measure"):
        engine.generate_file(EXAMPLE, tmp_path / "out.musicxml", model=model, pitch_range=(120, 127))


def test_a_primer_without_pitched_notes_is_an_error(tmp_path: Path, model: Path) -> None:
    drums = stream.Part([instrument.Woodblock()])
    for beat in range(8):
        drums.append(note.Unpitched(quarterLength=1))
    drums_file = tmp_path / "drums.mid"
    stream.Score([drums]).write("midi", fp=drums_file)
    symbols = stream.Part()
    for figure in ("C", "G"):
        bar = stream.Measure([harmony.ChordSymbol(figure)])
        symbols.append(bar)
    for primer in (drums_file, stream.Score([symbols])):
        with pytest.raises(GenerationError, match="primer"):
            engine.generate_file(EXAMPLE, tmp_path / "out.musicxml", model=model, primer=primer)


def test_chord_parts_of_the_wrong_type_is_a_score_error(model: Path) -> None:
    score = engine.read_score(EXAMPLE)
    with pytest.raises(ScoreError, match="chord_parts must be a list"):
        engine.generate(score, chord_parts=5, model=model)  # type: ignore[arg-type]
