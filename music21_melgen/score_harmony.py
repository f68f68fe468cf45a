"""Harmony of any music21 score, read into a :class:`~music21_melgen.timeline.ChordTimeline`.

A score carries its harmony in one of three ways, tried in this order:

1. **Chord symbols** (``harmony.ChordSymbol``: MusicXML ``<harmony>``, ABC chord
   annotations, music21's lead sheets), ``N.C.`` (``harmony.NoChord``)
   included. A chord symbol lasts until the next one or the end of the score.
2. **Roman numerals** (``roman.RomanNumeral``: RomanText, the Rock Corpus),
   each read in its own key; music21 resolves secondary functions
   (``V7/IV``), so the numeral's own root and pitches are used. Every
   numeral written is a chord, even one equal to the chord before it
   (``I I6``, ``I V/IV`` are two chords, as the analysis wrote them); a
   numeral tied from the previous one (``tie`` stop or continue, how a
   chord crossing a barline is restated) continues it. So a Rock Corpus
   ``.har`` read by the converter gives exactly the timeline of
   :mod:`~music21_melgen.corpus_adapters.song` (tests/test_corpus_route.py).
3. **An accompaniment** (a MIDI file, a piano part): the chosen parts are
   chordified, cut into beats, and each beat is named with music21's own
   chord analysis (``Chord.root()``); repeated chords merge. Without
   ``chord_parts`` the parts are those :func:`music21_melgen.parts.part_roles`
   calls accompaniment (drums and the melody left out), or the lone pitched
   line when there is no other. A beat with a single pitch class (a bass line, MelGen's chord MIDI)
   is the diatonic triad of the key on that note (in minor, the triad on the
   fifth degree is major); a dyad inside such a triad is completed to it.

Naming ``chord_parts`` always selects the third way over those parts.

The key comes from the score's ``Key`` (tonic and mode) or ``KeySignature``
(major, unless the last chord is the tonic triad of the relative minor);
without either, music21's key analysis estimates it and the timeline says so
(``key_estimated``). Measures, meters (changes included) and pickups come from
the first part that has measures, with the score's own measure numbers; a
score without measures (a flat MIDI import) is measured on a copy, the way
music21 would measure it on export.

Printed (``str(timeline)``, ``melgen --print-chords``), chords are spelled as
the score spells them: the key by its written signature (C# major, not Db),
each chord as a stack of thirds on its root (D7 in F is D F# A C), a pickup's
beats counted back from its barline.

Why one module of about 820 lines: the three ways to read harmony share the
measure spans, the key marks and the chord spans they end in, and a user reads
the rules above as one story; split by way, each part would reach into the
others' private helpers. The printed table's spelling reads the same key marks.
"""

from __future__ import annotations

import copy
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

from music21 import chord, harmony, interval, key, meter, note, pitch, roman, stream

from music21_melgen.errors import ScoreError
from music21_melgen.parts import is_pitched, part_roles, parts_of, pitched_notes
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan

__all__ = ["ScoreTimeline", "describe_score", "diatonic_triad", "timeline_from_score"]

# A pitch class counts in a beat of a chordified accompaniment when it sounds
# for at least this share of the beat.
BEAT_PRESENCE = Fraction(1, 4)
# Largest denominator kept when music21 offsets (floats or Fractions) become Fractions.
_MAX_DENOMINATOR = 1 << 16

