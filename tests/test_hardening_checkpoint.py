"""Hostile checkpoints (issue 15): every number bounded, sizes checked against the weights' header
before anything is allocated, deep or huge JSON refused, non-finite weights refused; and a
property test over random config values."""

from __future__ import annotations

import json
import math
import resource
import shutil
import struct
import time
import tracemalloc
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from tiny_model import save_tiny_model

from music21_melgen.checkpoint import (
    MAX_CONFIG_BYTES,
    MAX_PARAMETERS,
    load_checkpoint,
    recommended_sampling,
)
from music21_melgen.errors import CheckpointError, MelgenError
from music21_melgen.sampling import SamplingControls, generate_melody
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def folder(tiny, tmp_path) -> Path:
    return Path(shutil.copytree(tiny, tmp_path / "ck"))


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


def set_in(path: tuple[str, ...], value):
    def change(config):
        target = config
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "path, value, named",
    [
        (("representation", "config", "steps_per_quarter"), 10_000_000, "steps_per_quarter"),
        (("representation", "config", "steps_per_quarter"), 4.5, "steps_per_quarter"),
        (("representation", "config", "max_beats"), 10**30, "max_beats"),
        (("representation", "config", "tonic_low"), 54.5, "tonic_low"),
        (("representation", "config", "next_chord_buckets"), list(range(1, 1000)), "next_chord_buckets"),
        (("model", "hidden_size"), 1e12, "hidden_size"),
        (("model", "hidden_size"), 10**12, "hidden_size"),
        (("model", "num_layers"), 100, "num_layers"),
        (("model", "embedding_size"), -3, "embedding_size"),
        (("sampling", "temperature"), 1e-300, "temperature"),
        (("sampling", "temperature"), 10**5000 // 10**4990, "temperature"),
        (("sampling", "chord_tone_weight"), 1e300, "chord_tone_weight"),
        (("sampling", "continuation_reduction"), [1.3, 1e-9], "continuation_reduction"),
        (("sampling", "longest_rest"), 1e30, "longest_rest"),
        (("sampling", "longest_note"), {"bars": 1e9}, "longest_note"),
        (("weights_sha256",), 12, "weights_sha256"),
    ],
)
def test_every_number_is_bounded_and_named(folder, path, value, named):
    edit_config(folder, set_in(path, value))
    with pytest.raises(CheckpointError, match=named):
        load_checkpoint(folder)


def test_a_model_too_big_is_refused_before_allocation(folder):
    edit_config(folder, set_in(("model", "hidden_size"), 4096))
    edit_config(folder, set_in(("model", "num_layers"), 8))
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=f"hidden_size 4096.*at most {MAX_PARAMETERS:,}"):
            load_checkpoint(folder)
        assert tracemalloc.get_traced_memory()[1] < 50 << 20
    finally:
        tracemalloc.stop()


def test_shapes_checked_against_the_header_not_the_loaded_weights(folder, monkeypatch):
    edit_config(folder, set_in(("model", "hidden_size"), 64))

    def never(*args, **kwargs):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr("safetensors.numpy.load_file", never)
    monkeypatch.setattr("safetensors.torch.load_file", never)
    with pytest.raises(CheckpointError, match=r"shapes do not match config.json: lstm.weight_ih_l0 \(128, 115\) \(config says \(256, 115\)\)"):
        load_checkpoint(folder)


def test_a_lying_header_is_refused(folder):
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + length])
    name = next(key for key in header if key != "__metadata__")
    header[name]["data_offsets"][1] += 1 << 40  # claims a terabyte
    text = json.dumps(header).encode()
    weights.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    edit_config(folder, lambda c: c.pop("weights_sha256"))
    with pytest.raises(CheckpointError, match="bad dtype, shape or byte range"):
        load_checkpoint(folder)


