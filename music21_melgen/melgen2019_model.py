"""MelGen's windowed model (checkpoint kind ``"melgen_window"``): the ``melgen2019`` baseline.

:class:`~music21_melgen.window_network.WindowLSTM` is MelGen's network: the
last ``window`` (64) tokens, one-hot → one LSTM layer of 256 units → dropout
0.3 → dense layer → softmax over the tokens of
:mod:`~music21_melgen.melgen2019_encoding`. Only the LSTM's output after the
last token of the window is used, so every prediction starts from a zero state.

:class:`MelGen2019Model` binds its weights to its representation (this module
does not import torch; the torch network is built the first time
``model.network`` is asked for: scoring, saving, training) and implements the
:class:`~music21_melgen.network.MelodyModel` protocol, so the engine, evaluation,
checkpoints and the one sampling loop (:mod:`~music21_melgen.sampling`) treat
it like the default model: its :class:`~music21_melgen.network.WindowSteps`
answers each step's logits, its representation's tables carry MelGen's rules.
Generation is MelGen's:

* the window starts as 64 ``/`` (then the primer, if any) and **every step
  re-runs the model on the whole 64-token window** (no state is carried; the
  cost per step is 64 LSTM steps, which is the point of the baseline);
* probabilities are re-tempered with MelGen's temperature 0.7 times
  ``controls.temperature`` (so the default 1.0 reproduces MelGen);
* the chord acts as a filter: note tokens whose degree differs from the
  current chord's are removed, and so is ``/`` (MelGen stopped on it; a
  timeline is always filled to its end). If nothing is left (a vocabulary
  lacking the degree, a forbidden hold) the filter is dropped for that step;
* ``_`` is divided by the continuation-reduction factor (MelGen's 1.3, ×1.4
  after every ``_``, back to 1.3 after a new note; ``controls`` set or disable
  it); ``longest_note`` (quarter lengths or ``Bars`` of the meter where the
  note began) forbids ``_`` past it; ``chord_tone_weight``
  multiplies notes whose pitch class (in the song's key) is in the chord,
  then the notes are scaled back to the share they had, so it changes which
  note starts and not how often one does;
  ``top_p`` keeps the nucleus (MelGen had none: pass ``top_p=1.0`` for MelGen
  exactly); each candidate draws from its own stream seeded ``(seed, i)``.
  The loop is the default model's (:mod:`~music21_melgen.sampling`).

The tokens are in C major / A minor; the notes come back in the song's key.
MelGen's pitches (MIDI 48–71) are then placed in ``controls.pitch_range``:
the whole generated line moves by the octave that puts most notes inside
(ties: the one nearest the middle of the range), and any note still outside
is folded by octaves into it; the range must span at least an octave. Primer
notes keep their pitches.

On meters: MelGen's grid is 16 steps a measure, so in 3/4 a step is 3/16 of
a quarter, in 6/8 and 12/8 a dotted 16th; notes land on that grid (see
:mod:`~music21_melgen.melgen2019_encoding`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Sequence


import numpy as np

from music21_melgen.errors import ModelError, ScoreError
from music21_melgen.melgen2019_encoding import SEPARATOR_ID, MelgenTokenRepresentation
from music21_melgen.model import TorchMelodyModel
from music21_melgen.network import WindowSteps
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "MELGEN_TEMPERATURE",
    "WindowNetworkConfig",
    "MelGen2019Model",
]


MELGEN_TEMPERATURE = 0.7  # MelGen's sampling temperature; controls.temperature multiplies it
_EVAL_BATCH = 1024  # windows per forward pass when scoring a melody
# Sane bounds of the network's sizes (a checkpoint's config is checked against them before
# anything is allocated; checkpoint.py also bounds the parameter count). Every step of
# sampling re-reads the whole window, so its length is bounded tighter.
MAX_WIDTH = 4096  # vocabulary and hidden widths
MAX_WINDOW = 512  # tokens read before each prediction


@dataclass(frozen=True)
class WindowNetworkConfig:
    """Hyper-parameters of :class:`~music21_melgen.window_network.WindowLSTM` (MelGen's values as defaults; torch-free)."""

    vocab_size: int  # tokens V: the one-hot width and the softmax size
    window: int = 64  # tokens read before each prediction
    hidden_size: int = 256  # units of the single LSTM layer
    dropout: float = 0.3  # on the LSTM's last output, training only

    def __post_init__(self) -> None:
        for name, high in (("vocab_size", MAX_WIDTH), ("window", MAX_WINDOW), ("hidden_size", MAX_WIDTH)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
                raise ModelError(f"WindowNetworkConfig.{name} must be an integer in 1..{high}, got {value!r:.80}")
        if self.vocab_size < 3:
            raise ModelError("WindowNetworkConfig.vocab_size must count '/', '_' and at least one note")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"WindowNetworkConfig.dropout must lie in [0, 1), got {self.dropout!r:.80}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WindowNetworkConfig":
        """Rebuild from :func:`dataclasses.asdict` output; ModelError on unknown or missing keys."""
        if not isinstance(data, dict):
            raise ModelError("model config must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ModelError(f"unknown model settings: {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except TypeError as error:
            raise ModelError(f"bad model settings: {error}") from None

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every weight :class:`WindowLSTM` has with these settings (nothing allocated)."""
        vocab, hidden = self.vocab_size, self.hidden_size
        return {
            "lstm.weight_ih_l0": (4 * hidden, vocab),
            "lstm.weight_hh_l0": (4 * hidden, hidden),
            "lstm.bias_ih_l0": (4 * hidden,),
            "lstm.bias_hh_l0": (4 * hidden,),
            "head.weight": (vocab, hidden),
            "head.bias": (vocab,),
        }


class MelGen2019Model(TorchMelodyModel):
    """A trained :class:`~music21_melgen.window_network.WindowLSTM` with its token representation: the ``melgen2019`` model."""

    kind = "melgen_window"
    network_path = "music21_melgen.window_network:WindowLSTM"
    config_class = WindowNetworkConfig

    temperature_scale = MELGEN_TEMPERATURE

    def _check(self, network_config: WindowNetworkConfig, representation: MelgenTokenRepresentation) -> None:
        if not isinstance(representation, MelgenTokenRepresentation):
            raise ModelError(
                f"the melgen2019 model needs the melgen_tokens representation, got {getattr(representation, 'name', representation)!r}"
            )
        if network_config.vocab_size != representation.vocab_size:
            raise ModelError(
                f"the network has {network_config.vocab_size} tokens, its representation {representation.vocab_size}"
            )

    @property
    def window(self) -> int:
        """Tokens the model reads before each prediction."""
        return self.network_config.window

    def step_network(self) -> WindowSteps:
        """The network as the sampler drives it (float64 numpy, weights cached; no torch)."""
        if self._numpy_weights is None:
            state = {k: v.astype(np.float64) for k, v in self.weights().items()}  # float32 → float64 is exact
            self._numpy_weights = {
                "table": state["lstm.weight_ih_l0"].T + state["lstm.bias_ih_l0"] + state["lstm.bias_hh_l0"],  # [V, 4H]
                "w_hh": state["lstm.weight_hh_l0"],  # [4H, H]
                "head_w": state["head.weight"],  # [V, H]
                "head_b": state["head.bias"],  # [V]
            }
        return WindowSteps(self._numpy_weights, self.window, SEPARATOR_ID)

    # ----- scoring --------------------------------------------------------------
    def stream_log_probs(self, stream: np.ndarray, first: int) -> np.ndarray:
        """Natural-log probability of ``stream[t]`` given the ``window`` tokens before it,
        for every ``t >= first`` (``first >= window``); float64 [len(stream) - first] (torch)."""
        import torch

        with torch.no_grad():
            window = self.window
            if first < window or first > len(stream):
                raise ModelError(f"scoring starts at {first}, needs {window} <= first <= {len(stream)}")
            tokens = torch.from_numpy(np.ascontiguousarray(stream, dtype=np.int64))
            windows = tokens[first - window : len(stream) - 1].unfold(0, window, 1)  # [N, W]
            targets = tokens[first:]
            out = []
            for start in range(0, len(targets), _EVAL_BATCH):
                logits, _ = self.network(windows[start : start + _EVAL_BATCH])
                log_probs = torch.log_softmax(logits.double(), dim=-1)
                chosen = targets[start : start + _EVAL_BATCH]
                out.append(log_probs[torch.arange(len(chosen)), chosen].numpy())
            return np.concatenate(out) if out else np.zeros(0)

    def log_likelihood(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Mean log2-probability per token of MelGen's token stream of ``notes`` (≤ 0).

        The stream is the training encoding (lengths snapped to MelGen's 20,
        no rests, preceded by ``window`` separators), so it has about as many
        tokens as the melody spans grid steps, not exactly as many.
        """
        ids, _ = self.representation.encode(timeline, notes)
        if len(ids) == 0:
            raise ScoreError("the melody has no notes: the melgen2019 model has nothing to score")
        stream = np.concatenate([np.full(self.window, SEPARATOR_ID, dtype=np.int64), ids])
        return float(self.stream_log_probs(stream, self.window).mean() / math.log(2))

    def bits_per_step(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Loss in bits per token of ``notes`` over ``timeline`` (``-log_likelihood``)."""
        return -self.log_likelihood(timeline, notes)