_FLAT = re.compile(r"([A-G])-")  # music21's flat sign in chord figures, shown as 'b'
_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True, repr=False)
class ScoreTimeline(ChordTimeline):
    """A :class:`ChordTimeline` read from a score, printable for a user to check.

    ``source`` says where the harmony came from ('chord symbols', 'roman
    numerals', 'chordified parts: Piano'); ``str()`` gives one line per chord
    and ``show()`` prints it.
    """

    source: str = ""
    key_sharps: int | None = None  # sharps (negative: flats) of the first written key signature

    @property
    def key_name(self) -> str:
        """The key of the first chord as the score spells it ('C# major', 'Bb minor')."""
        first = self.chords[0]
        return f"{_tonic_name(first.key_tonic, first.mode, self.key_sharps)} {first.mode}"

    def spelled(self, span: ChordSpan) -> list[str]:
        """The chord's pitch names from its root, as the score spells them ('D F# A C' for D7 in F)."""
        return _spelled_chord(span, _tonic_name(span.key_tonic, span.mode, self.key_sharps))

    def __repr__(self) -> str:
        estimated = ", estimated" if self.key_estimated else ""
        return (
            f"<ScoreTimeline {len(self.chords)} chords, {len(self.measures)} measures, "
            f"key {self.key_name}{estimated}, from {self.source}>"
        )

    def __str__(self) -> str:
        estimated = " (estimated)" if self.key_estimated else ""
        lines = [
            f"Chord timeline from {self.source or 'a score'}: {len(self.chords)} chords over "
            f"{len(self.measures)} measures, key {self.key_name}{estimated}",
            f"{'measure':>7} {'beat':>5} {'offset':>8} {'length':>7}  {'chord':<10} {'root':<4} "
            f"{'pitches':<16} key",
        ]
        for span in self.chords:
            bar = self.measure_at(span.offset)
            beat = (span.offset - bar.offset + _missing_before(bar, bar is self.measures[0])) / bar.beat_length + 1
            tonic = _tonic_name(span.key_tonic, span.mode, self.key_sharps)
            spelled = _spelled_chord(span, tonic)
            root = spelled[0] if spelled else "-"
            lines.append(
                f"{span.measure:>7} {_short(beat):>5} {_short(span.offset):>8} "
                f"{_short(span.length):>7}  {_FLAT.sub(_flat_sign, span.label):<10} {root:<4} "
                f"{' '.join(spelled) or '-':<16} {tonic} {span.mode}"
            )
        return "\n".join(lines)

    def show(self, fmt: str = "text") -> None:
        """Print the timeline as text (music21's ``show('text')`` habit)."""
        if fmt != "text":
            raise ScoreError(f"a chord timeline shows only as 'text', not {fmt!r}")
        print(str(self))


@dataclass(frozen=True)
class _Event:
    """A chord as found in the score, before keys and lengths are settled."""

    offset: Fraction
    root: int | None
    pitch_classes: frozenset[int]
    label: str
    key: tuple[int, str] | None = None  # (tonic pitch class, mode) when the chord carries it


@dataclass(frozen=True)
class _KeyMark:
    offset: Fraction
    tonic: int
    mode: str
    from_signature: bool  # a bare KeySignature: the mode is a guess
    sharps: int | None = None  # the written signature (spells the key: C# major, not Db)


def timeline_from_score(
    score: stream.Stream, *, chord_parts: Sequence[int | str] | None = None
) -> ScoreTimeline:
    """Read the harmony, key, meters and measures of ``score`` into a timeline.

    ``chord_parts`` names the parts to chordify (part names or ids,
    case-insensitive, or 0-based indices as in ``score.parts[i]``); without
    it, chord symbols win over Roman numerals, which win over the
    accompaniment. Raises :class:`ScoreError` naming the score when no
    harmony is found.

    >>> from music21 import stream, harmony, note, meter
    >>> part = stream.Part()
    >>> bar = stream.Measure(number=1)
    >>> bar.append([meter.TimeSignature('4/4'), harmony.ChordSymbol('C'), note.Note('E4', quarterLength=2)])
    >>> bar.insert(2, harmony.ChordSymbol('G7'))
    >>> bar.insert(2, note.Note('D4', quarterLength=2))
    >>> part.append(bar)
    >>> timeline = timeline_from_score(stream.Score([part]))
    >>> [(span.label, span.offset, span.length, span.root) for span in timeline.chords]
    [('C', Fraction(0, 1), Fraction(2, 1), 0), ('G7', Fraction(2, 1), Fraction(2, 1), 7)]
    >>> timeline.key_estimated
    True
    """
    if not isinstance(score, stream.Stream):
        raise ScoreError(f"expected a music21 Stream, got {type(score).__name__}")
    where = describe_score(score)
    measures = _measure_spans(score, where)
    end = measures[-1].offset + measures[-1].length

    if chord_parts is not None:
        parts = _named_parts(score, chord_parts, where)
        source = "chordified parts: " + ", ".join(_part_label(p, i) for i, p in parts)
    else:
        parts = []
        source = ""
    marks = _key_marks(score)

    events: list[_Event] = []
    key_estimated = False
    if not parts:
        events = _chord_symbol_events(score)
        source = "chord symbols"
        if not any(event.root is not None for event in events):
            events = _roman_events(score)
            source = "roman numerals"
    if not any(event.root is not None for event in events):
        if not parts:
            parts = _accompaniment_parts(score)
            source = "chordified parts: " + ", ".join(_part_label(p, i) for i, p in parts)
        if parts:
            key_estimated = not marks
            if key_estimated:
                marks = _estimated_key_of_parts([p for _, p in parts])
            events = _chordified_events([p for _, p in parts], score, measures, marks)
    if not any(event.root is not None for event in events):
        raise ScoreError(
            f"{where}: no harmony found (no chord symbols, Roman numerals or accompaniment); "
            "add chord symbols or a Roman-numeral analysis to the score, or name the parts "
            "that carry the chords (chord_parts=..., melgen --chord-parts)"
        )

    if not marks and any(event.key is None for event in events):
        marks = _estimated_key(_realised_stream(events, end))
        key_estimated = True
    marks = _settle_signature_modes(marks, events)
    chords = _spans(events, marks, measures, end, merge_repeats=source != "roman numerals")
    written = next((mark.sharps for mark in marks if mark.sharps is not None), None)
    return ScoreTimeline(
        tuple(chords), tuple(measures), key_estimated=key_estimated, source=source, key_sharps=written
    )


