"""The ``.har`` harmonic analyses of the Rolling Stone Rock Corpus.

A ``.har`` file is a small grammar (corpus README, "Format of .har"): one rule
``Name: body`` a line, ``%`` comments, and the song ``S`` written in terms of
sections (``$Name``, ``$Name*N``), barlines (``|``, ``|*N``), chord symbols,
``.`` placeholders, ``R`` rests, key tokens ``[Eb]`` and meter tokens
``[12/8]`` / ``[0]``. :func:`parse_har` expands it the way the authors'
expander does, so that the results reproduce their reference outputs:

* key and meter are scoped to a section: both are restored when a ``$Name``
  expansion ends;
* each ``|`` closes a measure (measure 0 is the first); the chord, ``.`` and
  ``R`` tokens of a measure split it into equal slots;
* a chord equal (same symbol, same key) to the last chord event, or a ``.``,
  continues it; ``R`` makes no event, the previous chord lasts through it;
* the reference table merges neighbouring events with the same chromatic
  root and key into one :class:`ChordRow`.

:meth:`HarmonyAnalysis.expanded_text` prints the ``exp/`` line as the
expander does: a key before a chord whose key differs from the previous one,
a meter after a barline when it changes, a ``.`` for a continuation, and
nothing for a lone continuation in a measure that holds no key or meter token
of the source (a key or meter restored at a section's end does not count).

Times are in measures (every measure is 1.0 whatever its meter), as exact
``Fraction`` values. A measure's meter is the one in force at its closing
barline (``None`` for ``[0]``, unmetered).

Bad input raises :class:`~music21_melgen.errors.CorpusFormatError` with file,
line and column: unknown tokens, undefined or cyclic sections, and expansions
larger than :data:`MAX_TOKENS` tokens or :data:`MAX_MEASURES` measures (checked
before anything is expanded, so ``$A*999999999`` fails at once).

>>> song = parse_har('''
... % A toy song
... Vr: I IV | [G] V . . I |
... S: [C] R | $Vr I |
... ''')
>>> [(e.symbol, str(e.start), e.key) for e in song.events]
[('I', '1', 0), ('IV', '3/2', 0), ('V', '2', 7), ('I', '11/4', 7), ('I', '3', 0)]
>>> song.measure_count, song.meters
(4, ('4/4', '4/4', '4/4', '4/4'))
>>> song.expanded_text()
'[C] R | I IV | [G] V . . I | [C] I | '
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction

from music21_melgen.corpus_adapters.rock_numerals import parse_numeral
from music21_melgen.corpus_adapters.textfile import read_ascii
from music21_melgen.errors import CorpusFormatError

__all__ = [
    "ChordEvent",
    "ChordRow",
    "HarmonyAnalysis",
    "KEY_NAMES",
    "MAX_MEASURES",
    "MAX_TOKENS",
    "format_chords_line",
    "format_table",
    "parse_har",
    "parse_key",
    "read_har",
]

MAX_TOKENS = 1_000_000  # largest expansion of S accepted (tokens after *N repeats)
MAX_MEASURES = 100_000  # largest number of measures accepted

# Tonic spellings the corpus uses, and the one spelling the expander prints.
_TONICS = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5,
    "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}
KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_DEFAULT_METER = "4/4"  # meter of a song with no meter token (the expander's default)

_RULE_RE = re.compile(r"\s*([A-Za-z0-9]+):(.*)")
_REF_RE = re.compile(r"\$([A-Za-z0-9]+)(?:\*(\d+))?")
_BAR_RE = re.compile(r"\|(?:\*(\d+))?")
_METER_RE = re.compile(r"\[(\d{1,3})/(\d{1,3})\]")

# Token kinds of a rule body.
_BAR, _REF, _KEY, _METER, _SLOT = range(5)


@dataclass(frozen=True)
class ChordEvent:
    """One chord event of the ``Chords:`` line (after the continuation rule)."""

    symbol: str  # as written, 'V7/IV'
    start: Fraction  # measures from the song start
    end: Fraction  # the next event's start, or the song's end
    key: int  # pitch class of the tonic in force, 0 = C


@dataclass(frozen=True)
class ChordRow:
    """One row of the authors' chord table (events merged by root and key)."""

    start: Fraction
    end: Fraction
    symbol: str  # the first symbol of the merged group
    chromatic_root: int  # 0-11 above the tonic
    diatonic_root: int  # 1-7
    key: int  # tonic pitch class
    absolute_root: int  # (chromatic_root + key) mod 12


