"""The melgen2019 kind (MelGen reproduced): tokens, windowed model, generation, checkpoint, training."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import torch

from music21_melgen.checkpoint import load_checkpoint, load_model, save_checkpoint
from music21_melgen.encoding import representation_from_dict
from music21_melgen.errors import CheckpointError, GenerationError, ModelError, ScoreError
from music21_melgen.sampling import SamplingControls, generate_melody, sample_events
from music21_melgen.melgen2019_model import MelGen2019Model, WindowNetworkConfig
from music21_melgen.melgen2019_encoding import (
    CONTINUE,
    CONTINUE_ID,
    SEPARATOR_ID,
    MelgenTokenRepresentation,
    MelgenTokenConfig,
)
from music21_melgen.window_network import WindowLSTM
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote

TRIADS = {0: (0, 4, 7), 5: (5, 9, 0), 7: (7, 11, 2), 9: (9, 0, 4), 2: (2, 6, 9)}


def make_timeline(
    roots: list[int | None], *, signature: str = "4/4", length: F = F(4), tonic: int = 0, mode: str = "major"
) -> ChordTimeline:
    """One chord a measure (None = N.C.) in one key and meter."""
    measures = tuple(MeasureSpan(i + 1, length * i, length, signature, F(1)) for i in range(len(roots)))
    chords = tuple(
        ChordSpan(
            length * i,
            length,
            None if root is None else (root + tonic) % 12,
            frozenset() if root is None else frozenset((pc + tonic) % 12 for pc in TRIADS[root]),
            tonic,
            mode,
            i + 1,
            "N.C." if root is None else str(root),
        )
        for i, root in enumerate(roots)
    )
    return ChordTimeline(chords, measures)


@pytest.fixture(scope="module")
def tiny_model() -> MelGen2019Model:
    """An untrained windowed model (window 8, 16 units): fast, and enough to test the mechanics."""
    torch.manual_seed(0)
    representation = MelgenTokenRepresentation()
    network = WindowLSTM(WindowNetworkConfig(representation.vocab_size, window=8, hidden_size=16))
    return MelGen2019Model(network, representation, name="tiny-melgen2019")


# ----- representation -------------------------------------------------------------


def test_minor_key_goes_to_a_minor_and_black_keys_snap_down() -> None:
    rep = MelgenTokenRepresentation()
    timeline = make_timeline([0], tonic=4, mode="minor")  # E minor, chord i
    notes = [MelodyNote(F(0), F(1), 64), MelodyNote(F(1), F(1), 65), MelodyNote(F(2), F(2), 88)]
    tokens = rep.tokens(timeline, notes)
    onsets = [t for t in tokens if t != CONTINUE]
    # E4 → A4; F4 → Bb4 → A4 (down); E6 → A6 → folded into 48..71 → A4.
    assert onsets == ["69_1", "69_1", "69_1"]


def test_note_lasts_to_next_onset_snapped_to_melgen_lengths() -> None:
    rep = MelgenTokenRepresentation()
    timeline = make_timeline([0] * 6)
    # A quarter note, then a gap: the next onset is 4.25 measures later → 4 measures (64 steps).
    notes = [MelodyNote(F(0), F(1), 60), MelodyNote(F(17), F(1), 62)]
    tokens = rep.tokens(timeline, notes)
    assert tokens[0] == "60_1"
    assert tokens[64] == "62_1"
    assert tokens[1:64] == [CONTINUE] * 63
    assert len(tokens) == 64 + 4  # the last note keeps its own length, a quarter of a measure


def test_chord_degrees_follow_the_numeral_letters() -> None:
    rep = MelgenTokenRepresentation()
    grid = rep.grid(make_timeline([0, 7, 5, 9], tonic=2))  # I V IV vi in D
    assert grid.degree[[0, 16, 32, 48]].tolist() == [1, 5, 4, 6]
    assert set(grid.shift.tolist()) == {-2}


def test_no_chord_takes_the_degree_before_it() -> None:
    rep = MelgenTokenRepresentation()
    grid = rep.grid(make_timeline([7, None, 5]))
    assert grid.degree[16:32].tolist() == [5] * 16
    assert grid.chord_index[20] == 1  # the N.C. span is still the chord sounding


def test_grid_has_sixteen_steps_a_measure_in_any_meter() -> None:
    rep = MelgenTokenRepresentation()
    three = rep.grid(make_timeline([0, 7], signature="3/4", length=F(3)))
    assert three.length == 32
    assert three.offset(1) == F(3, 16)  # a step of 3/16 quarter in 3/4
    twelve = rep.grid(make_timeline([0], signature="12/8", length=F(6)))
    assert twelve.offset(1) == F(3, 8)  # a dotted 16th in 12/8


def test_pickup_measure_gets_its_share_of_steps() -> None:
    rep = MelgenTokenRepresentation()
    pickup = MeasureSpan(0, F(0), F(1), "4/4", F(1))
    full = MeasureSpan(1, F(1), F(4), "4/4", F(1))
    chord = ChordSpan(F(0), F(5), 0, frozenset({0, 4, 7}), 0, "major", 0, "I")
    grid = rep.grid(ChordTimeline((chord,), (pickup, full)))
    assert grid.length == 4 + 16
    assert grid.offset(4) == F(1)


def test_representation_round_trips_through_the_engine_table() -> None:
    rep = MelgenTokenRepresentation().with_tokens(["60_1", "62_5", "/", "_"])
    assert rep.vocabulary == ("/", "_", "60_1", "62_5")
    data = json.loads(json.dumps(rep.to_dict()))
    rebuilt = representation_from_dict(data, MelgenTokenRepresentation)
    assert rebuilt.vocabulary == rep.vocabulary
    with pytest.raises(ModelError, match="does not belong to this model kind"):
        representation_from_dict(data)  # the chord-grid representation's class
    data["vocabulary"] = data["vocabulary"][:-1]
    with pytest.raises(ModelError, match="vocabulary does not match"):
        representation_from_dict(data, MelgenTokenRepresentation)


@pytest.mark.parametrize(
    "settings",
    [{"tokens": ("61_1",)}, {"tokens": ("60_8",)}, {"lowest": 60, "highest": 65}, {"separators": 0}],
)
def test_bad_token_settings_are_model_errors(settings: dict) -> None:
    with pytest.raises(ModelError):
        MelgenTokenConfig(**settings)


def test_unknown_token_becomes_the_nearest_of_its_degree() -> None:
    rep = MelgenTokenRepresentation().with_tokens(["48_1", "64_1", "67_5"])
    ids, missing = rep.token_ids(["62_1", "60_5", "64_1"])
    assert [rep.vocabulary[i] for i in ids] == ["64_1", "67_5", "64_1"]
    assert missing == 2


# ----- network and generation ----------------------------------------------------


def test_numpy_window_cell_matches_the_torch_network(tiny_model: MelGen2019Model) -> None:
    windows = np.random.default_rng(1).integers(0, tiny_model.representation.vocab_size, (3, 8))
    with torch.no_grad():
        expected, _ = tiny_model.network(torch.from_numpy(windows))
    got = tiny_model.step_network().logits(windows)
    np.testing.assert_allclose(got, expected.double().numpy(), atol=1e-5)


def test_generation_obeys_the_chord_filter_and_fills_the_timeline(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 5, 7, 0], tonic=7)
    sample = sample_events(tiny_model, timeline, SamplingControls(seed=4))
    tokens = sample.events[0]
    rep = tiny_model.representation
    notes_at = tokens != CONTINUE_ID
    assert notes_at[0] and SEPARATOR_ID not in tokens.tolist()
    assert (rep.token_degree[tokens[notes_at]] == sample.tables.grid.degree[notes_at]).all()
    melody = generate_melody(tiny_model, timeline, SamplingControls(seed=4))
    assert melody.notes[0].offset == 0
    assert melody.notes[-1].end == timeline.length
    assert all(a.end == b.offset for a, b in zip(melody.notes, melody.notes[1:]))  # no rests, as MelGen
    assert math.isfinite(melody.log_likelihood) and melody.log_likelihood < 0


def test_same_seed_same_melody_at_any_candidate_count(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 9, 5, 7])
    one = sample_events(tiny_model, timeline, SamplingControls(seed=7, candidates=1))
    three = sample_events(tiny_model, timeline, SamplingControls(seed=7, candidates=3))
    again = sample_events(tiny_model, timeline, SamplingControls(seed=7, candidates=1))
    other = sample_events(tiny_model, timeline, SamplingControls(seed=8, candidates=1))
    assert (one.events[0] == three.events[0]).all()
    assert (one.events == again.events).all()
    assert not (one.events == other.events).all()
    best = generate_melody(tiny_model, timeline, SamplingControls(seed=7, candidates=3))
    assert best.log_likelihood == pytest.approx(float(three.log_likelihood.max()))


def test_pitch_range_and_longest_note_are_honoured(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 5, 7, 0], tonic=3)
    controls = SamplingControls(seed=2, pitch_range=(62, 75), longest_note=F(1, 2), continuation_reduction=None)
    melody = generate_melody(tiny_model, timeline, controls)
    assert all(62 <= note.midi <= 75 for note in melody.notes)
    assert all(note.length <= F(1, 2) for note in melody.notes)
    with pytest.raises(GenerationError, match="at least 12 semitones"):
        generate_melody(tiny_model, timeline, SamplingControls(pitch_range=(60, 67)))


def test_temperature_scales_melgens_own(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 5, 7, 0])
    cold = sample_events(tiny_model, timeline, SamplingControls(seed=1, temperature=0.05, top_p=1.0))
    colder = sample_events(tiny_model, timeline, SamplingControls(seed=2, temperature=0.05, top_p=1.0))
    warm = sample_events(tiny_model, timeline, SamplingControls(seed=1, temperature=3.0, top_p=1.0))
    # Near-greedy sampling barely depends on the seed; hot sampling does.
    assert (cold.events != colder.events).mean() < (cold.events != warm.events).mean()


def test_primer_is_kept_and_continued(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 7, 0])
    primer = [MelodyNote(F(0), F(1), 61), MelodyNote(F(1), F(3), 66)]  # chromatic: the seed cannot write these
    melody = generate_melody(tiny_model, timeline, SamplingControls(seed=5), primer=primer)
    assert melody.notes[0] == primer[0]
    assert melody.notes[1].offset == 1 and melody.notes[1].midi == 66
    assert melody.notes[-1].end == timeline.length
    with pytest.raises(GenerationError, match="outside the timeline"):
        generate_melody(tiny_model, timeline, primer=[MelodyNote(F(11), F(2), 60)])
    with pytest.raises(GenerationError, match="fills the whole timeline"):
        generate_melody(tiny_model, timeline, primer=[MelodyNote(F(0), F(12), 60)])


def test_three_four_melody_lands_on_the_measure_grid(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 5, 7], signature="3/4", length=F(3))
    melody = generate_melody(tiny_model, timeline, SamplingControls(seed=3))
    assert all((note.offset / F(3, 16)).denominator == 1 for note in melody.notes)
    assert melody.notes[-1].end == F(9)


def test_log_likelihood_of_a_melody(tiny_model: MelGen2019Model) -> None:
    timeline = make_timeline([0, 7])
    notes = [MelodyNote(F(0), F(2), 60), MelodyNote(F(2), F(2), 64), MelodyNote(F(4), F(4), 67)]
    value = tiny_model.log_likelihood(timeline, notes)
    assert -math.log2(tiny_model.representation.vocab_size) - 1 < value < 0
    assert tiny_model.bits_per_step(timeline, notes) == pytest.approx(-value)
    with pytest.raises(ScoreError, match="no notes"):
        tiny_model.log_likelihood(timeline, [])


# ----- checkpoint -----------------------------------------------------------------


def test_checkpoint_round_trip(tiny_model: MelGen2019Model, tmp_path: Path) -> None:
    from music21_melgen.kinds import KINDS

    assert KINDS[tiny_model.kind].model_class() is MelGen2019Model
    folder = save_checkpoint(tiny_model, tmp_path / "melgen2019", metrics={"test_bits_per_step": 1.0}, training={})
    loaded = load_checkpoint(folder)
    assert isinstance(loaded, MelGen2019Model)
    assert loaded.content_hash == tiny_model.content_hash and len(loaded.content_hash) == 64
    timeline = make_timeline([0, 5])
    notes = [MelodyNote(F(0), F(3), 60), MelodyNote(F(3), F(5), 65)]
    assert loaded.log_likelihood(timeline, notes) == pytest.approx(tiny_model.log_likelihood(timeline, notes))
    controls = SamplingControls(seed=9)
    assert generate_melody(loaded, timeline, controls) == generate_melody(tiny_model, timeline, controls)


def test_mismatched_checkpoint_is_explained(tiny_model: MelGen2019Model, tmp_path: Path) -> None:
    folder = save_checkpoint(tiny_model, tmp_path / "melgen2019", metrics={}, training={})
    config = json.loads((folder / "config.json").read_text())
    config["model"]["hidden_size"] = 32
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="shapes do not match"):
        load_checkpoint(folder)
    config["model"]["hidden_size"] = 16
    config["representation"]["config"]["tokens"] = ["60_1"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="vocabulary does not match"):
        load_checkpoint(folder)


# ----- preset, training, bundled model -------------------------------------------


def test_melgen2019_preset_is_melgens_recipe() -> None:
    from music21_melgen.kinds import KINDS
    from music21_melgen.training.presets import get_preset

    preset = get_preset("melgen2019")
    assert (preset.hidden_size, preset.num_layers, preset.dropout) == (256, 1, 0.3)
    assert (preset.batch_size, preset.chunk_steps, preset.learning_rate) == (64, 64, 1e-3)
    assert preset.kind == "melgen_window" and KINDS[preset.kind].representation is MelgenTokenRepresentation
    with pytest.warns(DeprecationWarning, match="now called 'melgen2019'"):
        assert get_preset("seed") is preset


def test_training_lowers_the_loss(rock_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import music21_melgen.training.melgen2019_training as melgen2019_training
    from music21_melgen.training.dataset import load_corpus
    from music21_melgen.training.presets import get_preset

    monkeypatch.setattr(melgen2019_training, "WINDOWS_PER_ROUND", 1024)
    preset = dataclasses.replace(
        get_preset("melgen2019"), name="melgen2019-test", hidden_size=16, chunk_steps=16, learning_rate=1e-2,
        min_learning_rate=1e-2, max_epochs=3, patience=3,
    )
    representation = MelgenTokenRepresentation(preset.grid)
    stems = {"a_hard_days_night", "help", "1999", "let_it_be", "hey_jude"}  # train ×3, validation, test
    data = load_corpus(rock_corpus, representation, stems=stems, log=lambda line: None)
    result = melgen2019_training.train_melgen2019(
        preset, data.by_split(), tmp_path / "melgen2019", data_hash=data.data_hash, command="test",
        representation=representation, progress=False, log=lambda line: None,
    )
    history = json.loads((result.checkpoint / "config.json").read_text())["training"]["history"]
    assert history[-1]["train_bits"] < history[0]["train_bits"]
    assert result.metrics["windows_seen"] == 3 * 1024
    assert 0 < result.metrics["test_bits_per_step"] < 8
    loaded = load_checkpoint(result.checkpoint)
    assert loaded.representation.vocab_size == result.metrics["vocabulary_size"] < 100


def test_bundled_melgen2019_model_generates() -> None:
    model = load_model("melgen2019")
    assert isinstance(model, MelGen2019Model) and model.window == 64
    assert model.config["metrics"]["test_bits_per_step"] > 0
    timeline = make_timeline([0, 9, 5, 7])
    melody = generate_melody(model, timeline, SamplingControls(seed=1))
    assert melody.notes and melody.notes[-1].end == timeline.length
    assert all(55 <= note.midi <= 79 for note in melody.notes)