def describe_score(score: stream.Stream) -> str:
    """How error messages name a score: its file path, else its title, else 'the score'.

    >>> from music21 import stream
    >>> describe_score(stream.Score())
    'the score'
    """
    meta = score.metadata
    path = getattr(score, "filePath", None) or (meta.filePath if meta is not None else None)
    if path:
        return str(path)
    if meta is not None and meta.title:
        return f"score {meta.title!r}"
    return "the score"


def diatonic_triad(root: int, tonic: int, mode: str) -> frozenset[int]:
    """Pitch classes of the triad on ``root`` built from the scale of the key.

    A root outside the scale gets a major triad; in minor the triad on the
    fifth degree is major (harmonic minor), as a bass line usually implies.

    >>> sorted(diatonic_triad(2, 0, 'major'))   # D in C major: D F A
    [2, 5, 9]
    >>> sorted(diatonic_triad(4, 9, 'minor'))   # E in A minor: E G# B
    [4, 8, 11]
    >>> sorted(diatonic_triad(10, 0, 'major'))  # Bb, not in C major: Bb D F
    [2, 5, 10]
    """
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 10)
    scale = [(tonic + step) % 12 for step in steps]
    if root not in scale:
        return frozenset({root, (root + 4) % 12, (root + 7) % 12})
    degree = scale.index(root)
    triad = {scale[degree], scale[(degree + 2) % 7], scale[(degree + 4) % 7]}
    if mode == "minor" and degree == 4:
        triad = {root, (root + 4) % 12, (root + 7) % 12}
    return frozenset(triad)


# --- measures -------------------------------------------------------------------------


def _missing_before(bar: MeasureSpan, first: bool) -> Fraction:
    """Quarter lengths a pickup lacks before its first note (0 for any other measure).

    >>> from music21_melgen.timeline import MeasureSpan
    >>> _missing_before(MeasureSpan(0, Fraction(0), Fraction(1), "4/4", Fraction(1)), True)
    Fraction(3, 1)
    """
    nominal = _frac(meter.TimeSignature(bar.time_signature).barDuration.quarterLength)
    return nominal - bar.length if first and bar.length < nominal else Fraction(0)


def _frac(value: float | Fraction) -> Fraction:
    return Fraction(value).limit_denominator(_MAX_DENOMINATOR)


def _measure_spans(score: stream.Stream, where: str) -> list[MeasureSpan]:
    reference = next(
        (part for part in parts_of(score) if part.getElementsByClass(stream.Measure)), None
    )
    part_offset = Fraction(0)
    if reference is None:
        flat = parts_of(score)[0].flatten()
        if not flat.notesAndRests and not flat.getElementsByClass(harmony.Harmony):
            raise ScoreError(f"{where}: the score is empty (no notes, rests or chords)")
        reference = copy.deepcopy(flat).makeMeasures()
    elif reference is not score:
        part_offset = _frac(reference.getOffsetInHierarchy(score))

    bars = list(reference.getElementsByClass(stream.Measure))
    first_signature = reference.recurse().getElementsByClass(meter.TimeSignature).first()
    signature = first_signature or meter.TimeSignature("4/4")
    spans: list[MeasureSpan] = []
    for index, bar in enumerate(bars):
        if bar.timeSignature is not None:
            signature = bar.timeSignature
        offset = part_offset + _frac(bar.offset)
        if index + 1 < len(bars):
            length = part_offset + _frac(bars[index + 1].offset) - offset
        else:
            length = _frac(bar.duration.quarterLength) or _frac(signature.barDuration.quarterLength)
        if length <= 0:
            continue
        number = bar.number if bar.number is not None else index + 1
        spans.append(
            MeasureSpan(
                number=number,
                offset=offset,
                length=length,
                time_signature=signature.ratioString,
                beat_length=_frac(signature.beatDuration.quarterLength),
            )
        )
    if not spans:
        raise ScoreError(f"{where}: the score has no measures with any length")
    return _with_sections(score, spans)