@dataclass(frozen=True)
class HarmonyAnalysis:
    """A whole ``.har`` analysis, expanded."""

    source: str  # file name or '<string>'
    events: tuple[ChordEvent, ...]
    rows: tuple[ChordRow, ...]
    meters: tuple[str | None, ...]  # one per measure: '4/4', or None for [0] (unmetered)
    measure_count: int
    # Per measure, its slot tokens (symbol, '.' or 'R') with the key in force at each.
    measure_slots: tuple[tuple[tuple[str, int], ...], ...] = ()
    unused_sections: tuple[str, ...] = ()  # defined but never used, reverse definition order
    marked_measures: frozenset[int] = frozenset()  # measures holding a key or meter token
    sections: tuple[str | None, ...] = ()  # one per measure: the section of S it lies in ('Vr'), None in S itself

    def expanded_text(self) -> str:
        """The flat progression line of ``exp/`` (the expander at default verbosity)."""
        out: list[str] = []
        last_symbol: str | None = None
        last_key: int | None = None
        last_meter = self.meters[0] if self.meters else None
        for number, slots in enumerate(self.measure_slots):
            parts: list[str] = []
            meter = self.meters[number]
            if number and meter != last_meter:
                parts.append(f"[{meter or 0}]")
                last_meter = meter
            for symbol, key in slots:
                key_changed = key != last_key
                if key_changed:
                    parts.append(f"[{KEY_NAMES[key]}]")
                    last_key = key
                if symbol != "." and (symbol != last_symbol or key_changed):
                    parts.append(symbol)
                    last_symbol = symbol
                else:
                    parts.append(".")
            if len(slots) == 1 and parts[-1] == "." and number not in self.marked_measures:
                parts.pop()
            out.extend(parts)
            out.append("|")
        return "".join(token + " " for token in out)

    def warnings_text(self) -> str:
        """The expander's warning lines about unused sections ('' when none)."""
        return "".join(f"Warning: '{name}' is defined but never used\n" for name in self.unused_sections)


def format_chords_line(analysis: HarmonyAnalysis) -> str:
    """The ``Chords:`` line of a verbosity-3 reference file, as the expander prints it."""
    return "Chords: " + "".join(f"{e.symbol} ({float(e.start):5.3f}) " for e in analysis.events)


def format_table(analysis: HarmonyAnalysis) -> list[str]:
    """The rows of the reference chord table, formatted exactly as the expander does."""
    return [
        "%5.2f %5.2f %5s %3d %3d %3d %3d"
        % (
            float(r.start), float(r.end), r.symbol, r.chromatic_root,
            r.diatonic_root, r.key, r.absolute_root,
        )
        for r in analysis.rows
    ]


def parse_key(text: str) -> int | None:
    """Pitch class of a key token's tonic ('[Eb]' -> 3), or None if it is not one.

    >>> parse_key('[Eb]'), parse_key('[G#]'), parse_key('[H]')
    (3, 8, None)
    """
    if len(text) < 3 or text[0] != "[" or text[-1] != "]":
        return None
    return _TONICS.get(text[1:-1])


def read_har(path: str | os.PathLike) -> HarmonyAnalysis:
    """Read and expand a ``.har`` file (ASCII text)."""
    return parse_har(read_ascii(path), str(path))


def parse_har(text: str, source: str = "<string>") -> HarmonyAnalysis:
    """Parse and expand the text of a ``.har`` analysis.

    ``source`` names the text in error messages and in the result.
    """
    rules, order = _read_rules(text, source)
    if "S" not in rules:
        raise CorpusFormatError("no song rule 'S:' (the start symbol)", path=source)
    _check_references(rules, source)
    sizes, bars = _measure_sizes(rules, source)
    if sizes["S"] > MAX_TOKENS:
        raise CorpusFormatError(
            f"S expands to {sizes['S']} tokens, more than the limit of {MAX_TOKENS}", path=source
        )
    if bars["S"] > MAX_MEASURES:
        raise CorpusFormatError(
            f"S expands to {bars['S']} measures, more than the limit of {MAX_MEASURES}", path=source
        )
    used = _used_sections(rules)
    unused = tuple(name for name in reversed(order) if name not in used and name != "S")
    meters, slots, marked, sections = _expand(rules, source)
    return _build(source, meters, slots, unused, marked, sections)


