"""The one table of model kinds: complete, consistent with the presets, and loadable in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from music21_melgen.kinds import KINDS, kind_of
from music21_melgen.network import MelodyModel
from music21_melgen.training.presets import PRESETS


def test_every_preset_builds_a_kind_that_lists_it() -> None:
    for name, preset in PRESETS.items():
        assert name in kind_of(preset.kind).presets
    for kind in KINDS.values():
        assert all(PRESETS[name].kind == kind.name for name in kind.presets)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_kind_resolves_its_parts(name: str) -> None:
    kind = KINDS[name]
    model_class = kind.model_class()
    assert model_class.kind == name
    assert callable(kind.train_function())
    assert kind.representation().name  # builds with its default config


def _save_one_of_each(folder: Path) -> dict[str, Path]:
    import torch

    from music21_melgen.checkpoint import save_checkpoint
    from music21_melgen.encoding import ChordGridRepresentation
    from music21_melgen.melgen2019_encoding import MelgenTokenRepresentation
    from music21_melgen.lstm_network import MelodyLSTM
    from music21_melgen.melgen2019_model import MelGen2019Model, WindowNetworkConfig
    from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig
    from music21_melgen.window_network import WindowLSTM

    torch.manual_seed(0)
    grid = ChordGridRepresentation()
    tokens = MelgenTokenRepresentation()
    models = {
        "lstm": LstmMelodyModel(
            MelodyLSTM(MelodyLSTMConfig(grid.vocab_size, grid.conditioning_size, hidden_size=8, num_layers=1)), grid
        ),
        "melgen_window": MelGen2019Model(
            WindowLSTM(WindowNetworkConfig(tokens.vocab_size, window=4, hidden_size=8)), tokens
        ),
    }
    assert set(models) == set(KINDS), "a new kind needs a checkpoint here"
    return {kind: save_checkpoint(model, folder / kind, metrics={}, training={}) for kind, model in models.items()}


def test_a_checkpoint_of_every_kind_loads_and_samples_in_a_fresh_process(tmp_path: Path) -> None:
    folders = _save_one_of_each(tmp_path)
    script = (
        "import sys\n"
        "from fractions import Fraction as F\n"
        "from music21_melgen.checkpoint import load_checkpoint\n"
        "from music21_melgen.sampling import generate_melody\n"
        "from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan\n"
        "bar = MeasureSpan(1, F(0), F(4), '4/4', F(1))\n"
        "chord = ChordSpan(F(0), F(4), 0, frozenset({0, 4, 7}), 0, 'major', 1, 'I')\n"
        "model = load_checkpoint(sys.argv[1])\n"
        "melody = generate_melody(model, ChordTimeline((chord,), (bar,)))\n"
        "print(model.kind, len(melody.notes) > 0)\n"
    )
    for kind, folder in folders.items():
        result = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [kind, "True"]


def test_loaded_models_meet_the_protocol(tmp_path: Path) -> None:
    from music21_melgen.checkpoint import load_checkpoint

    for folder in _save_one_of_each(tmp_path).values():
        assert isinstance(load_checkpoint(folder), MelodyModel)
