"""Per-model sampling defaults, lengths in bars, and one BLAS thread while sampling."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from music21_melgen import engine
from music21_melgen.batch import _settings_hash
from music21_melgen.checkpoint import load_checkpoint, recommended_sampling, save_checkpoint
from music21_melgen.cli import main
from music21_melgen.errors import CheckpointError, GenerationError, ModelError
from music21_melgen.sampling import (
    MODEL_DEFAULT,
    Bars,
    SamplingControls,
    controls_from_json,
    controls_to_json,
    generate_melody,
)
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan

EXAMPLE = Path(__file__).resolve().parents[1] / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"
HALF_TOP_P = {"top_p": 0.5, "continuation_reduction": [2.0, 1.5], "longest_note": {"bars": 1}}


def _tiny_model(folder: Path, sampling: dict | None) -> Path:
    import torch

    from music21_melgen.encoding import ChordGridRepresentation
    from music21_melgen.lstm_network import MelodyLSTM
    from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig

    torch.manual_seed(0)
    representation = ChordGridRepresentation()
    network = MelodyLSTM(MelodyLSTMConfig(representation.vocab_size, representation.conditioning_size, 8, 16, 1, 0.0))
    return save_checkpoint(
        LstmMelodyModel(network, representation), folder, metrics={}, training={}, sampling=sampling
    )


@pytest.fixture(scope="module")
def half(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint that recommends top-p 0.5, continuation reduction 2.0 x1.5 and one bar."""
    return _tiny_model(tmp_path_factory.mktemp("half") / "half", HALF_TOP_P)


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[SamplingControls]:
    """The controls every engine call samples with."""
    seen: list[SamplingControls] = []

    def recording(model, timeline, controls=None, primer=(), form="auto"):
        seen.append(controls)
        return generate_melody(model, timeline, controls, primer, form)

    monkeypatch.setattr(engine, "generate_melody", recording)
    return seen


def timeline(meter: str = "4/4", bar: F = F(4), bars: int = 4, first: F | None = None) -> ChordTimeline:
    """``bars`` measures of ``meter`` (the first ``first`` quarters long if given), C major throughout."""
    lengths = [first or bar] + [bar] * (bars - 1)
    offsets = [sum(lengths[:i], F(0)) for i in range(bars)]
    measures = tuple(MeasureSpan(i + 1, offsets[i], lengths[i], meter, F(1)) for i in range(bars))
    chords = tuple(
        ChordSpan(offsets[i], lengths[i], 0, frozenset({0, 4, 7}), 0, "major", i + 1, "I") for i in range(bars)
    )
    return ChordTimeline(chords, measures)


def test_the_models_recommendation_is_used_unless_given(half: Path, used: list[SamplingControls]) -> None:
    from music21 import converter

    score = converter.parse(EXAMPLE, forceSource=True)
    engine.generate(score, model=half, seed=3, inPlace=False)
    engine.generate(score, model=half, seed=3, top_p=0.9, continuation_reduction=None, inPlace=False)
    engine.generate(score, model=half, seed=3, top_p=MODEL_DEFAULT, inPlace=False)
    recommended, overridden, sentinel = used
    assert (recommended.top_p, recommended.continuation_reduction, recommended.longest_note) == (0.5, (2.0, 1.5), Bars(1))
    assert recommended.temperature == 1.0  # not recommended: the class default
    assert (overridden.top_p, overridden.continuation_reduction) == (0.9, None)  # what the user gave wins
    assert overridden.longest_note == Bars(1)
    assert sentinel == recommended


def test_a_model_without_recommendation_samples_with_the_class_defaults(tmp_path: Path) -> None:
    plain = load_checkpoint(_tiny_model(tmp_path / "plain", None))
    assert "sampling" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    assert SamplingControls.for_model(plain, seed=4) == SamplingControls(seed=4)
    assert recommended_sampling(tmp_path / "plain") == {}


