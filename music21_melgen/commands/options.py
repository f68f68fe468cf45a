"""Options shared by the ``melgen`` subcommands: argument types and the sampling controls.

``generate``, ``batch`` and ``evaluate`` take the same sampling options with
the same parsers and help; each option left out means the model's
recommended value (``MODEL_DEFAULT``).
"""

from __future__ import annotations

import argparse
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

from music21_melgen.form import ECHO_HARMONIES
from music21_melgen.sampling import CONTROLS, MODEL_DEFAULT, SILENT_SECTIONS, Bars

__all__ = [
    "SAMPLING_CONTROLS",
    "add_sampling_arguments",
    "sampling_controls",
    "parse_range",
    "parse_chord_parts",
    "parse_reduction",
    "parse_length",
    "positive_float",
    "positive_int",
    "unit_interval",
    "count",
    "recommendation",
]

_BARS = re.compile(r"^\s*(\d+(?:\.\d+)?|\d+/\d+)\s*bars?\s*$", re.IGNORECASE)

_PITCH = r"[A-Ga-g](?:#{1,2}|b{1,2})?-?\d+|\d+"
_RANGE = re.compile(rf"^\s*({_PITCH})\s*(?:\.\.|-|,|:)\s*({_PITCH})\s*$")


def _pitch_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    from music21 import pitch

    name = text[0].upper() + text[1:].replace("b", "-")
    return pitch.Pitch(name).midi


def parse_range(text: str) -> tuple[int, int]:
    """``LOW-HIGH`` in MIDI numbers or note names (``55-79``, ``G3-G5``, ``Bb3..F5``).

    >>> parse_range('G3-G5'), parse_range('55-79'), parse_range('Bb3..F5')
    ((55, 79), (55, 79), (58, 77))
    """
    found = _RANGE.match(text)
    if not found:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a range; write LOW-HIGH as MIDI numbers (55-79) or note names (G3-G5)"
        )
    low, high = (_pitch_number(part) for part in found.groups())
    if not 0 <= low <= high <= 127:
        raise argparse.ArgumentTypeError(f"range {low}-{high}: need 0 <= LOW <= HIGH <= 127")
    return low, high


def parse_reduction(text: str) -> tuple[float, float] | None:
    """``START,GROWTH`` of the continuation reduction (``1.3,1.4``), or ``off``.

    >>> parse_reduction('1.3,1.4'), parse_reduction('off')
    ((1.3, 1.4), None)
    """
    if text.strip().lower() == "off":
        return None
    try:
        start, growth = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write START,GROWTH, two numbers, e.g. 1.3,1.4") from None
    if start <= 0 or growth <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: START and GROWTH must be positive")
    return start, growth


def parse_length(text: str) -> Fraction | Bars:
    """A note length: quarter lengths (``4``, ``1.5``) or bars of the meter in force (``1bar``, ``2 bars``).

    >>> parse_length('1.5'), parse_length('1bar'), parse_length('2 bars')
    (Fraction(3, 2), Bars(1), Bars(2))
    """
    found = _BARS.match(text)
    try:
        if found:
            return Bars(Fraction(found.group(1)))
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"{text!r}: write quarter lengths (4 = a 4/4 bar) or bars of the meter (1bar)"
        ) from None
    except Exception as error:  # Bars(0): the package's GenerationError
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a length must be positive")
    return value


def _shown(name: str, value: Any) -> str:
    """A control's value as the help text shows it."""
    if value is None:
        return "off" if name == "continuation_reduction" else "no limit"
    if isinstance(value, Bars):
        return f"{value.count} bar" + ("" if value.count == 1 else "s")
    if isinstance(value, tuple):
        return ("-" if name == "pitch_range" else ",").join(str(part) for part in value)
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else str(float(value))
    return str(value)


@lru_cache(maxsize=None)
def recommendation(name: str) -> str:
    """Help text for a control left unset: the model's recommendation, as the bundled models give it.

    >>> recommendation('continuation_reduction')
    "default: the model's own; bundled models: default off, pop off, melgen2019 1.3,1.4"
    """
    from music21_melgen.checkpoint import BUNDLED_MODELS, recommended_sampling
    from music21_melgen.errors import CheckpointError
    from music21_melgen.sampling import SamplingControls

    shown = []
    for model in BUNDLED_MODELS:
        try:
            value = getattr(SamplingControls(**recommended_sampling(model)), name)
        except CheckpointError:
            continue
        shown.append(f"{model} {_shown(name, value)}")
    return "default: the model's own" + (f"; bundled models: {', '.join(shown)}" if shown else "")


def parse_form(text: str) -> str | None:
    """``auto``, ``none`` (form off), letters over equal phrases, or passages by measure (argparse type).

    >>> parse_form('AABA'), parse_form('none'), parse_form('auto'), parse_form('9-16=1-8')
    ('AABA', None, 'auto', '9-16=1-8')
    """
    value = text.strip()
    if value.lower() == "none":
        return None
    if value.lower() == "auto":
        return "auto"
    if not value.isalpha() and not ("=" in value and set(value) <= set("0123456789-=, ")):
        raise argparse.ArgumentTypeError(
            f"form must be auto, none, letters such as AABA or passages such as 9-16=1-8, got {text!r}"
        )
    return value


