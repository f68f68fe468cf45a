"""MusicXML for the parts :func:`music21_melgen.midi_io.read_midi` builds, written directly with lxml.

Those parts have one shape only: measures of equal meter, the key and meter
in the first, voices (or none) of notes, chords, unpitched hits and rests,
each a single note value, tied across barlines. music21's general exporter
spends most of a second on a pop song's accompaniment finding contexts it
does not need; this writes the same music in a tenth of the time. The result
is a partwise MusicXML 4.0 document (schema-valid) that the melody is then
added to (:func:`music21_melgen.musicxml_merge.merged_musicxml`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from music21 import chord, clef, key, meter, note, percussion, stream

__all__ = ["DIVISIONS", "parts_musicxml"]

DIVISIONS = 48  # divisions of a quarter: sixteenths, triplets and their halves are whole numbers
_DTD = (
    '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
    '"http://www.musicxml.org/dtds/partwise.dtd">'
)


def parts_musicxml(score: stream.Score, *, title: str = "") -> bytes:
    """A MusicXML document of the score's parts (as ``read_midi`` builds them), ids ``P1``, ``P2`` ...

    >>> from lxml import etree
    >>> part = stream.Part([stream.Measure([meter.TimeSignature('2/4'), note.Note('C4', quarterLength=2)], number=1)])
    >>> part.partName = 'Piano'
    >>> written = etree.fromstring(parts_musicxml(stream.Score([part])))
    >>> [(n.findtext('pitch/step'), n.findtext('duration'), n.findtext('type')) for n in written.iter('note')]
    [('C', '96', 'half')]
    """
    from lxml import etree

    root = etree.Element("score-partwise", version="4.0")
    if title:
        work = etree.SubElement(root, "work")
        etree.SubElement(work, "work-title").text = title
    part_list = etree.SubElement(root, "part-list")
    for index, part in enumerate(score.parts, start=1):
        score_part = etree.SubElement(part_list, "score-part", id=f"P{index}")
        etree.SubElement(score_part, "part-name").text = part.partName or f"Part {index}"
    for index, part in enumerate(score.parts, start=1):
        root.append(_part(part, f"P{index}"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", doctype=_DTD, pretty_print=True)


def _part(part: stream.Part, part_id: str) -> Any:
    from lxml import etree

    element = etree.Element("part", id=part_id)
    drums = any(isinstance(n, (note.Unpitched, percussion.PercussionChord)) for n in part.recurse().notes)
    measures = list(part.getElementsByClass(stream.Measure))
    for index, measure in enumerate(measures):
        written = etree.SubElement(element, "measure", number=str(measure.number))
        if index == 0:
            _attributes(written, measure, part, drums)
        voices = list(measure.voices) or [measure]
        length = Fraction(measure.duration.quarterLength).limit_denominator(DIVISIONS)
        for number, voice in enumerate(voices, start=1):
            if number > 1:
                backup = etree.SubElement(written, "backup")
                etree.SubElement(backup, "duration").text = str(int(length * DIVISIONS))
            for item in voice.notesAndRests:
                _note(written, item, number)
    return element


def _attributes(measure_element: Any, measure: stream.Measure, part: stream.Part, drums: bool) -> None:
    from lxml import etree

    attributes = etree.SubElement(measure_element, "attributes")
    etree.SubElement(attributes, "divisions").text = str(DIVISIONS)
    found_key = measure.getElementsByClass(key.KeySignature).first()
    if found_key is not None:
        written = etree.SubElement(attributes, "key")
        etree.SubElement(written, "fifths").text = str(found_key.sharps)
        if isinstance(found_key, key.Key):
            etree.SubElement(written, "mode").text = found_key.mode
    signature = measure.getElementsByClass(meter.TimeSignature).first() or meter.TimeSignature("4/4")
    time = etree.SubElement(attributes, "time")
    etree.SubElement(time, "beats").text = str(signature.numerator)
    etree.SubElement(time, "beat-type").text = str(signature.denominator)
    written_clef = etree.SubElement(attributes, "clef")
    if drums:
        etree.SubElement(written_clef, "sign").text = "percussion"
        return
    pitches = [p.midi for n in part.recurse().notes for p in n.pitches]
    chosen = clef.BassClef() if pitches and sum(pitches) / len(pitches) < 58 else clef.TrebleClef()
    etree.SubElement(written_clef, "sign").text = chosen.sign
    etree.SubElement(written_clef, "line").text = str(chosen.line)


def _note(measure_element: Any, item: note.GeneralNote, voice: int) -> None:
    """One note, chord (a note per pitch, ``<chord/>`` after the first), hit or rest."""
    if isinstance(item, (chord.Chord, percussion.PercussionChord)):
        members = list(item.notes)
    else:
        members = [item]
    for position, member in enumerate(members):
        _one(measure_element, item, member, voice, chorded=position > 0)


def _one(measure_element: Any, item: note.GeneralNote, member: Any, voice: int, *, chorded: bool) -> None:
    from lxml import etree

    written = etree.SubElement(measure_element, "note")
    if chorded:
        etree.SubElement(written, "chord")
    if isinstance(item, note.Rest):
        etree.SubElement(written, "rest")
    elif isinstance(member, note.Unpitched):
        unpitched = etree.SubElement(written, "unpitched")
        etree.SubElement(unpitched, "display-step").text = "C"
        etree.SubElement(unpitched, "display-octave").text = "5"
    else:
        sounding = member.pitch
        written_pitch = etree.SubElement(written, "pitch")
        etree.SubElement(written_pitch, "step").text = sounding.step
        if sounding.accidental is not None and sounding.accidental.alter:
            etree.SubElement(written_pitch, "alter").text = str(int(sounding.accidental.alter))
        etree.SubElement(written_pitch, "octave").text = str(sounding.octave)
    length = Fraction(item.duration.quarterLength).limit_denominator(DIVISIONS)
    etree.SubElement(written, "duration").text = str(int(length * DIVISIONS))
    tie_type = item.tie.type if item.tie is not None else None
    for kind in _tie_kinds(tie_type):
        etree.SubElement(written, "tie", type=kind)
    etree.SubElement(written, "voice").text = str(voice)
    value = item.duration
    etree.SubElement(written, "type").text = value.type
    for _ in range(value.dots):
        etree.SubElement(written, "dot")
    if value.tuplets:
        tuplet = value.tuplets[0]
        modification = etree.SubElement(written, "time-modification")
        etree.SubElement(modification, "actual-notes").text = str(tuplet.numberNotesActual)
        etree.SubElement(modification, "normal-notes").text = str(tuplet.numberNotesNormal)
    if tie_type is not None:
        notations = etree.SubElement(written, "notations")
        for kind in _tie_kinds(tie_type):
            etree.SubElement(notations, "tied", type=kind)


def _tie_kinds(tie_type: str | None) -> list[str]:
    """MusicXML tie ends for a music21 tie type ('continue' is a stop and a start).

    >>> _tie_kinds('continue'), _tie_kinds(None)
    (['stop', 'start'], [])
    """
    if tie_type is None:
        return []
    return ["stop", "start"] if tie_type == "continue" else [tie_type]
