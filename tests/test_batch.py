"""Batch generation on this machine: planning, manifest, resume, faults (music21_melgen.batch)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from music21 import converter, harmony, key, meter, note, stream

from music21_melgen.batch import (
    MANIFEST_NAME,
    collect_inputs,
    plan_batch,
    read_manifest,
    run_batch,
    song_seed,
)
from music21_melgen.cli import main
from music21_melgen.errors import GenerationError, MelgenError, OutputError, ScoreError

REPO = Path(__file__).resolve().parents[1]
PROGRESSIONS = {
    "a/one.musicxml": ["C", "F", "G7", "C"],
    "a/two.musicxml": ["Am", "Dm", "E7", "Am"],
    "b/three.musicxml": ["G", "C", "D", "G"],
    "b/four.xml": ["F", "B-", "C7", "F"],
}


def write_lead_sheet(path: Path, figures: list[str]) -> None:
    """A small MusicXML lead sheet: one chord symbol per 4/4 measure."""
    part = stream.Part()
    for number, figure in enumerate(figures, start=1):
        measure = stream.Measure(number=number)
        if number == 1:
            measure.append(meter.TimeSignature("4/4"))
            measure.append(key.Key("C"))
        measure.insert(0, harmony.ChordSymbol(figure))
        measure.append(note.Rest(quarterLength=4))
        part.append(measure)
    score = stream.Score([part])
    path.parent.mkdir(parents=True, exist_ok=True)
    score.write("musicxml", fp=str(path))


def save_tiny_model(folder: Path) -> Path:
    """An untrained one-layer checkpoint: a batch needs some model, not a good one, and this one is fast."""
    import torch

    from music21_melgen.checkpoint import save_checkpoint
    from music21_melgen.encoding import ChordGridRepresentation
    from music21_melgen.lstm_network import MelodyLSTM
    from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig

    torch.manual_seed(0)
    representation = ChordGridRepresentation()
    network = MelodyLSTM(MelodyLSTMConfig(
        representation.vocab_size, representation.conditioning_size, embedding_size=8, hidden_size=32, num_layers=1
    ))
    return save_checkpoint(LstmMelodyModel(network, representation, name="tiny"), folder, metrics={}, training={})


def make_corpus(root: Path) -> Path:
    for name, figures in PROGRESSIONS.items():
        write_lead_sheet(root / name, figures)
    (root / "a" / "notes.txt").write_text("not a score\n")
    (root / ".hidden").mkdir()
    write_lead_sheet(root / ".hidden" / "skip.musicxml", ["C"])
    return root


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outputs(out_dir: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out_dir).as_posix(): path.read_bytes()
        for path in sorted(out_dir.rglob("*"))
        if path.is_file() and path.name != MANIFEST_NAME
    }


def assert_valid_outputs(out_dir: Path, expected: list[str]) -> None:
    """Every expected output is there, parses, and has one more part than its lead sheet."""
    assert sorted(outputs(out_dir)) == sorted(expected)
    for name in expected:
        score = converter.parse(out_dir / name, forceSource=True)
        assert len(score.parts) == 2, name


EXPECTED = ["a/one.musicxml", "a/two.musicxml", "b/three.musicxml", "b/four.musicxml"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def reference(corpus: Path, model: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Outputs of one plain run with one worker, to compare every other run with."""
    out_dir = tmp_path_factory.mktemp("reference")
    report = run_batch([corpus], out_dir, jobs=1, seed=5, model=model)
    assert report.success, report.summary()
    return outputs(out_dir)


# --- planning ---------------------------------------------------------------


def test_folder_search_takes_known_extensions_and_skips_hidden_and_output(corpus: Path) -> None:
    root, files = collect_inputs([corpus], exclude=corpus / "a")
    assert root == corpus
    assert [path.relative_to(corpus).as_posix() for path in files] == ["b/four.xml", "b/three.musicxml"]


