"""The ``.tim`` downbeat times of the Rolling Stone Rock Corpus.

One line per barline: ``<seconds>\\t<measure number>``, measure numbers
consecutive. When the first line is measure 1 (measure 0 is an untimed
pickup), the authors estimate ``t0 = t1 - (t2 - t1)``; :class:`DownbeatTimes`
does the same. A position ``p`` (in measures) inside measure ``m`` lies at
``t[m] + (p - m) * (t[m+1] - t[m])`` seconds.

>>> times = parse_tim('1.0\\t1\\n3.0\\t2\\n5.5\\t3\\n')
>>> times.first_measure, times.seconds_at(0), times.seconds_at(1.5), times.seconds_at(3)
(1, -1.0, 2.0, 5.5)
"""

from __future__ import annotations

import math
import os
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction

from music21_melgen.corpus_adapters.textfile import read_ascii
from music21_melgen.errors import CorpusFormatError

__all__ = ["DownbeatTimes", "parse_tim", "read_tim"]


@dataclass(frozen=True)
class DownbeatTimes:
    """Seconds of the barlines of a recording, by measure number."""

    source: str
    first_measure: int  # measure number on the file's first line (0, or 1 after a pickup)
    seconds: tuple[float, ...]  # seconds[i] = downbeat of measure i (measure 0 estimated if untimed)

    @property
    def measure_count(self) -> int:
        """Number of measures the barlines delimit (lines - 1, counting an estimated measure 0)."""
        return len(self.seconds) - 1

    def downbeat(self, measure: int) -> float:
        """Seconds of the downbeat of ``measure`` (a whole number)."""
        if not 0 <= measure < len(self.seconds):
            raise CorpusFormatError(
                f"measure {measure} is outside the timed measures 0..{len(self.seconds) - 1}", path=self.source
            )
        return self.seconds[measure]

    def seconds_at(self, position: float | Fraction) -> float:
        """Seconds of a position in measures, interpolated linearly inside its measure."""
        whole = math.floor(position)
        if whole == position:
            return self.downbeat(int(whole))
        start = self.downbeat(int(whole))
        end = self.downbeat(int(whole) + 1)
        return start + float(position - whole) * (end - start)

    def measure_at(self, seconds: float) -> float:
        """The position in measures of a time in seconds (inverse of :meth:`seconds_at`)."""
        index = min(max(bisect_right(self.seconds, seconds) - 1, 0), len(self.seconds) - 2)
        start, end = self.seconds[index], self.seconds[index + 1]
        return index + (seconds - start) / (end - start) if end > start else float(index)


def read_tim(path: str | os.PathLike) -> DownbeatTimes:
    """Read a ``.tim`` file."""
    return parse_tim(read_ascii(path), str(path))


def parse_tim(text: str, source: str = "<string>") -> DownbeatTimes:
    """Parse the text of a ``.tim`` file; blank lines are ignored."""
    seconds: list[float] = []
    first: int | None = None
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise CorpusFormatError(
                f"expected '<seconds> <measure>' (2 fields), got {len(fields)}", path=source, line=line_number
            )
        try:
            time = float(fields[0])
            measure = int(fields[1])
        except ValueError:
            raise CorpusFormatError(
                f"expected a number of seconds and a whole measure number, got {line.strip()!r}",
                path=source, line=line_number,
            ) from None
        if not math.isfinite(time):
            raise CorpusFormatError(f"seconds must be finite, got {fields[0]!r}", path=source, line=line_number)
        if first is None:
            if measure not in (0, 1):
                raise CorpusFormatError(
                    f"the first downbeat must be measure 0 or 1, got {measure}", path=source, line=line_number
                )
            first = measure
        elif measure != first + len(seconds):
            raise CorpusFormatError(
                f"measure numbers must be consecutive: expected {first + len(seconds)}, got {measure}",
                path=source, line=line_number,
            )
        if seconds and time < seconds[-1]:
            raise CorpusFormatError(
                f"downbeat times must not go backwards ({time} after {seconds[-1]})", path=source, line=line_number
            )
        seconds.append(time)
    if first is None or len(seconds) < 2 + first:
        raise CorpusFormatError("a .tim file needs at least two timed downbeats", path=source)
    if first == 1:
        seconds.insert(0, seconds[0] - (seconds[1] - seconds[0]))
    return DownbeatTimes(source, first, tuple(seconds))
