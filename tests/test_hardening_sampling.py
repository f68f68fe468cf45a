"""Sampling at the edges (issue 15): tiny temperatures decode greedily within the caps, and a
melody without a note over chords is an error, never a silent rest."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import torch

from music21_melgen.encoding import REST, ChordGridRepresentation
from music21_melgen.errors import GenerationError
from music21_melgen.lstm_network import MelodyLSTM
from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig
from music21_melgen.sampling import SamplingControls, generate_melody, sample_events, tempered_probabilities
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan


def timeline(bars: int = 8) -> ChordTimeline:
    measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(bars))
    chords = tuple(ChordSpan(F(4 * i), F(4), 0, frozenset({0, 4, 7}), 0, "major", i + 1, "I") for i in range(bars))
    return ChordTimeline(chords, measures)


def rest_loving_model(bias: float) -> LstmMelodyModel:
    """A model that gives REST a logit ``bias`` above every other event, whatever it reads."""
    torch.manual_seed(0)
    rep = ChordGridRepresentation()
    network = MelodyLSTM(MelodyLSTMConfig(rep.vocab_size, rep.conditioning_size, 8, 16, 1, 0.0))
    with torch.no_grad():
        network.head.weight.zero_()
        network.head.bias.copy_(torch.linspace(0.0, 1.0, rep.vocab_size))
        network.head.bias[REST] = bias
    return LstmMelodyModel(network, rep)


def longest_rest_steps(events: np.ndarray) -> int:
    longest = run = 0
    for event in events:
        run = run + 1 if event == REST else 0
        longest = max(longest, run)
    return longest


@pytest.mark.parametrize("temperature", [1e-3, 1e-6])
def test_tiny_temperature_is_greedy_within_the_caps(temperature):
    model = rest_loving_model(5.0)
    controls = [
        SamplingControls(seed=seed, temperature=temperature, longest_rest=F(4), top_p=1.0, pitch_range=(0, 127))
        for seed in (1, 2)
    ]
    melodies = [generate_melody(model, timeline(), c) for c in controls]
    assert melodies[0].notes and melodies[0].notes == melodies[1].notes  # greedy: the seed does not matter
    events = sample_events(model, timeline(), controls[0]).events[0]
    assert longest_rest_steps(events) <= 16  # 4 quarters of sixteenths: the rest cap holds
    # The likeliest note once the cap forbids REST: the head's largest bias, the last event.
    assert set(events[events >= 2]) == {model.representation.vocab_size - 1}


def test_a_melody_without_notes_over_chords_is_an_error():
    model = rest_loving_model(60.0)
    with pytest.raises(GenerationError, match="wrote no note over 8 measures of chords"):
        generate_melody(model, timeline(), SamplingControls(seed=0, longest_rest=None, candidates=2))


def test_tempered_probabilities_keep_the_likeliest_allowed_event():
    logits = np.array([[900.0, 0.0, -1.0, -800.0], [3.0, 2.0, 1.0, 0.0]])
    allowed = np.array([[False, True, True, True], [True, True, True, True]])
    tiny = tempered_probabilities(logits, allowed, 1e6)
    assert tiny.tolist() == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    warm = tempered_probabilities(logits, allowed, 1.0)
    assert warm[0].tolist() == [0.0, 1.0, np.exp(-1.0), 0.0]  # from the allowed maximum, not REST's 900
    assert np.allclose(warm[1] / warm[1].sum(), np.exp(logits[1]) / np.exp(logits[1]).sum())
