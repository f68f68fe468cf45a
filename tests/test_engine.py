"""Score in, melody part out (music21_melgen.engine): in place or not, files, errors, the cache."""

from __future__ import annotations

import copy
import hashlib
import os
from fractions import Fraction as F
from pathlib import Path

import pytest
from music21 import converter, harmony, key, meter, note, stream

from music21_melgen import engine
from music21_melgen.errors import CheckpointError, OutputError, ScoreError
from music21_melgen.timeline import MelodyNote
from tiny_model import save_tiny_model

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def lead_sheet(figures: list[str], *, written_key: str | None = "C") -> stream.Score:
    part = stream.Part()
    part.partName = "Chords"
    for number, figure in enumerate(figures, start=1):
        bar = stream.Measure(number=number)
        if number == 1:
            bar.append(meter.TimeSignature("4/4"))
            if written_key:
                bar.append(key.Key(written_key))
        bar.insert(0, harmony.ChordSymbol(figure))
        bar.append(note.Note("C3", quarterLength=4))
        part.append(bar)
    return stream.Score([part])


def snapshot(score: stream.Score) -> list[tuple]:
    return [
        (p.partName, tuple((e.classes[0], float(e.getOffsetInHierarchy(score)), repr(e)) for e in p.recurse()))
        for p in score.parts
    ]


def test_generate_in_place_inserts_the_part_on_top_and_leaves_the_rest(model: Path) -> None:
    score = lead_sheet(["C", "F", "G7", "C"])
    before = snapshot(score)
    part = engine.generate(score, seed=4, model=model)
    assert score.parts[0] is part
    assert snapshot(score)[1:] == before
    assert [m.number for m in part.getElementsByClass(stream.Measure)] == [1, 2, 3, 4]
    assert all(55 <= n.pitch.midi <= 79 for n in part.recurse().notes)


def test_generate_not_in_place_returns_a_new_score_and_copies_the_input(model: Path) -> None:
    score = lead_sheet(["C", "Am", "Dm", "G"])
    before = snapshot(score)
    new_score = engine.generate(score, seed=4, model=model, inPlace=False)
    assert isinstance(new_score, stream.Score) and new_score is not score
    assert snapshot(score) == before and len(score.parts) == 1
    assert new_score.parts[0].partName == "Melody (melgen)" and len(new_score.parts) == 2


def test_same_seed_same_notes_other_seed_other_notes(model: Path) -> None:
    def notes(seed: int) -> tuple[MelodyNote, ...]:
        return engine.melody_notes(engine.generate(lead_sheet(["C", "F", "G", "C"] * 2), seed=seed, model=model))

    assert notes(11) == notes(11)
    assert notes(11) != notes(12)


def test_primer_opens_the_melody(model: Path) -> None:
    primer = stream.Part([note.Note("E4"), note.Note("G4"), note.Note("C5", quarterLength=2)])
    part = engine.generate(lead_sheet(["C", "G", "C"]), seed=1, model=model, primer=primer)
    assert engine.melody_notes(part)[:3] == (
        MelodyNote(F(0), F(1), 64), MelodyNote(F(1), F(1), 67), MelodyNote(F(2), F(2), 72)
    )


def test_a_part_needs_in_place_false(model: Path) -> None:
    part = lead_sheet(["C", "G"]).parts[0]
    with pytest.raises(ScoreError, match="not a Score.*inPlace=False"):
        engine.generate(part, model=model)
    new_score = engine.generate(part, model=model, inPlace=False)
    assert len(new_score.parts) == 2


def test_an_unwritten_key_is_estimated_with_a_warning(model: Path) -> None:
    score = lead_sheet(["D", "G", "A7", "D"], written_key=None)
    with pytest.warns(engine.KeyEstimatedWarning, match="D major"):
        engine.generate(score, model=model)


