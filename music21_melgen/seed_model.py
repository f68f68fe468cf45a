"""MelGen's windowed model (checkpoint kind ``"melgen_window"``): the ``seed`` baseline.

:class:`WindowLSTM` is MelGen's network: the last ``window`` (64) tokens,
one-hot → one LSTM layer of 256 units → dropout 0.3 → dense layer → softmax
over the tokens of :mod:`~music21_melgen.seed_representation`. Only the LSTM's
output after the last token of the window is used, so every prediction starts
from a zero state.

:class:`SeedMelodyModel` binds it to its representation and implements the
:class:`~music21_melgen.model.MelodyModel` protocol, so the engine, evaluation
and checkpoints treat it like the default model. Generation is MelGen's:

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
  The step loop runs with numpy's BLAS on one thread, as the default model's.

The tokens are in C major / A minor; the notes come back in the song's key.
MelGen's pitches (MIDI 48–71) are then placed in ``controls.pitch_range``:
the whole generated line moves by the octave that puts most notes inside
(ties: the one nearest the middle of the range), and any note still outside
is folded by octaves into it; the range must span at least an octave. Primer
notes keep their pitches.

On meters: MelGen's grid is 16 steps a measure, so in 3/4 a step is 3/16 of
a quarter, in 6/8 and 12/8 a dotted 16th; notes land on that grid (see
:mod:`~music21_melgen.seed_representation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from music21_melgen.errors import GenerationError, ModelError, ScoreError
from music21_melgen.model import TorchMelodyModel
from music21_melgen.sampling import Bars, one_blas_thread, reweight_notes
from music21_melgen.seed_representation import (
    CONTINUE_ID,
    SEPARATOR_ID,
    MelgenTokenRepresentation,
    SeedGrid,
)
from music21_melgen.timeline import ChordTimeline, MelodyNote

if TYPE_CHECKING:
    from music21_melgen.sampling import GeneratedMelody, SamplingControls

__all__ = [
    "MELGEN_TEMPERATURE",
    "SeedNetworkConfig",
    "WindowLSTM",
    "WindowCell",
    "SeedMelodyModel",
    "WindowedSample",
    "sample_windowed",
    "sample_tokens",
]

MELGEN_TEMPERATURE = 0.7  # MelGen's sampling temperature; controls.temperature multiplies it
_EVAL_BATCH = 1024  # windows per forward pass when scoring a melody


@dataclass(frozen=True)
class SeedNetworkConfig:
    """Hyper-parameters of :class:`WindowLSTM` (MelGen's values as defaults)."""

    vocab_size: int  # tokens V: the one-hot width and the softmax size
    window: int = 64  # tokens read before each prediction
    hidden_size: int = 256  # units of the single LSTM layer
    dropout: float = 0.3  # on the LSTM's last output, training only

    def __post_init__(self) -> None:
        for name in ("vocab_size", "window", "hidden_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelError(f"SeedNetworkConfig.{name} must be a positive integer, got {value!r}")
        if self.vocab_size < 3:
            raise ModelError("SeedNetworkConfig.vocab_size must count '/', '_' and at least one note")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"SeedNetworkConfig.dropout must lie in [0, 1), got {self.dropout!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SeedNetworkConfig":
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


class WindowLSTM(nn.Module):
    """One-hot window → LSTM → dropout → dense: logits of the token after the window."""

    def __init__(self, config: SeedNetworkConfig) -> None:
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


def _rows_times(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows @ matrix.T`` one row at a time, so a row's result does not depend on the batch."""
    if len(rows) == 1:
        return (matrix @ rows[0])[None]
    return (matrix @ rows[:, :, None])[:, :, 0]


class WindowCell:
    """:class:`WindowLSTM` in float64 numpy, run over whole windows (generation).

    A one-hot row times the input weights is a column of them, so the input
    projection of a token is a row of ``table`` (V × 4H, bias included).
    """

    def __init__(self, network: WindowLSTM) -> None:
        state = {k: v.detach().double().numpy().copy() for k, v in network.state_dict().items()}
        self.hidden = network.config.hidden_size
        self.table = state["lstm.weight_ih_l0"].T + state["lstm.bias_ih_l0"] + state["lstm.bias_hh_l0"]  # [V, 4H]
        self.w_hh = np.ascontiguousarray(state["lstm.weight_hh_l0"])  # [4H, H]
        self.head_w = np.ascontiguousarray(state["head.weight"])  # [V, H]
        self.head_b = state["head.bias"]  # [V]
        h = self.hidden
        # Sigmoid gates (i, f, o) as 0.5 + 0.5 tanh(x / 2), all gates in one tanh call.
        self.gate_scale = np.concatenate([np.full(2 * h, 0.5), np.ones(h), np.full(h, 0.5)])

    def logits(self, windows: np.ndarray) -> np.ndarray:
        """Logits [B, V] of the token after each window [B, W], from a zero state."""
        size = self.hidden
        h = np.zeros((len(windows), size))
        c = np.zeros((len(windows), size))
        for column in range(windows.shape[1]):
            gates = self.table[windows[:, column]] + _rows_times(self.w_hh, h)
            t = np.tanh(gates * self.gate_scale)
            c = (0.5 + 0.5 * t[:, size : 2 * size]) * c + (0.5 + 0.5 * t[:, :size]) * t[:, 2 * size : 3 * size]
            h = (0.5 + 0.5 * t[:, 3 * size :]) * np.tanh(c)
        return _rows_times(self.head_w, h) + self.head_b


class SeedMelodyModel(TorchMelodyModel):
    """A trained :class:`WindowLSTM` with its token representation: the ``seed`` model."""

    kind = "melgen_window"
    network_class = WindowLSTM
    config_class = SeedNetworkConfig

    def __init__(self, network: WindowLSTM, representation: MelgenTokenRepresentation, **kwargs: Any) -> None:
        super().__init__(network, representation, **kwargs)
        self._cell: WindowCell | None = None

    def _check(self, network: WindowLSTM, representation: MelgenTokenRepresentation) -> None:
        if not isinstance(representation, MelgenTokenRepresentation):
            raise ModelError(
                f"the seed model needs the melgen_tokens representation, got {getattr(representation, 'name', representation)!r}"
            )
        if network.config.vocab_size != representation.vocab_size:
            raise ModelError(
                f"the network has {network.config.vocab_size} tokens, its representation {representation.vocab_size}"
            )

    @property
    def window(self) -> int:
        """Tokens the model reads before each prediction."""
        return self.network.config.window

    def cell(self) -> WindowCell:
        """The float64 numpy copy of the network used for generation (cached)."""
        if self._cell is None:
            self._cell = WindowCell(self.network)
        return self._cell

    # ----- scoring --------------------------------------------------------------
    @torch.no_grad()
    def stream_log_probs(self, stream: np.ndarray, first: int) -> np.ndarray:
        """Natural-log probability of ``stream[t]`` given the ``window`` tokens before it,
        for every ``t >= first`` (``first >= window``); float64 [len(stream) - first]."""
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
            raise ScoreError("the melody has no notes: the seed model has nothing to score")
        stream = np.concatenate([np.full(self.window, SEPARATOR_ID, dtype=np.int64), ids])
        return float(self.stream_log_probs(stream, self.window).mean() / math.log(2))

    def bits_per_step(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> float:
        """Loss in bits per token of ``notes`` over ``timeline`` (``-log_likelihood``)."""
        return -self.log_likelihood(timeline, notes)

    # ----- generation -----------------------------------------------------------
    def generate(
        self,
        timeline: ChordTimeline,
        controls: "SamplingControls | None" = None,
        primer: Sequence[MelodyNote] = (),
    ) -> "GeneratedMelody":
        """Sample a melody over ``timeline`` MelGen's way; the likeliest candidate wins.

        No ``controls``: the checkpoint's recommended settings (``SamplingControls.for_model``).
        """
        from music21_melgen.sampling import SamplingControls

        candidates = sample_windowed(self, timeline, controls if controls is not None else SamplingControls.for_model(self), primer)
        return max(candidates, key=lambda melody: melody.log_likelihood)  # ties: the lowest index


def _primer(
    model: SeedMelodyModel, grid: SeedGrid, primer: Sequence[MelodyNote]
) -> tuple[np.ndarray, int, dict[int, int]]:
    """Primer tokens on the grid, the step where generation starts, and onset step → MIDI."""
    if not primer:
        return np.zeros(0, dtype=np.int64), 0, {}
    begin, end = grid.offset(0), grid.offset(grid.length)
    for note in primer:
        if note.offset < begin or note.end > end or note.length <= 0:
            raise GenerationError(
                f"primer note at {note.offset} (length {note.length}) lies outside the timeline ({begin} .. {end})"
            )
    tokens = model.representation.grid_tokens(grid, primer)
    start = min(max(grid.step_of(max(note.end for note in primer)), 1), grid.length)
    if start >= grid.length:
        raise GenerationError("the primer fills the whole timeline: nothing is left to generate")
    pitches = {grid.step_of(note.offset): note.midi for note in primer}
    return tokens[:start], start, pitches


def _place_octave(midis: list[int], low: int, high: int) -> list[int]:
    """Move a line by the octave that puts most notes in ``low .. high``, then fold the rest in."""
    if not midis:
        return []
    values = np.array(midis)
    centre = (low + high) / 2
    best = max(
        range(-6, 7),
        key=lambda k: (
            int(((values + 12 * k >= low) & (values + 12 * k <= high)).sum()),
            -abs(float(values.mean()) + 12 * k - centre),
        ),
    )
    placed = []
    for midi in (values + 12 * best).tolist():
        while midi < low:
            midi += 12
        while midi > high:
            midi -= 12
        placed.append(int(midi))
    return placed


@dataclass(frozen=True)
class WindowedSample:
    """The tokens :func:`sample_tokens` drew, before they become notes."""

    grid: SeedGrid  # the timeline on MelGen's grid
    tokens: np.ndarray  # int64 [B, T], one token per step for each candidate (primer included)
    log_likelihood: np.ndarray  # float64 [B], mean log2-probability per generated step, raw model
    start: int  # first generated step (the primer fills the steps before)
    primer_pitches: dict[int, int]  # onset step → MIDI pitch of each primer note


def sample_windowed(
    model: SeedMelodyModel,
    timeline: ChordTimeline,
    controls: "SamplingControls",
    primer: Sequence[MelodyNote] = (),
) -> list["GeneratedMelody"]:
    """Every candidate, in order, as notes in the song's key and the singer's range."""
    from music21_melgen.sampling import GeneratedMelody

    sample = sample_tokens(model, timeline, controls, primer)
    grid, start = sample.grid, sample.start
    low, high = controls.pitch_range
    melodies = []
    for i, tokens in enumerate(sample.tokens):
        notes = model.representation.decode_on_grid(tokens, grid)
        onsets = [grid.step_of(note.offset) for note in notes]
        generated = [n for n, s in zip(notes, onsets) if s >= start]
        placed = iter(_place_octave([n.midi for n in generated], low, high))
        final = tuple(
            MelodyNote(n.offset, n.length, sample.primer_pitches.get(s, n.midi) if s < start else next(placed))
            for n, s in zip(notes, onsets)
        )
        melodies.append(GeneratedMelody(notes=final, log_likelihood=float(sample.log_likelihood[i]), candidate=i))
    return melodies


def sample_tokens(
    model: SeedMelodyModel,
    timeline: ChordTimeline,
    controls: "SamplingControls",
    primer: Sequence[MelodyNote] = (),
) -> WindowedSample:
    """MelGen's windowed sampling of ``controls.candidates`` token lines (see the module doc).

    Runs wholly on one BLAS thread, as the default model's sampling does.
    """
    with one_blas_thread():
        return _sample_tokens(model, timeline, controls, primer)


def _sample_tokens(
    model: SeedMelodyModel,
    timeline: ChordTimeline,
    controls: "SamplingControls",
    primer: Sequence[MelodyNote],
) -> WindowedSample:
    representation = model.representation
    low, high = controls.pitch_range
    if high - low < 11:
        raise GenerationError(
            f"the seed model places MelGen's notes by octaves and needs a pitch range of at least "
            f"an octave, got {low}..{high}"
        )
    grid = representation.grid(timeline)
    total = grid.length
    forced, start, primer_pitches = _primer(model, grid, primer)
    batch = controls.candidates
    window = model.window

    # What each step allows: note tokens of the chord's degree (the filter), never "/".
    is_note = representation.token_pitch >= 0  # [V]
    allowed = is_note[None, :] & (representation.token_degree[None, :] == grid.degree[:, None])  # [T, V]
    allowed[:, CONTINUE_ID] = True
    # Chord tones, judged in the song's key: token pitch moved back, against the chord sounding.
    chord_pcs = np.zeros((len(timeline.chords) + 1, 12), dtype=bool)  # last row: no chord
    for index, chord in enumerate(timeline.chords):
        chord_pcs[index, list(chord.pitch_classes)] = True
    pitch_classes = (representation.token_pitch[None, :] - grid.shift[:, None]) % 12  # [T, V]
    tone = chord_pcs[grid.chord_index][np.arange(total)[:, None], pitch_classes] & is_note[None, :]
    weight = np.where(tone, float(controls.chord_tone_weight), 1.0)  # [T, V]
    ends = np.array([float(b) for b in grid.boundaries])  # quarter lengths of step boundaries
    longest = _longest_quarters(controls.longest_note, timeline, grid)  # [T], for a note begun at each step
    reduction_start, growth = controls.continuation_reduction or (1.0, 1.0)
    inverse_temperature = 1.0 / (MELGEN_TEMPERATURE * float(controls.temperature))
    top_p = float(controls.top_p)

    uniforms = np.stack(
        [np.random.default_rng(np.random.SeedSequence([controls.seed, i])).random(total) for i in range(batch)]
    )
    cell = model.cell()
    streams = np.full((batch, window + total), SEPARATOR_ID, dtype=np.int64)  # window of "/" first
    streams[:, window : window + start] = forced
    onset = np.zeros(batch, dtype=np.int64)  # step where the sounding note began
    sounding = np.zeros(batch, dtype=bool)
    if start:
        notes_before = np.flatnonzero(is_note[forced])
        if len(notes_before):
            sounding[:] = True
            onset[:] = notes_before[-1]
    factor = np.full(batch, float(reduction_start))
    log_likelihood = np.zeros(batch)
    _sample_steps(
        cell, streams, uniforms, allowed, weight, is_note, ends, longest, (reduction_start, growth),
        inverse_temperature, top_p, start, onset, sounding, factor, log_likelihood,
    )
    steps = max(total - start, 1)
    return WindowedSample(grid, streams[:, window:].copy(), log_likelihood / steps / math.log(2), start, primer_pitches)


def _longest_quarters(limit: Fraction | Bars | None, timeline: ChordTimeline, grid: SeedGrid) -> np.ndarray:
    """Quarter lengths a note begun at each step may last (``inf``: no limit), float [T]."""
    total = grid.length
    if limit is None:
        return np.full(total, math.inf)
    if not isinstance(limit, Bars):
        return np.full(total, float(limit))
    measure_of_step = np.searchsorted(grid.measure_start, np.arange(total), side="right") - 1
    bars = [float(limit.quarters(measure)) for measure in timeline.measures]
    return np.array([bars[min(max(int(m), 0), len(bars) - 1)] for m in measure_of_step])


def _sample_steps(
    cell: WindowCell,
    streams: np.ndarray,
    uniforms: np.ndarray,
    allowed: np.ndarray,
    weight: np.ndarray,
    is_note: np.ndarray,
    ends: np.ndarray,
    longest: np.ndarray,
    reduction: tuple[float, float],
    inverse_temperature: float,
    top_p: float,
    start: int,
    onset: np.ndarray,
    sounding: np.ndarray,
    factor: np.ndarray,
    log_likelihood: np.ndarray,
) -> None:
    """MelGen's step loop: fills ``streams`` [B, W + T] and ``log_likelihood`` [B] (nats) in place."""
    batch, vocab = uniforms.shape[0], allowed.shape[1]
    window = streams.shape[1] - uniforms.shape[1]
    total = uniforms.shape[1]
    reduction_start, growth = reduction
    rows = np.arange(batch)
    for t in range(start, total):
        logits = cell.logits(streams[:, t : t + window])  # the whole window, every step
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        p = reweight_notes(np.exp(shifted * inverse_temperature), allowed[t] * weight[t], is_note)
        can_hold = sounding & (ends[t + 1] - ends[onset] <= longest[onset] + 1e-9)
        p[:, CONTINUE_ID] *= can_hold / factor
        empty = p.sum(axis=1) == 0
        if empty.any():  # the filter left nothing: drop it for this step
            p[empty] = np.exp(shifted[empty] * inverse_temperature) * is_note
        p /= p.sum(axis=1, keepdims=True)
        if top_p < 1.0:
            order = np.argsort(-p, axis=1, kind="stable")
            sorted_p = np.take_along_axis(p, order, axis=1)
            keep_sorted = (np.cumsum(sorted_p, axis=1) - sorted_p) < top_p
            keep = np.zeros_like(keep_sorted)
            np.put_along_axis(keep, order, keep_sorted, axis=1)
            p *= keep
        cdf = np.cumsum(p, axis=1)
        event = np.minimum((cdf < uniforms[:, t : t + 1] * cdf[:, -1:]).sum(axis=1), vocab - 1)
        log_likelihood += shifted[rows, event] - log_norm
        new_note = event != CONTINUE_ID
        onset = np.where(new_note, t, onset)
        sounding |= new_note
        factor = np.where(new_note, reduction_start, factor * growth)
        streams[:, window + t] = event
