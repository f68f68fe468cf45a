"""Training: the schedule, batching, a tiny model whose loss falls, and ``melgen train``."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from music21_melgen.checkpoint import load_checkpoint
from music21_melgen.cli import main
from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import ModelError
from music21_melgen.training.dataset import EncodedSong, load_corpus
from music21_melgen.training.presets import PRESETS, TrainingPreset, get_preset
from music21_melgen.training.train import _build_model, evaluate_bits, learning_rate, pad_batch, song_batches, train_lstm

STEMS = {"a_hard_days_night", "let_it_be", "hey_jude"}  # train, validation, test


@pytest.fixture(scope="module")
def few_songs(rock_corpus):
    return load_corpus(rock_corpus, ChordGridRepresentation(), stems=STEMS, log=lambda line: None)


def test_learning_rate_schedule_shape():
    rates = [learning_rate(s, total=200, warmup=20, peak=1e-2, floor=1e-4) for s in range(260)]
    assert max(rates) == pytest.approx(1e-2)
    assert rates[:20] == sorted(rates[:20]) and rates[20:200] == sorted(rates[20:200], reverse=True)
    assert rates[-1] == 1e-4


def test_batches_cover_every_song_once():
    songs = [EncodedSong(f"s{i}", "dt", np.zeros(i + 1, dtype=np.int64), np.zeros((i + 1, 2), np.float32)) for i in range(10)]
    batches = song_batches(songs, 3, np.random.default_rng(0))
    assert sorted(s.stem for b in batches for s in b) == sorted(s.stem for s in songs)
    prev, cond, targets = pad_batch(batches[0])
    assert prev.shape == targets.shape and cond.shape[:2] == prev.shape
    assert (targets == -1).sum() == sum(prev.shape[1] - len(s.events) for s in batches[0])


def test_presets_validated():
    assert get_preset("default") is PRESETS["default"]
    with pytest.raises(ModelError, match="hidden_size must be a positive integer"):
        TrainingPreset(name="bad", hidden_size=0)
    with pytest.raises(ModelError, match="unknown model kind 'midi'"):
        TrainingPreset(name="bad", kind="midi")
    with pytest.raises(ModelError, match="min_learning_rate exceeds"):
        TrainingPreset(name="bad", learning_rate=1e-4, min_learning_rate=1e-3)


def test_tiny_model_loss_falls_and_checkpoint_is_kept(few_songs, tmp_path):
    preset = replace(PRESETS["tiny"], max_epochs=3, patience=3)
    groups = few_songs.by_split()
    assert [len(groups[name]) for name in ("train", "validation", "test")] == [2, 2, 2]
    torch.manual_seed(preset.seed)
    representation, untrained = _build_model(preset)
    before = evaluate_bits(untrained, groups["train"])
    result = train_lstm(
        preset, groups, tmp_path / "ck", data_hash=few_songs.data_hash, command="test",
        representation=representation, progress=False, log=lambda line: None,
    )
    model = load_checkpoint(result.checkpoint)
    after = evaluate_bits(model.network, groups["train"])
    assert after < before - 0.5
    assert result.metrics["train_bits_per_step"] == pytest.approx(after, abs=1e-3)
    assert result.metrics["test_bits_per_step"] > 0 and result.metrics["val_bits_per_step"] > 0
    training = model.config["training"]
    assert training["command"] == "test" and training["preset"]["name"] == "tiny"
    assert training["split"]["rock"]["test"] == ["hey_jude"]
    assert model.config["training_data_hash"] == few_songs.data_hash


def test_melgen_train_command(rock_corpus, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    for sub, pattern in (("har", "{}_*.har"), ("mel", "{}_*.mel")):
        (corpus / sub).mkdir(parents=True)
        for stem in STEMS:
            for path in (rock_corpus / sub).glob(pattern.format(stem)):
                shutil.copy(path, corpus / sub / path.name)
    out = tmp_path / "out"
    code = main(["train", "--corpus", str(corpus), "--out", str(out), "--preset", "tiny", "--epochs", "1", "--quiet"])
    assert code == 0
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert "checkpoint:" in capsys.readouterr().out
    assert main(["train", "--corpus", str(corpus), "--out", str(out), "--preset", "huge"]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err
    assert main(["train", "--corpus", str(corpus), "--out", str(out), "--epochs", "0"]) == 2
