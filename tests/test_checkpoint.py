"""Checkpoints: round trip, and a clear CheckpointError for each way one can be broken."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction as F
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from music21_melgen.checkpoint import MODELS_DIR, load_checkpoint, load_model, save_checkpoint
from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import CheckpointError
from music21_melgen.lstm_network import MelodyLSTM
from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig
from music21_melgen.sampling import SamplingControls, generate_melody
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan


def timeline(bars=4):
    measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(bars))
    return ChordTimeline((ChordSpan(F(0), F(4 * bars), 2, frozenset({2, 6, 9}), 2, "major", 1, "I"),), measures)


@pytest.fixture
def saved(tmp_path) -> tuple[LstmMelodyModel, Path]:
    torch.manual_seed(0)
    rep = ChordGridRepresentation()
    model = LstmMelodyModel(MelodyLSTM(MelodyLSTMConfig(rep.vocab_size, rep.conditioning_size, 8, 16, 2, 0.1)), rep)
    folder = save_checkpoint(model, tmp_path / "ck", metrics={"val_bits_per_step": 1.5}, training={"data_hash": "abc", "command": "x"})
    return model, folder


def test_round_trip(saved):
    model, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_checkpoint(folder)
    assert loaded.content_hash == model.content_hash and len(loaded.content_hash) == 64
    assert loaded.config["metrics"] == {"val_bits_per_step": 1.5}
    assert loaded.config["training_data_hash"] == "abc"
    assert loaded.config["versions"]["torch"] == torch.__version__
    assert loaded.network.config == model.network.config
    for name, tensor in model.network.state_dict().items():
        assert torch.equal(tensor, loaded.network.state_dict()[name])
    controls = SamplingControls(seed=11)
    assert generate_melody(loaded, timeline(), controls) == generate_melody(model, timeline(), controls)


def test_no_temporary_files_left(saved):
    _, folder = saved
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda f: (f / "config.json").unlink(), "config.json: missing"),
        (lambda f: (f / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda f: (f / "config.json").write_text("{ not json"), "bad JSON"),
        (lambda f: edit_config(f, lambda c: c.update(format="other")), "not a music21-melgen checkpoint"),
        (lambda f: edit_config(f, lambda c: c.update(format_version=2)), "format version 2"),
        (lambda f: edit_config(f, lambda c: c.update(kind="transformer")), "unknown model kind 'transformer'"),
        (lambda f: edit_config(f, lambda c: c["representation"].update(name="abc")), "representation 'abc' does not belong to this model kind"),
        (lambda f: edit_config(f, lambda c: c["representation"].update(version=7)), "version 7"),
        (lambda f: edit_config(f, lambda c: c["representation"]["vocabulary"].pop()), "vocabulary does not match"),
        (lambda f: edit_config(f, lambda c: c["model"].update(hidden_size=32)), "shapes do not match"),
        (lambda f: edit_config(f, lambda c: c["model"].update(num_layers=3)), "missing"),
        (lambda f: edit_config(f, lambda c: c["model"].update(colour="red")), "unknown model settings"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 40), "differs"),
    ],
)
def test_broken_checkpoints(saved, breakage, message):
    _, folder = saved
    breakage(folder)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(folder)


def test_corrupt_safetensors_without_hash(saved):
    _, folder = saved
    edit_config(folder, lambda c: c.pop("weights_sha256"))
    (folder / "model.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(folder)


def test_tensor_names_checked(saved):
    _, folder = saved
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["extra.weight"] = torch.zeros(2)
    save_file(tensors, str(folder / "model.safetensors"))
    edit_config(folder, lambda c: c.pop("weights_sha256"))
    with pytest.raises(CheckpointError, match="unexpected \\['extra.weight'\\]"):
        load_checkpoint(folder)


def test_missing_folder_and_bundled_names(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_model(tmp_path / "nothing")
    if not (MODELS_DIR / "melgen2019" / "config.json").exists():
        with pytest.raises(CheckpointError, match="bundled model 'melgen2019' is not installed"):
            load_model("melgen2019")
    with pytest.raises(CheckpointError, match="unknown model 'defalt'.*default, pop, melgen2019"):
        load_model("defalt")
    with pytest.raises(CheckpointError, match="got int"):
        load_model(123)
    with pytest.warns(DeprecationWarning, match="now called 'melgen2019'"):
        assert load_model("seed").name == "melgen2019"


def test_loading_never_unpickles(saved, monkeypatch):
    _, folder = saved

    def refuse(*args, **kwargs):
        raise AssertionError("torch.load must not be called")

    monkeypatch.setattr(torch, "load", refuse)
    assert load_checkpoint(folder).network is not None


def test_bundled_default_loads_and_generates():
    if not (MODELS_DIR / "default" / "config.json").exists():
        pytest.skip("no bundled default model yet")
    model = load_model("default")
    assert model.name == "default" and model.config["metrics"]["test_bits_per_step"] > 0
    melody = generate_melody(model, timeline(16), SamplingControls(seed=0))
    assert melody.notes and all(55 <= note.midi <= 79 for note in melody.notes)


def test_copy_of_checkpoint_loads_from_any_folder(saved, tmp_path):
    _, folder = saved
    copy = shutil.copytree(folder, tmp_path / "elsewhere")
    assert load_model(str(copy)).name == "elsewhere"
