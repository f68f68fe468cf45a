"""``melgen generate`` (music21_melgen.commands.generate): the README command, MelGen's call, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from music21 import converter, meter, note, stream

from music21_melgen.cli import main
from music21_melgen.commands.options import parse_chord_parts, parse_range
from tiny_model import save_tiny_model

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_readme_command_runs_on_the_bundled_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.musicxml"
    assert main(["generate", str(EXAMPLE), "-o", str(out), "--seed", "7"]) == 0
    assert "wrote" in capsys.readouterr().out
    score = converter.parse(out, forceSource=True)
    assert score.parts[0].partName == "Melody (melgen)"
    assert len(score.parts[0].recurse().notes) > 0


def test_every_control_reaches_the_melody(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.mxl"
    status = main([
        "generate", str(EXAMPLE), "-o", str(out), "--seed", "3", "--temperature", "0.8", "--top-p", "0.9",
        "--chord-tone-weight", "2", "--no-continuation-reduction", "--candidates", "2",
        "--range", "C4-C5", "--longest-note", "2", "--model", str(model), "--print-chords",
    ])
    assert status == 0
    printed = capsys.readouterr().out
    assert "Gm7" in printed and f"wrote {out}" in printed
    melody = converter.parse(out, forceSource=True).parts[0]
    pitches = [n.pitch.midi for n in melody.recurse().notes]
    assert pitches and min(pitches) >= 60 and max(pitches) <= 72
    held = [n.quarterLength for n in melody.stripTies().recurse().notes]
    assert max(held) <= 2


def test_melgens_own_call_chord_midi_and_seed_melody_to_melody_midi(model: Path, tmp_path: Path) -> None:
    bass = stream.Part([meter.TimeSignature("4/4")] + [note.Note(n, quarterLength=4) for n in ("C3", "F2", "G2", "C3")])
    seed = stream.Part([note.Note(n) for n in ("E4", "G4", "C5", "G4")])
    chords_mid, seed_mid, mel_mid = tmp_path / "chords.mid", tmp_path / "seed.mid", tmp_path / "mel.mid"
    stream.Score([bass]).write("midi", fp=chords_mid)
    stream.Score([seed]).write("midi", fp=seed_mid)
    before = digest(chords_mid)
    status = main(["generate", str(chords_mid), "--primer", str(seed_mid), "-o", str(mel_mid), "--model", str(model)])
    assert status == 0 and digest(chords_mid) == before
    back = converter.parse(mel_mid, forceSource=True)
    melody = [p for p in back.parts if p.partName == "Melody (melgen)"][0]
    assert [n.pitch.midi for n in melody.recurse().notes][:4] == [64, 67, 72, 67]


def test_chord_parts_count_from_one(model: Path, tmp_path: Path) -> None:
    assert parse_chord_parts("1, Bass") == [0, "Bass"]
    out = tmp_path / "out.musicxml"
    assert main(["generate", str(EXAMPLE), "-o", str(out), "--chord-parts", "1", "--model", str(model)]) == 0


def test_ranges_take_note_names_or_midi_numbers() -> None:
    assert parse_range("G3-G5") == (55, 79) == parse_range("55..79")
    assert parse_range("Bb3-F#5") == (58, 78)


def test_bad_arguments_exit_with_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", str(EXAMPLE), "-o", str(tmp_path / "x.mid"), "--range", "high-low"])
    assert exit_info.value.code == 2
    assert "is not a range" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["no harmony", "unreadable", "unwritable", "bad extension"])
def test_errors_name_the_file_and_write_nothing(
    case: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = tmp_path / "in.musicxml", tmp_path / "out.musicxml"
    if case == "no harmony":
        stream.Score([stream.Part([stream.Measure([note.Rest(quarterLength=4)], number=1)])]).write("musicxml", fp=source)
        expected = "no harmony found"
    elif case == "unreadable":
        source.write_bytes(b"\x00\x01 not music")
        expected = "cannot read it as a score"
    elif case == "unwritable":
        source.write_bytes(EXAMPLE.read_bytes())
        out = tmp_path / "missing-folder" / "out.musicxml"
        expected = "does not exist"
    else:
        source.write_bytes(EXAMPLE.read_bytes())
        out = tmp_path / "out.pdf"
        expected = "unknown output extension"
    before = digest(source)
    assert main(["generate", str(source), "-o", str(out), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("melgen: error: ") and expected in err
    assert str(source) in err or str(out) in err
    assert digest(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.musicxml"]


def test_a_reader_that_goes_away_is_no_traceback(tmp_path) -> None:
    """``melgen generate ... --print-chords | head -1``: the closed pipe ends the run quietly."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "music21_melgen", "generate", str(EXAMPLE), "-o", str(tmp_path / "o.musicxml"),
               "--print-chords", "--print-form"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()  # the reader goes away after one line
    _, errors = process.communicate(timeout=120)
    assert b"Traceback" not in errors and b"BrokenPipe" not in errors
    assert process.returncode in (0, 141)