def _read_rules(text: str, source: str) -> tuple[dict[str, list[tuple]], list[str]]:
    """Rules by name (tokens with line and column), and the names in file order."""
    if not isinstance(text, str):
        raise CorpusFormatError(f"expected text, got {type(text).__name__}", path=source)
    rules: dict[str, list[tuple]] = {}
    order: list[str] = []
    for line_number, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("%", 1)[0]
        if not line.strip():
            continue
        match = _RULE_RE.match(line)
        if match is None:
            column = len(line) - len(line.lstrip()) + 1
            raise CorpusFormatError(
                "expected a rule 'Name: body' (a name of letters and digits, then ':')",
                path=source, line=line_number, column=column,
            )
        name = match[1]
        if name in rules:
            raise CorpusFormatError(
                f"section {name!r} is defined twice", path=source, line=line_number, column=match.start(1) + 1
            )
        body_offset = match.start(2)
        rules[name] = [
            _token(token.group(), source, line_number, body_offset + token.start() + 1)
            for token in re.finditer(r"\S+", match[2])
        ]
        order.append(name)
    return rules, order


def _token(text: str, source: str, line: int, column: int) -> tuple:
    """Classify one body token: (kind, value, count, line, column)."""
    if text[0] == "|":
        match = _BAR_RE.fullmatch(text)
        if match is None or (match[1] is not None and int(match[1]) < 1):
            raise CorpusFormatError(
                f"bad barline {text!r}: expected '|' or '|*N' with N >= 1", path=source, line=line, column=column
            )
        return (_BAR, None, int(match[1] or 1), line, column)
    if text[0] == "$":
        match = _REF_RE.fullmatch(text)
        if match is None or (match[2] is not None and int(match[2]) < 1):
            raise CorpusFormatError(
                f"bad section reference {text!r}: expected '$Name' or '$Name*N' with N >= 1",
                path=source, line=line, column=column,
            )
        return (_REF, match[1], int(match[2] or 1), line, column)
    if text[0] == "[":
        if text == "[0]":
            return (_METER, None, 1, line, column)
        meter = _METER_RE.fullmatch(text)
        if meter is not None and int(meter[1]) > 0 and int(meter[2]) > 0:
            return (_METER, f"{int(meter[1])}/{int(meter[2])}", 1, line, column)
        key = parse_key(text)
        if key is None:
            raise CorpusFormatError(
                f"bad bracket token {text!r}: expected a key like [Eb], a meter like [12/8], or [0]",
                path=source, line=line, column=column,
            )
        return (_KEY, key, 1, line, column)
    if text in (".", "R"):
        return (_SLOT, text, 1, line, column)
    try:
        parse_numeral(text)
    except CorpusFormatError as error:
        raise CorpusFormatError(error.reason, path=source, line=line, column=column) from None
    return (_SLOT, text, 1, line, column)


def _check_references(rules: dict[str, list[tuple]], source: str) -> None:
    for tokens in rules.values():
        for kind, value, _count, line, column in tokens:
            if kind == _REF and value not in rules:
                raise CorpusFormatError(
                    f"section ${value} is used but never defined", path=source, line=line, column=column
                )


def _measure_sizes(rules: dict[str, list[tuple]], source: str) -> tuple[dict[str, int], dict[str, int]]:
    """Expanded token and barline counts of every section; cycles are errors.

    Iterative depth-first search, so deep chains of sections cannot overflow
    the interpreter's stack.
    """
    sizes: dict[str, int] = {}
    bars: dict[str, int] = {}
    active: set[str] = set()
    for root in rules:
        if root in sizes:
            continue
        stack = [root]
        while stack:
            name = stack[-1]
            if name in sizes:
                stack.pop()
                continue
            pending = [
                token for token in rules[name] if token[0] == _REF and token[1] not in sizes
            ]
            if name not in active:
                active.add(name)
                for token in pending:
                    if token[1] in active:
                        raise CorpusFormatError(
                            f"section {token[1]!r} refers to itself (through ${token[1]} in {name!r})",
                            path=source, line=token[3], column=token[4],
                        )
                stack.extend(token[1] for token in pending)
                continue
            if pending:
                # A child reached by another path is still being expanded: a cycle.
                token = pending[0]
                raise CorpusFormatError(
                    f"section {token[1]!r} refers to itself (through ${token[1]} in {name!r})",
                    path=source, line=token[3], column=token[4],
                )
            size = count = 0
            for kind, value, repeat, _line, _column in rules[name]:
                if kind == _REF:
                    size += repeat * sizes[value]
                    count += repeat * bars[value]
                elif kind == _BAR:
                    size += repeat
                    count += repeat
                else:
                    size += 1
            sizes[name], bars[name] = size, count
            active.discard(name)
            stack.pop()
    return sizes, bars