def test_generate_file_and_the_cli_use_the_recommendation(half: Path, used: list[SamplingControls], tmp_path: Path) -> None:
    engine.generate_file(EXAMPLE, tmp_path / "a.musicxml", model=half)
    assert main(["generate", str(EXAMPLE), "-o", str(tmp_path / "b.mid"), "--model", str(half)]) == 0
    assert main([
        "generate", str(EXAMPLE), "-o", str(tmp_path / "c.mid"), "--model", str(half),
        "--top-p", "0.8", "--no-continuation-reduction", "--longest-note", "2",
    ]) == 0
    from_api, from_cli, overridden = used
    assert from_api.top_p == from_cli.top_p == 0.5
    assert from_api.continuation_reduction == from_cli.continuation_reduction == (2.0, 1.5)
    assert (overridden.top_p, overridden.continuation_reduction, overridden.longest_note) == (0.8, None, F(2))


def test_model_generate_without_controls_uses_the_recommendation(half: Path) -> None:
    model = load_checkpoint(half)
    tl = timeline()
    assert generate_melody(model, tl) == generate_melody(model, tl, SamplingControls.for_model(model))


def test_cli_help_shows_the_bundled_recommendations(capsys: pytest.CaptureFixture[str]) -> None:
    weight = recommended_sampling("default")["chord_tone_weight"]
    for command in ("generate", "batch", "evaluate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "the model's own; bundled models: default" in text
        pop = recommended_sampling("pop")["chord_tone_weight"]
        assert f"default {weight}, pop {pop}, melgen2019 1.0" in text  # --chord-tone-weight
        assert "default off, pop off, melgen2019 1.3,1.4" in text  # --continuation-reduction


def test_bundled_recommendations() -> None:
    default, seed = recommended_sampling("default"), recommended_sampling("melgen2019")
    assert default["top_p"] == 1.0 and default["continuation_reduction"] is None
    assert default["longest_note"] == Bars(1)
    assert seed["continuation_reduction"] == (1.3, 1.4) and seed["top_p"] == 1.0


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        ({"top_p": 2}, "top_p must lie in"),
        ({"top_pp": 0.5}, "unknown setting"),
        ({"longest_note": {"beats": 1}}, "longest_note must be"),
        ({"longest_note": {"bars": -1}}, "positive number of bars"),
        ({"continuation_reduction": [1.3]}, "continuation_reduction"),
        ({"seed": 3}, "unknown setting"),
        ([0.5], "must be a JSON object"),
    ],
)
def test_bad_sampling_in_a_checkpoint_is_a_checkpoint_error(half: Path, tmp_path: Path, sampling, message) -> None:
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(half, folder)
    config = json.loads((folder / "config.json").read_text())
    config["sampling"] = sampling
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message) as caught:
        load_checkpoint(folder)
    assert "config.json" in str(caught.value)
    with pytest.raises(CheckpointError, match=message):
        recommended_sampling(folder)


def test_bad_sampling_is_refused_when_saving_and_in_presets(tmp_path: Path) -> None:
    from music21_melgen.training.presets import PRESETS, TrainingPreset

    with pytest.raises(CheckpointError, match="temperature"):
        _tiny_model(tmp_path / "x", {"temperature": 0})
    assert not (tmp_path / "x" / "config.json").exists()
    with pytest.raises(ModelError, match="preset 'odd'.*chord_tone_weight"):
        TrainingPreset(name="odd", sampling={"chord_tone_weight": "high"})
    saved = _tiny_model(tmp_path / "y", dict(PRESETS["default"].sampling))
    assert recommended_sampling(saved) == recommended_sampling("default")


def test_json_round_trip() -> None:
    controls = SamplingControls(longest_note=Bars(F(3, 2)), longest_rest=F(6), continuation_reduction=None)
    data = json.loads(json.dumps(controls_to_json(controls)))
    assert data["longest_note"] == {"bars": 1.5}
    assert SamplingControls(**controls_from_json({k: v for k, v in data.items() if k != "seed"})) == controls


