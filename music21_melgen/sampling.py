"""Stateful, batched melody sampling with the controls a user can turn.

Generation walks the grid once (O(steps)), carrying the LSTM state, for all
candidates at once. It does not call ``nn.LSTM`` step by step (each call costs
hundreds of microseconds of overhead): the weights are taken out as float64
numpy arrays and the cell is written by hand. The conditioning part of the
first layer's input projection is computed a block of 256 steps per product
(the harmony is known in advance) and the embedding part is a table (V × 4H),
so a step costs ``gates = pre[t] + table[prev] + W_hh h`` plus the upper
layers. Each candidate's recurrent product is its own matrix-vector product,
so its arithmetic is bit for bit the same at any batch size.

Per step, for every candidate, in this order: logits / temperature → softmax;
forbidden events get zero (NOTEs outside ``pitch_range``; HOLD with no note
sounding or past ``longest_note``, in quarter lengths or in :class:`Bars` of
the meter where the note began; REST past ``longest_rest``); chord tones ×
``chord_tone_weight``, the notes then scaled back to their share before it
(the weight picks which note starts, not whether one does); HOLD ÷ the
continuation-reduction factor; keep the nucleus (``top_p``); draw with the candidate's own random stream. Candidate
``i`` draws from a numpy ``Generator`` seeded with ``(seed, i)``, so a
candidate's melody does not depend on how many others run beside it. The
best candidate is the one the raw model (temperature 1, no controls) finds
likeliest.

Sampling (set-up and step loop) runs with numpy's BLAS held to one thread
(``threadpoolctl``): the products are tiny, and more BLAS threads only spin
and fight over the cores (a melody took 154 ms instead of 68 ms on a busy
2-core machine).

**Per-model defaults.** Each checkpoint recommends its own settings (the
``sampling`` object of its ``config.json``, see :func:`controls_from_json`);
:meth:`SamplingControls.for_model` starts from them and applies what the
caller gave. The user-facing entry points (``engine.generate``, the
accessor, ``melgen generate`` / ``batch`` / ``evaluate``) take every control
as :data:`MODEL_DEFAULT` ("not given") unless the user sets it. A
``SamplingControls`` built directly uses the class defaults below.

Numpy only; torch is needed only to build a model, not to sample from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from music21_melgen.encoding import HOLD, REST
from music21_melgen.errors import GenerationError
from music21_melgen.timeline import ChordTimeline, MeasureSpan, MelodyNote

if TYPE_CHECKING:
    from music21_melgen.model import LstmMelodyModel, MelodyModel

__all__ = [
    "MODEL_DEFAULT",
    "RECOMMENDABLE",
    "Bars",
    "SamplingControls",
    "controls_from_json",
    "controls_to_json",
    "one_blas_thread",
    "GeneratedMelody",
    "generate_melody",
    "sample_lstm",
    "sample_lstm_candidates",
    "HandLstm",
    "reweight_notes",
]

MAX_CANDIDATES = 64  # best-of-N beyond this costs time and buys nothing measurable


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool) and math.isfinite(value)


class _ModelDefault:
    """The type of :data:`MODEL_DEFAULT`; one instance, falsy, shown by name."""

    _instance: "_ModelDefault | None" = None

    def __new__(cls) -> "_ModelDefault":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MODEL_DEFAULT"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MODEL_DEFAULT"  # unpickles (in pool and Dask workers) as the same instance


# "Not given": the model's recommended value is used (see SamplingControls.for_model).
# None keeps its own meaning in the controls (continuation reduction off, no limit).
MODEL_DEFAULT: Any = _ModelDefault()


@dataclass(frozen=True)
class Bars:
    """A length in bars of the meter in force where a note begins.

    ``Bars(1)`` is 4 quarters in 4/4, 3 in 3/4, 3 (a dotted half) in 6/8, also
    in a pickup measure (the meter's bar, not the shorter measure).

    >>> Bars(1), Bars(1.5).count
    (Bars(1), Fraction(3, 2))
    >>> Bars(0)
    Traceback (most recent call last):
    music21_melgen.errors.GenerationError: Bars needs a positive number of bars, got 0
    """

    count: Fraction  # bars, > 0

    def __post_init__(self) -> None:
        if not _is_number(self.count) or self.count <= 0:
            raise GenerationError(f"Bars needs a positive number of bars, got {self.count!r}")
        object.__setattr__(self, "count", Fraction(self.count).limit_denominator(10_000))

    def __repr__(self) -> str:
        count = self.count
        return f"Bars({count.numerator if count.denominator == 1 else float(count)})"

    def quarters(self, measure: MeasureSpan) -> Fraction:
        """Quarter lengths of this many bars of ``measure``'s meter (its own length if unreadable).

        >>> from music21_melgen.timeline import MeasureSpan
        >>> Bars(1).quarters(MeasureSpan(1, Fraction(0), Fraction(1), "6/8", Fraction(3, 2)))
        Fraction(3, 1)
        """
        numerator, _, denominator = measure.time_signature.partition("/")
        try:
            beats = sum(int(part) for part in numerator.split("+"))
            bar = Fraction(4 * beats, int(denominator))
        except (ValueError, ZeroDivisionError):
            bar = measure.length
        return self.count * (bar if bar > 0 else measure.length)


@dataclass(frozen=True)
class SamplingControls:
    """How to sample: every knob with its unit and direction.

    >>> SamplingControls(temperature=0.8, seed=3).temperature
    0.8
    >>> SamplingControls(top_p=0)
    Traceback (most recent call last):
    music21_melgen.errors.GenerationError: top_p must lie in (0, 1], got 0
    """

    seed: int = 0  # random seed; the same inputs and seed give the same melody
    temperature: float = 1.0  # <1 safer, >1 wilder
    top_p: float = 0.95  # nucleus: sample among the likeliest events holding this much probability; 1.0 = off
    chord_tone_weight: float = 1.0  # multiplies notes of the current chord against other notes (1.0 = model as is)
    continuation_reduction: tuple[float, float] | None = (1.3, 1.4)  # (start, growth) of MelGen's HOLD divisor; None = off
    # Quarter lengths, or Bars(n) of the meter where the note begins; a hold past it is
    # forbidden; None = no limit.
    longest_note: Fraction | Bars | None = None
    pitch_range: tuple[int, int] = (55, 79)  # lowest and highest MIDI pitch allowed, inclusive
    # Quarter lengths; a rest past it is forbidden, a note must start; None = no limit. The
    # model learned the corpus's instrumental breaks, and a sampled rest can otherwise go on
    # for the rest of the piece; 8 quarters (two 4/4 bars) cut 10 % of the corpus's rests.
    longest_rest: Fraction | None = Fraction(8)
    candidates: int = 1  # melodies sampled; the one the model finds likeliest is kept

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise GenerationError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not _is_number(self.temperature) or self.temperature <= 0:
            raise GenerationError(f"temperature must be a positive number, got {self.temperature!r}")
        if not _is_number(self.top_p) or not 0 < self.top_p <= 1:
            raise GenerationError(f"top_p must lie in (0, 1], got {self.top_p!r}")
        if not _is_number(self.chord_tone_weight) or self.chord_tone_weight <= 0:
            raise GenerationError(f"chord_tone_weight must be a positive number, got {self.chord_tone_weight!r}")
        reduction = self.continuation_reduction
        if reduction is not None:
            if (
                not isinstance(reduction, tuple)
                or len(reduction) != 2
                or not all(_is_number(x) and x > 0 for x in reduction)
            ):
                raise GenerationError(
                    f"continuation_reduction must be None or (start, growth), two positive numbers; got {reduction!r}"
                )
        if self.longest_note is not None and not isinstance(self.longest_note, Bars):
            if not _is_number(self.longest_note) or self.longest_note <= 0:
                raise GenerationError(
                    f"longest_note must be a positive quarter length or Bars(n), got {self.longest_note!r}"
                )
            object.__setattr__(self, "longest_note", Fraction(self.longest_note).limit_denominator(10_000))
        if self.longest_rest is not None:
            if not _is_number(self.longest_rest) or self.longest_rest <= 0:
                raise GenerationError(f"longest_rest must be a positive quarter length, got {self.longest_rest!r}")
            object.__setattr__(self, "longest_rest", Fraction(self.longest_rest).limit_denominator(10_000))
        low_high = self.pitch_range
        if (
            not isinstance(low_high, tuple)
            or len(low_high) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in low_high)
            or not 0 <= low_high[0] <= low_high[1] <= 127
        ):
            raise GenerationError(f"pitch_range must be (low, high) MIDI numbers with 0 <= low <= high <= 127, got {low_high!r}")
        if (
            not isinstance(self.candidates, int)
            or isinstance(self.candidates, bool)
            or not 1 <= self.candidates <= MAX_CANDIDATES
        ):
            raise GenerationError(f"candidates must be an integer in 1..{MAX_CANDIDATES}, got {self.candidates!r}")


    @classmethod
    def for_model(cls, model: Any, **given: Any) -> "SamplingControls":
        """The controls to sample ``model`` with: its recommendation, then what was ``given``.

        ``model`` is a loaded model (its ``config`` holds the checkpoint's
        ``sampling`` object) or that object itself as a mapping; a control not
        in the recommendation takes the class default. A ``given`` value of
        :data:`MODEL_DEFAULT` counts as not given.

        >>> SamplingControls.for_model({"top_p": 0.5}, seed=2).top_p
        0.5
        >>> SamplingControls.for_model({"top_p": 0.5}, top_p=0.9, temperature=MODEL_DEFAULT).top_p
        0.9
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise GenerationError(f"unknown sampling control(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        recommendation = model if isinstance(model, Mapping) else (getattr(model, "config", None) or {}).get("sampling")
        settings = controls_from_json(recommendation or {})
        settings.update(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in given.items()
            if value is not MODEL_DEFAULT
        )
        return cls(**settings)


# Controls a checkpoint may recommend (all but the seed).
RECOMMENDABLE = tuple(f.name for f in fields(SamplingControls) if f.name != "seed")


def controls_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`SamplingControls` from a checkpoint's ``sampling`` object.

    Keys are :data:`RECOMMENDABLE` (any may be left out); numbers as JSON
    numbers, ``continuation_reduction`` and ``pitch_range`` as two-element
    lists, ``null`` for off / no limit, ``longest_note`` as quarter lengths or
    ``{"bars": n}``. Every value is checked; GenerationError says which is bad.

    >>> controls_from_json({"top_p": 1.0, "continuation_reduction": None, "longest_note": {"bars": 1}})
    {'top_p': 1.0, 'continuation_reduction': None, 'longest_note': Bars(1)}
    >>> controls_from_json({"top_p": 2})
    Traceback (most recent call last):
    music21_melgen.errors.GenerationError: sampling: top_p must lie in (0, 1], got 2
    """
    if not isinstance(data, Mapping):
        raise GenerationError(f"sampling must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(RECOMMENDABLE))
    if unknown:
        raise GenerationError(f"sampling: unknown setting(s) {', '.join(map(str, unknown))} (known: {', '.join(RECOMMENDABLE)})")
    settings: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, list):
            value = tuple(value)
        elif name == "longest_note" and isinstance(value, Mapping):
            if set(value) != {"bars"}:
                raise GenerationError(f'sampling: longest_note must be quarter lengths, {{"bars": n}} or null, got {value!r}')
            try:
                value = Bars(value["bars"])
            except GenerationError as error:
                raise GenerationError(f"sampling: longest_note: {error}") from None
        settings[name] = value
    try:
        SamplingControls(**settings)
    except GenerationError as error:
        raise GenerationError(f"sampling: {error}") from None
    return settings


def controls_to_json(controls: SamplingControls | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form :func:`controls_from_json` reads (all fields of a ``SamplingControls``).

    >>> controls_to_json({"longest_note": Bars(1), "longest_rest": Fraction(8), "continuation_reduction": (1.3, 1.4)})
    {'longest_note': {'bars': 1}, 'longest_rest': 8, 'continuation_reduction': [1.3, 1.4]}
    """
    items = (
        {f.name: getattr(controls, f.name) for f in fields(controls)}
        if isinstance(controls, SamplingControls)
        else dict(controls)
    )

    def plain(value: Any) -> Any:
        if isinstance(value, Bars):
            return {"bars": plain(value.count)}
        if isinstance(value, Fraction):
            return value.numerator if value.denominator == 1 else float(value)
        if isinstance(value, (tuple, list)):
            return [plain(part) for part in value]
        return value

    return {name: plain(value) for name, value in items.items()}


def one_blas_thread() -> threadpool_limits:
    """A context that holds numpy's BLAS to one thread (the sampling loops run inside it)."""
    return threadpool_limits(1, user_api="blas")


@dataclass(frozen=True)
class GeneratedMelody:
    """The melody kept: notes on the timeline's axis, and how likely the model finds it."""

    notes: tuple[MelodyNote, ...]  # on the timeline's axis; the primer (snapped to the grid) comes first
    log_likelihood: float  # mean log2-probability per generated step under the raw model (bits, ≤ 0)
    candidate: int  # index of the chosen candidate, 0 .. candidates - 1


def generate_melody(
    model: "MelodyModel",
    timeline: ChordTimeline,
    controls: SamplingControls | None = None,
    primer: Sequence[MelodyNote] = (),
) -> GeneratedMelody:
    """Write a melody over ``timeline`` with any melody model (``default``, ``seed``, a checkpoint).

    ``controls``: how to sample; None = the model's recommended settings
    (:meth:`SamplingControls.for_model`).

    ``primer``: melody notes at the start of the timeline that the generated
    line continues (fed through the model as they are, then sampling goes on
    after the primer's last note ends).
    """
    if not isinstance(timeline, ChordTimeline):
        raise GenerationError(f"timeline must be a ChordTimeline, got {type(timeline).__name__}")
    if controls is None:
        controls = SamplingControls.for_model(model)
    if not isinstance(controls, SamplingControls):
        raise GenerationError(f"controls must be SamplingControls, got {type(controls).__name__}")
    primer = tuple(primer)
    if not all(isinstance(note, MelodyNote) for note in primer):
        raise GenerationError("primer must be a sequence of MelodyNote")
    return model.generate(timeline, controls, primer)


def _rows_times(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows @ matrix.T`` one row at a time ([B, in] → [B, out]).

    Each row is its own matrix-vector product, so a row's result is bit for
    bit the same whatever the batch size (a matrix-matrix product may sum in
    another order when more rows come along), and OpenBLAS's small float64
    matrix-matrix product is no faster here than B matrix-vector products.
    """
    if len(rows) == 1:
        return (matrix @ rows[0])[None]
    return (matrix @ rows[:, :, None])[:, :, 0]


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


class HandLstm:
    """The LSTM cell stack in float64 numpy, stepped one grid step at a time.

    Built from :meth:`LstmMelodyModel.numpy_weights`; :meth:`start` takes the
    conditioning of the whole timeline and precomputes the first layer's
    input projection.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.embedding = weights["embedding"]
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
        h = self.hidden
        # tanh(x / 2) gives the sigmoid gates (i, f, o) as 0.5 + 0.5 tanh(x / 2), in one call.
        self.gate_scale = np.concatenate([np.full(2 * h, 0.5), np.ones(h), np.full(h, 0.5)])

    def start(self, conditioning: np.ndarray, batch: int) -> "_Projection":
        """Zero the state for ``batch`` rows; return the conditioning projection, ``pre[t]`` = [4H]."""
        self.h = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        self.c = [np.zeros((batch, self.hidden)) for _ in range(self.layers)]
        return _Projection(conditioning, self.w_cond_t)

    def step(self, pre_t: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """Advance one step from the previous events ``prev`` [B]; return logits [B, V]."""
        size = self.hidden
        x = prev
        for layer in range(self.layers):
            if layer == 0:
                gates = pre_t + self.table[prev]  # input projection: precomputed + table
            else:
                gates = self.bias[layer] + _rows_times(self.w_ih[layer], x)
            gates += _rows_times(self.w_hh[layer], self.h[layer])
            t = np.tanh(gates * self.gate_scale)
            sig = 0.5 + 0.5 * t  # sigmoid of the input, forget and output gates (where used)
            c = sig[:, size : 2 * size] * self.c[layer] + sig[:, :size] * t[:, 2 * size : 3 * size]
            x = sig[:, 3 * size :] * np.tanh(c)
            self.c[layer] = c
            self.h[layer] = x
        return _rows_times(self.head_w, x) + self.head_b


def _primer_events(model: "LstmMelodyModel", encoded, primer: Sequence[MelodyNote]) -> tuple[np.ndarray, int]:
    """Primer events on the grid and the step where generation starts."""
    grid = encoded.grid
    if not primer:
        return np.zeros(0, dtype=np.int64), 0
    end_offset = grid.offset(grid.length)
    for note in primer:
        if note.offset < grid.origin or note.end > end_offset or note.length <= 0:
            raise GenerationError(
                f"primer note at {note.offset} (length {note.length}) lies outside the timeline "
                f"({grid.origin} .. {end_offset})"
            )
    events = model.representation.encode_melody(encoded, primer)
    start = min(max(grid.step_of(max(note.end for note in primer)), 1), grid.length)
    if start >= grid.length:
        raise GenerationError("the primer fills the whole timeline: nothing is left to generate")
    return events[:start], start


def sample_lstm(
    model: "LstmMelodyModel",
    timeline: ChordTimeline,
    controls: SamplingControls,
    primer: Sequence[MelodyNote] = (),
) -> GeneratedMelody:
    """Sample ``controls.candidates`` melodies in one batch and keep the likeliest."""
    candidates = sample_lstm_candidates(model, timeline, controls, primer)
    return max(candidates, key=lambda melody: melody.log_likelihood)  # ties: the lowest index


def sample_lstm_candidates(
    model: "LstmMelodyModel",
    timeline: ChordTimeline,
    controls: SamplingControls,
    primer: Sequence[MelodyNote] = (),
) -> list[GeneratedMelody]:
    """Every candidate of one batch, in candidate order (see :func:`sample_lstm`).

    Runs wholly on one BLAS thread: a product run on two threads just before
    the loop would leave OpenBLAS's helper thread spinning through it.
    """
    with one_blas_thread():
        return _sample_lstm_candidates(model, timeline, controls, primer)


def _sample_lstm_candidates(
    model: "LstmMelodyModel",
    timeline: ChordTimeline,
    controls: SamplingControls,
    primer: Sequence[MelodyNote],
) -> list[GeneratedMelody]:
    representation = model.representation
    encoded = representation.encode_timeline(timeline)
    grid = encoded.grid
    total = grid.length
    forced, start = _primer_events(model, encoded, primer)
    batch = controls.candidates

    # What each step allows, for every event: pitch range, chord tones.
    is_note = encoded.event_midi >= 0
    low, high = controls.pitch_range
    allowed = ~is_note | ((encoded.event_midi >= low) & (encoded.event_midi <= high))  # [T, V]
    empty = np.flatnonzero(~(allowed & is_note)[start:].any(axis=1))
    if len(empty):
        step = start + int(empty[0])
        measure = timeline.measures[max(int(grid.measure_index[step]), 0)].number
        sounding = encoded.event_midi[step][is_note[step]]
        raise GenerationError(
            f"measure {measure}: pitch range {low}..{high} leaves no note the model can sing "
            f"(its notes here lie in MIDI {sounding.min()}..{sounding.max()})"
        )
    weight = np.where(encoded.chord_tone, float(controls.chord_tone_weight), 1.0) * allowed  # [T, V]
    longest = None  # steps a note begun at each step may last [T]
    if controls.longest_note is not None:
        limit = controls.longest_note
        if isinstance(limit, Bars):
            bars = {m: limit.quarters(measure) for m, measure in enumerate(timeline.measures)}
            quarters = [bars[max(int(m), 0)] for m in grid.measure_index]
        else:
            quarters = [limit] * total
        longest = np.array([math.floor(q * grid.steps_per_quarter) for q in quarters], dtype=np.int64)
        if total and longest.min() < 1:
            raise GenerationError(
                f"longest_note {limit} is shorter than one grid step (1/{grid.steps_per_quarter} quarter)"
            )
    longest_rest = None
    if controls.longest_rest is not None:
        longest_rest = math.floor(controls.longest_rest * grid.steps_per_quarter)
        if longest_rest < 1:
            raise GenerationError(
                f"longest_rest {controls.longest_rest} is shorter than one grid step "
                f"(1/{grid.steps_per_quarter} quarter)"
            )
    reduction_start, growth = controls.continuation_reduction or (1.0, 1.0)
    inverse_temperature = 1.0 / float(controls.temperature)
    top_p = float(controls.top_p)

    # One uniform per generated step from each candidate's own stream.
    uniforms = np.stack(
        [np.random.default_rng(np.random.SeedSequence([controls.seed, i])).random(total) for i in range(batch)]
    )
    cell = HandLstm(model.numpy_weights())
    pre = cell.start(encoded.conditioning, batch)
    events = np.zeros((batch, total), dtype=np.int64)
    log_likelihood = np.zeros(batch)
    _sample_steps(
        cell.step, pre, total, start, forced, weight, uniforms, longest, longest_rest,
        (reduction_start, growth), inverse_temperature, top_p, events, log_likelihood,
    )
    steps = max(total - start, 1)
    return [
        GeneratedMelody(
            notes=representation.decode_on_grid(events[i], grid),
            log_likelihood=float(log_likelihood[i] / steps / math.log(2)),
            candidate=i,
        )
        for i in range(batch)
    ]


def reweight_notes(p: np.ndarray, weight: np.ndarray, notes: slice | np.ndarray = slice(2, None)) -> np.ndarray:
    """``p * weight`` [B, V], the note events (``notes``) scaled back to their mass before it.

    ``weight`` [V] is the allowed-event mask (0 or 1) times the chord-tone
    weight. The chord-tone weight chooses *which* note starts, not *whether*
    one does: weighting chord tones up without this also raised the chance of
    a new note against HOLD and REST (chord-tone weight 1.1 gave 6–10 % more
    notes per bar on the validation songs). ``notes``: the note events, by
    default every event after REST and HOLD.

    >>> p = np.array([[0.2, 0.2, 0.3, 0.3]])  # REST, HOLD, a chord tone, another note
    >>> reweight_notes(p, np.array([1.0, 1.0, 2.0, 1.0])).round(3).tolist()
    [[0.2, 0.2, 0.4, 0.2]]
    """
    weighted = p * weight
    before = (p * (weight > 0))[:, notes].sum(axis=1, keepdims=True)
    after = weighted[:, notes].sum(axis=1, keepdims=True)
    weighted[:, notes] *= before / np.maximum(after, 1e-300)  # after == 0 only where before == 0
    return weighted


def _sample_steps(
    step: Callable[[np.ndarray, np.ndarray], np.ndarray],
    pre: "_Projection",
    total: int,
    start: int,
    forced: np.ndarray,
    weight: np.ndarray,
    uniforms: np.ndarray,
    longest: np.ndarray | None,
    longest_rest: int | None,
    reduction: tuple[float, float],
    inverse_temperature: float,
    top_p: float,
    events: np.ndarray,
    log_likelihood: np.ndarray,
) -> None:
    """The sampling loop; fills ``events`` [B, T] and ``log_likelihood`` [B] (nats) in place.

    ``longest`` [T]: steps a note begun at each step may sound (None: no limit).
    ``weight`` [T, V]: the allowed-event mask times the chord-tone weight
    (applied by :func:`reweight_notes`).
    """
    batch, vocab = uniforms.shape[0], weight.shape[1]
    reduction_start, growth = reduction
    rows = np.arange(batch)
    prev = np.full(batch, REST, dtype=np.int64)
    onset = np.zeros(batch, dtype=np.int64)  # step where the sounding note began
    rest_onset = np.zeros(batch, dtype=np.int64)  # step where the current rest began
    factor = np.full(batch, float(reduction_start))
    for t in range(total):
        logits = step(pre[t], prev)  # [B, V]
        if t < start:
            event = np.full(batch, forced[t], dtype=np.int64)  # teacher-force the primer
        else:
            # Raw model probabilities (unnormalised); their log ranks the candidates.
            raw = np.exp(logits - logits.max(axis=1, keepdims=True))
            total_raw = raw.sum(axis=1)
            # Tempered, masked and weighted; HOLD only while a note sounds, divided by the factor.
            p = reweight_notes(raw if inverse_temperature == 1.0 else raw**inverse_temperature, weight[t])
            sounding = prev != REST
            if longest is not None:
                sounding &= (t - onset) < longest[onset]
            p[:, HOLD] *= sounding / factor
            if longest_rest is not None:
                p[:, REST] *= (prev != REST) | ((t - rest_onset) < longest_rest)
            cdf = np.cumsum(p, axis=1)
            if top_p < 1.0:
                # Nucleus: keep the likeliest events until top_p of the mass is covered.
                descending = -np.sort(-p, axis=1)
                before = np.cumsum(descending, axis=1) - descending
                kept = (before < top_p * cdf[:, -1:]).sum(axis=1)
                p = np.where(p >= descending[rows, kept - 1][:, None], p, 0.0)
                cdf = np.cumsum(p, axis=1)
            # Inverse-CDF draw with this step's uniform from each candidate's stream.
            event = np.minimum((cdf < uniforms[:, t, None] * cdf[:, -1:]).sum(axis=1), vocab - 1)
            log_likelihood += np.log(raw[rows, event] / total_raw)
        onset = np.where(event >= 2, t, onset)
        rest_onset = np.where((event == REST) & (prev != REST), t, rest_onset)
        factor = np.where(event == HOLD, factor * growth, reduction_start)
        events[:, t] = event
        prev = event
