"""Loading a model and sampling from it never import torch (issue 14: torch cost half of `melgen generate`).

Each check runs in a fresh interpreter (this test process has torch loaded
already): load a bundled model, write a melody, then look at ``sys.modules``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from music21_melgen.checkpoint import MODELS_DIR

EXAMPLE = Path(__file__).resolve().parents[1] / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"

TWO_BARS = """
from fractions import Fraction as F
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan
measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(2))
chords = tuple(ChordSpan(F(4 * i), F(4), 0, frozenset({0, 4, 7}), 0, "major", i + 1, "I") for i in range(2))
timeline = ChordTimeline(chords, measures)
"""


def run_fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter that fails if torch was imported; its stdout."""
    script = textwrap.dedent(code) + "\nimport sys\nassert 'torch' not in sys.modules, 'torch was imported'\nprint('torch-free')\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "torch-free" in done.stdout
    return done.stdout


def _bundled(name: str) -> None:
    if not (MODELS_DIR / name / "config.json").is_file():
        pytest.skip(f"the bundled model {name!r} is not installed")


def test_default_model_loads_and_samples_without_torch():
    _bundled("default")
    out = run_fresh(
        TWO_BARS
        + """
import music21_melgen
from music21_melgen import engine
from music21_melgen.controls import SamplingControls
from music21_melgen.sampling import generate_melody
model = engine.load_model("default")
melody = generate_melody(model, timeline, SamplingControls.for_model(model, seed=0))
assert melody.notes
print(repr(model))
"""
    )
    assert "LstmMelodyModel default" in out


def test_melgen2019_model_loads_and_samples_without_torch():
    _bundled("melgen2019")
    run_fresh(
        TWO_BARS
        + """
import music21_melgen
from music21_melgen import engine
from music21_melgen.controls import SamplingControls
from music21_melgen.sampling import generate_melody
model = engine.load_model("melgen2019")
melody = generate_melody(model, timeline, SamplingControls.for_model(model, seed=0, candidates=1))
assert melody.notes
"""
    )


def test_melgen_generate_runs_without_torch(tmp_path):
    _bundled("default")
    out = tmp_path / "out.musicxml"
    run_fresh(
        f"""
from music21_melgen.cli import main
assert main(["generate", {str(EXAMPLE)!r}, "-o", {str(out)!r}]) == 0
"""
    )
    assert out.stat().st_size > 0


def test_the_torch_network_is_built_on_first_use_from_the_same_weights():
    torch = pytest.importorskip("torch")
    _bundled("default")
    from music21_melgen.checkpoint import load_model
    from safetensors.torch import load_file

    model = load_model("default")
    assert model._network is None  # loading built no torch network
    stored = load_file(str(MODELS_DIR / "default" / "model.safetensors"))
    for key, tensor in model.network.state_dict().items():
        assert torch.equal(tensor, stored[key].float())
    assert model.tensors().keys() == stored.keys()