@pytest.mark.parametrize(
    ("meter", "bar", "first"), [("4/4", F(4), None), ("3/4", F(3), None), ("6/8", F(3), None), ("4/4", F(4), F(1))]
)
def test_longest_note_of_one_bar_follows_the_meter(half: Path, meter: str, bar: F, first: F | None) -> None:
    model = load_checkpoint(half)
    tl = timeline(meter, bar, bars=8, first=first)
    for seed in range(3):
        controls = SamplingControls(seed=seed, temperature=0.3, continuation_reduction=None, longest_note=Bars(1))
        notes = generate_melody(model, tl, controls).notes
        assert notes and max(note.length for note in notes) <= bar  # a pickup still allows a whole bar


def test_seed_model_honours_bars() -> None:
    from music21_melgen.checkpoint import load_model

    seed = load_model("melgen2019")
    tl = timeline("3/4", F(3), bars=6)
    free = generate_melody(seed, tl, SamplingControls(seed=1, continuation_reduction=None))
    capped = generate_melody(seed, tl, SamplingControls(seed=1, continuation_reduction=None, longest_note=Bars(1)))
    assert max(note.length for note in free.notes) > 3  # MelGen's model holds notes without the cure
    assert max(note.length for note in capped.notes) <= 3


def test_unknown_controls_are_refused() -> None:
    with pytest.raises(GenerationError, match="unknown sampling control"):
        SamplingControls.for_model({}, top=0.5)
    with pytest.raises(GenerationError, match="longest_note"):
        SamplingControls(longest_note="1 bar")


def test_batch_settings_hash_fills_in_the_recommendation() -> None:
    recommended = controls_from_json(HALF_TOP_P)
    assert _settings_hash({}, recommended) == _settings_hash({"top_p": 0.5}, recommended)
    assert _settings_hash({}, recommended) != _settings_hash({}, {})
    assert _settings_hash({"top_p": 0.9}, recommended) != _settings_hash({}, recommended)
    assert _settings_hash({"longest_note": Bars(1)}, {}) == _settings_hash({}, recommended | {"top_p": 0.95, "continuation_reduction": (1.3, 1.4)})


def test_sampling_runs_on_one_blas_thread(half: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadpoolctl import threadpool_info

    from music21_melgen.checkpoint import load_model
    from music21_melgen.network import LstmSteps
    from music21_melgen.network import WindowSteps

    threads: list[int] = []

    def blas_threads() -> None:
        threads.extend(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")

    step, logits = LstmSteps.step, WindowSteps.logits
    monkeypatch.setattr(LstmSteps, "step", lambda self, *a: (blas_threads(), step(self, *a))[1])
    monkeypatch.setattr(WindowSteps, "logits", lambda self, *a: (blas_threads(), logits(self, *a))[1])
    tl = timeline(bars=1)
    first = generate_melody(load_checkpoint(half), tl, SamplingControls(seed=2))
    generate_melody(load_model("melgen2019"), tl, SamplingControls(seed=2))
    assert threads and set(threads) == {1}
    monkeypatch.setattr(LstmSteps, "step", step)
    assert generate_melody(load_checkpoint(half), tl, SamplingControls(seed=2)) == first


@pytest.mark.parametrize("name", ["default", "melgen2019"])
def test_bundled_model_recommends_what_its_preset_writes(name: str) -> None:
    # A bundled model is rebuilt by training its preset; its config must say what a rebuild says.
    from music21_melgen.checkpoint import MODELS_DIR
    from music21_melgen.training.presets import DEFAULT_SAMPLING, MELGEN2019_SAMPLING

    config = json.loads((Path(MODELS_DIR) / name / "config.json").read_text())
    assert config["sampling"] == {"default": DEFAULT_SAMPLING, "melgen2019": MELGEN2019_SAMPLING}[name]