def test_models_are_cached_by_folder(model: Path) -> None:
    assert engine.load_model(model) is engine.load_model(str(model))
    with pytest.raises(CheckpointError):
        engine.load_model(model.parent / "missing")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generate_file_writes_musicxml_and_reports(model: Path, tmp_path: Path) -> None:
    original = digest(EXAMPLE)
    result = engine.generate_file(EXAMPLE, tmp_path / "out.musicxml", seed=7, model=model, candidates=2)
    assert digest(EXAMPLE) == original
    assert (result.seed, result.measures, result.key, result.key_estimated) == (7, 16, "F major", False)
    assert result.model == "tiny" and len(result.model_hash) == 64 and result.notes > 0
    back = converter.parse(result.output, forceSource=True)
    assert [p.partName for p in back.parts] == ["Melody (melgen)", "Bass"]
    assert sorted(os.listdir(tmp_path)) == ["out.musicxml"]


def test_unreadable_input_names_the_file(model: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "broken.musicxml"
    garbage.write_text("<score-partwise><part id='P1'><measure>", encoding="utf-8")
    with pytest.raises(ScoreError, match="broken.musicxml"):
        engine.generate_file(garbage, tmp_path / "out.musicxml", model=model)
    with pytest.raises(ScoreError, match="missing.mid: no such file"):
        engine.generate_file(tmp_path / "missing.mid", tmp_path / "out.mid", model=model)
    assert not (tmp_path / "out.musicxml").exists() and not (tmp_path / "out.mid").exists()


def test_a_score_without_harmony_names_the_file_and_writes_nothing(model: Path, tmp_path: Path) -> None:
    source = tmp_path / "rests.musicxml"
    silent = stream.Part([stream.Measure([meter.TimeSignature("4/4"), note.Rest(quarterLength=4)], number=1)])
    stream.Score([silent]).write("musicxml", fp=source)
    original = digest(source)
    with pytest.raises(ScoreError, match=r"rests.musicxml: no harmony found.*add chord symbols"):
        engine.generate_file(source, tmp_path / "out.musicxml", model=model)
    assert digest(source) == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rests.musicxml"]


def test_unwritable_outputs_are_refused_before_any_work(model: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        engine.generate_file(EXAMPLE, tmp_path / "no" / "such" / "out.musicxml", model=model)
    with pytest.raises(OutputError, match="unknown output extension '.pdf'"):
        engine.generate_file(EXAMPLE, tmp_path / "out.pdf", model=model)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root); permission check not testable")
        with pytest.raises(OutputError, match="not writable"):
            engine.generate_file(EXAMPLE, locked / "out.musicxml", model=model)
    finally:
        locked.chmod(0o700)


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.musicxml"
    target.write_text("the previous output", encoding="utf-8")

    def broken_replace(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine.os, "replace", broken_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        engine.write_score(lead_sheet(["C"]), target)
    assert target.read_text(encoding="utf-8") == "the previous output"
    assert [p.name for p in tmp_path.iterdir()] == ["out.musicxml"]


def test_midi_output_sounds_chord_symbols_and_melody(model: Path, tmp_path: Path) -> None:
    score = lead_sheet(["C", "F", "G", "C"])
    part = engine.generate(copy.deepcopy(score), seed=3, model=model)
    result = engine.generate_file(EXAMPLE, tmp_path / "out.mid", seed=3, model=model)
    back = converter.parse(result.output, forceSource=True)
    names = [p.partName for p in back.parts]
    assert len(back.parts) == 3, names  # melody, bass, and the chord symbols made audible
    chord_pitches = {
        frozenset(p.pitchClass for p in c.pitches) for p in back.parts for c in p.recurse().getElementsByClass("Chord")
    }
    assert frozenset({5, 9, 0}) in chord_pitches and frozenset({0, 4, 7, 10}) in chord_pitches
    melody = max(back.parts, key=lambda p: sum(n.pitch.midi for n in p.recurse().getElementsByClass("Note")))
    assert len(melody.recurse().getElementsByClass("Note")) > 0
    assert len(part.recurse().notes) > 0


def test_a_checkpoint_folder_named_like_a_bundled_model_is_that_folder(tmp_path) -> None:
    from tiny_model import save_tiny_model

    from music21_melgen import engine

    folder = save_tiny_model(tmp_path / "default")
    loaded = engine.load_model(folder)
    assert loaded.content_hash != engine.load_model("default").content_hash
