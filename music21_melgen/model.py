"""The default model: the next melody event from the previous one and the harmony.

:class:`LstmMelodyModel` binds the network's weights to its
:mod:`~music21_melgen.encoding` representation and implements the
:class:`~music21_melgen.network.MelodyModel` protocol that generation,
evaluation and checkpoints use; :class:`TorchMelodyModel` is what every kind's
model shares. This module does not import torch: a model holds its weights as
float32 numpy arrays (what :func:`~music21_melgen.checkpoint.load_checkpoint`
reads with safetensors), sampling drives their float64 numpy twin
(:class:`~music21_melgen.network.LstmSteps`; this module never imports
sampling), and the torch network (:class:`~music21_melgen.lstm_network.MelodyLSTM`,
nanoGPT's layout) is built from them the first time ``model.network`` is asked
for: scoring, saving, training.

Input per step = embedding(previous event) ⊕ conditioning row; output =
logits over the next event. The model knows nothing of music21.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from importlib import import_module
from typing import Any, Mapping, Sequence

import numpy as np

from music21_melgen.encoding import REST, Representation
from music21_melgen.errors import ModelError
from music21_melgen.network import LstmSteps, check_shapes
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "MelodyLSTMConfig",
    "TorchMelodyModel",
    "LstmMelodyModel",
    "shifted_inputs",
]

# Sane bounds of the network's sizes (a checkpoint's config is checked against them
# before anything is allocated; checkpoint.py also bounds the parameter count).
MAX_WIDTH = 4096  # vocabulary, conditioning, embedding and hidden widths
MAX_LAYERS = 8  # stacked LSTM layers


@dataclass(frozen=True)
class MelodyLSTMConfig:
    """Hyper-parameters of :class:`~music21_melgen.lstm_network.MelodyLSTM` (torch-free); sizes V and C come from the representation."""

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


class TorchMelodyModel:
    """What every trained model shares: its weights, representation and checkpoint plumbing.

    A model is built either from a torch network (training: the network is
    the weights, and trains in place) or from its network config and float32
    numpy weights (:meth:`from_arrays`, what loading a checkpoint does, with
    no torch). ``network`` is the torch network, built from the weights the
    first time it is asked for (scoring, :meth:`tensors`, training); from then
    on it holds the weights. ``network_config`` is the network's
    hyper-parameters, ``step_network()`` works from the weights without torch.

    Subclasses name their ``kind`` (the checkpoint's model kind), their torch
    network as ``network_path`` (``"module:Class"``, imported when first
    needed) and its ``config_class``, check the config against the
    representation in ``_check``, and implement generation. ``config`` is the
    checkpoint's JSON (or, before saving, the representation and model
    settings); ``content_hash`` the sha256 of ``model.safetensors`` (empty
    until saved or loaded).
    """

    kind: str
    network_path: str  # "module:Class" of the torch network (imports torch)
    config_class: type
    temperature_scale: float = 1.0  # multiplies the user's temperature

    def __init__(
        self,
        network: Any | None,
        representation: Any,
        *,
        weights: Mapping[str, Any] | None = None,
        network_config: Any | None = None,
        name: str = "",
        config: dict | None = None,
        content_hash: str = "",
    ) -> None:
        if network is not None:
            if weights is not None or network_config is not None:
                raise ModelError("a model is built from a network or from its config and weights, not both")
            network_config = network.config
        elif weights is None or network_config is None:
            raise ModelError("a model needs a network, or its network config and weights")
        self._check(network_config, representation)
        self.network_config = network_config
        self._network = network.eval() if network is not None else None
        self._weights = None if weights is None else _checked_weights(network_config, weights)
        self.representation = representation
        self.name = name
        self.config = config if config is not None else {
            "kind": self.kind,
            "representation": representation.to_dict(),
            "model": self.model_config(),
        }
        self.content_hash = content_hash
        self._numpy_weights: dict[str, np.ndarray] | None = None  # float64 copies for sampling, built once

    def _check(self, network_config: Any, representation: Any) -> None:
        """ModelError when a network of ``network_config`` and ``representation`` do not belong together."""

    def __repr__(self) -> str:
        size = sum(math.prod(shape) for shape in self.network_config.weight_shapes().values())
        return f"<{type(self).__name__} {self.name or '(unsaved)'}: {size} parameters>"

    @property
    def network(self) -> Any:
        """The torch network (imports torch; built from the weights the first time, in eval mode)."""
        if self._network is None:
            from music21_melgen.lstm_network import load_weights

            module, _, attribute = self.network_path.partition(":")
            network = getattr(import_module(module), attribute)(self.network_config)
            load_weights(network, self._weights)
            self._network = network.eval()
            self._weights = None  # the network holds them from now on (training changes them in place)
        return self._network

    @network.setter
    def network(self, network: Any) -> None:
        self._check(network.config, self.representation)
        self.network_config = network.config
        self._network = network
        self._weights = None
        self._numpy_weights = None

    def weights(self) -> dict[str, np.ndarray]:
        """The weights by parameter name as float32 numpy arrays (the network's, once it is built)."""
        if self._network is None:
            return dict(self._weights)
        return {k: v.detach().float().cpu().numpy() for k, v in self._network.state_dict().items()}

    def model_config(self) -> dict[str, Any]:
        """The network's hyper-parameters as a JSON-ready dict."""
        return asdict(self.network_config)

    def tensors(self) -> dict[str, Any]:
        """Weights to save, by parameter name (contiguous float32 torch copies; imports torch)."""
        from music21_melgen.lstm_network import weight_tensors

        return weight_tensors(self.network)

    @classmethod
    def from_arrays(
        cls,
        model_config: dict[str, Any],
        representation: Any,
        arrays: Mapping[str, Any],
        **kwargs: Any,
    ) -> "TorchMelodyModel":
        """Rebuild from a checkpoint's parts (weights as numpy arrays; no torch).

        ModelError if the settings are bad or the names or shapes do not match them.
        """
        network_config = cls.config_class.from_dict(model_config)
        return cls(None, representation, weights=arrays, network_config=network_config, **kwargs)

    from_tensors = from_arrays  # the old name; torch tensors are accepted too (np.asarray reads them)


def _checked_weights(network_config: Any, weights: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``weights`` as float32 numpy arrays; ModelError if names or shapes differ from the config's."""
    expected = network_config.weight_shapes()
    check_shapes(expected, {k: tuple(np.shape(v)) for k, v in weights.items()})
    return {k: np.array(weights[k], dtype=np.float32) for k in expected}  # copies: the model owns them


class LstmMelodyModel(TorchMelodyModel):
    """A trained :class:`~music21_melgen.lstm_network.MelodyLSTM` with its representation: the ``default`` model."""

    kind = "lstm"
    network_path = "music21_melgen.lstm_network:MelodyLSTM"
    config_class = MelodyLSTMConfig

    def _check(self, network_config: MelodyLSTMConfig, representation: Representation) -> None:
        if network_config.vocab_size != representation.vocab_size:
            raise ModelError("the network's vocabulary does not match its representation")
        if network_config.conditioning_size != representation.conditioning_size:
            raise ModelError("the network's conditioning width does not match its representation")

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """The weights as float64 numpy arrays for the hand-written sampling cell (cached; no torch).

        Keys: ``embedding`` [V, E]; per layer ``l``: ``w_ih{l}`` [4H, in],
        ``w_hh{l}`` [4H, H], ``b{l}`` [4H] (both biases summed); ``head_w``
        [V, H], ``head_b`` [V]. Gate order is PyTorch's: input, forget, cell, output.
        """
        if self._numpy_weights is None:
            state = {k: v.astype(np.float64) for k, v in self.weights().items()}  # float32 → float64 is exact
            weights = {
                "embedding": state["embedding.weight"],
                "head_w": state["head.weight"],
                "head_b": state["head.bias"],
            }
            config = self.network_config
            for layer in range(config.num_layers):
                weights[f"w_ih{layer}"] = state[f"lstm.weight_ih_l{layer}"]
                weights[f"w_hh{layer}"] = state[f"lstm.weight_hh_l{layer}"]
                weights[f"b{layer}"] = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
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

    def event_log_probs(
        self, events: np.ndarray, conditioning: np.ndarray, reference: np.ndarray | None = None
    ) -> np.ndarray:
        """Natural-log probability the model gives each event of a sequence (float64 [T]; torch).

        ``reference``: the echoed event of each step (a network built with
        ``reference``; None = no echo anywhere).
        """
        import torch

        with torch.no_grad():
            prev = torch.from_numpy(shifted_inputs(events))[None]
            cond = torch.from_numpy(np.ascontiguousarray(conditioning, dtype=np.float32))[None]
            echoed = None if reference is None else torch.from_numpy(np.asarray(reference, dtype=np.int64))[None]
            logits, _, _ = self.network(prev, cond, reference=echoed)
            log_probs = torch.log_softmax(logits[0].double(), dim=-1)
            return log_probs[torch.arange(len(events)), torch.from_numpy(events)].numpy()

    def log_likelihood(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Mean log2-probability per grid step of ``notes`` over ``timeline`` (≤ 0; torch)."""
        events, conditioning, echoes = self.representation.encode_with_echoes(timeline, notes)
        reference = echoes if self.network_config.reference else None  # the real melody's echoes
        return float(self.event_log_probs(events, conditioning, reference).mean() / math.log(2))

    def bits_per_step(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Loss in bits per grid step of ``notes`` over ``timeline`` (``-log_likelihood``)."""
        return -self.log_likelihood(timeline, notes)
