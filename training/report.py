"""The evaluation's report: its goals, the table, the Markdown and JSON files and the plots.

Reads an :class:`~music21_melgen.training.evaluate.Evaluation` (the run) and
says how it stands: :func:`goals` (the targets a model must meet),
:func:`format_table` (plain text), :func:`format_markdown` and
:func:`write_report` (``evaluation.md``, ``evaluation.json`` and one histogram
plot per measure, each written atomically).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from music21_melgen.training.evaluate import (
    METRIC_LABELS,
    NO_CR,
    OVERLAP_LABELS,
    Evaluation,
    Goal,
    overlaps,
)
from music21_melgen.training.metrics import HISTOGRAMS, overlap

from music21_melgen.atomic import atomic_write, atomic_write_with
from music21_melgen.errors import OutputError

__all__ = ["FORM_LABELS", "goals", "evaluation_json", "format_table", "format_markdown", "write_report"]

FORM_LABELS: dict[str, str] = {
    "bar_repeat": "form: bar repeat",
    "chord_echo": "form: chord echo",
    "rhythm_echo": "form: rhythm echo",
}


def goals(evaluation: Evaluation, model: str | None = None, baseline: str | None = None) -> list[Goal]:
    """The goals of the issue for ``model`` (default: the first model of the run).

    Every histogram overlap at least 0.90; chord-tone ratio (all notes)
    within 0.03 of the real melodies; stuck share no higher than theirs; and
    better than ``baseline`` (default: the second model of the run) on every
    row of the table: each metric at least as close to the real value, each
    overlap at least as high, and (for models of one representation) a loss
    no higher. Empty when the run has no model row.
    """
    models = [row.label for row in evaluation.rows[1:] if not row.label.endswith(NO_CR)]
    model = model or (models[0] if models else None)
    if baseline is None and len(models) > 1:
        baseline = models[1]
    reference = evaluation.reference
    try:
        tested = evaluation.row(model or "")
    except KeyError:
        return []
    real = reference.counts.summary()
    mine = tested.counts.summary()
    shares = overlaps(reference.counts, tested.counts)
    result = []
    worst = min(shares, key=shares.get)
    result.append(
        Goal(
            "every histogram overlap >= 0.90",
            all(value >= 0.90 for value in shares.values()),
            ", ".join(f"{name} {value:.3f}" for name, value in shares.items())
            + (f" (lowest: {worst}, {0.90 - shares[worst]:.3f} short)" if shares[worst] < 0.90 else ""),
        )
    )
    gap = mine["chord_tone_ratio"] - real["chord_tone_ratio"]
    result.append(
        Goal(
            "chord-tone ratio within 0.03 of real",
            abs(gap) <= 0.03,
            f"{mine['chord_tone_ratio']:.3f} vs real {real['chord_tone_ratio']:.3f} ({gap:+.3f})",
        )
    )
    result.append(
        Goal(
            "stuck share <= real",
            mine["stuck_share"] <= real["stuck_share"],
            f"{mine['stuck_share']:.4f} vs real {real['stuck_share']:.4f}",
        )
    )
    if reference.form and tested.form:
        result.append(_form_goal(reference.form, tested.form))
        # Relative to real; where the real melodies never rest, any rest misses it.
        gap = mine["rest_share"] - real["rest_share"]
        relative = f" ({100 * gap / real['rest_share']:+.0f} %)" if real["rest_share"] else ""
        result.append(
            Goal(
                "rest share within 15 % of real",
                abs(gap) <= 0.15 * real["rest_share"] + 1e-12,
                f"{mine['rest_share']:.3f} vs real {real['rest_share']:.3f}{relative}",
            )
        )
    try:
        other = evaluation.row(baseline or "")
    except KeyError:
        return result
    theirs = other.counts.summary()
    their_shares = overlaps(reference.counts, other.counts)
    worse = [
        name
        for name in METRIC_LABELS
        if abs(mine[name] - real[name]) > abs(theirs[name] - real[name])
    ]
    worse += [f"overlap {name}" for name in HISTOGRAMS if shares[name] < their_shares[name]]
    if (
        tested.representation == other.representation
        and tested.bits_per_step is not None
        and other.bits_per_step is not None
        and tested.bits_per_step > other.bits_per_step
    ):
        worse.append("bits per step")
    result.append(
        Goal(
            f"better than {baseline} on every row",
            not worse,
            "worse on: " + ", ".join(worse) if worse else "closer to real (or as close) everywhere",
        )
    )
    return result


def _form_goal(real: dict[str, float | None], mine: dict[str, float | None]) -> Goal:
    """Every form measure within 0.05 of the real melodies' (too much copying misses it too)."""
    gaps = {name: (mine.get(name) or 0.0) - (real.get(name) or 0.0) for name in FORM_LABELS}
    return Goal(
        "form measures within 0.05 of real",
        all(abs(gap) <= 0.05 for gap in gaps.values()),
        ", ".join(f"{name} {mine.get(name) or 0.0:.3f} vs {real.get(name) or 0.0:.3f} ({gap:+.3f})" for name, gap in gaps.items()),
    )


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    """The run as JSON data with its goals (what ``evaluation.json`` holds)."""
    return {**evaluation.to_json(), "goals": [dataclasses.asdict(goal) for goal in goals(evaluation)]}


