"""Writing scores: the last step of the data path.

:func:`write_score` writes a music21 score in the format its extension names
(:data:`OUTPUT_FORMATS`): MusicXML 4.0 valid against the schema, compressed
``.mxl``, or MIDI. Equal music gives byte-identical files whatever the day,
process or machine: music21's random part and instrument ids are numbered
(``P1``, ``I1``, ...), the optional ``<encoding-date>`` is left out and
``.mxl`` members carry a fixed time, so ``melgen generate`` and ``melgen batch``
with one seed write the same bytes twice. Like every file the package writes,
it goes through the one atomic writer (:mod:`~music21_melgen.atomic`).
"""

from __future__ import annotations

import copy
import io
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from music21 import chord, harmony, stream
from music21.musicxml import m21ToXml

from music21_melgen.atomic import atomic_write, atomic_write_with
from music21_melgen.errors import OutputError
from music21_melgen.timeline import ChordTimeline

__all__ = [
    "OUTPUT_FORMATS",
    "SCHEMA_KINDS",
    "atomic_write",
    "atomic_write_with",
    "musicxml_bytes",
    "write_score",
]

# Output format by file extension.
OUTPUT_FORMATS = {".musicxml": "musicxml", ".xml": "musicxml", ".mxl": "mxl", ".mid": "midi", ".midi": "midi"}

# Chord kinds of the MusicXML 4.0 schema (``kind-value``); music21 writes a few others.
SCHEMA_KINDS = (
    "major minor augmented diminished dominant major-seventh minor-seventh diminished-seventh "
    "augmented-seventh half-diminished major-minor major-sixth minor-sixth dominant-ninth "
    "major-ninth minor-ninth dominant-11th major-11th minor-11th dominant-13th major-13th "
    "minor-13th suspended-second suspended-fourth Neapolitan Italian French German pedal power "
    "Tristan other none"
).split()

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP member can carry
_RANDOM_ID = re.compile(rb'id="([PI])([0-9a-f]{32})"')
_ENCODING_DATE = re.compile(rb"[ \t]*<encoding-date>[^<]*</encoding-date>\r?\n?")


# --- scores -----------------------------------------------------------------------------


def write_score(
    score: stream.Score, path: str | os.PathLike[str], *, timeline: ChordTimeline | None = None
) -> Path:
    """Write ``score`` to ``path`` in the format its extension names, atomically.

    MusicXML (``.musicxml``, ``.xml``, compressed ``.mxl``) valid against the
    schema; MIDI (``.mid``, ``.midi``), where ``timeline`` (if given) makes
    silent chord symbols sound. The file appears whole or not at all, and
    equal music gives equal bytes.
    """
    target = Path(path)
    fmt = OUTPUT_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"{target}: unknown output extension {target.suffix!r}; use one of {', '.join(OUTPUT_FORMATS)}"
        )
    _check_writable(target)
    if fmt == "midi":
        data = _midi_bytes(score, timeline)
    else:
        data = musicxml_bytes(score)
        if fmt == "mxl":
            data = _mxl_bytes(data, target.with_suffix(".musicxml").name)
    return atomic_write(target, data)


def _check_writable(target: Path) -> None:
    """Raise :class:`OutputError` unless ``target`` names a file in an existing, writable folder."""
    folder = target.parent
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{target}: {folder} is a file, not a folder; choose another output path")
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist; create it first")
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name such as out.musicxml")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: the folder {folder} is not writable")


def _deterministic_musicxml(data: bytes) -> bytes:
    """MusicXML bytes with music21's random ids numbered and the encoding date removed.

    Ids become ``P1``, ``P2`` ... / ``I1`` ... in order of appearance, skipping
    numbers the document already uses.

    >>> xml = (b'<encoding>\\n  <encoding-date>2024-01-31</encoding-date>\\n</encoding>'
    ...        b'<score-part id="P' + b'a' * 32 + b'"/><part id="P' + b'a' * 32 + b'"/>'
    ...        b'<x id="P1"/><y id="P' + b'b' * 32 + b'"/>')
    >>> print(_deterministic_musicxml(xml).decode())
    <encoding>
    </encoding><score-part id="P2"/><part id="P2"/><x id="P1"/><y id="P3"/>
    """
    names: dict[bytes, bytes] = {}
    counters = {b"P": 0, b"I": 0}

    def rename(match: re.Match[bytes]) -> bytes:
        letter, token = match[1], match[1] + match[2]
        if token not in names:
            while True:
                counters[letter] += 1
                candidate = letter + str(counters[letter]).encode()
                if b'id="' + candidate + b'"' not in data:
                    break
            names[token] = candidate
        return b'id="' + names[token] + b'"'

    return _ENCODING_DATE.sub(b"", _RANDOM_ID.sub(rename, data))