def test_a_huge_header_length_is_refused(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    edit_config(folder, lambda c: c.pop("weights_sha256"))
    with pytest.raises(CheckpointError, match="a header of"):
        load_checkpoint(folder)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused(folder, bad):
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["head.bias"][3] = bad
    save_file(tensors, str(folder / "model.safetensors"))
    edit_config(folder, lambda c: c.pop("weights_sha256"))
    with pytest.raises(CheckpointError, match="head.bias holds NaN or infinite values"):
        load_checkpoint(folder)


def test_deeply_nested_json_is_a_checkpoint_error(folder):
    depth = 200_000
    (folder / "config.json").write_text('{"format": ' + "[" * depth + "]" * depth + "}")
    for load in (load_checkpoint, recommended_sampling):
        with pytest.raises(CheckpointError, match="nested too deeply|nested deeper"):
            load(folder)


def test_moderately_nested_json_is_refused_after_parsing(folder):
    edit_config(folder, set_in(("training", "notes"), json.loads("[" * 100 + "]" * 100)))
    with pytest.raises(CheckpointError, match="nested deeper than 32"):
        load_checkpoint(folder)


def test_a_huge_config_is_refused_unread(folder, monkeypatch):
    with open(folder / "config.json", "r+b") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)
    monkeypatch.setattr("json.loads", lambda *a, **k: pytest.fail("the config was parsed"))
    for load in (load_checkpoint, recommended_sampling):
        with pytest.raises(CheckpointError, match="larger than 4 MB"):
            load(folder)


def test_a_huge_integer_is_a_checkpoint_error(folder):
    text = (folder / "config.json").read_text().replace('"hidden_size": 32', '"hidden_size": ' + "9" * 5000)
    (folder / "config.json").write_text(text)
    with pytest.raises(CheckpointError, match="bad JSON"):
        load_checkpoint(folder)


def test_bounds_keep_the_bundled_and_tiny_models_loading(tiny):
    assert load_checkpoint(tiny).name == "tiny"


# --- property: random JSON in a config never escapes the family, never allocates much ------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
NUMBERS = st.integers(min_value=-(10**13), max_value=10**13) | st.floats(allow_nan=True, allow_infinity=True)
FIELDS = [
    ("representation", "config", "steps_per_quarter"),
    ("representation", "config", "tonic_low"),
    ("representation", "config", "lowest_interval"),
    ("representation", "config", "highest_interval"),
    ("representation", "config", "next_chord_buckets"),
    ("representation", "config", "max_beats"),
    ("representation", "config", "max_sub_beats"),
    ("representation", "config", "hypermeasure"),
    ("representation", "vocabulary"),
    ("representation", "version"),
    ("model", "vocab_size"),
    ("model", "conditioning_size"),
    ("model", "embedding_size"),
    ("model", "hidden_size"),
    ("model", "num_layers"),
    ("model", "dropout"),
    ("sampling", "temperature"),
    ("sampling", "top_p"),
    ("sampling", "chord_tone_weight"),
    ("sampling", "continuation_reduction"),
    ("sampling", "longest_note"),
    ("sampling", "longest_rest"),
    ("sampling", "pitch_range"),
    ("sampling", "candidates"),
    ("weights_sha256",),
    ("kind",),
    ("format_version",),
    ("model",),
    ("representation",),
    ("sampling",),
]
EDITS = st.lists(
    st.tuples(st.sampled_from(FIELDS), NUMBERS | JSON | st.lists(NUMBERS, max_size=3)), min_size=1, max_size=3
)


def short_timeline() -> ChordTimeline:
    measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(2))
    chords = tuple(ChordSpan(F(4 * i), F(4), 0, frozenset({0, 4, 7}), 0, "major", i + 1, "I") for i in range(2))
    return ChordTimeline(chords, measures)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_random_config_values_stay_in_the_family_and_small(tiny, tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("fuzz") / "ck"
    shutil.copytree(tiny, folder)
    config = json.loads((folder / "config.json").read_text())
    for path, value in edits:
        try:
            set_in(path, value)(config)
        except (TypeError, AttributeError):  # a field's parent replaced by a scalar: write it whole
            config[path[0]] = value
    (folder / "config.json").write_text(json.dumps(config))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    tracemalloc.start()
    try:
        try:
            model = load_checkpoint(folder)
        except MelgenError:
            return
        try:
            generate_melody(model, short_timeline(), SamplingControls.for_model(model, seed=1))
        except MelgenError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 300 << 20
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 300 << 10  # KiB
    assert time.perf_counter() - started < 10