def _cell(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_table(evaluation: Evaluation) -> str:
    """The report as a plain-text table: one metric a line, one row of the run a column."""
    rows = evaluation.rows
    reference = evaluation.reference.counts
    header = ["", *(row.label for row in rows)]
    lines: list[list[str]] = [
        ["songs", *(str(row.counts.songs) for row in rows)],
        ["notes", *(str(row.counts.notes) for row in rows)],
        ["loss (bits per step)", *(_cell(row.bits_per_step) for row in rows)],
    ]
    summaries = [row.counts.summary() for row in rows]
    for name, text in METRIC_LABELS.items():
        lines.append([text, *(_cell(summary[name]) for summary in summaries)])
    shares = [None] + [overlaps(reference, row.counts) for row in rows[1:]]
    for name, text in OVERLAP_LABELS.items():
        lines.append([text, *("1.000" if s is None else _cell(s[name]) for s in shares)])
    for name, text in FORM_LABELS.items():
        lines.append([text, *(_cell(row.form.get(name)) for row in rows)])
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    text = [render(header), render(["-" * w for w in widths]), *(render(line) for line in lines)]
    return "\n".join(text)


def format_markdown(evaluation: Evaluation) -> str:
    """The same table in Markdown, for the README."""
    rows = evaluation.rows
    reference = evaluation.reference.counts
    summaries = [row.counts.summary() for row in rows]
    shares = [None] + [overlaps(reference, row.counts) for row in rows[1:]]
    out = ["| | " + " | ".join(f"`{row.label}`" for row in rows) + " |"]
    out.append("|---|" + "---:|" * len(rows))
    out.append("| songs | " + " | ".join(str(row.counts.songs) for row in rows) + " |")
    out.append("| notes | " + " | ".join(str(row.counts.notes) for row in rows) + " |")
    out.append("| loss (bits per step) | " + " | ".join(_cell(row.bits_per_step) for row in rows) + " |")
    for name, text in METRIC_LABELS.items():
        out.append(f"| {text} | " + " | ".join(_cell(s[name]) for s in summaries) + " |")
    for name, text in OVERLAP_LABELS.items():
        out.append(f"| {text} | " + " | ".join("1.000" if s is None else _cell(s[name]) for s in shares) + " |")
    for name, text in FORM_LABELS.items():
        out.append(f"| {text} | " + " | ".join(_cell(row.form.get(name)) for row in rows) + " |")
    return "\n".join(out)


def _plot(evaluation: Evaluation, name: str, path: Path) -> None:
    """One PNG: the real histogram against each generated row's, one panel per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = HISTOGRAMS[name]
    reference = evaluation.reference.counts.histograms[name]
    real = reference / max(reference.sum(), 1)
    generated = evaluation.rows[1:]
    x = np.arange(len(labels))
    figure, axes = plt.subplots(
        len(generated), 1, figsize=(max(6.0, 0.38 * len(labels) + 2), 2.2 * len(generated) + 0.6),
        sharex=True, squeeze=False,
    )
    for axis, row in zip(axes[:, 0], generated):
        counts = row.counts.histograms[name]
        share = counts / max(counts.sum(), 1)
        axis.bar(x, real, width=0.8, color="0.75", label="real")
        axis.bar(x, share, width=0.4, color="tab:blue", label=row.label)
        axis.set_title(f"{row.label}: overlap {overlap(reference, counts):.3f}", fontsize=10)
        axis.set_ylabel("share")
        axis.legend(fontsize=8, loc="upper right")
    bottom = axes[-1, 0]
    bottom.set_xticks(x)
    bottom.set_xticklabels(labels, rotation=90 if len(labels) > 14 else 0, fontsize=8)
    bottom.set_xlabel(OVERLAP_LABELS[name].removeprefix("overlap: "))
    figure.suptitle(f"{OVERLAP_LABELS[name].removeprefix('overlap: ')}: real vs generated", fontsize=11)
    figure.tight_layout()
    try:
        atomic_write_with(path, lambda target: figure.savefig(target, format="png", dpi=90))
    finally:
        plt.close(figure)


def write_report(evaluation: Evaluation, out: str | os.PathLike, *, plots: bool = True) -> list[Path]:
    """Write ``evaluation.json``, ``evaluation.md`` and (with matplotlib) one PNG per histogram.

    Returns the paths written. Without matplotlib (the ``plots`` extra) the
    plots are left out and the JSON says so.
    """
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{folder}: cannot create the output folder: {error}") from None
    written: list[Path] = []
    data = evaluation_json(evaluation)
    data["plots"] = []
    if plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            data["plots_missing"] = "matplotlib is not installed (pip install 'music21-melgen[plots]')"
            plots = False
    try:
        if plots:
            for name in HISTOGRAMS:
                path = folder / f"histogram_{name}.png"
                _plot(evaluation, name, path)
                written.append(path)
                data["plots"].append(path.name)
        markdown = folder / "evaluation.md"
        text = format_markdown(evaluation) + "\n"
        atomic_write(markdown, text)
        written.append(markdown)
        report = folder / "evaluation.json"
        payload = json.dumps(data, indent=2) + "\n"
        atomic_write(report, payload)
        written.append(report)
    except OSError as error:
        raise OutputError(f"{folder}: cannot write the report: {error}") from None
    return written
