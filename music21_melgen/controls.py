"""The sampling controls: every knob a user can turn, with its unit, direction and check.

:class:`SamplingControls` is the one list (:data:`CONTROLS` is its field names
but the random seed): the engine, the accessor, batch, the CLI and the
checkpoints' recommendations all take each control by this name.

**Per-model defaults.** Each checkpoint recommends its own settings (the
``sampling`` object of its ``config.json``, see :func:`controls_from_json`);
:meth:`SamplingControls.for_model` starts from them and applies what the
caller gave. The user-facing entry points (``engine.generate``, the
accessor, ``melgen generate`` / ``batch`` / ``evaluate``) take every control
as :data:`MODEL_DEFAULT` ("not given") unless the user sets it. A
``SamplingControls`` built directly uses the class defaults below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from music21_melgen.errors import GenerationError
from music21_melgen.form import ECHO_HARMONIES
from music21_melgen.timeline import MeasureSpan

__all__ = [
    "MODEL_DEFAULT",
    "CONTROLS",
    "RECOMMENDABLE",
    "MAX_CANDIDATES",
    "Bars",
    "SILENT_SECTIONS",
    "SamplingControls",
    "section_key",
    "controls_from_json",
    "controls_to_json",
]

MAX_CANDIDATES = 64  # best-of-N beyond this costs time and buys nothing measurable
# Sane bounds of the other numbers (a checkpoint's recommendation is checked against them):
# beyond them the arithmetic of sampling would overflow or underflow, and nothing musical is lost.
TEMPERATURE_BOUNDS = (1e-6, 1000.0)  # below the lower bound sampling is greedy decoding already
WEIGHT_BOUNDS = (1e-6, 1e6)  # chord_tone_weight
REDUCTION_BOUNDS = (1e-3, 1e3)  # each of continuation_reduction's (start, growth)
MAX_QUARTERS = 1_000_000  # longest_note and longest_rest, in quarter lengths
MAX_BARS = 10_000  # longest_note as Bars(n)
MAX_SECTION_NAMES = 64  # silent_sections: names, each of at most MAX_SECTION_NAME characters
MAX_SECTION_NAME = 64
# Sections where a song's melody is silent, by the names the Rock Corpus analysts and lead
# sheets give them: of the Rock Corpus measures (train and validation songs) in sections so
# named (4,478, both analysts), 90 % hold no melody note, against 16 % in verses and
# choruses (docs/form.md).
SILENT_SECTIONS = (
    "intro", "in", "ip", "instrumental", "inst", "vinst", "solo", "so", "break", "bk", "interlude",
)


def _is_number(value: object) -> bool:
    """A finite int, float or Fraction (not a bool); a huge int counts (the bounds then refuse it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        return False
    return not isinstance(value, float) or math.isfinite(value)


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
    # Form: the chance, 0..1, that a measure which echoes an earlier one (music21_melgen.form)
    # repeats it exactly; otherwise the model writes it, seeing the earlier measure, and
    # echoes it as real songs do. 0 = as the model learned, 1 = exact repetition wherever
    # the rules allow.
    repetition: float = 0.0
    # Which passages echo (music21_melgen.form.find_form): "chords" = the same chords at the
    # same beats as an earlier passage; "roots" = also, where there is no such passage, the
    # same chord roots in each measure (chords found by an algorithm, C here and Cmaj7 there).
    echo_harmony: str = "chords"
    # Section names (see section_key) where the melody rests throughout: an intro, a solo.
    # Sections come from the Rock Corpus analysis or the score's rehearsal marks; () = none.
    silent_sections: tuple[str, ...] = SILENT_SECTIONS

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise GenerationError(f"seed must be a non-negative integer, got {self.seed!r}")
        low, high = TEMPERATURE_BOUNDS
        if not _is_number(self.temperature) or not low <= self.temperature <= high:
            raise GenerationError(f"temperature must be a number in {low:g}..{high:g}, got {self.temperature!r:.40}")
        if not _is_number(self.top_p) or not 0 < self.top_p <= 1:
            raise GenerationError(f"top_p must lie in (0, 1], got {self.top_p!r:.40}")
        low, high = WEIGHT_BOUNDS
        if not _is_number(self.chord_tone_weight) or not low <= self.chord_tone_weight <= high:
            raise GenerationError(
                f"chord_tone_weight must be a number in {low:g}..{high:g}, got {self.chord_tone_weight!r:.40}"
            )
        reduction = self.continuation_reduction
        if reduction is not None:
            low, high = REDUCTION_BOUNDS
            if (
                not isinstance(reduction, tuple)
                or len(reduction) != 2
                or not all(_is_number(x) and low <= x <= high for x in reduction)
            ):
                raise GenerationError(
                    f"continuation_reduction must be None or (start, growth), two numbers in {low:g}..{high:g}; "
                    f"got {reduction!r:.80}"
                )
        if isinstance(self.longest_note, Bars) and self.longest_note.count > MAX_BARS:
            raise GenerationError(f"longest_note must be at most Bars({MAX_BARS}), got {self.longest_note!r:.40}")
        if self.longest_note is not None and not isinstance(self.longest_note, Bars):
            if not _is_number(self.longest_note) or not 0 < self.longest_note <= MAX_QUARTERS:
                raise GenerationError(
                    f"longest_note must be a quarter length in (0, {MAX_QUARTERS}] or Bars(n), "
                    f"got {self.longest_note!r:.40}"
                )
            object.__setattr__(self, "longest_note", Fraction(self.longest_note).limit_denominator(10_000))
        if self.longest_rest is not None:
            if not _is_number(self.longest_rest) or not 0 < self.longest_rest <= MAX_QUARTERS:
                raise GenerationError(
                    f"longest_rest must be a quarter length in (0, {MAX_QUARTERS}], got {self.longest_rest!r:.40}"
                )
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
        if not _is_number(self.repetition) or not 0 <= self.repetition <= 1:
            raise GenerationError(f"repetition must lie in 0..1, got {self.repetition!r}")
        if self.echo_harmony not in ECHO_HARMONIES:
            raise GenerationError(f"echo_harmony must be one of {', '.join(ECHO_HARMONIES)}, got {self.echo_harmony!r:.40}")
        names = self.silent_sections
        if (
            not isinstance(names, tuple)
            or len(names) > MAX_SECTION_NAMES
            or not all(isinstance(n, str) and 0 < len(n) <= MAX_SECTION_NAME and section_key(n) for n in names)
        ):
            raise GenerationError(
                f"silent_sections must be at most {MAX_SECTION_NAMES} section names (letters, at most "
                f"{MAX_SECTION_NAME} characters each), got {names!r:.80}"
            )
        object.__setattr__(self, "silent_sections", tuple(section_key(n) for n in names))

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


def section_key(name: str) -> str:
    """A section name as compared: lower case, without the digits, primes and spaces that number it.

    >>> section_key("Intro 2"), section_key("Vr2"), section_key("Solo'")
    ('intro', 'vr', 'solo')
    """
    return name.strip().lower().rstrip("0123456789'′ .-_").strip()


# The one list of sampling controls: every field of SamplingControls but the random
# seed. A checkpoint may recommend each; the engine, the accessor, batch and the CLI
# take each by this name.
CONTROLS = tuple(f.name for f in fields(SamplingControls) if f.name != "seed")
RECOMMENDABLE = CONTROLS  # the controls a checkpoint may recommend


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
