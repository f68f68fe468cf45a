"""The melody LSTM: the next melody event from the previous one and the harmony.

:class:`MelodyLSTM` is the PyTorch network (nanoGPT's layout: a small config
dataclass, ``forward`` returning logits, loss and state); :class:`LstmMelodyModel`
binds it to its :mod:`~music21_melgen.encoding` representation and implements
the :class:`~music21_melgen.network.MelodyModel` protocol that generation,
evaluation and checkpoints use (sampling drives its numpy twin,
:class:`~music21_melgen.network.LstmSteps`; this module never imports sampling).

Input per step = embedding(previous event) ⊕ conditioning row; output =
logits over the next event. The model knows nothing of music21.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from music21_melgen.encoding import REST, Representation
from music21_melgen.errors import ModelError
from music21_melgen.form import echo_inputs, find_form, step_lags
from music21_melgen.network import LstmSteps
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "MelodyLSTMConfig",
    "MelodyLSTM",
    "TorchMelodyModel",
    "LstmMelodyModel",
    "shifted_inputs",
    "weight_tensors",
    "load_weights",
]


# Sane bounds of the network's sizes (a checkpoint's config is checked against them
# before anything is allocated; checkpoint.py also bounds the parameter count).
MAX_WIDTH = 4096  # vocabulary, conditioning, embedding and hidden widths
MAX_LAYERS = 8  # stacked LSTM layers


@dataclass(frozen=True)
class MelodyLSTMConfig:
    """Hyper-parameters of :class:`MelodyLSTM`; sizes V and C come from the representation."""

    vocab_size: int  # melody events V (REST, HOLD, NOTE:k ...)
    conditioning_size: int  # conditioning columns C per step
    embedding_size: int = 32  # width of the previous-event embedding
    hidden_size: int = 256  # LSTM units per layer
    num_layers: int = 2  # stacked LSTM layers
    dropout: float = 0.2  # between LSTM layers and before the output layer (training only)
    # Form: the input also carries the event at the aligned step of the passage this one
    # echoes (music21_melgen.form.echo_input: shifted by V + 1 while the measure matches it),
    # embedded like the previous event; index V = no echo.
    reference: bool = False

    def __post_init__(self) -> None:
        for name, high in (
            ("vocab_size", MAX_WIDTH),
            ("conditioning_size", MAX_WIDTH),
            ("embedding_size", MAX_WIDTH),
            ("hidden_size", MAX_WIDTH),
            ("num_layers", MAX_LAYERS),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
                raise ModelError(f"MelodyLSTMConfig.{name} must be an integer in 1..{high}, got {value!r:.80}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"MelodyLSTMConfig.dropout must lie in [0, 1), got {self.dropout!r:.80}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MelodyLSTMConfig":
        """Rebuild from :func:`dataclasses.asdict` output; ModelError on unknown or missing keys."""
        if not isinstance(data, dict):
            raise ModelError("model config must be a JSON object")
        known = {f.name for f in fields(cls)}
        if set(data) - known:
            raise ModelError(f"unknown model settings: {', '.join(sorted(set(data) - known))}")
        try:
            return cls(**data)
        except TypeError as error:
            raise ModelError(f"bad model settings: {error}") from None

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every weight :class:`MelodyLSTM` has with these settings (nothing allocated)."""
        vocab, embedding, hidden = self.vocab_size, self.embedding_size, self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (vocab, embedding)}
        width = embedding + self.conditioning_size
        if self.reference:
            shapes["reference_embedding.weight"] = (2 * (vocab + 1), embedding)
            width += embedding
        for layer in range(self.num_layers):
            shapes[f"lstm.weight_ih_l{layer}"] = (4 * hidden, width if layer == 0 else hidden)
            shapes[f"lstm.weight_hh_l{layer}"] = (4 * hidden, hidden)
            shapes[f"lstm.bias_ih_l{layer}"] = (4 * hidden,)
            shapes[f"lstm.bias_hh_l{layer}"] = (4 * hidden,)
        shapes["head.weight"] = (vocab, hidden)
        shapes["head.bias"] = (vocab,)
        return shapes


def shifted_inputs(events: np.ndarray) -> np.ndarray:
    """The previous event of each step: ``events`` shifted right, REST before the start.

    >>> shifted_inputs(np.array([5, 1, 0])).tolist()
    [0, 5, 1]
    """
    return np.concatenate([[REST], events[:-1]]).astype(np.int64)


class MelodyLSTM(nn.Module):
    """Embedding of the previous event ⊕ conditioning → LSTM → logits of the next event."""

    def __init__(self, config: MelodyLSTMConfig) -> None:
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


