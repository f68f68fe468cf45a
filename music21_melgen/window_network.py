"""The ``melgen_window`` kind's torch network: :class:`WindowLSTM` (MelGen's), for training and scoring.

Sampling drives its float64 numpy twin (:class:`~music21_melgen.network.WindowSteps`)
and never imports torch; :class:`~music21_melgen.melgen2019_model.MelGen2019Model`
builds this network from its weights the first time it is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from music21_melgen.errors import ModelError

if TYPE_CHECKING:
    from music21_melgen.melgen2019_model import WindowNetworkConfig

__all__ = ["WindowLSTM"]


class WindowLSTM(nn.Module):
    """One-hot window → LSTM → dropout → dense: logits of the token after the window."""

    def __init__(self, config: "WindowNetworkConfig") -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.vocab_size, config.hidden_size, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self, windows: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of the next token of each window.

        Parameters
        ----------
        windows : int64 [B, W], token ids, oldest first
        targets : int64 [B] or None, the token that follows each window

        Returns
        -------
        (logits [B, V], mean cross-entropy in nats or None)
        """
        if windows.dim() != 2 or windows.shape[1] < 1:
            raise ModelError(f"forward expects windows [B, W]; got {tuple(windows.shape)}")
        one_hot = F.one_hot(windows, self.config.vocab_size).float()  # [B, W, V]
        out, _ = self.lstm(one_hot)  # [B, W, H]
        logits = self.head(self.dropout(out[:, -1]))  # [B, V]
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        return logits, loss