def parse_chord_parts(text: str) -> list[int | str]:
    """Comma-separated part names or numbers counted from 1 (top part = 1), as 0-based indices.

    >>> parse_chord_parts('2,Piano')
    [1, 'Piano']
    """
    chosen: list[int | str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.isdigit():
            if int(item) < 1:
                raise argparse.ArgumentTypeError("part numbers count from 1 (the top part)")
            chosen.append(int(item) - 1)
        else:
            chosen.append(item)
    if not chosen:
        raise argparse.ArgumentTypeError("name at least one part")
    return chosen


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def unit_interval(text: str) -> float:
    """A number in 0..1 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} must lie in 0..1")
    return value


def count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative whole number")
    return int(text)


def parse_sections(text: str) -> tuple[str, ...]:
    """``'intro,solo'`` → ``('intro', 'solo')``; ``'none'`` → ``()`` (argparse type).

    >>> parse_sections("Intro, Solo"), parse_sections("none")
    (('Intro', 'Solo'), ())
    """
    if text.strip().lower() == "none":
        return ()
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"give section names separated by commas, or none; got {text!r}")
    return names


def positive_int(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


# The sampling controls every command takes: the one list, as ``SamplingControls`` names them.
SAMPLING_CONTROLS = CONTROLS


def add_sampling_arguments(parser: Any) -> None:
    """The sampling options shared by ``generate``, ``batch`` and ``evaluate``.

    Each defaults to ``MODEL_DEFAULT``, which means the model's recommended value.
    """
    parser.add_argument(
        "--temperature", type=positive_float, default=MODEL_DEFAULT, metavar="T",
        help="divides the model's log-probabilities: below 1 safer and more repetitive, "
        f"above 1 wilder ({recommendation('temperature')}; the melgen2019 model also applies "
        "MelGen's 0.7)",
    )
    parser.add_argument(
        "--top-p", type=positive_float, default=MODEL_DEFAULT, metavar="P",
        help="sample only among the likeliest events holding this share of the probability, "
        f"in (0, 1]; lower is safer, 1 turns it off ({recommendation('top_p')})",
    )
    parser.add_argument(
        "--chord-tone-weight", type=positive_float, default=MODEL_DEFAULT, metavar="W",
        help="weighs notes of the sounding chord against the other notes (how often a note "
        "starts stays the model's): above 1 more chord tones, below 1 fewer, 1 = the model "
        f"as trained ({recommendation('chord_tone_weight')})",
    )
    reduction = parser.add_mutually_exclusive_group()
    reduction.add_argument(
        "--continuation-reduction", type=parse_reduction, default=MODEL_DEFAULT, metavar="START,GROWTH",
        help="MelGen's cure for stuck notes: the chance to hold a note is divided by START, "
        "and the divisor grows by GROWTH times each sixteenth it is held; larger values give "
        f"shorter notes; off = none ({recommendation('continuation_reduction')})",
    )
    reduction.add_argument(
        "--no-continuation-reduction", dest="continuation_reduction", action="store_const", const=None,
        help="hold notes as long as the model likes",
    )
    parser.add_argument(
        "--candidates", type=positive_int, default=MODEL_DEFAULT, metavar="N",
        help="sample N melodies and keep the one the model finds likeliest; more is slower "
        f"and safer ({recommendation('candidates')})",
    )
    parser.add_argument(
        "--range", dest="pitch_range", type=parse_range, default=MODEL_DEFAULT, metavar="LOW-HIGH",
        help="lowest and highest melody pitch, MIDI numbers or note names, e.g. G3-G5 "
        f"({recommendation('pitch_range')})",
    )
    parser.add_argument(
        "--longest-note", type=parse_length, default=MODEL_DEFAULT, metavar="QL|Nbar",
        help="longest note, in quarter notes (4 = a 4/4 bar) or in bars of the meter where "
        "the note begins (1bar); shorter limits give busier melodies "
        f"({recommendation('longest_note')})",
    )
    parser.add_argument(
        "--longest-rest", type=positive_float, default=MODEL_DEFAULT, metavar="QL",
        help="longest rest in quarter notes; a note must start after it "
        f"({recommendation('longest_rest')})",
    )
    parser.add_argument(
        "--repetition", type=unit_interval, default=MODEL_DEFAULT, metavar="R",
        help="the chance, 0..1, that a measure whose harmony repeats an earlier one repeats its "
        f"melody whole: 0 = as the model learned, 1 = always ({recommendation('repetition')})",
    )
    parser.add_argument(
        "--echo-harmony", choices=ECHO_HARMONIES, default=MODEL_DEFAULT,
        help="which passages echo earlier ones: 'chords' = the same chords at the same beats; "
        "'roots' = also the same chord roots in each measure, for chords found by an algorithm "
        f"({recommendation('echo_harmony')})",
    )
    parser.add_argument(
        "--silent-sections", type=parse_sections, default=MODEL_DEFAULT, metavar="NAMES",
        help="sections (Rock Corpus sections or rehearsal marks) where the melody rests, comma-"
        f"separated; 'none' sings everywhere (default: {','.join(SILENT_SECTIONS)})",
    )


def sampling_controls(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling controls the user gave, by ``SamplingControls`` name (unset ones left out)."""
    return {
        name: getattr(args, name)
        for name in SAMPLING_CONTROLS
        if getattr(args, name, MODEL_DEFAULT) is not MODEL_DEFAULT
    }