def test_plan_mirrors_folders_and_seeds_do_not_depend_on_the_input_set(corpus: Path, tmp_path: Path) -> None:
    items = plan_batch([corpus], tmp_path, seed=5)
    assert [item.output.relative_to(tmp_path).as_posix() for item in items] == sorted(EXPECTED)
    assert all(item.seed == song_seed(5, item.relative) for item in items)
    assert plan_batch(corpus, tmp_path, seed=5) == items  # one path alone is one input
    globbed = plan_batch([str(corpus / "*" / "t*.musicxml")], tmp_path, seed=5)
    assert {item.relative: item.seed for item in globbed} == {
        item.relative: item.seed for item in items if Path(item.relative).name.startswith("t")
    }


def test_inputs_sharing_a_name_get_distinct_outputs(tmp_path: Path) -> None:
    for name in ("song.xml", "song.musicxml", "other.mid"):
        (tmp_path / "in" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_text("x")
    names = [item.output.name for item in plan_batch([tmp_path / "in"], tmp_path / "out", format="mid")]
    assert names == ["other.mid", "song.musicxml.mid", "song.xml.mid"]


def test_missing_input_and_bad_arguments_raise_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ScoreError, match="no such file or folder"):
        plan_batch([tmp_path / "nothing.musicxml"], tmp_path / "out")
    with pytest.raises(ScoreError, match="matches no file"):
        plan_batch([str(tmp_path / "*.mxl")], tmp_path / "out")
    with pytest.raises(MelgenError, match="unknown output format"):
        plan_batch([tmp_path], tmp_path / "out", format="pdf")
    with pytest.raises(MelgenError, match="jobs"):
        run_batch([tmp_path], tmp_path / "out", jobs=0)
    with pytest.raises(GenerationError, match="seed"):
        run_batch([tmp_path], tmp_path / "out", seed=-1)
    with pytest.raises(GenerationError, match="unknown sampling control"):
        run_batch([tmp_path], tmp_path / "out", temprature=0.5)
    with pytest.raises(GenerationError, match="temperature"):
        run_batch([tmp_path], tmp_path / "out", temperature=-1)
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_is_an_output_error_and_writes_nothing(
    corpus: Path, tmp_path: Path, model: str
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OutputError, match="cannot write to the output folder"):
        run_batch([corpus], blocker / "out", model=model)
    assert blocker.read_text() == "a file, not a folder"
    assert main(["batch", str(corpus), "-o", str(blocker / "out"), "--model", model]) == 2


# --- runs -------------------------------------------------------------------


def test_run_writes_outputs_and_manifest_and_leaves_inputs_alone(
    corpus: Path, reference: dict[str, bytes], tmp_path: Path, model: str
) -> None:
    before = {path: digest(path) for path in corpus.rglob("*") if path.is_file()}
    report = run_batch([corpus], tmp_path, jobs=1, seed=5, model=model)
    assert (report.ok, report.skipped, report.failed) == (4, 0, 0)
    assert_valid_outputs(tmp_path, EXPECTED)
    assert outputs(tmp_path) == reference  # the same seed gives the same bytes, run after run
    records = read_manifest(tmp_path / MANIFEST_NAME)
    assert sorted(record["output"] for record in records) == sorted(EXPECTED)
    assert {record["status"] for record in records} == {"ok"}
    assert all(record["seed"] == song_seed(5, Path(record["input"]).relative_to(corpus).as_posix())
               for record in records)
    assert len({record["model_hash"] for record in records}) == 1
    assert {path: digest(path) for path in corpus.rglob("*") if path.is_file()} == before


