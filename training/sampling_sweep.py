"""Choosing a model's recommended sampling: settings side by side, over several seeds.

A model's ``sampling`` recommendation (its checkpoint's ``config.json``) is
chosen on the validation split, never on the test songs. One evaluation run
samples each song once, so a single run can flatter one setting by luck; a
sweep runs :func:`music21_melgen.training.evaluate.evaluate` for every setting with every
base seed (song *i* with seed *s* + *i*) and reports each metric's mean over
the seeds, with the range of notes per bar, as a Markdown table::

    python -m music21_melgen.training.sampling_sweep --corpus ../shared/rock_corpus --split validation \\
        --seeds 0,100,200,300,400 \\
        --setting temperature=1.0,chord_tone_weight=1.3,longest_rest=32 \\
        --setting temperature=1.03,chord_tone_weight=1.3,longest_rest=32

A setting is ``name=value`` pairs of sampling controls (the names of
:class:`~music21_melgen.sampling.SamplingControls`), values as in a
checkpoint's ``sampling`` object: numbers, ``null`` (or ``none``) for off / no
limit, ``[a,b]`` lists; controls left out take the model's recommendation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from music21_melgen.training.evaluate import SongSet, corpus_songs, evaluate, overlaps
from music21_melgen.training.form_metrics import FORM_MEASURES

from music21_melgen.errors import GenerationError, MelgenError

__all__ = ["SweepRow", "Sweep", "parse_setting", "sweep", "format_markdown", "main"]

@dataclass(frozen=True)
class SweepRow:
    """One setting: its controls and each figure's mean over the seeds."""

    setting: dict[str, Any]  # the controls given (the rest: the model's recommendation)
    means: dict[str, float]  # summary metrics and 'overlap_<histogram>'
    notes_per_bar_range: tuple[float, float]  # lowest and highest over the seeds


@dataclass(frozen=True)
class Sweep:
    """A whole sweep: the real melodies' figures and one row per setting."""

    source: str
    seeds: tuple[int, ...]
    real: dict[str, float]
    rows: list[SweepRow]


def parse_setting(text: str) -> dict[str, Any]:
    """``'temperature=1.03,longest_rest=null'`` as controls; GenerationError names a bad part.

    Commas inside ``[...]`` belong to the value; a value that is not JSON is a word.

    >>> parse_setting("temperature=1.03,longest_rest=none,continuation_reduction=[1.3,1.4],echo_harmony=roots")
    {'temperature': 1.03, 'longest_rest': None, 'continuation_reduction': [1.3, 1.4], 'echo_harmony': 'roots'}
    """
    from music21_melgen.sampling import controls_from_json

    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    setting: dict[str, Any] = {}
    for part in parts:
        name, equals, value = part.partition("=")
        if not equals or not name.strip():
            raise GenerationError(f"setting {text!r}: {part!r} is not name=value")
        value = value.strip()
        try:
            setting[name.strip()] = None if value.lower() == "none" else json.loads(value)
        except json.JSONDecodeError:
            setting[name.strip()] = value
    controls_from_json(setting)  # every name known, every value valid
    return setting


def sweep(
    songs: SongSet,
    model: str | os.PathLike,
    settings: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
) -> Sweep:
    """Evaluate ``model`` on ``songs`` under each setting with each base seed."""
    from music21_melgen.sampling import controls_from_json

    if not settings or not seeds:
        raise MelgenError("a sweep needs at least one setting and one seed")
    rows, real = [], {}
    for setting in settings:
        controls = controls_from_json(setting)
        runs = []
        for seed in seeds:
            evaluation = evaluate(songs, [model], seed=seed, controls=controls, loss=False)
            real = {**evaluation.reference.counts.summary(), **_form(evaluation.reference.form)}
            counts = evaluation.rows[1].counts
            shares = overlaps(evaluation.reference.counts, counts)
            runs.append(
                {
                    **counts.summary(),
                    **{f"overlap_{name}": value for name, value in shares.items()},
                    **_form(evaluation.rows[1].form),
                }
            )
        means = {name: sum(run[name] for run in runs) / len(runs) for name in runs[0]}
        per_bar = [run["notes_per_bar"] for run in runs]
        rows.append(SweepRow(dict(setting), means, (min(per_bar), max(per_bar))))
    return Sweep(songs.source, tuple(seeds), real, rows)