def _with_sections(score: stream.Stream, spans: list[MeasureSpan]) -> list[MeasureSpan]:
    """Each measure named by the latest rehearsal mark at or before its start (None before the first),
    and marked with the ending (volta) whose repeat bracket spans it."""
    from music21 import expressions, spanner

    marks = sorted(
        (_frac(mark.getOffsetInHierarchy(score)), str(mark.content).strip())
        for mark in score.recurse().getElementsByClass(expressions.RehearsalMark)
        if str(mark.content or "").strip()
    )
    endings: dict[Fraction, int] = {}
    for bracket in score.recurse().getElementsByClass(spanner.RepeatBracket):
        number = re.match(r"\s*(\d+)", str(bracket.number or ""))
        for measure in bracket.getSpannedElements():
            if number and isinstance(measure, stream.Measure):
                endings[_frac(measure.getOffsetInHierarchy(score))] = int(number.group(1))
    if not marks and not endings:
        return spans
    named, index, section = [], 0, None
    for span in spans:
        while index < len(marks) and marks[index][0] <= span.offset:
            section = marks[index][1]
            index += 1
        named.append(replace(span, section=section, ending=endings.get(span.offset)))
    return named


# --- keys -----------------------------------------------------------------------------


def _key_marks(score: stream.Stream) -> list[_KeyMark]:
    """Written keys in time order, from the first part that has any (else from anywhere)."""
    for part in [*parts_of(score), score]:
        found = part.recurse().getElementsByClass(key.KeySignature)
        marks: dict[Fraction, _KeyMark] = {}
        for signature in found:
            offset = _frac(signature.getOffsetInHierarchy(score))
            if offset in marks:
                continue
            if isinstance(signature, key.Key):
                mode = "minor" if signature.mode == "minor" else "major"
                tonic = signature.tonic.pitchClass
                if mode == "major" and signature.mode not in ("major", None):
                    tonic = signature.asKey("major").tonic.pitchClass
                marks[offset] = _KeyMark(offset, tonic, mode, from_signature=False, sharps=signature.sharps)
            else:
                tonic = signature.asKey("major").tonic.pitchClass
                marks[offset] = _KeyMark(offset, tonic, "major", from_signature=True, sharps=signature.sharps)
        if marks:
            return [marks[offset] for offset in sorted(marks)]
    return []


def _estimated_key(material: stream.Stream) -> list[_KeyMark]:
    try:
        estimate = material.analyze("key")
    except Exception:  # music21's analysis fails on empty or odd material
        return [_KeyMark(Fraction(0), 0, "major", from_signature=False)]
    mode = "minor" if estimate.mode == "minor" else "major"
    return [_KeyMark(Fraction(0), estimate.tonic.pitchClass, mode, from_signature=False)]


def _estimated_key_of_parts(parts: list[stream.Stream]) -> list[_KeyMark]:
    """The key of an accompaniment with no written key.

    A line of single notes (a bass line, MelGen's chord MIDI) is too sparse for
    music21's profile analysis; its key is the major or minor scale that holds
    the most of its notes (by length), the tie broken by the last note, then the
    first, being the tonic, then by major. Anything with chords goes to
    music21's ``analyze('key')``.
    """
    notes = pitched_notes(parts[0]) if len(parts) == 1 else []  # in order: recurse() walks measures in time
    if not notes or any(len(n.pitches) > 1 for n in notes):
        return _estimated_key(_notes_stream(parts))
    weights: dict[int, float] = {}
    for n in notes:
        weights[n.pitch.pitchClass] = weights.get(n.pitch.pitchClass, 0.0) + float(n.quarterLength)
    first, last = notes[0].pitch.pitchClass, notes[-1].pitch.pitchClass
    best = None
    for tonic in range(12):
        for mode, steps in (("major", (0, 2, 4, 5, 7, 9, 11)), ("minor", (0, 2, 3, 5, 7, 8, 10))):
            scale = {(tonic + step) % 12 for step in steps}
            covered = sum(weight for pc, weight in weights.items() if pc in scale)
            rank = (covered, tonic == last, tonic == first, mode == "major")
            if best is None or rank > best[0]:
                best = (rank, tonic, mode)
    assert best is not None
    return [_KeyMark(Fraction(0), best[1], best[2], from_signature=False)]


