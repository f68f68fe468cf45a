"""Sampling: reproducibility, controls, primer, best-of-N, bad controls."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import torch

from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import GenerationError
from music21_melgen.lstm_network import MelodyLSTM
from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig
from music21_melgen.sampling import (
    GeneratedMelody,
    SamplingControls,
    generate_melody,
    reweight_notes,
    sample_candidates,
)
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote

PROGRESSION = [(0, {0, 4, 7}), (7, {7, 11, 2}), (9, {9, 0, 4}), (5, {5, 9, 0})]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    rep = ChordGridRepresentation()
    network = MelodyLSTM(MelodyLSTMConfig(rep.vocab_size, rep.conditioning_size, 8, 24, 2, 0.0))
    return LstmMelodyModel(network, rep)


def timeline(bars=8, tonic=0):
    measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(bars))
    chords = tuple(
        ChordSpan(F(4 * i), F(4), (r + tonic) % 12, frozenset((p + tonic) % 12 for p in pcs), tonic, "major", i + 1, "x")
        for i, (r, pcs) in ((i, PROGRESSION[i % 4]) for i in range(bars))
    )
    return ChordTimeline(chords, measures)


def test_same_seed_same_melody_different_seed_different(model):
    first = generate_melody(model, timeline(), SamplingControls(seed=5))
    again = generate_melody(model, timeline(), SamplingControls(seed=5))
    other = generate_melody(model, timeline(), SamplingControls(seed=6))
    assert isinstance(first, GeneratedMelody)
    assert first == again
    assert first.notes != other.notes


def test_candidate_zero_independent_of_candidate_count(model):
    alone = sample_candidates(model, timeline(), SamplingControls(seed=3))
    batch = sample_candidates(model, timeline(), SamplingControls(seed=3, candidates=4))
    assert len(alone) == 1 and len(batch) == 4
    assert batch[0] == alone[0]  # bit for bit, log-likelihood included
    assert len({c.notes for c in batch}) == 4
    best = generate_melody(model, timeline(), SamplingControls(seed=3, candidates=4))
    assert best == max(batch, key=lambda c: c.log_likelihood)


def test_best_of_n_keeps_the_likeliest(model):
    results = [generate_melody(model, timeline(), SamplingControls(seed=9, candidates=n)) for n in (1, 3, 6)]
    assert results[0].log_likelihood <= results[1].log_likelihood <= results[2].log_likelihood
    best = results[2]
    assert best.log_likelihood == pytest.approx(model.log_likelihood(timeline(), best.notes), abs=1e-6)


def test_pitch_range_respected(model):
    melody = generate_melody(model, timeline(), SamplingControls(seed=2, pitch_range=(60, 67), temperature=2.0))
    assert melody.notes and all(60 <= n.midi <= 67 for n in melody.notes)


def test_longest_note_respected(model):
    melody = generate_melody(model, timeline(), SamplingControls(seed=2, longest_note=F(1, 2), continuation_reduction=None))
    assert melody.notes and max(n.length for n in melody.notes) <= F(1, 2)


def test_longest_rest_respected(model):
    tl = timeline(bars=16)
    for seed in range(3):
        notes = generate_melody(model, tl, SamplingControls(seed=seed, longest_rest=F(2))).notes
        gaps = [notes[0].offset] + [b.offset - a.end for a, b in zip(notes, notes[1:])] + [F(64) - notes[-1].end]
        assert max(gaps) <= 2


def test_chord_tone_weight_raises_chord_tones(model):
    tl = timeline(bars=16)

    def ratio(weight):
        hits = total = 0
        for seed in range(4):
            for note in generate_melody(model, tl, SamplingControls(seed=seed, chord_tone_weight=weight)).notes:
                total += 1
                hits += note.midi % 12 in tl.chord_at(note.offset).pitch_classes
        return hits / total

    assert ratio(20.0) > ratio(1.0) + 0.2


def test_chord_tone_weight_keeps_the_chance_of_a_new_note():
    # REST, HOLD, then four notes: two chord tones, one other note, one masked out.
    p = np.array([[0.3, 0.2, 0.1, 0.2, 0.15, 0.05], [0.0, 0.0, 0.4, 0.0, 0.6, 0.0]])
    weight = np.array([1.0, 1.0, 3.0, 3.0, 1.0, 0.0])
    out = reweight_notes(p, weight)
    assert out[:, :2].tolist() == p[:, :2].tolist()  # REST and HOLD untouched
    assert out[:, 5].tolist() == [0.0, 0.0]  # masked stays masked
    assert out[:, 2:].sum(axis=1) == pytest.approx([0.45, 1.0])  # note mass of the mask alone
    assert out[0, 2] / out[0, 4] == pytest.approx(3 * 0.1 / 0.15)  # chord tones weighed 3 : 1
    all_masked = reweight_notes(p, np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0]))
    assert all_masked[:, 2:].sum() == 0 and np.isfinite(all_masked).all()


def test_chord_tone_weight_leaves_rhythm_to_the_model():
    # The bundled model, whose HOLD and REST carry real weight (an untrained one starts a note at every step).
    from music21_melgen.checkpoint import load_model

    bundled = load_model("default")
    tl = timeline(bars=16)

    def notes_and_chord_tones(weight):
        notes = hits = 0
        for seed in range(8):
            controls = SamplingControls(seed=seed, chord_tone_weight=weight, top_p=1.0, longest_rest=None)
            melody = generate_melody(bundled, tl, controls)
            notes += len(melody.notes)
            hits += sum(n.midi % 12 in tl.chord_at(n.offset).pitch_classes for n in melody.notes)
        return notes, hits / notes

    plain, weighted = notes_and_chord_tones(1.0), notes_and_chord_tones(3.0)
    assert weighted[1] > plain[1] + 0.1
    assert abs(weighted[0] - plain[0]) < 0.1 * plain[0]


def test_continuation_reduction_shortens_notes(model):
    tl = timeline(bars=16)

    def mean_length(reduction):
        lengths = [
            n.length
            for seed in range(3)
            for n in generate_melody(model, tl, SamplingControls(seed=seed, continuation_reduction=reduction)).notes
        ]
        return sum(lengths) / len(lengths)

    assert mean_length((3.0, 2.0)) < mean_length(None)


def test_temperature_changes_the_melody(model):
    cold = generate_melody(model, timeline(), SamplingControls(seed=1, temperature=0.2))
    hot = generate_melody(model, timeline(), SamplingControls(seed=1, temperature=3.0))
    assert cold.notes != hot.notes


def test_primer_is_kept_and_continued(model):
    primer = (MelodyNote(F(0), F(1), 60), MelodyNote(F(1), F(1), 64), MelodyNote(F(2), F(2), 67))
    melody = generate_melody(model, timeline(), SamplingControls(seed=4), primer)
    assert melody.notes[:2] == primer[:2]
    assert melody.notes[2].offset == F(2) and melody.notes[2].midi == 67 and melody.notes[2].length >= F(2)
    other = generate_melody(model, timeline(), SamplingControls(seed=4))
    assert melody.notes != other.notes


def test_primer_outside_timeline_or_filling_it(model):
    with pytest.raises(GenerationError, match="outside the timeline"):
        generate_melody(model, timeline(bars=1), SamplingControls(), [MelodyNote(F(3), F(2), 60)])
    with pytest.raises(GenerationError, match="nothing is left"):
        generate_melody(model, timeline(bars=1), SamplingControls(), [MelodyNote(F(0), F(4), 60)])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"chord_tone_weight": -1}, "chord_tone_weight"),
        ({"continuation_reduction": (1.3,)}, "continuation_reduction"),
        ({"continuation_reduction": (0, 1.4)}, "continuation_reduction"),
        ({"longest_note": 0}, "longest_note"),
        ({"longest_rest": -1}, "longest_rest"),
        ({"pitch_range": (70, 60)}, "pitch_range"),
        ({"pitch_range": (60.5, 70)}, "pitch_range"),
        ({"candidates": 0}, "candidates"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
    ],
)
def test_invalid_controls(kwargs, message):
    with pytest.raises(GenerationError, match=message):
        SamplingControls(**kwargs)


def test_controls_that_cannot_be_honoured(model):
    with pytest.raises(GenerationError, match="pitch range 10..20 leaves no note"):
        generate_melody(model, timeline(), SamplingControls(pitch_range=(10, 20)))
    with pytest.raises(GenerationError, match="shorter than one grid step"):
        generate_melody(model, timeline(), SamplingControls(longest_note=F(1, 8)))
    with pytest.raises(GenerationError, match="longest_rest 1/8 is shorter than one grid step"):
        generate_melody(model, timeline(), SamplingControls(longest_rest=F(1, 8)))
    with pytest.raises(GenerationError, match="ChordTimeline"):
        generate_melody(model, "I V vi IV", SamplingControls())


def test_generation_is_linear_in_steps(model):
    rep = model.representation
    melody = generate_melody(model, timeline(bars=32), SamplingControls(seed=0))
    assert melody.notes[-1].end <= F(128)
    assert len(rep.grid(timeline(bars=32)).beat) == 512
    assert np.isfinite(melody.log_likelihood) and melody.log_likelihood < 0
