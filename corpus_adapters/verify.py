"""Verification of the readers against the Rock Corpus authors' own outputs.

A corpus folder holds, beside ``har/``, ``mel/`` and ``tim/``, the outputs of
the authors' programs (corpus README, "Ground truth for testing a parser"):

* ``reference/chords/<stem>_<an>.txt``: the chord table (every file) and the
  ``Chords:`` event line (the ``_tdc`` files), checked as ``harmony`` and
  ``chords-line``;
* ``exp/<stem>_<an>.txt``: the warnings and the flat progression, ``exp``;
* ``reference/notes/<stem>_<an>.txt``: the note lists, ``melody``;
* ``clt/<stem>_<an>.clt``: the chord table with seconds from ``tim/``, ``clt``.

Every comparison is of the exact text the authors' programs printed (numbers
formatted as they formatted them). Differences the corpus README documents as
errors of the reference itself (:data:`KNOWN_REFERENCE_ERRORS`: the two
``billie_jean`` ``clt`` files come from an older version of the analysis) are
reported as known and do not fail the verification. :func:`verify_corpus` returns a
:class:`VerifyReport` whose :meth:`~VerifyReport.summary` reads like
``harmony 400/400 exact, melody 193/193 exact, ...``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from music21_melgen.corpus_adapters.har import HarmonyAnalysis, format_chords_line, format_table, read_har
from music21_melgen.corpus_adapters.mel import format_notes, read_mel
from music21_melgen.corpus_adapters.tim import DownbeatTimes, read_tim
from music21_melgen.errors import CorpusFormatError, MelgenError

__all__ = ["KNOWN_REFERENCE_ERRORS", "CheckResult", "Mismatch", "VerifyReport", "format_clt", "verify_corpus"]

# Reference files known to be wrong, with the reason (corpus README, "Known problems").
KNOWN_REFERENCE_ERRORS = {
    "clt/billie_jean_dt.clt": "made from an older version of the song (143 measures, seconds 0.04-0.08 s early)",
    "clt/billie_jean_tdc.clt": "made from an older version of the song (143 measures, seconds 0.04-0.08 s early)",
}

_TABLE_HEADER = "Chords w/ timepoints and roots:"
_TABLE_END = "---"


@dataclass(frozen=True)
class Mismatch:
    """One file that differs from its reference, and the first difference."""

    file: str  # the reference file, relative to the corpus folder
    detail: str
    known: str | None = None  # why the reference itself is wrong, for a documented case


@dataclass(frozen=True)
class CheckResult:
    """One kind of comparison over all files that have a reference."""

    name: str  # 'harmony', 'chords-line', 'exp', 'melody', 'clt'
    checked: int
    mismatches: tuple[Mismatch, ...]

    @property
    def exact(self) -> int:
        return self.checked - len(self.mismatches)

    @property
    def failures(self) -> tuple[Mismatch, ...]:
        """Mismatches that are not documented errors of the reference."""
        return tuple(m for m in self.mismatches if m.known is None)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify_corpus`."""

    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """True when every compared file is exact (and something was compared)."""
        return all(not check.failures for check in self.checks) and any(c.checked for c in self.checks)

    def summary(self) -> str:
        """'harmony 400/400 exact, melody 193/193 exact, ...' (known reference errors noted)."""
        parts = []
        for check in self.checks:
            known = len(check.mismatches) - len(check.failures)
            note = f" ({known} known reference errors)" if known else ""
            parts.append(f"{check.name} {check.exact}/{check.checked} exact{note}")
        return ", ".join(parts)

    def mismatches(self) -> list[Mismatch]:
        return [m for check in self.checks for m in check.mismatches]


def format_clt(analysis: HarmonyAnalysis, times: DownbeatTimes) -> list[str]:
    """The lines of a ``clt`` file: the chord table with seconds from the downbeats.

    Seconds are interpolated from the two-decimal start value, as the authors did.
    """
    lines = []
    for row in analysis.rows:
        start = float("%.2f" % float(row.start))
        lines.append(
            "%.3f\t%.2f\t%s\t%d\t%d\t%d\t%d"
            % (times.seconds_at(start), start, row.symbol, row.chromatic_root,
               row.diatonic_root, row.key, row.absolute_root)
        )
    end = float("%.2f" % analysis.measure_count)
    lines.append("%.3f\t%.2f\tEnd" % (times.seconds_at(end), end))
    return lines