def _form(measures: Mapping[str, float | None]) -> dict[str, float]:
    return {name: float(measures.get(name) or 0.0) for name in FORM_MEASURES}


def _setting_text(setting: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {json.dumps(value)}" for name, value in setting.items()) or "as recommended"


def format_markdown(result: Sweep) -> str:
    """The sweep as a Markdown table, the real melodies' figures first."""
    real = result.real
    lines = [
        f"{result.source}; seeds {', '.join(map(str, result.seeds))}; real: chord-tone ratio "
        f"{real['chord_tone_ratio']:.3f}, notes per bar {real['notes_per_bar']:.3f}, "
        f"rest share {real['rest_share']:.3f}, stuck share {real['stuck_share']:.4f}, form (bar repeat, "
        f"chord echo, rhythm echo) {real.get('bar_repeat', 0):.3f}, {real.get('chord_echo', 0):.3f}, "
        f"{real.get('rhythm_echo', 0):.3f}",
        "",
        "| setting | chord-tone ratio | notes per bar | rest share | stuck share | overlaps (pitch class, length, interval) "
        "| form (bar repeat, chord echo, rhythm echo) |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in result.rows:
        m = row.means
        low, high = row.notes_per_bar_range
        lines.append(
            f"| {_setting_text(row.setting)} | {m['chord_tone_ratio']:.3f} | {m['notes_per_bar']:.3f} "
            f"({low:.2f}–{high:.2f}) | {m['rest_share']:.3f} | {m['stuck_share']:.4f} | "
            f"{m['overlap_pitch_class']:.3f}, {m['overlap_length']:.3f}, {m['overlap_interval']:.3f} | "
            f"{m['bar_repeat']:.3f}, {m['chord_echo']:.3f}, {m['rhythm_echo']:.3f} |"
        )
    return "\n".join(lines)


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be whole numbers separated by commas, got {text!r}") from None
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must not be negative, got {text!r}")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m music21_melgen.training.sampling_sweep``: print the sweep's table."""
    parser = argparse.ArgumentParser(prog="python -m music21_melgen.training.sampling_sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, metavar="DIR", help="Rock Corpus folder (har/, mel/)")
    parser.add_argument("--split", default="validation", choices=("train", "validation", "test", "all"))
    parser.add_argument("--model", default="default", metavar="PATH", help="bundled model or checkpoint folder")
    parser.add_argument("--seeds", type=_seeds, default=[0, 100, 200, 300, 400], metavar="S,S,...")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N songs")
    parser.add_argument(
        "--analysts", default="dt,tdc", metavar="A,B", help="harmony analysts to read (dt, tdc or both)"
    )
    parser.add_argument(
        "--whole-songs", action="store_true", help="keep the instrumental intro and outro (the form measures' protocol)"
    )
    parser.add_argument(
        "--setting", action="append", required=True, metavar="NAME=VALUE,...",
        help="sampling controls of one row, e.g. temperature=1.03,longest_rest=null; repeat for more rows",
    )
    args = parser.parse_args(argv)
    try:
        settings = [parse_setting(text) for text in args.setting]
        analysts = tuple(name.strip() for name in args.analysts.split(",") if name.strip())
        songs = corpus_songs(
            args.corpus, split=args.split, limit=args.limit, analysts=analysts, whole_songs=args.whole_songs
        )
        print(format_markdown(sweep(songs, args.model, settings, args.seeds)))
    except MelgenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