def _settle_signature_modes(marks: list[_KeyMark], events: list[_Event]) -> list[_KeyMark]:
    """A bare key signature is minor when the last chord under it is the relative minor's tonic triad."""
    settled = []
    for index, mark in enumerate(marks):
        if mark.from_signature:
            stop = marks[index + 1].offset if index + 1 < len(marks) else None
            under = [
                e
                for e in events
                if e.root is not None and e.offset >= mark.offset and (stop is None or e.offset < stop)
            ]
            minor_tonic = (mark.tonic + 9) % 12
            if under and under[-1].root == minor_tonic and (minor_tonic + 3) % 12 in under[-1].pitch_classes:
                mark = _KeyMark(mark.offset, minor_tonic, "minor", from_signature=True, sharps=mark.sharps)
        settled.append(mark)
    return settled


def _key_at(marks: list[_KeyMark], offset: Fraction) -> tuple[int, str]:
    index = bisect_right([mark.offset for mark in marks], offset) - 1
    mark = marks[max(index, 0)]
    return mark.tonic, mark.mode


# --- chord symbols and Roman numerals -------------------------------------------------


def _chord_symbol_events(score: stream.Stream) -> list[_Event]:
    events: dict[Fraction, _Event] = {}
    for symbol in score.recurse().getElementsByClass(harmony.ChordSymbol):
        offset = _frac(symbol.getOffsetInHierarchy(score))
        if offset in events:
            continue
        if isinstance(symbol, harmony.NoChord) or not symbol.pitches:
            events[offset] = _Event(offset, None, frozenset(), "N.C.")
            continue
        root = symbol.root().pitchClass
        classes = frozenset(p.pitchClass for p in symbol.pitches)
        events[offset] = _Event(offset, root, classes, symbol.figure)
    return [events[offset] for offset in sorted(events)]


def _roman_events(score: stream.Stream) -> list[_Event]:
    events: dict[Fraction, _Event] = {}
    for numeral in score.recurse().getElementsByClass(roman.RomanNumeral):
        if numeral.tie is not None and numeral.tie.type in ("stop", "continue"):
            continue  # the chord before it, restated across a barline
        offset = _frac(numeral.getOffsetInHierarchy(score))
        if offset in events or not numeral.pitches:
            continue
        in_key = None
        if numeral.key is not None:
            mode = "minor" if numeral.key.mode == "minor" else "major"
            in_key = (numeral.key.tonic.pitchClass, mode)
        classes = frozenset(p.pitchClass for p in numeral.pitches)
        events[offset] = _Event(offset, numeral.root().pitchClass, classes, numeral.figure, in_key)
    return [events[offset] for offset in sorted(events)]


def _realised_stream(events: list[_Event], end: Fraction) -> stream.Stream:
    """The chords as sounding music21 chords, for key analysis."""
    material = stream.Stream()
    for index, event in enumerate(events):
        if event.root is None:
            continue
        stop = events[index + 1].offset if index + 1 < len(events) else end
        if stop <= event.offset:
            continue
        sounding = chord.Chord([pitch.Pitch(midi=60 + pc) for pc in sorted(event.pitch_classes)])
        sounding.quarterLength = stop - event.offset
        material.insert(event.offset, sounding)
    return material


# --- chordified accompaniment ---------------------------------------------------------


def _part_label(part: stream.Stream, index: int) -> str:
    if part.partName:
        return part.partName
    if isinstance(part.id, str) and not part.id.isdigit():
        return part.id
    return f"part {index}"


def _named_parts(
    score: stream.Stream, wanted: Sequence[int | str], where: str
) -> list[tuple[int, stream.Stream]]:
    if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Iterable):
        raise ScoreError(
            f"{where}: chord_parts must be a list of part indices or names, such as [0] or ['Piano'], "
            f"not {type(wanted).__name__} {wanted!r}"
        )
    parts = parts_of(score)
    chosen: list[tuple[int, stream.Stream]] = []
    names = [_part_label(p, i) for i, p in enumerate(parts)]
    listing = "; ".join(f"part {i + 1} {name!r} (index {i})" for i, name in enumerate(names))
    for item in wanted:
        if not isinstance(item, (int, str)) or isinstance(item, bool):
            raise ScoreError(f"{where}: chord_parts holds {item!r}; give part indices or names")
        if isinstance(item, int):
            if not 0 <= item < len(parts):
                raise ScoreError(
                    f"{where}: there is no part {item + 1} (index {item}); the score has "
                    f"{len(parts)} part{'s' if len(parts) != 1 else ''}: {listing}"
                )
            index = item
        else:
            matches = [
                i
                for i, p in enumerate(parts)
                if str(item).casefold() in ((p.partName or "").casefold(), str(p.id).casefold())
            ]
            if not matches:
                raise ScoreError(f"{where}: no part named {item!r}; the parts are: {listing}")
            index = matches[0]
        if all(index != i for i, _ in chosen):
            chosen.append((index, parts[index]))
    if not any(pitched_notes(p) for _, p in chosen):
        raise ScoreError(f"{where}: the parts named in chord_parts have no pitched notes")
    return chosen


