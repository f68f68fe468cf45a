"""Tests of music21_melgen.training.evaluate and ``melgen evaluate``: score folders, the corpus, goals, files."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest
from music21 import chord, harmony, key, meter, note, stream, tie

from music21_melgen.cli import main
from music21_melgen.errors import MelgenError, ScoreError
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
from music21_melgen.training import evaluate as ev
from music21_melgen.training import report
from music21_melgen.training.metrics import count_melody


def _lead_sheet() -> stream.Score:
    """Four bars in C: chord symbols in the melody part, a tie over bars 3-4."""
    part = stream.Part()
    bars = [("C", "C5 E5 G5 E5"), ("F", "F5 A5 C6 A5"), ("G7", "G5 B5 D5 F5"), ("C", "C5")]
    for number, (symbol, pitches) in enumerate(bars, start=1):
        measure = stream.Measure(number=number)
        if number == 1:
            measure.append([key.Key("C"), meter.TimeSignature("4/4")])
        measure.insert(0, harmony.ChordSymbol(symbol))
        names = pitches.split()
        for name in names:
            measure.append(note.Note(name, quarterLength=4 / len(names)))
        part.append(measure)
    measures = list(part.getElementsByClass(stream.Measure))
    last_of_bar_3 = list(measures[2].getElementsByClass(note.Note))[-1]
    last_of_bar_3.pitch.nameWithOctave = "C5"
    last_of_bar_3.tie = tie.Tie("start")
    list(measures[3].getElementsByClass(note.Note))[0].tie = tie.Tie("stop")
    return stream.Score([part])


def _voice_and_piano() -> stream.Score:
    """A voice with rests over block chords in a piano part, key of C."""
    voice, piano = stream.Part(), stream.Part()
    voice.partName, piano.partName = "Voice", "Piano"
    bars = [
        ("C4 E4 G4", "E5 D5 C5 D5"),
        ("A3 C4 E4", "E5 E5 E5 r"),
        ("F3 A3 C4", "D5 D5 D5 r"),
        ("G3 B3 D4", "E5 G5 G5 r"),
    ]
    for number, (pitches, line) in enumerate(bars, start=1):
        upper, lower = stream.Measure(number=number), stream.Measure(number=number)
        if number == 1:
            for measure in (upper, lower):
                measure.append([key.Key("C"), meter.TimeSignature("4/4")])
        for name in line.split():
            upper.append(note.Rest() if name == "r" else note.Note(name))
        lower.append(chord.Chord(pitches.split(), quarterLength=4))
        voice.append(upper)
        piano.append(lower)
    return stream.Score([piano, voice])  # the melody is not the first part


@pytest.fixture(scope="module")
def score_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scores")
    _lead_sheet().write("musicxml", folder / "lead.musicxml")
    _voice_and_piano().write("musicxml", folder / "duo.musicxml")
    (folder / "notes.txt").write_text("not a score\n")
    return folder


def test_melody_of_a_lead_sheet_leaves_chord_symbols_out_and_merges_ties():
    notes = ev.melody_from_score(_lead_sheet())
    assert len(notes) == 12  # 13 written, the tied pair merged
    assert notes[0] == MelodyNote(F(0), F(1), 72)
    assert notes[-1] == MelodyNote(F(11), F(5), 72)  # C5 from beat 4 of bar 3 to the end


def test_melody_is_the_highest_monophonic_part():
    notes = ev.melody_from_score(_voice_and_piano())
    assert [n.midi for n in notes[:4]] == [76, 74, 72, 74]
    assert len(notes) == 13
    assert notes[4].offset == 4 and notes[6].end == 7  # the rest in bar 2 stays a gap


def test_a_score_whose_top_part_is_chords_has_no_melody():
    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    for _ in range(4):
        part.append(chord.Chord(["C5", "E5", "G5"]))
    with pytest.raises(ScoreError, match="chords"):
        ev.melody_from_score(stream.Score([part]))


def test_score_songs_read_the_folder(score_folder: Path):
    songs = ev.score_songs(score_folder)
    assert [song.name for song in songs.songs] == ["duo.musicxml", "lead.musicxml"]
    duo, lead = songs.songs
    assert duo.timeline.source.startswith("chordified")
    assert lead.timeline.source == "chord symbols"
    # Every note of the lead sheet is a chord tone but the tied C5 that starts over G7.
    assert count_melody(lead.notes, lead.timeline).summary()["chord_tone_ratio"] == pytest.approx(11 / 12)


def test_score_songs_errors_name_the_folder_or_file(tmp_path: Path):
    with pytest.raises(ScoreError, match="no scores found"):
        ev.score_songs(tmp_path)
    bad = tmp_path / "broken.musicxml"
    bad.write_text("<score-partwise><oops")
    with pytest.raises(ScoreError, match="broken.musicxml"):
        ev.score_songs(tmp_path)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two small untrained checkpoints (seeded), so tests need no bundled model."""
    import torch

    from music21_melgen.checkpoint import save_checkpoint
    from music21_melgen.encoding import ChordGridRepresentation
    from music21_melgen.lstm_network import MelodyLSTM
    from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig

    folder = tmp_path_factory.mktemp("models")
    representation = ChordGridRepresentation()
    paths = []
    for index, name in enumerate(("alpha", "beta")):
        torch.manual_seed(index)
        network = MelodyLSTM(
            MelodyLSTMConfig(representation.vocab_size, representation.conditioning_size, 8, 16, 1, 0.0)
        )
        paths.append(save_checkpoint(LstmMelodyModel(network, representation), folder / name, metrics={}, training={}))
    return paths


