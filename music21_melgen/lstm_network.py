"""The ``default`` kind's torch network: :class:`MelodyLSTM`, for training and scoring.

Sampling never comes here: it drives the float64 numpy twin
(:class:`~music21_melgen.network.LstmSteps`) built from the weights, and
loading a checkpoint reads them with safetensors into numpy, so generating a
melody never imports torch. :class:`~music21_melgen.model.LstmMelodyModel`
builds this network from its weights the first time it is asked for
(scoring, saving), and training builds it directly.

Also the weight plumbing every torch network shares: :func:`weight_tensors`
(what a checkpoint saves) and :func:`load_weights` (checked names and shapes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from music21_melgen.errors import ModelError
from music21_melgen.network import check_shapes

if TYPE_CHECKING:
    from music21_melgen.model import MelodyLSTMConfig

__all__ = ["MelodyLSTM", "weight_tensors", "load_weights"]


class MelodyLSTM(nn.Module):
    """Embedding of the previous event ⊕ conditioning → LSTM → logits of the next event."""

    def __init__(self, config: "MelodyLSTMConfig") -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        if config.reference:
            # Echoed event (V + 1 with "none"), twice: as it is, and while the measure matches it.
            self.reference_embedding = nn.Embedding(2 * (config.vocab_size + 1), config.embedding_size)
        self.lstm = nn.LSTM(
            config.embedding_size * (2 if config.reference else 1) + config.conditioning_size,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self,
        prev_events: torch.Tensor,
        cond: torch.Tensor,
        targets: torch.Tensor | None = None,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        reference: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]:
        """Logits of the next event at every step.

        Parameters
        ----------
        prev_events : int64 [B, T], the event before each step (REST before the start)
        cond : float32 [B, T, C], conditioning rows
        targets : int64 [B, T] or None, the event of each step; -1 = padding, ignored
        state : (h, c), each [layers, B, H], or None for a zero start
        reference : int64 [B, T] or None, the echo input of each step (``form.echo_input``; V = none);
            needed by a network built with ``reference``, None = no echo anywhere

        Returns
        -------
        (logits [B, T, V], mean cross-entropy in nats or None, new state)
        """
        config = self.config
        if prev_events.dim() != 2 or cond.dim() != 3 or cond.shape[:2] != prev_events.shape:
            raise ModelError(
                f"forward expects prev_events [B, T] and cond [B, T, C]; got "
                f"{tuple(prev_events.shape)} and {tuple(cond.shape)}"
            )
        if cond.shape[2] != config.conditioning_size:
            raise ModelError(
                f"conditioning has {cond.shape[2]} columns, the model expects {config.conditioning_size}"
            )
        parts = [self.embedding(prev_events), cond]  # [B, T, E], [B, T, C]
        if config.reference:
            if reference is None:
                reference = torch.full_like(prev_events, config.vocab_size)
            parts.append(self.reference_embedding(reference))  # [B, T, E]
        x = torch.cat(parts, dim=-1)  # [B, T, E + C (+ E)]
        out, state = self.lstm(x, state)  # [B, T, H]
        logits = self.head(self.dropout(out))  # [B, T, V]
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, config.vocab_size), targets.reshape(-1), ignore_index=-1
            )
        return logits, loss, state


def weight_tensors(network: nn.Module) -> dict[str, torch.Tensor]:
    """A network's weights by parameter name, as contiguous float32 copies (what a checkpoint saves)."""
    return {k: v.detach().float().contiguous().clone() for k, v in network.state_dict().items()}


def load_weights(network: nn.Module, tensors: Mapping[str, torch.Tensor | np.ndarray]) -> None:
    """Load weights (torch tensors or numpy arrays) into ``network``; ModelError if names or shapes do not match its config."""
    check_shapes(
        {k: tuple(v.shape) for k, v in network.state_dict().items()}, {k: tuple(v.shape) for k, v in tensors.items()}
    )
    network.load_state_dict(
        {k: v.float() if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=torch.float32) for k, v in tensors.items()}
    )
