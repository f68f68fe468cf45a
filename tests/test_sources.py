"""Song sources: what a folder is, the split per corpus, and training on scores, POP909 and the Rock Corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from music21 import harmony, key, meter, note, stream

from conftest import SHARED
from music21_melgen.checkpoint import load_checkpoint
from music21_melgen.cli import main
from music21_melgen.errors import CorpusFormatError, MelgenError, ScoreError
from music21_melgen.training.sources import Source, as_source, detect_source, read_source
from music21_melgen.training.split import SPLITS, split_of, split_stems

POP909 = SHARED / "pop909"

# Name, time signature, and per bar a chord symbol and its notes (quarter lengths).
SONGS = {
    "anthem": ("4/4", [("C", "C5 E5 G5 E5"), ("F", "F5 A5 C6 A5"), ("G7", "G5 B5 D5 F5"), ("C", "C5")]),
    "waltz": ("3/4", [("G", "G4 B4 D5"), ("D7", "F#4 A4 C5"), ("G", "B4 G4 D5"), ("C", "C5 E5 G4"), ("G", "G4")]),
    "jig": ("6/8", [("D", "D5 F#5 A5 F#5 E5 D5"), ("A7", "C#5 E5 A5 G5 E5 C#5"), ("D", "D5 A4 F#4 D4 F#4 A4")]),
    "ballad": ("4/4", [("Am", "A4 C5 E5 C5"), ("Dm", "D5 F5 A5 F5"), ("E7", "G#4 B4 D5 E5"), ("Am", "A4")]),
    "lullaby": ("3/4", [("F", "F4 A4 C5"), ("C7", "E4 G4 B-4"), ("F", "A4 F4 C5"), ("F", "F4")]),
}


def _lead_sheet(signature: str, bars: list[tuple[str, str]], chords: bool = True) -> stream.Score:
    """One part: chord symbols (unless ``chords`` is false) over a melody that fills each bar."""
    part = stream.Part()
    bar_length = meter.TimeSignature(signature).barDuration.quarterLength
    for number, (symbol, pitches) in enumerate(bars, start=1):
        measure = stream.Measure(number=number)
        if number == 1:
            measure.append([key.Key("C"), meter.TimeSignature(signature)])
        if chords:
            measure.insert(0, harmony.ChordSymbol(symbol))
        names = pitches.split()
        for name in names:
            measure.append(note.Note(name, quarterLength=bar_length / len(names)))
        part.append(measure)
    return stream.Score([part])


@pytest.fixture(scope="module")
def score_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scores")
    for name, (signature, bars) in SONGS.items():
        _lead_sheet(signature, bars).write("musicxml", folder / f"{name}.musicxml")
    return folder


@pytest.fixture(scope="module")
def pop909() -> Path:
    if not (POP909 / "002" / "002.mid").is_file():
        pytest.skip(f"POP909 not found at {POP909} (set MELGEN_SHARED to ../shared)")
    return POP909


# --- what a folder is ---------------------------------------------------------------


def test_each_kind_of_folder_is_detected(tmp_path: Path, score_folder: Path):
    rock = tmp_path / "rock"
    (rock / "har").mkdir(parents=True)
    (rock / "har" / "x_dt.har").write_text("S: [C] I |\n")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "x_dt.har").write_text("S: [C] I |\n")
    pop = tmp_path / "pop"
    (pop / "007").mkdir(parents=True)
    for name in ("007.mid", "chord_midi.txt"):
        (pop / "007" / name).write_bytes(b"")
    kinds = [detect_source(folder) for folder in (rock, flat, pop, score_folder)]
    assert kinds == ["rock", "rock", "pop909", "scores"]
    assert as_source(score_folder) == Source("scores", score_folder)


def test_an_unknown_folder_is_a_one_line_error_naming_it(tmp_path: Path, score_folder: Path):
    (tmp_path / "notes.txt").write_text("not a song\n")
    with pytest.raises(CorpusFormatError) as caught:
        detect_source(tmp_path)
    text = str(caught.value)
    assert str(tmp_path) in text and "not a song folder" in text and "\n" not in text
    assert isinstance(caught.value, MelgenError)
    with pytest.raises(CorpusFormatError, match="no such folder"):
        detect_source(tmp_path / "nowhere")
    with pytest.raises(CorpusFormatError, match=r"not a folder of POP909 \(it holds scores\)"):
        as_source(score_folder, "pop909")


# --- the split ------------------------------------------------------------------------


def test_the_rock_split_is_unchanged():
    # Recorded before the split learned about other corpora: the Rock Corpus keys on the bare stem.
    expected = {
        "a_hard_days_night": "train", "billie_jean": "train", "hey_jude": "test",
        "yesterday": "train", "let_it_be": "validation",
    }
    assert {stem: split_of(stem) for stem in expected} == expected
    assert {stem: split_of(stem, "rock") for stem in expected} == expected


def test_other_corpora_hash_corpus_and_stem():
    assert split_of("003", "pop909") == split_of("pop909/003") == "test"
    assert [split_of(stem, "pop909") for stem in ("002", "004", "005")] == ["train"] * 3
    assert split_of("jig", "scores") == split_of("scores/jig")


def test_pop909_splits_fixed_and_about_80_10_10(pop909: Path):
    names = sorted(p.name for p in pop909.iterdir() if (p / f"{p.name}.mid").is_file())
    groups = split_stems(names, "pop909")
    assert len(names) == 888
    assert [len(groups[name]) for name in SPLITS] == [713, 83, 92]
    assert "003" in groups["test"]


# --- reading songs ---------------------------------------------------------------------


def test_read_scores_keeps_every_file_and_its_split(score_folder: Path):
    read = read_source(score_folder)
    assert sorted(song.name for song in read.songs) == sorted(f"{name}.musicxml" for name in SONGS)
    assert {song.corpus for song in read.songs} == {"scores"} and not read.skipped
    assert {song.timeline.measures[0].time_signature for song in read.songs} >= {"3/4", "6/8"}
    assert all(song.split == split_of(song.stem, "scores") for song in read.songs)
    assert len(read.files) == len(SONGS)


def test_read_pop909_split_and_skips(pop909: Path):
    read = read_source(pop909, "test", limit=1)
    assert [song.stem for song in read.songs] == ["003"]
    assert read.songs[0].variant == "" and read.songs[0].split == "test" and read.songs[0].notes
    assert [path.name for path in read.files][:2] == ["003.mid", "beat_midi.txt"]


# --- training --------------------------------------------------------------------------


def test_train_on_scores_then_generate(score_folder: Path, tmp_path: Path):
    from music21_melgen.sampling import SamplingControls, generate_melody
    from music21_melgen.training.train import train

    result = train(score_folder, tmp_path / "ck", preset="tiny", max_epochs=1, progress=False, log=lambda line: None)
    model = load_checkpoint(result.checkpoint)
    training = model.config["training"]
    assert training["sources"][0]["corpus"] == "scores"
    assert sorted(training["split"]["scores"]["train"]) == sorted(SONGS)
    assert training["command"].startswith(f"melgen train --corpus {score_folder}")
    waltz = next(song for song in read_source(score_folder).songs if song.stem == "waltz")
    melody = generate_melody(model, waltz.timeline, SamplingControls.for_model(model, seed=1))
    assert melody.notes


def test_train_on_two_corpora_at_once(rock_corpus: Path, pop909: Path, tmp_path: Path):
    from music21_melgen.training.train import train

    stems = {"a_hard_days_night", "hey_jude", "002", "003"}
    lines: list[str] = []
    result = train(
        [rock_corpus, pop909], tmp_path / "ck", preset="tiny", max_epochs=1, progress=False,
        stems=stems, log=lines.append,
    )
    training = load_checkpoint(result.checkpoint).config["training"]
    assert [source["corpus"] for source in training["sources"]] == ["rock", "pop909"]
    assert all(source["sequences"] > 0 for source in training["sources"])
    assert training["split"]["rock"]["train"] == ["a_hard_days_night"]
    assert training["split"]["pop909"] == {"train": ["002"], "validation": [], "test": ["003"]}
    assert f"--corpus {rock_corpus} --corpus {pop909}" in training["command"]
    assert any(line.startswith("POP909 ") for line in lines)


def test_a_score_without_chords_is_a_one_line_error(tmp_path: Path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    _lead_sheet("4/4", SONGS["anthem"][1], chords=False).write("musicxml", folder / "bare.musicxml")
    with pytest.raises(ScoreError, match="bare.musicxml: the melody is the only part"):
        read_source(folder)
    assert main(["train", "--scores", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "bare.musicxml" in error and "\n" not in error


def test_melgen_train_scores_command(score_folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    argv = ["train", "--scores", str(score_folder), "--out", str(out), "--preset", "tiny", "--epochs", "1", "--quiet"]
    assert main(argv) == 0
    assert (out / "model.safetensors").is_file() and "checkpoint:" in capsys.readouterr().out
    assert main(["train", "--out", str(out), "--preset", "tiny"]) == 2
    assert "at least one song source" in capsys.readouterr().err
    rock = tmp_path / "rock"
    (rock / "har").mkdir(parents=True)
    (rock / "har" / "x_dt.har").write_text("S: [C] I |\n")
    assert main(["train", "--scores", str(rock), "--out", str(out)]) == 2
    assert "not a folder of scores (it holds Rock Corpus)" in capsys.readouterr().err


def test_evaluate_reads_pop909_through_the_sources(pop909: Path):
    from music21_melgen.training.evaluate import corpus_songs

    sung = corpus_songs(pop909, split="test", limit=1)
    whole = corpus_songs(pop909, split="test", limit=1, whole_songs=True)
    assert sung.source.startswith("POP909 ") and "split test, sung part" in sung.source
    assert [song.name for song in sung.songs] == [song.name for song in whole.songs] == ["003"]
    assert len(sung.songs[0].timeline.measures) <= len(whole.songs[0].timeline.measures)