def test_evaluate_scores_rows_and_repeatability(score_folder: Path, tiny_models: list[Path]):
    songs = ev.score_songs(score_folder)
    first = ev.evaluate(songs, tiny_models, seed=3, controls={"temperature": 0.9})
    labels = [row.label for row in first.rows]
    assert labels == ["real", "alpha", "beta", "alpha, no CR", "beta, no CR"]
    assert first.reference.counts.notes == 25
    assert all(row.counts.songs == 2 for row in first.rows)
    assert first.row("alpha").controls["temperature"] == 0.9
    assert first.row("beta").controls["temperature"] == 1.0  # only the model under test is tuned
    assert first.row("alpha, no CR").controls["continuation_reduction"] is None
    assert first.row("alpha").bits_per_step > 0
    again = ev.evaluate(songs, tiny_models, seed=3, controls={"temperature": 0.9})
    def measured(evaluation: ev.Evaluation) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in evaluation.to_json()["rows"]]

    assert measured(again) == measured(first)
    names = [goal.text for goal in report.goals(first)]
    assert names[-1] == "better than beta on every row"


def test_goals_on_hand_made_rows():
    bar = MeasureSpan(1, F(0), F(4), "4/4", F(1))
    timeline = ChordTimeline((ChordSpan(F(0), F(4), 0, frozenset({0, 4, 7}), 0, "major", 1, "I"),), (bar,))
    real = [MelodyNote(F(i), F(1), midi) for i, midi in enumerate([60, 62, 64, 67])]
    same = list(real)
    worse = [MelodyNote(F(0), F(5), 61)]  # off the chord, and held past the bar
    rows = [
        ev.Row("real", count_melody(real, timeline)),
        ev.Row("mine", count_melody(same, timeline), representation="grid", bits_per_step=1.0),
        ev.Row("theirs", count_melody(worse, timeline), representation="grid", bits_per_step=2.0),
    ]
    evaluation = ev.Evaluation("hand-made", 0, ["one"], rows)
    assert all(goal.met for goal in report.goals(evaluation))
    flipped = report.goals(evaluation, model="theirs", baseline="mine")
    assert [goal.met for goal in flipped] == [False, False, False, False]
    assert "bits per step" in flipped[-1].detail


def test_cli_writes_table_json_and_plots(score_folder: Path, tiny_models: list[Path], tmp_path: Path, capsys):
    out = tmp_path / "report"
    argv = ["evaluate", "--scores", str(score_folder), "--out", str(out), "--quiet"]
    for model in tiny_models:
        argv += ["--model", str(model)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "chord-tone ratio, all notes" in printed and "alpha, no CR" in printed
    data = json.loads((out / "evaluation.json").read_text())
    assert [row["label"] for row in data["rows"]][:2] == ["real", "alpha"]
    assert set(data["rows"][1]["overlaps"]) == {"pitch_class", "length", "interval"}
    assert data["command"].startswith("melgen evaluate --scores")
    for name in ("pitch_class", "length", "interval"):
        assert (out / f"histogram_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| `real` |" in (out / "evaluation.md").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_cli_reports_bad_input(tmp_path: Path, capsys):
    assert main(["evaluate", "--scores", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_unknown_split_is_refused(rock_corpus: Path):
    with pytest.raises(MelgenError, match="unknown split"):
        ev.corpus_songs(rock_corpus, split="holdout")


def test_corpus_end_to_end_with_bundled_models(rock_corpus: Path, tmp_path: Path):
    import numpy as np

    from music21_melgen.training.dataset import sung_part

    songs = ev.corpus_songs(rock_corpus, split="test", limit=1)
    assert len(songs.songs) == 2  # one song under both analysts' chords
    assert all(song.name.rsplit("_", 1)[1] in ("dt", "tdc") for song in songs.songs)
    # Eight bars of each keep the windowed melgen2019 model (64 model steps a note) quick.
    songs.songs = [
        ev.EvalSong(song.name, *sung_part(song.timeline, song.notes, np.array([0, 7])))
        for song in songs.songs
    ]
    evaluation = ev.evaluate(songs, ["default", "melgen2019"], seed=0)
    labels = [row.label for row in evaluation.rows]
    # default samples without continuation reduction (its recommendation): no "no CR" row.
    assert labels == ["real", "default", "melgen2019", "melgen2019, no CR"]
    assert evaluation.row("default").controls["continuation_reduction"] is None
    assert evaluation.row("default").controls["longest_note"] == {"bars": 1}
    assert evaluation.row("melgen2019").controls["continuation_reduction"] == [1.3, 1.4]
    assert evaluation.row("melgen2019").representation != evaluation.row("default").representation
    for row in evaluation.rows[1:]:
        assert row.counts.songs == 2 and row.counts.notes > 0
        assert row.bits_per_step is not None and row.bits_per_step > 0
        assert row.weights_sha256
    assert [goal.text for goal in report.goals(evaluation)][-1] == "better than melgen2019 on every row"
    written = report.write_report(evaluation, tmp_path, plots=False)
    assert [path.name for path in written] == ["evaluation.md", "evaluation.json"]