def _accompaniment_parts(score: stream.Stream) -> list[tuple[int, stream.Stream]]:
    """The accompaniment by :func:`music21_melgen.parts.part_roles`; a lone line when there is none."""
    roles = part_roles(score)
    parts = parts_of(score)
    chosen = roles.accompaniment or ((roles.melody,) if roles.melody is not None else ())
    return [(index, parts[index]) for index in chosen]


def _timed_notes(part: stream.Stream) -> list[tuple[Fraction, note.NotRest]]:
    """The part's pitched notes (:func:`~music21_melgen.parts.pitched_notes`) with their offsets in it.

    One ``flatten()`` finds every offset; asking each element for its offset
    in the hierarchy searches its sites every time (most of a second for a song).
    """
    flat = part.flatten()
    return [(_frac(flat.elementOffset(element)), element) for element in flat.notes if is_pitched(element)]


def _notes_stream(parts: Iterable[stream.Stream]) -> stream.Stream:
    """What music21's key analysis reads of ``parts``: one note per pitch class, as long as all of them.

    The profile analysis weighs each pitch class by its total length, so this
    gives the key of the whole accompaniment without copying it (a copy of a
    MIDI accompaniment costs most of a second).

    >>> from music21 import note
    >>> [(n.name, n.quarterLength) for n in _notes_stream([stream.Part([note.Note('C4'), note.Note('C5')])]).notes]
    [('C', 2.0)]
    """
    weights: dict[int, float] = {}
    names: dict[int, str] = {}
    for part in parts:
        for element in pitched_notes(part):
            for sounding in element.pitches:
                weights[sounding.pitchClass] = weights.get(sounding.pitchClass, 0.0) + element.quarterLength
                names.setdefault(sounding.pitchClass, sounding.name)
    flat = stream.Stream()
    for pc, weight in sorted(weights.items()):
        if weight > 0:
            flat.append(note.Note(names[pc], quarterLength=weight))
    return flat


def _beat_windows(measures: list[MeasureSpan]) -> list[tuple[Fraction, Fraction]]:
    windows = []
    for index, bar in enumerate(measures):
        end = bar.offset + bar.length
        bar_length = _frac(meter.TimeSignature(bar.time_signature).barDuration.quarterLength)
        if index == 0 and bar.length < bar_length:
            # a pickup: its beats are counted back from the barline
            edges = [end]
            while edges[-1] - bar.beat_length > bar.offset:
                edges.append(edges[-1] - bar.beat_length)
            edges.append(bar.offset)
            edges.reverse()
        else:
            edges = [bar.offset]
            while edges[-1] + bar.beat_length < end:
                edges.append(edges[-1] + bar.beat_length)
            edges.append(end)
        windows.extend(zip(edges, edges[1:]))
    return windows


def _chordified_events(
    parts: list[stream.Stream],
    score: stream.Stream,
    measures: list[MeasureSpan],
    marks: list[_KeyMark],
) -> list[_Event]:
    sounding: list[tuple[Fraction, Fraction, tuple[pitch.Pitch, ...]]] = []
    for part in parts:
        part_offset = _frac(part.getOffsetInHierarchy(score)) if part is not score else Fraction(0)
        for start_in_part, element in _timed_notes(part):
            start = part_offset + start_in_part
            length = _frac(element.duration.quarterLength)
            if length > 0:
                sounding.append((start, start + length, tuple(element.pitches)))
    sounding.sort(key=lambda item: item[0])

    events: list[_Event] = []
    cursor = 0
    for start, stop in _beat_windows(measures):
        while cursor < len(sounding) and sounding[cursor][1] <= start:
            cursor += 1
        weights: dict[int, Fraction] = {}
        lowest: dict[int, pitch.Pitch] = {}
        for begin, end, pitches in sounding[cursor:]:
            if begin >= stop:
                break
            overlap = min(end, stop) - max(begin, start)
            if overlap <= 0:
                continue
            for p in pitches:
                weights[p.pitchClass] = weights.get(p.pitchClass, Fraction(0)) + overlap
                if p.pitchClass not in lowest or p.ps < lowest[p.pitchClass].ps:
                    lowest[p.pitchClass] = p
        present = {pc for pc, weight in weights.items() if weight >= BEAT_PRESENCE * (stop - start)}
        if not present:
            continue
        tonic, mode = _key_at(marks, start)
        event = _named_chord([lowest[pc] for pc in present], start, tonic, mode)
        if events and events[-1].root == event.root and events[-1].pitch_classes == event.pitch_classes:
            continue
        events.append(event)
    return events


