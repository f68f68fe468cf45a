"""Roman numerals of the Rolling Stone Rock Corpus (de Clercq & Temperley).

A chord symbol of a ``.har`` analysis follows the grammar of the corpus
README::

    [b|#] NUMERAL [figures] [ "/" [b|#] NUMERAL [figures] ]

:func:`parse_numeral` turns one symbol into a :class:`Numeral`: the
chromatic and diatonic roots the authors' expander prints (numeral plus
secondary target, mod 12), and the chord's pitch classes relative to the
tonic, which the expander never computed. The pitch classes follow these
rules (the authors' programs ignore figures, so the meaning is ours):

* the triad comes from the case: upper case major, lower case minor; ``o``
  diminished, ``a`` augmented, ``s4`` replaces the third by a fourth;
* ``7`` (and the seventh-chord inversions ``65``, ``43``, ``42``) adds the
  seventh of the scale the numeral belongs to: a major seventh on upper-case
  ``I``, ``IV``, ``bIII``, ``bVI`` (diatonic in major or natural minor), a
  minor seventh on every other upper-case numeral (``V7``, ``bVII7``,
  ``II7`` are dominant sevenths) and on every lower-case numeral;
* ``d`` forces a dominant seventh (major triad, minor seventh) whatever the
  case, ``h`` a half-diminished and ``x`` a diminished seventh chord; ``a7``
  is an augmented triad with a minor seventh; ``d9`` adds a ninth to a
  dominant seventh and ``d6`` (once, ``iid6/ii``) is read as a dominant
  seventh in first inversion;
* ``9`` and ``11`` add a ninth or eleventh to the triad (no seventh);
  ``+9``/``+11`` mean the same, ``b9`` and ``#9`` add the lowered or raised
  ninth, ``b5`` lowers the fifth;
* inversion figures (``6``, ``64``, ``65``, ``43``, ``42``) set
  :attr:`Numeral.inversion` and do not change the set.

Qualities (:data:`QUALITIES`): ``major``, ``minor``, ``diminished``,
``augmented``, ``suspended``, ``major-flat-five``, ``major-seventh``,
``minor-seventh``, ``dominant-seventh``, ``half-diminished-seventh``,
``diminished-seventh``, ``augmented-seventh``, ``suspended-seventh``.

>>> n = parse_numeral('V7/IV')
>>> n.chromatic_root, n.diatonic_root, sorted(n.pitch_classes), n.quality
(0, 1, [0, 4, 7, 10], 'dominant-seventh')
>>> sorted(parse_numeral('bVIId7').pitch_classes)
[2, 5, 8, 10]
>>> parse_numeral('viix42/V').quality, parse_numeral('viix42/V').inversion
('diminished-seventh', 3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from music21_melgen.errors import CorpusFormatError

__all__ = [
    "Numeral",
    "QUALITIES",
    "NUMERAL_ROOTS",
    "diatonic_root",
    "numeral_root",
    "parse_numeral",
]

# Semitones above the tonic of each upper-case numeral (README table).
NUMERAL_ROOTS = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}

QUALITIES = (
    "major",
    "minor",
    "diminished",
    "augmented",
    "suspended",
    "major-flat-five",
    "major-seventh",
    "minor-seventh",
    "dominant-seventh",
    "half-diminished-seventh",
    "diminished-seventh",
    "augmented-seventh",
    "suspended-seventh",
)

# Diatonic root 1-7 from the chromatic root (reference column 5).
_DIATONIC = (1, 2, 2, 3, 3, 4, 4, 5, 6, 6, 7, 7)

# Upper-case numerals whose diatonic seventh is major (I, bIII, IV, bVI).
_MAJOR_SEVENTH_ROOTS = frozenset({0, 3, 5, 8})

_NUMERAL = r"(?:VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
_SYMBOL_RE = re.compile(
    rf"(?P<acc>[b#]?)(?P<num>{_NUMERAL})(?P<fig>[^/]*)"
    rf"(?:/(?P<tacc>[b#]?)(?P<tnum>{_NUMERAL})(?P<tfig>[^/]*))?"
)
_FIGURE_RE = re.compile(
    r"(?P<kind>[ohxad]?)(?P<sus>s4)?(?P<number>7|65|43|42|64|6|9|11)?"
    r"(?P<extras>(?:s4|[b#+](?:5|9|11))*)"
)
_TARGET_FIGURE_RE = re.compile(r"(?:[ohxad]?(?:7|65|43|42|64|6|9|11)?)")
_INVERSIONS = {"6": 1, "64": 2, "65": 1, "43": 2, "42": 3, "7": 0}
_SEVENTH_FIGURES = frozenset({"7", "65", "43", "42"})
_DOMINANT_FIGURES = _SEVENTH_FIGURES | {"9", "6"}  # d9 dominant ninth; d6 read as d65


@dataclass(frozen=True)
class Numeral:
    """One Rock Corpus chord symbol, analysed."""

    symbol: str  # as written, 'V7/IV'
    chromatic_root: int  # 0-11 above the tonic (numeral + secondary target, mod 12)
    diatonic_root: int  # 1-7, from chromatic_root as in the reference tables
    pitch_classes: frozenset[int]  # chord tones, 0-11 above the tonic
    quality: str  # one of QUALITIES
    inversion: int  # 0 root position, 1 first, 2 second, 3 third inversion
    numeral: str  # the numeral with its accidental, 'bVII'
    figure: str  # the figures after the numeral, 'd7'
    secondary: str  # the target after '/', 'IV', or '' when there is none
    bass: int  # 0-11 above the tonic: root, third, fifth or seventh by the inversion


def numeral_root(text: str) -> int:
    """Semitones above the tonic of a numeral with optional accidental ('bVII' -> 10).

    >>> numeral_root('bVII'), numeral_root('#iv'), numeral_root('ii')
    (10, 6, 2)
    """
    accidental = {"b": -1, "#": 1}.get(text[:1], 0)
    return (NUMERAL_ROOTS[text.lstrip("b#").upper()] + accidental) % 12


def diatonic_root(chromatic_root: int) -> int:
    """Diatonic root 1-7 the reference tables derive from a chromatic root.

    >>> [diatonic_root(c) for c in range(12)]
    [1, 2, 2, 3, 3, 4, 4, 5, 6, 6, 7, 7]
    """
    return _DIATONIC[chromatic_root % 12]


def parse_numeral(symbol: str, *, source: str | None = None, line: int | None = None) -> Numeral:
    """Analyse one chord symbol; :class:`CorpusFormatError` if it breaks the grammar.

    Results are cached, so parsing the same symbol again is a dictionary look-up.

    >>> parse_numeral('ii65').pitch_classes == frozenset({2, 5, 9, 0})
    True
    >>> parse_numeral('Q7', source='x.har', line=4)
    Traceback (most recent call last):
    ...
    music21_melgen.errors.CorpusFormatError: x.har:4: bad chord symbol 'Q7': expected [b|#]NUMERAL[figures][/[b|#]NUMERAL]
    """
    try:
        return _parse_cached(symbol)
    except _SymbolError as error:
        raise CorpusFormatError(f"bad chord symbol {symbol!r}: {error}", path=source, line=line) from None


class _SymbolError(Exception):
    """Internal: why a symbol does not parse (wrapped with the location)."""


@lru_cache(maxsize=4096)
def _parse_cached(symbol: str) -> Numeral:
    match = _SYMBOL_RE.fullmatch(symbol) if isinstance(symbol, str) else None
    if match is None:
        raise _SymbolError("expected [b|#]NUMERAL[figures][/[b|#]NUMERAL]")
    numeral = match["acc"] + match["num"]
    figure = match["fig"]
    figure_match = _FIGURE_RE.fullmatch(figure)
    if figure_match is None:
        raise _SymbolError(f"unknown figure {figure!r}")
    kind, number = figure_match["kind"], figure_match["number"] or ""
    if kind in ("h", "x") and number not in _SEVENTH_FIGURES or kind == "d" and number not in _DOMINANT_FIGURES:
        raise _SymbolError(f"figure {figure!r}: {kind!r} needs a seventh-chord figure (7, 65, 43, 42)")
    target_root = 0
    secondary = ""
    if match["tnum"] is not None:
        if _TARGET_FIGURE_RE.fullmatch(match["tfig"]) is None:
            raise _SymbolError(f"unknown figure {match['tfig']!r} on the secondary target")
        secondary = match["tacc"] + match["tnum"] + match["tfig"]
        target_root = numeral_root(match["tacc"] + match["tnum"])
    own_root = numeral_root(numeral)
    intervals, quality, inversion, bass = _chord_intervals(
        own_root, match["num"].isupper(), figure_match
    )
    root = (own_root + target_root) % 12
    return Numeral(
        symbol=symbol,
        chromatic_root=root,
        diatonic_root=diatonic_root(root),
        pitch_classes=frozenset((root + i) % 12 for i in intervals),
        quality=quality,
        inversion=inversion,
        numeral=numeral,
        figure=figure,
        secondary=secondary,
        bass=(root + bass) % 12,
    )


def _chord_intervals(
    own_root: int, upper: bool, figure: re.Match
) -> tuple[set[int], str, int, int]:
    """Intervals above the root, the quality, the inversion and the bass interval."""
    kind, number = figure["kind"], figure["number"] or ""
    extras = re.findall(r"s4|[b#+](?:5|9|11)", figure["extras"])
    sus = bool(figure["sus"]) or "s4" in extras
    inversion = _INVERSIONS.get(number, 0)
    seventh: int | None = None
    if kind == "o":
        third, fifth, quality = 3, 6, "diminished"
        if number in _SEVENTH_FIGURES:
            seventh, quality = 9, "diminished-seventh"
    elif kind == "a":
        third, fifth, quality = 4, 8, "augmented"
        if number in _SEVENTH_FIGURES:
            seventh, quality = 10, "augmented-seventh"
    elif kind == "h":
        third, fifth, seventh, quality = 3, 6, 10, "half-diminished-seventh"
    elif kind == "x":
        third, fifth, seventh, quality = 3, 6, 9, "diminished-seventh"
    elif kind == "d":
        third, fifth, seventh, quality = 4, 7, 10, "dominant-seventh"
        if number == "6":
            inversion = 1
    else:
        third, fifth = (4, 7) if upper else (3, 7)
        quality = "major" if upper else "minor"
        if number in _SEVENTH_FIGURES:
            if upper and own_root in _MAJOR_SEVENTH_ROOTS:
                seventh, quality = 11, "major-seventh"
            elif upper:
                seventh, quality = 10, "dominant-seventh"
            else:
                seventh, quality = 10, "minor-seventh"
    if "b5" in extras:
        fifth = 6
        if quality == "major":
            quality = "major-flat-five"
    if sus:
        third = 5
        quality = "suspended-seventh" if seventh is not None else "suspended"
    intervals = {0, third, fifth}
    if seventh is not None:
        intervals.add(seventh)
    if number == "9" or "+9" in extras:
        intervals.add(2)
    if number == "11" or "+11" in extras:
        intervals.add(5)
    if "b9" in extras:
        intervals.add(1)
    if "#9" in extras:
        intervals.add(3)
    if seventh is None and inversion == 3:
        inversion = 0
    bass = (0, third, fifth, seventh if seventh is not None else 0)[inversion]
    return intervals, quality, inversion, bass
