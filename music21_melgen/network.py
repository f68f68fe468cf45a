"""What sampling asks of a melody network, and the networks in float64 numpy.

Sampling needs one thing of a network: *the logits of this step from this
state*. :class:`StepNetwork` is that protocol; :class:`MelodyModel` is what
generation, evaluation and checkpoints need of a whole model (its
representation, its checkpoint's JSON and a fresh step network). The two
networks below implement the protocol without torch, so sampling runs on
numpy alone; their torch twins (for training and scoring) live in
:mod:`~music21_melgen.model` and :mod:`~music21_melgen.melgen2019_model`,
which build these from their weights.

* :class:`LstmSteps`: the ``default`` kind's stacked LSTM, state carried from
  step to step (O(1) per step). It does not call ``nn.LSTM`` step by step
  (each call costs hundreds of microseconds of overhead): the conditioning part
  of the first layer's input projection is computed a block of 256 steps per
  product (the harmony is known in advance) and the embedding part is a table
  (V × 4H), so a step costs ``gates = pre[t] + table[prev] + W_hh h`` plus the
  upper layers.
* :class:`WindowSteps`: MelGen's windowed network: every step re-reads the
  last ``window`` tokens from a zero state (the cost of the 2019 design,
  kept on purpose in the baseline).

Each candidate's recurrent product is its own matrix-vector product, so its
arithmetic is bit for bit the same at any batch size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from music21_melgen.encoding import StepTables
from music21_melgen.errors import ModelError
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = ["StepNetwork", "MelodyModel", "LstmSteps", "WindowSteps", "rows_times"]


@runtime_checkable
class StepNetwork(Protocol):
    """A network as sampling drives it: one step at a time, for a batch of candidates.

    ``uses_reference``: the network reads, at each step, the event at the
    aligned step of the passage this one echoes (:mod:`~music21_melgen.form`);
    ``none_reference`` is the event index meaning "no echo here".
    """

    uses_reference: bool
    none_reference: int

    def start(self, tables: StepTables, batch: int) -> None:
        """Zero the state of ``batch`` candidates over one timeline's tables."""

    def step(self, t: int, previous: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        """Logits [B, V] of step ``t``, given each candidate's event of step ``t - 1`` and its echoed event."""

    def feed(self, t: int, previous: np.ndarray, reference: np.ndarray | None = None) -> None:
        """Advance past step ``t`` whose event is already known (a primer), logits not needed."""


@runtime_checkable
class MelodyModel(Protocol):
    """What generation, evaluation and checkpoints need of a melody model.

    ``temperature_scale`` multiplies the user's temperature (MelGen sampled at
    0.7); ``log_likelihood`` is the mean log2-probability per grid step of a
    melody over a timeline (≤ 0; its negation is the loss in bits per step).
    """

    name: str
    config: dict
    content_hash: str
    representation: Any
    temperature_scale: float

    def step_network(self) -> StepNetwork: ...

    def log_likelihood(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float: ...


def check_shapes(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> None:
    """ModelError unless the weights ``found`` have exactly the names and shapes ``expected``.

    >>> check_shapes({"w": (2, 3)}, {"w": (3, 2)})
    Traceback (most recent call last):
    music21_melgen.errors.ModelError: weight shapes do not match the config: w (3, 2) (config says (2, 3))
    """
    if expected.keys() != found.keys():
        missing = sorted(expected.keys() - found.keys())
        extra = sorted(found.keys() - expected.keys())
        raise ModelError(f"weights do not match the config: missing {missing}, unexpected {extra}")
    wrong = [f"{k} {found[k]} (config says {shape})" for k, shape in expected.items() if found[k] != shape]
    if wrong:
        raise ModelError(f"weight shapes do not match the config: {'; '.join(wrong)}")


def rows_times(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows @ matrix.T`` one row at a time ([B, in] → [B, out]).

    Each row is its own matrix-vector product, so a row's result is bit for
    bit the same whatever the batch size (a matrix-matrix product may sum in
    another order when more rows come along), and OpenBLAS's small float64
    matrix-matrix product is no faster here than B matrix-vector products.
    """
    if len(rows) == 1:
        return (matrix @ rows[0])[None]
    return (matrix @ rows[:, :, None])[:, :, 0]


def _gate_scale(hidden: int) -> np.ndarray:
    """Gate multipliers: tanh(x / 2) gives the sigmoid gates (i, f, o) as 0.5 + 0.5 tanh(x / 2)."""
    return np.concatenate([np.full(2 * hidden, 0.5), np.ones(hidden), np.full(hidden, 0.5)])


class _Projection:
    """``conditioning @ w_cond_t`` computed a block of steps at a time, as indexed.

    One product per block instead of one per step, without holding [T, 4H]
    float64 for a whole long score at once.
    """

    BLOCK = 256  # steps per block

    def __init__(self, conditioning: np.ndarray, w_cond_t: np.ndarray) -> None:
        self.conditioning = conditioning
        self.w_cond_t = w_cond_t
        self.first = -self.BLOCK
        self.block = np.zeros((0, w_cond_t.shape[1]))

    def __getitem__(self, step: int) -> np.ndarray:
        if not self.first <= step < self.first + self.BLOCK:
            self.first = step - step % self.BLOCK
            rows = self.conditioning[self.first : self.first + self.BLOCK]
            self.block = rows.astype(np.float64) @ self.w_cond_t
        return self.block[step - self.first]


class LstmSteps:
    """The ``default`` kind's LSTM stack in float64 numpy, one grid step at a time.

    ``weights``: ``embedding`` [V, E]; per layer ``l``: ``w_ih{l}`` [4H, in],
    ``w_hh{l}`` [4H, H], ``b{l}`` [4H] (both biases summed); ``head_w`` [V, H],
    ``head_b`` [V]; with form, ``reference`` [V + 1, 4H], the echoed event's
    input projection (row V: no echo). Gate order is PyTorch's: input, forget,
    cell, output.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.embedding = weights["embedding"]
        self.reference_table = weights.get("reference")
        self.uses_reference = self.reference_table is not None
        self.none_reference = len(self.embedding)
        self.layers = sum(1 for key in weights if key.startswith("w_hh"))
        self.hidden = weights["w_hh0"].shape[1]
        width = self.embedding.shape[1]
        w_ih0 = weights["w_ih0"]
        self.table = self.embedding @ w_ih0[:, :width].T + weights["b0"]  # [V, 4H]
        self.w_cond_t = np.ascontiguousarray(w_ih0[:, width:].T)  # [C, 4H]
        self.w_hh = [np.ascontiguousarray(weights[f"w_hh{l}"]) for l in range(self.layers)]  # [4H, H]
        self.w_ih = [np.ascontiguousarray(weights[f"w_ih{l}"]) for l in range(self.layers)]  # [4H, in]
        self.bias = [weights[f"b{l}"] for l in range(self.layers)]  # [4H]
        self.head_w = np.ascontiguousarray(weights["head_w"])  # [V, H]
        self.head_b = weights["head_b"]  # [V]
        self.gate_scale = _gate_scale(self.hidden)

    def start(self, tables: StepTables, batch: int) -> None:
        self.h = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        self.c = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        self.pre = _Projection(tables.conditioning, self.w_cond_t)  # pre[t] = [4H]

    def step(self, t: int, previous: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        size = self.hidden
        x = previous
        for layer in range(self.layers):
            if layer == 0:
                gates = self.pre[t] + self.table[previous]  # input projection: precomputed + table
                if self.reference_table is not None:
                    echoed = np.full(len(previous), self.none_reference) if reference is None else reference
                    gates = gates + self.reference_table[echoed]
            else:
                gates = self.bias[layer] + rows_times(self.w_ih[layer], x)
            gates += rows_times(self.w_hh[layer], self.h[layer])
            tanh = np.tanh(gates * self.gate_scale)
            sig = 0.5 + 0.5 * tanh  # sigmoid of the input, forget and output gates (where used)
            c = sig[:, size : 2 * size] * self.c[layer] + sig[:, :size] * tanh[:, 2 * size : 3 * size]
            x = sig[:, 3 * size :] * np.tanh(c)
            self.c[layer] = c
            self.h[layer] = x
        return rows_times(self.head_w, x) + self.head_b

    def feed(self, t: int, previous: np.ndarray, reference: np.ndarray | None = None) -> None:
        self.step(t, previous, reference)  # the state needs the whole step; the logits are dropped


class WindowSteps:
    """MelGen's windowed LSTM in float64 numpy: each step re-reads the last ``window`` tokens.

    A one-hot row times the input weights is a column of them, so the input
    projection of a token is a row of ``table`` (V × 4H, bias included).
    ``weights``: ``table`` [V, 4H], ``w_hh`` [4H, H], ``head_w`` [V, H],
    ``head_b`` [V]; ``padding``: the token the window is filled with before
    the first step (MelGen's ``/``).
    """

    uses_reference = False  # MelGen knew no form
    none_reference = 0

    def __init__(self, weights: dict[str, np.ndarray], window: int, padding: int) -> None:
        self.table = weights["table"]
        self.w_hh = np.ascontiguousarray(weights["w_hh"])
        self.head_w = np.ascontiguousarray(weights["head_w"])
        self.head_b = weights["head_b"]
        self.hidden = self.w_hh.shape[1]
        self.window = window
        self.padding = padding
        self.gate_scale = _gate_scale(self.hidden)

    def start(self, tables: StepTables, batch: int) -> None:
        self.streams = np.full((batch, self.window + tables.length), self.padding, dtype=np.int64)

    def feed(self, t: int, previous: np.ndarray, reference: np.ndarray | None = None) -> None:
        if t > 0:
            self.streams[:, self.window + t - 1] = previous

    def step(self, t: int, previous: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        self.feed(t, previous)
        return self.logits(self.streams[:, t : t + self.window])

    def logits(self, windows: np.ndarray) -> np.ndarray:
        """Logits [B, V] of the token after each window [B, W], from a zero state."""
        size = self.hidden
        h = np.zeros((len(windows), size))
        c = np.zeros((len(windows), size))
        for column in range(windows.shape[1]):
            gates = self.table[windows[:, column]] + rows_times(self.w_hh, h)
            tanh = np.tanh(gates * self.gate_scale)
            c = (0.5 + 0.5 * tanh[:, size : 2 * size]) * c + (0.5 + 0.5 * tanh[:, :size]) * tanh[:, 2 * size : 3 * size]
            h = (0.5 + 0.5 * tanh[:, 3 * size :]) * np.tanh(c)
        return rows_times(self.head_w, h) + self.head_b