def verify_corpus(folder: str | os.PathLike, *, clt: bool = True) -> VerifyReport:
    """Compare every ``.har`` and ``.mel`` of ``folder`` with the reference outputs.

    Files without a reference are not counted; a file that fails to parse
    counts as a mismatch. ``clt=False`` skips the comparison with ``clt/``.
    """
    root = Path(folder)
    if not (root / "har").is_dir():
        raise CorpusFormatError("no har/ folder: not a Rock Corpus folder", path=str(root))
    results: dict[str, list] = {"harmony": [0, []], "chords-line": [0, []], "exp": [0, []],
                                "melody": [0, []], "clt": [0, []]}

    def compare(name: str, reference: Path, expected: list[str], produce: Callable[[], list[str]]) -> None:
        results[name][0] += 1
        try:
            ours = produce()
        except MelgenError as error:
            results[name][1].append(Mismatch(_relative(reference, root), f"cannot read: {error}"))
            return
        difference = _first_difference(expected, ours)
        if difference is not None:
            file = _relative(reference, root)
            results[name][1].append(Mismatch(file, difference, KNOWN_REFERENCE_ERRORS.get(file)))

    timings: dict[str, DownbeatTimes | MelgenError] = {}
    for har_path in sorted((root / "har").glob("*.har")):
        stem = har_path.stem
        analysis: list[HarmonyAnalysis] = []

        def harmony() -> HarmonyAnalysis:
            if not analysis:
                analysis.append(read_har(har_path))
            return analysis[0]

        table_path = root / "reference" / "chords" / f"{stem}.txt"
        if table_path.is_file():
            reference = _lines(table_path)
            table = _table_lines(reference)
            compare("harmony", table_path, table, lambda: format_table(harmony()))
            chords_lines = [line for line in reference if line.startswith("Chords: ")]
            if chords_lines:
                compare("chords-line", table_path, chords_lines, lambda: [format_chords_line(harmony())])
        exp_path = root / "exp" / f"{stem}.txt"
        if exp_path.is_file():
            compare("exp", exp_path, _lines(exp_path),
                    lambda: (harmony().warnings_text() + harmony().expanded_text()).split("\n"))
        clt_path = root / "clt" / f"{stem}.clt"
        song = stem.rsplit("_", 1)[0]
        tim_path = root / "tim" / f"{song}.tim"
        if clt and clt_path.is_file() and tim_path.is_file():
            if song not in timings:
                try:
                    timings[song] = read_tim(tim_path)
                except MelgenError as error:
                    timings[song] = error

            def clt_lines(song: str = song) -> list[str]:
                times = timings[song]
                if isinstance(times, MelgenError):
                    raise times
                return format_clt(harmony(), times)

            compare("clt", clt_path, _lines(clt_path), clt_lines)
    for mel_path in sorted((root / "mel").glob("*.mel")) if (root / "mel").is_dir() else ():
        notes_path = root / "reference" / "notes" / f"{mel_path.stem}.txt"
        if notes_path.is_file():
            compare("melody", notes_path, _lines(notes_path), lambda: format_notes(read_mel(mel_path)))
    names = ["harmony", "melody", "chords-line", "exp"] + (["clt"] if clt else [])
    return VerifyReport(
        tuple(CheckResult(name, results[name][0], tuple(results[name][1])) for name in names)
    )


def _lines(path: Path) -> list[str]:
    """Lines of a text file without the final newline's empty tail."""
    lines = path.read_text(encoding="ascii", errors="replace").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _table_lines(reference: list[str]) -> list[str]:
    try:
        start = reference.index(_TABLE_HEADER) + 1
    except ValueError:
        return []
    end = reference.index(_TABLE_END, start) if _TABLE_END in reference[start:] else len(reference)
    return reference[start:end]


def _first_difference(expected: list[str], ours: list[str]) -> str | None:
    for number, (want, got) in enumerate(zip(expected, ours), start=1):
        if want != got:
            return f"line {number}: expected {want!r}, got {got!r}"
    if len(expected) != len(ours):
        return f"{len(expected)} lines expected, got {len(ours)}"
    return None


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
