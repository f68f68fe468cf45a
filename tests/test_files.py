"""The one atomic writer and the score writer (music21_melgen.files): bytes, modes, failures."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from music21 import harmony, key, meter, note, stream
from tiny_model import save_tiny_model

from music21_melgen import engine, files
from music21_melgen.errors import OutputError


def lead_sheet(figures: list[str]) -> stream.Score:
    """A two-part score (melody rests, chord symbols) so part and instrument ids are several."""
    melody, chords = stream.Part(), stream.Part()
    for number, figure in enumerate(figures, start=1):
        top, bottom = stream.Measure(number=number), stream.Measure(number=number)
        if number == 1:
            top.append([meter.TimeSignature("4/4"), key.Key("C")])
            bottom.append([meter.TimeSignature("4/4"), key.Key("C")])
        top.append(note.Note("E4", quarterLength=4))
        bottom.insert(0, harmony.ChordSymbol(figure))
        bottom.append(note.Rest(quarterLength=4))
        melody.append(top)
        chords.append(bottom)
    return stream.Score([melody, chords])


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test that sets it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("suffix", [".musicxml", ".mxl", ".mid"])
def test_the_same_score_written_twice_gives_identical_bytes(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = files.write_score(lead_sheet(["C", "F", "G7", "C"]), tmp_path / "a" / f"song{suffix}")
    second = files.write_score(lead_sheet(["C", "F", "G7", "C"]), tmp_path / "b" / f"song{suffix}")
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"song{suffix}"]  # no temporary left


def test_musicxml_has_numbered_ids_and_no_date(tmp_path: Path) -> None:
    data = files.write_score(lead_sheet(["C", "G"]), tmp_path / "song.musicxml").read_bytes()
    assert re.findall(rb'<score-part id="([^"]+)"', data) == [b"P1", b"P2"]
    assert b"<encoding-date>" not in data
    assert not re.search(rb'id="[PI][0-9a-f]{32}"', data)


def test_mxl_members_carry_a_fixed_time(tmp_path: Path) -> None:
    path = files.write_score(lead_sheet(["C"]), tmp_path / "song.mxl")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["mimetype", "META-INF/container.xml", "song.musicxml"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"<encoding-date>" not in archive.read("song.musicxml")


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_written_file_s_mode_follows_the_umask(tmp_path: Path, umask: None, mask: int, expected: int) -> None:
    os.umask(mask)
    assert mode(files.atomic_write(tmp_path / "data.bin", b"\x00")) == expected
    assert mode(files.atomic_write_with(tmp_path / "other.bin", lambda path: path.write_bytes(b"1"))) == expected
    assert mode(files.write_score(lead_sheet(["C"]), tmp_path / "song.musicxml")) == expected


def test_replacing_a_file_is_atomic_and_keeps_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("old")
    files.atomic_write(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_os_error_becomes_one_output_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    (folder / "inside").mkdir(parents=True)  # a non-empty folder: os.replace onto it fails
    with pytest.raises(OutputError) as raised:
        files.atomic_write(folder, b"data")
    message = str(raised.value)
    assert message.startswith(f"{folder}: cannot write: ") and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # the temporary is gone


def test_a_failing_writer_leaves_the_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"before")

    def half_write(temporary: Path) -> None:
        assert temporary.parent == tmp_path and temporary.name.startswith(".") and temporary.suffix == ".png"
        temporary.write_bytes(b"half")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        files.atomic_write_with(target, half_write)
    assert target.read_bytes() == b"before"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_write_score_rejects_an_unknown_extension_or_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"song\.pdf: unknown output extension"):
        files.write_score(lead_sheet(["C"]), tmp_path / "song.pdf")
    with pytest.raises(OutputError, match="does not exist"):
        files.write_score(lead_sheet(["C"]), tmp_path / "nowhere" / "song.musicxml")


def test_the_engine_re_exports_the_writer() -> None:
    assert engine.write_score is files.write_score
    assert engine.OUTPUT_FORMATS is files.OUTPUT_FORMATS
    assert engine.musicxml_bytes is files.musicxml_bytes


@pytest.mark.parametrize("suffix", [".musicxml", ".mxl"])
def test_generating_twice_with_one_seed_gives_identical_files(tmp_path: Path, suffix: str) -> None:
    model = save_tiny_model(tmp_path / "model")
    source = files.write_score(lead_sheet(["C", "Am", "F", "G7"]), tmp_path / "in.musicxml")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = engine.generate_file(source, tmp_path / "one" / f"out{suffix}", seed=3, model=model).output
    second = engine.generate_file(source, tmp_path / "two" / f"out{suffix}", seed=3, model=model).output
    assert first.read_bytes() == second.read_bytes()


def test_a_writer_that_recreates_the_file_still_gets_the_umask_mode(tmp_path) -> None:
    import os

    from safetensors.numpy import save_file

    from music21_melgen.atomic import atomic_write_with

    old = os.umask(0o022)
    try:
        target = atomic_write_with(tmp_path / "w.safetensors", lambda p: save_file({"x": __import__("numpy").zeros(2)}, str(p)))
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
