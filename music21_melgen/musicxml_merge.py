"""The user's MusicXML document plus one part: the lossless way to give a MusicXML score back.

music21 reads a MusicXML file into its own objects and writes new XML from
them, dropping or changing what it does not model (layout, pedal marks,
some lyrics and directions). For a MusicXML input, :func:`merged_musicxml`
instead takes the document as it is (lxml) and adds the melody's
``<score-part>`` (first in the ``<part-list>``) and its ``<part>`` (first of
the parts); every other element is left exactly as it was, so each input
part's canonical XML (C14N) is equal before and after.

Reading is bounded (issue 15): :func:`read_musicxml_bytes` unpacks at most
``limit`` bytes (default :data:`MAX_UNPACKED_BYTES`, 50 MB) of a file or of
the score inside an ``.mxl`` archive, and the XML parser resolves no
entities and fetches nothing, so a decompression or entity bomb is a
:class:`~music21_melgen.errors.ScoreError` within a moment.
"""

from __future__ import annotations

import os
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from music21_melgen.errors import OutputError, ScoreError

__all__ = [
    "MAX_UNPACKED_BYTES",
    "MUSICXML_SUFFIXES",
    "ChordMark",
    "is_partwise",
    "merged_musicxml",
    "read_musicxml_bytes",
    "with_chord_names",
]

MAX_UNPACKED_BYTES = 50_000_000  # the most bytes of MusicXML read from one input (50 MB)
MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")
MELODY_ID_PREFIX = "melgen-"  # prefixed to the melody's ids so they never clash with the user's


def _limit_text(limit: int) -> str:
    return f"{limit / 1e6:g} MB"


def read_musicxml_bytes(path: str | os.PathLike[str], *, limit: int = MAX_UNPACKED_BYTES) -> bytes:
    """The MusicXML text of ``path`` (a ``.musicxml``/``.xml`` file, or the score inside an ``.mxl``).

    At most ``limit`` bytes are read or unpacked; more is a :class:`ScoreError`
    (raise ``limit`` for a larger score).
    """
    source = Path(path)
    too_big = f"{source}: the score is larger than {_limit_text(limit)} of MusicXML; raise the limit to read it"
    if source.suffix.lower() != ".mxl":
        if source.stat().st_size > limit:
            raise ScoreError(too_big)
        return source.read_bytes()
    try:
        with zipfile.ZipFile(source) as archive:
            name = _root_file(archive, source)
            with archive.open(name) as member:
                data = member.read(limit + 1)
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError, EOFError) as error:
        raise ScoreError(f"{source}: not a readable .mxl archive ({error})") from None
    if len(data) > limit:
        raise ScoreError(too_big)
    return data


def _root_file(archive: zipfile.ZipFile, source: Path) -> str:
    """The score member of an ``.mxl``: the container's first rootfile, else the first .xml/.musicxml."""
    names = archive.namelist()
    if "META-INF/container.xml" in names:
        with archive.open("META-INF/container.xml") as member:
            container = member.read(1 << 20)
        root = _parse(container, f"{source} (META-INF/container.xml)")
        for rootfile in root.iter("rootfile"):
            wanted = rootfile.get("full-path")
            if wanted in names:
                return wanted
    for name in names:
        if name.lower().endswith((".musicxml", ".xml")) and not name.startswith("META-INF/"):
            return name
    raise ScoreError(f"{source}: the .mxl archive holds no MusicXML score")


def _parse(data: bytes, where: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ScoreError(f"{where}: not well-formed XML ({error})") from None


def is_partwise(document: bytes) -> bool:
    """Whether ``document`` is a partwise score with a part list and parts (what a part can be added to).

    A timewise score (``<score-timewise>``) goes through music21's export instead.

    >>> is_partwise(b'<score-partwise><part-list/><part id="P1"/></score-partwise>'), is_partwise(b'<score-timewise/>')
    (True, False)
    """
    try:
        root = _parse(document, "the score")
    except ScoreError:
        return False
    return root.tag == "score-partwise" and root.find("part-list") is not None and root.find("part") is not None


def merged_musicxml(original: bytes, melody: bytes, *, where: str = "the score") -> bytes:
    """``original`` (a partwise MusicXML document) with the only part of ``melody`` added on top.

    ``melody`` is a MusicXML document holding one part (music21's export of
    the melody). Its ids get the prefix ``melgen-``; the melody's
    ``<score-part>`` goes first in the ``<part-list>``, its ``<part>`` before
    the first ``<part>``. Nothing else of ``original`` changes.
    """
    from lxml import etree

    document = _parse(original, where)
    if document.tag != "score-partwise":
        raise OutputError(f"{where}: a <{document.tag}> document cannot take a part; only score-partwise")
    added = _parse(melody, "the melody")
    score_part = added.find("part-list/score-part")
    part = added.find("part")
    part_list = document.find("part-list")
    first_part = document.find("part")
    if score_part is None or part is None or part_list is None or first_part is None:
        raise OutputError(f"{where}: the document has no <part-list> and <part> to add the melody to")
    for element in (score_part, part):
        for tagged in element.iter():
            if "id" in tagged.attrib:
                tagged.set("id", MELODY_ID_PREFIX + tagged.get("id"))
    part.tail = first_part.tail
    score_part.tail = part_list[0].tail if len(part_list) else "\n"
    part_list.insert(0, score_part)
    first_part.addprevious(part)
    tree = document.getroottree()
    return etree.tostring(
        tree,
        xml_declaration=True,
        encoding=tree.docinfo.encoding or "UTF-8",
        doctype=tree.docinfo.doctype or None,
        standalone=tree.docinfo.standalone,
    )


class ChordMark(NamedTuple):
    """A chord name to show: where (measure number, quarters into it), its root and MusicXML kind."""

    measure: str
    offset: Fraction
    root: str  # the root's name, 'F#', 'Bb'
    kind: str  # a MusicXML kind-value: 'major', 'minor-seventh', 'dominant', ...


def with_chord_names(document: bytes, marks: list[ChordMark], *, part: int = 0) -> bytes:
    """``document`` with each mark written as a ``<harmony>`` chord name in one part.

    Each goes at the start of its measure (after the attributes) with an
    ``<offset>`` in the part's divisions; nothing sounds and nothing else
    changes. Written by hand: music21's own export of a chord symbol works
    out its pitches first (milliseconds each), and MusicXML's ``<numeral>``
    is not read back by music21 10.
    """
    from lxml import etree

    root = _parse(document, "the score")
    target = root.findall("part")[part]
    divisions = 1
    pending: dict[str, list[ChordMark]] = {}
    for item in marks:
        pending.setdefault(item.measure, []).append(item)
    for measure in target.findall("measure"):
        found = measure.find("attributes/divisions")
        if found is not None and found.text:
            divisions = int(found.text)
        anchor = measure.find("attributes")
        at = measure.index(anchor) + 1 if anchor is not None else 0
        for item in reversed(pending.get(measure.get("number"), [])):
            harmony = etree.Element("harmony", {"print-frame": "no"})
            written = etree.SubElement(harmony, "root")
            etree.SubElement(written, "root-step").text = item.root[0]
            alter = item.root.count("#") - item.root.count("b")
            if alter:
                etree.SubElement(written, "root-alter").text = str(alter)
            etree.SubElement(harmony, "kind").text = item.kind
            if item.offset:
                etree.SubElement(harmony, "offset").text = str(round(item.offset * divisions))
            harmony.tail = "\n"
            measure.insert(at, harmony)
    tree = root.getroottree()
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", doctype=tree.docinfo.doctype or None)