def _degrees(formula: str) -> dict[int, int]:
    """music21's chord formula ('1,3,#5,-7') as {degree: alteration in semitones}."""
    found = {}
    for token in formula.split(","):
        digits = token.lstrip("#-")
        found[int(digits)] = token.count("#") - token.count("-")
    return found


@lru_cache(maxsize=None)
def _schema_kind(kind: str) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """A schema kind plus ``(type, degree, alter)`` changes that spell music21's ``kind``.

    The base is the schema kind needing the fewest ``<degree>`` changes. A
    seventh is never added (MusicXML reads an added 7 as the minor seventh,
    music21 as the major one), so a chord with a seventh gets a base that has
    one. ``alter`` values are relative to the base's degree, ``add`` ones to a
    dominant chord, as MusicXML says.
    """
    target = _degrees(harmony.CHORD_TYPES[kind][0])
    best: tuple[int, str, tuple[tuple[str, int, int], ...]] | None = None
    for candidate in SCHEMA_KINDS:
        if candidate not in harmony.CHORD_TYPES:
            continue
        base = _degrees(harmony.CHORD_TYPES[candidate][0])
        if 7 in target and 7 not in base:
            continue
        changes = []
        for degree in sorted(set(target) | set(base)):
            if degree not in base:
                changes.append(("add", degree, target[degree]))
            elif degree not in target:
                changes.append(("subtract", degree, 0))
            elif base[degree] != target[degree]:
                changes.append(("alter", degree, target[degree] - base[degree]))
        if best is None or len(changes) < best[0]:
            best = (len(changes), candidate, tuple(changes))
    assert best is not None, kind  # 'dominant' (1,3,5,-7) is always a candidate
    return best[1], best[2]


def _fix_kinds(root: Any) -> None:
    """Rewrite ``<kind>`` values outside the schema as a schema kind plus ``<degree>`` elements."""
    from lxml import etree

    for kind in root.iter("kind"):
        value = (kind.text or "").strip()
        if value in SCHEMA_KINDS:
            continue
        if value not in harmony.CHORD_TYPES:
            kind.text = "other"  # unknown to music21 too: keep the chord's text, drop the claim
            continue
        base, changes = _schema_kind(value)
        if "text" not in kind.attrib:
            kind.set("text", harmony.CHORD_TYPES[value][1][0] if harmony.CHORD_TYPES[value][1] else "")
        kind.text = base
        parent = kind.getparent()
        anchor = kind
        for sibling in ("inversion", "bass"):
            found = parent.find(sibling)
            if found is not None:
                anchor = found
        at = parent.index(anchor) + 1
        for change_type, degree, alter in changes:
            element = etree.Element("degree")
            etree.SubElement(element, "degree-value").text = str(degree)
            etree.SubElement(element, "degree-alter").text = str(alter)
            etree.SubElement(element, "degree-type").text = change_type
            parent.insert(at, element)
            at += 1


def _sort_not_needed(*, inPlace: bool = False) -> None:
    """Stands in for ``Chord.sortAscending`` while exporting: the exporter drops its result."""


@contextmanager
def _discarded_sorts_skipped(score: stream.Score) -> Iterator[None]:
    """While exporting ``score``, skip the chord sort whose result music21 throws away.

    music21 10.5's ``MeasureExporter.chordToXml`` calls ``c.sortAscending()``,
    which returns a sorted deep copy, and ignores it: the notes are written in
    their stored order. The copy of a ``RomanNumeral`` (its key, scales and
    figures) costs ~2 ms, about a third of exporting a Rock Corpus song.
    So, only for the chords of this score and only for this call, the method
    is shadowed on each chord object by a no-op; the written MusicXML is the
    same, and no music21 class or module is touched, so other exports (other
    threads included) are unaffected.

    >>> from music21 import roman
    >>> score = stream.Score([stream.Part([stream.Measure([roman.RomanNumeral('V7', 'C')])])])
    >>> five = score.recurse().getElementsByClass(chord.Chord).first()
    >>> with _discarded_sorts_skipped(score):
    ...     five.sortAscending() is None
    True
    >>> five.sortAscending() is five, 'sortAscending' in vars(five)
    (False, False)
    """
    shadowed = [
        element
        for element in score.recurse().getElementsByClass(chord.Chord)
        if "sortAscending" not in vars(element)
    ]
    for element in shadowed:
        element.sortAscending = _sort_not_needed
    try:
        yield
    finally:
        for element in shadowed:
            del element.sortAscending