def test_corrupt_and_empty_inputs_fail_and_the_rest_is_written(tmp_path: Path, model: str) -> None:
    inputs = tmp_path / "in"
    for name in ("a/one.musicxml", "a/two.musicxml"):
        write_lead_sheet(inputs / name, PROGRESSIONS[name])
    (inputs / "corrupt.musicxml").write_text("<?xml version='1.0'?><score-partwise><part id='P1'><measure")
    (inputs / "empty.xml").write_bytes(b"")
    out_dir = tmp_path / "out"
    report = run_batch([inputs], out_dir, seed=5, model=model)
    assert (report.ok, report.failed) == (2, 2)
    failed = {result.input.name: result.error for result in report.results if result.status == "failed"}
    assert sorted(failed) == ["corrupt.musicxml", "empty.xml"]
    assert all(error for error in failed.values())
    assert sorted(outputs(out_dir)) == ["a/one.musicxml", "a/two.musicxml"]
    assert "2 failed" in report.summary()
    # The command line says so in its exit status, and resumes: only the failures are retried.
    assert main(["batch", str(inputs), "-o", str(out_dir), "--seed", "5", "--model", model, "--no-progress"]) == 1
    statuses = [record["status"] for record in read_manifest(out_dir / MANIFEST_NAME)[-4:]]
    assert sorted(statuses) == ["failed", "failed", "skipped", "skipped"]


def test_rerun_skips_done_outputs_and_redoes_stale_ones(
    corpus: Path, reference: dict[str, bytes], tmp_path: Path, model: str
) -> None:
    first = run_batch([corpus], tmp_path, seed=5, model=model)
    assert first.ok == 4
    (tmp_path / "a" / "one.musicxml").unlink()
    # Leftovers of a killed run: the temporary folder of a dead process, a torn manifest line.
    dead = tmp_path / "b" / f".melgen-tmp.{socket.gethostname()}-999999999-abcd1234"
    dead.mkdir()
    (dead / "three.musicxml").write_text("<half a file")
    with open(tmp_path / MANIFEST_NAME, "a") as handle:
        handle.write('{"input": "/x", "output": "b/thr')
    second = run_batch([corpus], tmp_path, seed=5, model=model)
    assert (second.ok, second.skipped) == (1, 3)
    assert [r.output.name for r in second.results if r.status == "ok"] == ["one.musicxml"]
    assert not dead.exists()
    assert outputs(tmp_path) == reference
    third = run_batch([corpus], tmp_path, seed=6, model=model)
    assert third.ok == 4  # another seed: the manifest says the outputs are stale
    assert outputs(tmp_path) != reference
    fourth = run_batch([corpus], tmp_path, seed=6, model=model, temperature=1, pitch_range=[55, 79])
    assert fourth.skipped == 4  # the defaults, spelled out, are the same settings
    assert main(["batch", str(corpus), "-o", str(tmp_path), "--seed", "6", "--model", model,
                 "--temperature", "0.8", "--no-progress"]) == 0
    assert [record["status"] for record in read_manifest(tmp_path / MANIFEST_NAME)[-4:]] == ["ok"] * 4


def test_a_model_changed_during_the_batch_fails_the_songs_left(corpus: Path, model: str, tmp_path: Path) -> None:
    from music21_melgen.batch import workers

    source = corpus / "a" / "one.musicxml"
    task = workers._Task(str(source), str(tmp_path / "one.musicxml"), 1, model, "0" * 64, {})
    outcome = workers._run_task(task)
    assert outcome.error is not None and "changed during the batch" in outcome.error
    assert list(tmp_path.iterdir()) == []  # nothing written, no scratch folder left


