"""The melody LSTM: shapes, loss, state carrying, and the hand cell against nn.LSTM."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
import torch

from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import ModelError
from music21_melgen.lstm_network import MelodyLSTM
from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig, shifted_inputs
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote


def tiny_model(layers=2, hidden=16, seed=0):
    torch.manual_seed(seed)
    rep = ChordGridRepresentation()
    config = MelodyLSTMConfig(rep.vocab_size, rep.conditioning_size, 8, hidden, layers, 0.0)
    return LstmMelodyModel(MelodyLSTM(config), rep)


def one_bar_timeline(bars=2):
    measures = tuple(MeasureSpan(i + 1, F(4 * i), F(4), "4/4", F(1)) for i in range(bars))
    chords = (ChordSpan(F(0), F(4 * bars), 0, frozenset({0, 4, 7}), 0, "major", 1, "I"),)
    return ChordTimeline(chords, measures)


def test_forward_shapes_and_loss():
    model = tiny_model()
    net = model.network
    prev = torch.zeros(3, 10, dtype=torch.long)
    cond = torch.zeros(3, 10, net.config.conditioning_size)
    targets = torch.full((3, 10), -1, dtype=torch.long)
    targets[:, :5] = 2
    logits, loss, (h, c) = net(prev, cond, targets)
    assert logits.shape == (3, 10, net.config.vocab_size)
    assert h.shape == (2, 3, 16) and c.shape == (2, 3, 16)
    expected = torch.nn.functional.cross_entropy(logits[:, :5].reshape(-1, logits.shape[-1]), targets[:, :5].reshape(-1))
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-6)


def test_state_carried_across_chunks_equals_one_pass():
    net = tiny_model().network
    prev = torch.randint(0, net.config.vocab_size, (2, 12))
    cond = torch.rand(2, 12, net.config.conditioning_size)
    whole, _, _ = net(prev, cond)
    first, _, state = net(prev[:, :5], cond[:, :5])
    second, _, _ = net(prev[:, 5:], cond[:, 5:], state=state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)


def test_bad_shapes_raise_model_error():
    net = tiny_model().network
    with pytest.raises(ModelError, match="conditioning has 3 columns"):
        net(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, 3))
    with pytest.raises(ModelError, match="prev_events"):
        net(torch.zeros(4, dtype=torch.long), torch.zeros(1, 4, 3))


@pytest.mark.parametrize("field, value", [("hidden_size", 0), ("dropout", 1.0), ("num_layers", 1.5)])
def test_config_validated(field, value):
    with pytest.raises(ModelError, match=field):
        MelodyLSTMConfig(**{"vocab_size": 5, "conditioning_size": 3, field: value})


def test_hand_cell_matches_torch():
    model = tiny_model(layers=2)
    rep = model.representation
    timeline = one_bar_timeline()
    events, cond = rep.encode(timeline, [MelodyNote(F(0), F(1), 60), MelodyNote(F(2), F(1), 64)])
    with torch.no_grad():
        logits, _, _ = model.network(torch.from_numpy(shifted_inputs(events))[None], torch.from_numpy(cond)[None])
    cell = model.step_network()
    cell.start(rep.step_tables(timeline), 1)
    prev = shifted_inputs(events)
    hand = np.stack([cell.step(t, prev[t : t + 1])[0] for t in range(len(events))])
    assert np.allclose(hand, logits[0].double().numpy(), atol=1e-5)


def test_log_likelihood_is_mean_log2_probability():
    model = tiny_model()
    timeline = one_bar_timeline()
    notes = [MelodyNote(F(0), F(2), 62)]
    value = model.log_likelihood(timeline, notes)
    events, cond = model.representation.encode(timeline, notes)
    assert value < 0
    assert math.isclose(value, model.event_log_probs(events, cond).mean() / math.log(2))
    assert model.bits_per_step(timeline, notes) == -value


def test_model_must_match_representation():
    rep = ChordGridRepresentation()
    network = MelodyLSTM(MelodyLSTMConfig(rep.vocab_size + 1, rep.conditioning_size, 4, 4, 1, 0.0))
    with pytest.raises(ModelError, match="vocabulary"):
        LstmMelodyModel(network, rep)