def musicxml_bytes(score: stream.Score) -> bytes:
    """``score`` as MusicXML 4.0 that validates against the schema.

    Exported without music21's ``makeNotation`` (which can re-flow measures
    after a meter change) when the score is well formed, with it otherwise;
    chord kinds the schema lacks are rewritten (:func:`_fix_kinds`). Equal
    music gives equal bytes: music21's random part and instrument ids are
    numbered and the day of writing is left out (:func:`_deterministic_musicxml`).
    """
    from lxml import etree

    try:
        with _discarded_sorts_skipped(score):
            exporter = m21ToXml.GeneralObjectExporter(score)
            exporter.makeNotation = False
            data = exporter.parse()
    except Exception:  # not well formed (complex durations, missing measures): let music21 tidy a copy
        try:
            data = m21ToXml.GeneralObjectExporter(copy.deepcopy(score)).parse()
        except Exception as error:
            raise OutputError(f"music21 cannot write this score as MusicXML: {error}") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    root = etree.fromstring(data, parser)
    _fix_kinds(root)
    return _deterministic_musicxml(
        etree.tostring(
            root.getroottree(),
            xml_declaration=True,
            encoding="UTF-8",
            doctype='<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
            '"http://www.musicxml.org/dtds/partwise.dtd">',
        )
    )


def _mxl_bytes(xml: bytes, name: str) -> bytes:
    """A compressed MusicXML archive holding ``xml`` as ``name``; equal input, equal bytes.

    Members get a fixed time (1980-01-01, the earliest a ZIP can hold) rather
    than the moment of writing.

    >>> _mxl_bytes(b'<score-partwise/>', 'a.musicxml') == _mxl_bytes(b'<score-partwise/>', 'a.musicxml')
    True
    """
    container = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<container><rootfiles>'
        f'<rootfile full-path="{name}" media-type="application/vnd.recordare.musicxml+xml"/>'
        "</rootfiles></container>\n"
    )
    members = (
        ("mimetype", b"application/vnd.recordare.musicxml", zipfile.ZIP_STORED),
        ("META-INF/container.xml", container.encode("utf-8"), zipfile.ZIP_DEFLATED),
        (name, xml, zipfile.ZIP_DEFLATED),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data, compression in members:
            info = zipfile.ZipInfo(member, date_time=_ZIP_TIME)
            info.compress_type = compression
            info.external_attr = 0o600 << 16  # what zipfile gives a member named by a string
            archive.writestr(info, data)
    return buffer.getvalue()


def _midi_bytes(score: stream.Score, timeline: ChordTimeline | None) -> bytes:
    """MIDI of ``score``; chord symbols (silent in music21's MIDI) sound as a block-chord part."""
    from music21 import instrument
    from music21.midi import translate

    sounding = score
    if timeline is not None and not any(
        isinstance(n, chord.Chord) and not isinstance(n, harmony.Harmony)
        for n in score.recurse().notes
    ) and score.recurse().getElementsByClass(harmony.ChordSymbol):
        sounding = copy.copy(score)
        sounding.insert(0, _chord_part(timeline, instrument))
    try:
        midi_file = translate.streamToMidiFile(sounding)
        return midi_file.writestr()
    except Exception as error:
        raise OutputError(f"music21 cannot write this score as MIDI: {error}") from None


def _chord_part(timeline: ChordTimeline, instrument: Any) -> stream.Part:
    """The timeline's chords as block chords (root position from C3), struck again each measure."""
    part = stream.Part()
    part.partName = "Chords (melgen)"
    part.insert(0, instrument.Piano())
    for bar in timeline.measures:
        measure = stream.Measure(number=bar.number)
        bar_end = bar.offset + bar.length
        for span in timeline.chords:
            start, stop = max(span.offset, bar.offset), min(span.end, bar_end)
            if span.root is None or stop <= start:
                continue
            block = chord.Chord(sorted({48 + span.root + (pc - span.root) % 12 for pc in span.pitch_classes}))
            block.quarterLength = stop - start
            measure.insert(start - bar.offset, block)
        part.insert(bar.offset, measure)
    return part