def test_two_workers_give_the_same_bytes_and_survive_a_killed_worker(
    corpus: Path, reference: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    token = tmp_path / "kill-token"
    token.write_text("the first worker task to delete this file kills its own process")
    monkeypatch.setenv("MELGEN_BATCH_KILL_TOKEN", str(token))
    report = run_batch([corpus], tmp_path / "out", jobs=2, seed=5, model=model)
    assert not token.exists()  # a worker did die
    assert report.success, report.summary()
    assert outputs(tmp_path / "out") == reference


# --- whole processes ----------------------------------------------------------


def batch_command(corpus: Path, out_dir: Path, jobs: int, model: str) -> list[str]:
    return [sys.executable, "-m", "music21_melgen", "batch", str(corpus), "-o", str(out_dir),
            "--seed", "5", "--model", model, "--jobs", str(jobs), "--no-progress"]


@pytest.fixture(scope="module")
def long_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten 16-bar lead sheets: enough work to kill a batch in the middle of it."""
    root = tmp_path_factory.mktemp("long")
    cycle = ["C", "A-", "F", "G7", "Am", "D7", "G", "E7"]
    for number in range(10):
        write_lead_sheet(root / f"song{number:02}.musicxml", [cycle[(number + bar) % 8] for bar in range(16)])
    return root


def test_batch_killed_with_sigkill_resumes_with_nothing_lost_or_corrupt(
    long_corpus: Path, tmp_path: Path, model: str
) -> None:
    run_batch([long_corpus], tmp_path / "reference", seed=5, model=model)
    reference = outputs(tmp_path / "reference")
    out_dir = tmp_path / "out"
    manifest = out_dir / MANIFEST_NAME
    process = subprocess.Popen(batch_command(long_corpus, out_dir, 2, model), cwd=REPO, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.is_file() and manifest.read_text().count("\n") >= 2:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the batch and its workers, mid-run
    process.wait()
    done_before = len(read_manifest(manifest))
    assert 2 <= done_before < 10  # killed in the middle
    for name, data in outputs(out_dir).items():
        if not any(part.startswith(".") for part in Path(name).parts):
            assert data == reference[name]  # whatever is there under an output's name is whole
    assert subprocess.run(batch_command(long_corpus, out_dir, 2, model), cwd=REPO, timeout=180).returncode == 0
    assert outputs(out_dir) == reference  # scratch folders of the killed run are gone too
    last_run = read_manifest(manifest)[done_before:]
    assert len(last_run) == 10
    assert sum(record["status"] == "skipped" for record in last_run) >= done_before  # nothing done was lost


def test_two_batches_at_once_into_one_folder(
    corpus: Path, reference: dict[str, bytes], tmp_path: Path, model: str
) -> None:
    out_dir = tmp_path / "out"
    runs = [subprocess.Popen(batch_command(corpus, out_dir, 1, model), cwd=REPO, stderr=subprocess.PIPE)
            for _ in range(2)]
    assert [run.wait(timeout=180) for run in runs] == [0, 0], [run.stderr.read() for run in runs]
    assert outputs(out_dir) == reference
    lines = (out_dir / MANIFEST_NAME).read_text().splitlines()
    assert len(lines) == 8
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_the_manifest_says_which_passages_echoed_which(tmp_path: Path) -> None:
    from lead_sheets import chord_symbol_score

    from music21_melgen.batch import read_manifest, run_batch

    source = tmp_path / "in" / "verse_twice.musicxml"
    source.parent.mkdir()
    chord_symbol_score(["C", "F", "G", "C"] * 2).write("musicxml", source)
    report = run_batch([str(source)], str(tmp_path / "out"), model=str(save_tiny_model(tmp_path / "model")))
    assert report.results[0].echoes == "5-8<1-4"
    assert read_manifest(report.manifest)[-1]["echoes"] == "5-8<1-4"


def test_form_off_in_a_batch_writes_no_echoes_and_is_its_own_setting(tmp_path: Path) -> None:
    from lead_sheets import chord_symbol_score

    from music21_melgen.batch import run_batch
    from music21_melgen.errors import GenerationError

    source = tmp_path / "in" / "verse_twice.musicxml"
    source.parent.mkdir()
    chord_symbol_score(["C", "F", "G", "C"] * 2).write("musicxml", source)
    model = str(save_tiny_model(tmp_path / "model"))
    auto = run_batch([str(source)], str(tmp_path / "auto"), model=model)
    off = run_batch([str(source)], str(tmp_path / "off"), model=model, form=None)
    assert off.results[0].echoes == "" and auto.results[0].echoes == "5-8<1-4"
    assert off.results[0].settings != auto.results[0].settings
    with pytest.raises(GenerationError, match="form must be"):
        run_batch([str(source)], str(tmp_path / "bad"), model=model, form=3)