def _used_sections(rules: dict[str, list[tuple]]) -> set[str]:
    used: set[str] = set()
    stack = ["S"]
    while stack:
        for token in rules[stack.pop()]:
            if token[0] == _REF and token[1] not in used:
                used.add(token[1])
                stack.append(token[1])
    return used


def _expand(
    rules: dict[str, list[tuple]], source: str
) -> tuple[list[str | None], list[list[tuple[str, int]]], frozenset[int], list[str | None]]:
    """Expand S into per-measure meters and slot tokens, scoping key and meter.

    Also returns the measures that hold a key or meter token: the expander
    prints a lone continuation ``.`` in them (and nothing in other measures);
    and each measure's section: the name of the rule ``S`` refers to that
    the measure's barline lies in (None for a barline written in ``S`` itself).
    """
    marked: set[int] = set()
    key: int | None = None
    meter: str | None = _DEFAULT_METER
    meters: list[str | None] = []
    sections: list[str | None] = []
    measures: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    # Frames: [tokens, next index, repeats left, key and meter to restore, rule name].
    stack: list[list] = [[rules["S"], 0, 0, key, meter, "S"]]
    while stack:
        frame = stack[-1]
        tokens, index = frame[0], frame[1]
        if index == len(tokens):
            key, meter = frame[3], frame[4]
            if frame[2] > 0:
                frame[1], frame[2] = 0, frame[2] - 1
            else:
                stack.pop()
            continue
        frame[1] = index + 1
        kind, value, count, line, column = tokens[index]
        if kind == _SLOT:
            if key is None:
                raise CorpusFormatError(
                    f"{value!r} comes before any key token", path=source, line=line, column=column
                )
            current.append((value, key))
        elif kind == _BAR:
            for _ in range(count):
                meters.append(meter)
                sections.append(stack[1][5] if len(stack) > 1 else None)
                measures.append(current)
                current = []
        elif kind == _REF:
            stack.append([rules[value], 0, count - 1, key, meter, value])
        elif kind == _KEY:
            key = value
            marked.add(len(measures))
        else:
            meter = value
            marked.add(len(measures))
    return meters, measures, frozenset(marked), sections


def _build(
    source: str,
    meters: list[str | None],
    measures: list[list[tuple[str, int]]],
    unused: tuple[str, ...],
    marked: frozenset[int],
    sections: list[str | None],
) -> HarmonyAnalysis:
    """Chord events and table rows from the per-measure slots."""
    measure_count = len(measures)
    starts: list[tuple[str, Fraction, int]] = []
    last: tuple[str, int] | None = None
    for number, slots in enumerate(measures):
        count = len(slots)
        for position, (symbol, key) in enumerate(slots):
            if symbol in (".", "R") or (symbol, key) == last:
                continue
            starts.append((symbol, number + Fraction(position, count), key))
            last = (symbol, key)
    end_of_song = Fraction(measure_count)
    events = tuple(
        ChordEvent(symbol, start, starts[i + 1][1] if i + 1 < len(starts) else end_of_song, key)
        for i, (symbol, start, key) in enumerate(starts)
    )
    groups: list[list] = []
    for event in events:
        root = parse_numeral(event.symbol).chromatic_root
        if groups and groups[-1][3] == root and groups[-1][4] == event.key:
            groups[-1][1] = event.end
        else:
            groups.append([event.start, event.end, event.symbol, root, event.key])
    rows = tuple(
        ChordRow(start, end, symbol, root, parse_numeral(symbol).diatonic_root, key, (root + key) % 12)
        for start, end, symbol, root, key in groups
    )
    return HarmonyAnalysis(
        source=source,
        events=events,
        rows=rows,
        meters=tuple(meters),
        measure_count=measure_count,
        measure_slots=tuple(tuple(slots) for slots in measures),
        unused_sections=unused,
        marked_measures=marked,
        sections=tuple(sections),
    )