def load_weights(network: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load checkpoint tensors into ``network``; ModelError if names or shapes do not match its config."""
    expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected.keys() != found.keys():
        missing = sorted(expected.keys() - found.keys())
        extra = sorted(found.keys() - expected.keys())
        raise ModelError(f"weights do not match the config: missing {missing}, unexpected {extra}")
    wrong = [f"{k} {found[k]} (config says {shape})" for k, shape in expected.items() if found[k] != shape]
    if wrong:
        raise ModelError(f"weight shapes do not match the config: {'; '.join(wrong)}")
    network.load_state_dict({k: v.float() for k, v in tensors.items()})


class TorchMelodyModel:
    """What every trained model shares: its torch network, representation and checkpoint plumbing.

    Subclasses name their ``kind`` (the checkpoint's model kind), their
    ``network_class`` and its ``config_class``, check the network against the
    representation in ``_check``, and implement generation. ``config`` is the
    checkpoint's JSON (or, before saving, the representation and model
    settings); ``content_hash`` the sha256 of ``model.safetensors`` (empty
    until saved or loaded).
    """

    kind: str
    network_class: type[nn.Module]
    config_class: type
    temperature_scale: float = 1.0  # multiplies the user's temperature

    def __init__(
        self,
        network: nn.Module,
        representation: Any,
        *,
        name: str = "",
        config: dict | None = None,
        content_hash: str = "",
    ) -> None:
        self._check(network, representation)
        self.network = network.eval()
        self.representation = representation
        self.name = name
        self.config = config if config is not None else {
            "kind": self.kind,
            "representation": representation.to_dict(),
            "model": self.model_config(),
        }
        self.content_hash = content_hash
        self._numpy_weights: dict[str, np.ndarray] | None = None  # float64 copies for sampling, built once

    def _check(self, network: nn.Module, representation: Any) -> None:
        """ModelError when ``network`` and ``representation`` do not belong together."""

    def __repr__(self) -> str:
        size = sum(p.numel() for p in self.network.parameters())
        return f"<{type(self).__name__} {self.name or '(unsaved)'}: {size} parameters>"

    def model_config(self) -> dict[str, Any]:
        """The network's hyper-parameters as a JSON-ready dict."""
        return asdict(self.network.config)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Weights to save, by parameter name (contiguous float32 copies)."""
        return weight_tensors(self.network)

    @classmethod
    def from_tensors(
        cls,
        model_config: dict[str, Any],
        representation: Any,
        tensors: dict[str, torch.Tensor],
        **kwargs: Any,
    ) -> "TorchMelodyModel":
        """Rebuild from a checkpoint's parts; ModelError if names or shapes do not match."""
        network = cls.network_class(cls.config_class.from_dict(model_config))
        load_weights(network, tensors)
        return cls(network, representation, **kwargs)


class LstmMelodyModel(TorchMelodyModel):
    """A trained :class:`MelodyLSTM` with its representation: the ``default`` model."""

    kind = "lstm"
    network_class = MelodyLSTM
    config_class = MelodyLSTMConfig

    def _check(self, network: MelodyLSTM, representation: Representation) -> None:
        if network.config.vocab_size != representation.vocab_size:
            raise ModelError("the network's vocabulary does not match its representation")
        if network.config.conditioning_size != representation.conditioning_size:
            raise ModelError("the network's conditioning width does not match its representation")

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """The weights as float64 numpy arrays for the hand-written sampling cell (cached).

        Keys: ``embedding`` [V, E]; per layer ``l``: ``w_ih{l}`` [4H, in],
        ``w_hh{l}`` [4H, H], ``b{l}`` [4H] (both biases summed); ``head_w``
        [V, H], ``head_b`` [V]. Gate order is PyTorch's: input, forget, cell, output.
        """
        if self._numpy_weights is None:
            state = {k: v.detach().double().numpy().copy() for k, v in self.network.state_dict().items()}
            weights = {
                "embedding": state["embedding.weight"],
                "head_w": state["head.weight"],
                "head_b": state["head.bias"],
            }
            for layer in range(self.network.config.num_layers):
                weights[f"w_ih{layer}"] = state[f"lstm.weight_ih_l{layer}"]
                weights[f"w_hh{layer}"] = state[f"lstm.weight_hh_l{layer}"]
                weights[f"b{layer}"] = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
            config = self.network.config
            if config.reference:
                # The echoed event's input projection, as a table like the previous event's [V + 1, 4H].
                width = config.embedding_size + config.conditioning_size
                w_ih0 = weights["w_ih0"]
                weights["reference"] = state["reference_embedding.weight"] @ w_ih0[:, width:].T
                weights["w_ih0"] = w_ih0[:, :width]
            self._numpy_weights = weights
        return self._numpy_weights

    def step_network(self) -> LstmSteps:
        """The network as the sampler drives it (float64 numpy, weights cached)."""
        return LstmSteps(self.numpy_weights())

    @torch.no_grad()
    def event_log_probs(
        self, events: np.ndarray, conditioning: np.ndarray, reference: np.ndarray | None = None
    ) -> np.ndarray:
        """Natural-log probability the model gives each event of a sequence (float64 [T]).

        ``reference``: the echoed event of each step (a network built with
        ``reference``; None = no echo anywhere).
        """
        prev = torch.from_numpy(shifted_inputs(events))[None]
        cond = torch.from_numpy(np.ascontiguousarray(conditioning, dtype=np.float32))[None]
        echoed = None if reference is None else torch.from_numpy(np.asarray(reference, dtype=np.int64))[None]
        logits, _, _ = self.network(prev, cond, reference=echoed)
        log_probs = torch.log_softmax(logits[0].double(), dim=-1)
        return log_probs[torch.arange(len(events)), torch.from_numpy(events)].numpy()

    def log_likelihood(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Mean log2-probability per grid step of ``notes`` over ``timeline`` (≤ 0)."""
        events, conditioning = self.representation.encode(timeline, notes)
        reference = None
        if self.network.config.reference:  # the echoes the harmony implies, of the real melody
            grid = self.representation.grid(timeline)
            measure_of_step = np.maximum(grid.measure_index, 0)
            lags = step_lags(find_form(timeline), measure_of_step)
            reference = echo_inputs(events, lags, measure_of_step, self.network.config.vocab_size)
        return float(self.event_log_probs(events, conditioning, reference).mean() / math.log(2))

    def bits_per_step(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Loss in bits per grid step of ``notes`` over ``timeline`` (``-log_likelihood``)."""
        return -self.log_likelihood(timeline, notes)