def _named_chord(pitches: list[pitch.Pitch], offset: Fraction, tonic: int, mode: str) -> _Event:
    """Name the pitches of one beat with music21's chord analysis (cached: the analysis costs ms)."""
    spelled = tuple(sorted((p.nameWithOctave for p in pitches), key=lambda name: pitch.Pitch(name).ps))
    root, classes, label = _named_pitches(spelled, tonic, mode)
    return _Event(offset, root, classes, label)


@lru_cache(maxsize=4096)
def _named_pitches(names: tuple[str, ...], tonic: int, mode: str) -> tuple[int, frozenset[int], str]:
    """Root, pitch classes and label of the pitches ``names`` (low to high) in a key."""
    sounding = chord.Chord(list(names))
    pitches = sounding.pitches
    classes = frozenset(p.pitchClass for p in pitches)
    if len(classes) == 1:
        root = next(iter(classes))
        classes = diatonic_triad(root, tonic, mode)
    else:
        root = sounding.root().pitchClass
        for candidate in (root, sounding.bass().pitchClass):
            triad = diatonic_triad(candidate, tonic, mode)
            if len(classes) == 2 and classes <= triad:
                root, classes = candidate, triad
                break
    spelled = {p.pitchClass: p.name for p in sounding.pitches}
    stacked: list[pitch.Pitch] = []
    for pc in sorted(classes, key=lambda pc: (pc - root) % 12):
        tone = pitch.Pitch(spelled[pc]) if pc in spelled else pitch.Pitch(midi=60 + pc)
        tone.octave = 3
        while stacked and tone.ps <= stacked[-1].ps:
            tone.octave += 1
        stacked.append(tone)
    return root, classes, _chord_label(tuple(p.nameWithOctave for p in stacked))


def _chord_label(stacked: tuple[str, ...]) -> str:
    """music21's chord-symbol figure for pitches stacked from the root, else the names joined by '/'.

    The figure is worked out once per chord shape, on C, and given the root's
    name (music21's analysis costs about 8 ms a chord); a shape music21 names
    with added or omitted tones, or from another root, is shown by its names.

    >>> _chord_label(('F#3', 'A3', 'C#4', 'E4')), _chord_label(('B-3', 'D4', 'F4')), _chord_label(('C3', 'C#3', 'D3'))
    ('F#m7', 'B-', 'C/C#/D')
    """
    root = pitch.Pitch(stacked[0])
    shape = tuple(interval.Interval(root, pitch.Pitch(name)).directedName for name in stacked[1:])
    suffix = _shape_suffix(shape)
    return root.name + suffix if suffix is not None else "/".join(pitch.Pitch(name).name for name in stacked)


@lru_cache(maxsize=1024)
def _shape_suffix(shape: tuple[str, ...]) -> str | None:
    """What music21's figure adds to the root's name for a chord of these intervals above it.

    None when the figure names other pitches (``add``, ``omit``, a bass) or
    another root: such a chord is shown by its pitch names, root first.
    """
    label = _figure(("C3", *(pitch.Pitch("C3").transpose(name).nameWithOctave for name in shape)))
    if not label.startswith("C") or label[1:2] in ("#", "-") or any(p in label for p in ("add", "omit", "/")):
        return None
    return label[1:]


@lru_cache(maxsize=4096)
def _figure(stacked: tuple[str, ...]) -> str:
    named = chord.Chord(list(stacked))
    label = harmony.chordSymbolFigureFromChord(named)
    if not label or "Cannot Be Identified" in label or " " in label:
        label = "/".join(p.name for p in named.pitches)
    return label


# --- spans ----------------------------------------------------------------------------


def _spans(
    events: list[_Event],
    marks: list[_KeyMark],
    measures: list[MeasureSpan],
    end: Fraction,
    *,
    merge_repeats: bool = True,
) -> list[ChordSpan]:
    """Events as spans to the next event; with ``merge_repeats`` an equal neighbour (a lead
    sheet restating its chord each bar) lengthens the chord before it instead of starting one."""
    bar_offsets = [bar.offset for bar in measures]
    start = measures[0].offset
    spans: list[ChordSpan] = []
    for index, event in enumerate(events):
        offset = max(event.offset, start)
        stop = events[index + 1].offset if index + 1 < len(events) else end
        stop = min(stop, end)
        if stop <= offset:
            continue
        tonic, mode = event.key or _key_at(marks, offset)
        bar = measures[max(bisect_right(bar_offsets, offset) - 1, 0)]
        previous = spans[-1] if spans else None
        if (
            merge_repeats
            and previous is not None
            and previous.end == offset
            and (previous.root, previous.pitch_classes, previous.key_tonic, previous.mode)
            == (event.root, event.pitch_classes, tonic, mode)
        ):
            spans[-1] = ChordSpan(
                previous.offset,
                stop - previous.offset,
                previous.root,
                previous.pitch_classes,
                tonic,
                mode,
                previous.measure,
                previous.label,
            )
            continue
        spans.append(
            ChordSpan(offset, stop - offset, event.root, event.pitch_classes, tonic, mode, bar.number, event.label)
        )
    return spans


