"""A small untrained melody model saved as a checkpoint folder, for fast end-to-end tests.

The plugin's tests need *a* model, not a good one: a 1-layer, 32-unit LSTM
with fixed random weights samples in milliseconds and exercises the same
checkpoint loading, sampling and notation path as the bundled models.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["save_tiny_model"]


def save_tiny_model(folder: Path) -> Path:
    """Write the tiny model's checkpoint to ``folder`` and return it."""
    import torch

    from music21_melgen.checkpoint import save_checkpoint
    from music21_melgen.encoding import ChordGridRepresentation
    from music21_melgen.lstm_network import MelodyLSTM
    from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig

    torch.manual_seed(0)
    representation = ChordGridRepresentation()
    network = MelodyLSTM(
        MelodyLSTMConfig(
            representation.vocab_size, representation.conditioning_size, hidden_size=32, num_layers=1
        )
    )
    model = LstmMelodyModel(network, representation, name="tiny")
    return save_checkpoint(model, folder, metrics={}, training={"command": "tests/tiny_model.py"})