def _sorted_from(classes: frozenset[int], root: int | None) -> list[int]:
    base = root or 0
    return sorted(classes, key=lambda pc: (pc - base) % 12)


def _flat_sign(found: re.Match[str]) -> str:
    return found.group(1) + "b"


# Tonic names with the fewest accidentals (as notation.key_for spells keys), by mode and pitch class.
_FEWEST_ACCIDENTALS = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
_LETTERS = "CDEFGAB"
_LETTER_PCS = (0, 2, 4, 5, 7, 9, 11)
# Letter steps above the root for each interval in semitones, as chords are stacked in thirds.
_THIRD_STEPS = (0, 1, 1, 2, 2, 3, 4, 4, 4, 5, 6, 6)
_LABEL_ROOT = re.compile(r"([A-G])(#{1,2}|-{1,2}|b{1,2})?")


@lru_cache(maxsize=512)
def _tonic_name(tonic: int, mode: str, sharps: int | None) -> str:
    """The tonic's name: as the written signature spells it when it agrees, else with the fewest accidentals.

    Cached: it is asked once per chord, and music21 builds a whole scale for each ``asKey``.

    >>> _tonic_name(1, "major", 7), _tonic_name(1, "major", None), _tonic_name(10, "minor", -5), _tonic_name(3, "minor", None)
    ('C#', 'Db', 'Bb', 'Eb')
    """
    if sharps is not None and -7 <= sharps <= 7:
        written = key.KeySignature(sharps).asKey(mode).tonic
        if written.pitchClass == tonic:
            return written.name.replace("-", "b")
    return _FEWEST_ACCIDENTALS[mode][tonic]


def _spelled_chord(span: ChordSpan, tonic: str) -> list[str]:
    """The chord's pitches from its root, spelled as a stack of thirds on the root's written name.

    The root is named as the chord symbol writes it, else by the key; D7 in
    F major is 'D F# A C', not 'D Gb A C'.

    >>> from fractions import Fraction as F
    >>> d7 = ChordSpan(F(0), F(4), 2, frozenset({2, 6, 9, 0}), 5, "major", 1, "D7")
    >>> _spelled_chord(d7, "F")
    ['D', 'F#', 'A', 'C']
    >>> _spelled_chord(ChordSpan(F(0), F(4), 1, frozenset({1, 5, 8}), 1, "major", 1, "I"), "C#")
    ['C#', 'E#', 'G#']
    """
    if span.root is None:
        return []
    found = _LABEL_ROOT.match(span.label)
    root = None
    if found:
        accidental = (found[2] or "").replace("b", "-")
        candidate = found[1] + accidental
        if pitch.Pitch(candidate).pitchClass == span.root:
            root = candidate
    if root is None:
        root = _diatonic_names(tonic.replace("b", "-"), span.mode).get(span.root)
    if root is None:
        root = _names_in_key(span.key_tonic, span.mode)[span.root].replace("b", "-")
    letter = _LETTERS.index(root[0])
    names = []
    for pc in _sorted_from(span.pitch_classes, span.root):
        target = _LETTERS[(letter + _THIRD_STEPS[(pc - span.root) % 12]) % 7]
        alter = (pc - _LETTER_PCS[_LETTERS.index(target)] + 6) % 12 - 6
        names.append(target + ("#" * alter if alter > 0 else "b" * -alter))
    return names


@lru_cache(maxsize=64)
def _diatonic_names(tonic: str, mode: str) -> dict[int, str]:
    """Pitch class → name (music21 spelling) of the key's scale degrees."""
    return {p.pitchClass: p.name for p in key.Key(tonic, mode).pitches}


def _names_in_key(tonic: int, mode: str) -> list[str]:
    """Pitch-class names for display: flats in flat keys, sharps otherwise."""
    flat_keys = {5, 10, 3, 8, 1} if mode == "major" else {2, 7, 0, 5, 10}
    if tonic in flat_keys:
        return ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
    return list(_PITCH_NAMES)


def _short(value: Fraction) -> str:
    return str(value) if value.denominator != 1 else str(value.numerator)
