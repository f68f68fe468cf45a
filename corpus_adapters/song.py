"""One Rock Corpus song in quarter lengths, and as a music21 ``Score``.

:func:`load_song` puts a harmony analysis (``.har``) and its melody (``.mel``)
on one axis of quarter lengths from the song start (exact ``Fraction``
values), in the timeline types every other module reads: the song's
:attr:`SongData.timeline` is a :class:`~music21_melgen.timeline.ChordTimeline`
of :class:`~music21_melgen.timeline.ChordSpan` and
:class:`~music21_melgen.timeline.MeasureSpan`, its melody
:class:`~music21_melgen.timeline.MelodyNote` values. :func:`song_to_score`
turns the result into a music21 ``Score``, which
:func:`music21_melgen.score_harmony.timeline_from_score` reads back into the
same timeline (``tests/test_corpus_route.py`` checks every corpus analysis).
The corpus counts time in measures; these rules, ours, fix the rest:

* **Measure lengths** come from the ``.har`` meters: ``n/d`` lasts
  ``4n/d`` quarters. Unmetered ``[0]`` measures (10 analyses, 5 melodies)
  count as 4/4, the meter of 95 % of the corpus's measures; their numbers
  are kept in ``SongData.unmetered``. The melody's meters agree with the analyses' in
  every corpus song; where a melody disagrees, the analysis wins (positions
  are in measures, so notes still fall in the right measure).
* **Measure numbers** start at 1: corpus measure 0 is a full measure (a
  pickup is written as a full measure with leading empty slots).
* **Chords**: one ``ChordSpan`` per chord event (not per merged table
  row), from its start to the next event, labelled with the symbol as
  written. ``R`` makes no chord: a rest at the
  start leaves a gap before the first chord, and a rest later lets the
  previous chord last through it, as in the authors' tables.
* **Mode** (the ``.har`` writes only the tonic, ``[E]``): from the analysis
  alone, so that a ``.har`` read with or without its melody, by the readers
  or through ``converter.parse``, gives one timeline. A chord is in minor
  when the tonic chord of its key region (a run of events in one key) is
  written ``i`` for longer than ``I``; a region with no tonic chord takes the
  verdict of other regions in the same key, else major. The melody's mode
  token (``[..b...b]``) is not read: it is the transcriber's shorthand for
  which scale degrees an unmarked digit lowers (corpus README), and in the
  songs where it disagrees with the analysis (blues and rock songs with
  a blue third over major chords: ``back_in_black``, ``satisfaction``) the
  analysis writes the tonic chord major, ``I``.
* **Note lengths** (the corpus records onsets only): a note lasts until the
  next onset, but at most :data:`NOTE_CAP_BEATS` beats (a beat is a quarter
  in simple meters, a dotted quarter in 6/8, 9/8, 12/8); the rest of a longer
  gap is a rest. In the 59,256 inter-onset intervals of the 199 melodies, 75 %
  are at most 1 beat, 90 % at most 2 beats, 95 % at most 3.5 beats, 99 % at
  most 7.8: the longer gaps are breaths and phrase ends (a held last note
  rarely lasts over two beats in these songs), so capping at the 90th
  percentile keeps every note of a running line whole and turns the gaps of
  the longest 10 % into rests. The last note lasts to the cap or the song's
  end.

>>> from music21_melgen.corpus_adapters.har import parse_har
>>> from music21_melgen.corpus_adapters.mel import parse_mel
>>> harmony = parse_har('S: [A] R | i . bVII . | bVI | V7 |')
>>> melody = parse_mel('[A] [OCT=4] [..b..bb] | 5.43 | 1 | | ')
>>> song = load_song(harmony, melody, stem='toy')
>>> [(c.label, str(c.offset), str(c.length), c.mode, c.root) for c in song.chords]
[('i', '4', '2', 'minor', 9), ('bVII', '6', '2', 'minor', 7), ('bVI', '8', '4', 'minor', 5), ('V7', '12', '4', 'minor', 4)]
>>> [(str(n.offset), str(n.length), n.midi) for n in song.notes]
[('4', '2', 64), ('6', '1', 62), ('7', '1', 60), ('8', '2', 57)]

Why one module of about 500 lines: the song on the quarter-length axis and the
music21 Score built from it share the measure axis and the Roman-numeral
spelling rules, and the route test holds the two to one timeline.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

from music21_melgen.corpus_adapters.har import HarmonyAnalysis
from music21_melgen.corpus_adapters.mel import MelodyTranscription
from music21_melgen.corpus_adapters.rock_numerals import Numeral, parse_numeral
from music21_melgen.corpus_adapters.tim import DownbeatTimes

from music21_melgen.errors import CorpusFormatError, ScoreError
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote

if TYPE_CHECKING:
    from music21 import roman, stream

__all__ = [
    "NOTE_CAP_BEATS",
    "UNMETERED_TIME_SIGNATURE",
    "SongData",
    "beat_length",
    "load_melody",
    "load_song",
    "music21_figure",
    "roman_numeral",
    "song_to_score",
]

NOTE_CAP_BEATS = 2  # longest note in beats: the 90th percentile of inter-onset intervals
UNMETERED_TIME_SIGNATURE = "4/4"  # how long a [0] (unmetered) measure is taken to be

_MAJOR_TONICS = ("C", "D-", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_MINOR_TONICS = ("c", "c#", "d", "e-", "e", "f", "f#", "g", "g#", "a", "b-", "b")


def beat_length(time_signature: str) -> Fraction:
    """Quarter lengths of one beat: compound meters (6/8, 9/8, 12/8) beat in dotted quarters.

    >>> beat_length('4/4'), beat_length('12/8'), beat_length('7/8'), beat_length('3/8')
    (Fraction(1, 1), Fraction(3, 2), Fraction(1, 2), Fraction(1, 2))
    """
    try:
        numerator, denominator = (int(part) for part in time_signature.split("/"))
    except (AttributeError, ValueError):
        raise ScoreError(f"not a time signature: {time_signature!r}") from None
    if numerator < 1 or denominator < 1:
        raise ScoreError(f"not a time signature: {time_signature!r}")
    if denominator == 8 and numerator % 3 == 0 and numerator > 3:
        return Fraction(3, 2)
    return Fraction(4, denominator)


@dataclass(frozen=True)
class SongData:
    """A whole song: measures, chords and (when transcribed) the melody."""

    stem: str
    analyst: str  # who made the harmony analysis ('dt', 'tdc')
    measures: tuple[MeasureSpan, ...]
    chords: tuple[ChordSpan, ...]  # label: the symbol as written, 'V7/IV'
    notes: tuple[MelodyNote, ...]  # empty when the song has no melody
    melody_analyst: str | None  # who transcribed the melody; None without melody
    # Key changes (offset, tonic pitch class, 'major'|'minor'), the first at the first chord
    # (or note); from the chords' keys and modes, or the melody's tokens without harmony.
    keys: tuple[tuple[Fraction, int, str], ...] = ()
    unmetered: frozenset[int] = frozenset()  # numbers of the measures written [0]

    @property
    def timeline(self) -> ChordTimeline:
        """The chords over the measures; ScoreError naming the song when it has no chords."""
        if not self.chords:
            raise ScoreError(f"{self.stem or 'the song'}: no chords (a melody read alone)")
        return ChordTimeline(self.chords, self.measures)

    @property
    def length(self) -> Fraction:
        """Quarter lengths of the whole song."""
        return self.measures[-1].offset + self.measures[-1].length if self.measures else Fraction(0)


def load_song(
    harmony: HarmonyAnalysis,
    melody: MelodyTranscription | None = None,
    *,
    stem: str = "",
    analyst: str = "",
    melody_analyst: str | None = None,
) -> SongData:
    """Put an analysis and its melody on one quarter-length axis (rules in the module doc)."""
    if harmony.measure_count == 0:
        raise CorpusFormatError("the analysis has no measures", path=harmony.source)
    measures = _measures(harmony.meters, harmony.sections)
    axis = _Axis(measures)
    if melody is not None and melody.measure_count > harmony.measure_count:
        raise CorpusFormatError(
            f"the melody has {melody.measure_count} measures, the analysis only {harmony.measure_count}",
            path=melody.source,
        )
    modes = _modes(harmony)
    chords = []
    for event, mode in zip(harmony.events, modes):
        numeral = parse_numeral(event.symbol, source=harmony.source)
        offset = axis.offset(event.start)
        chords.append(
            ChordSpan(
                offset=offset,
                length=axis.offset(event.end) - offset,
                root=(numeral.chromatic_root + event.key) % 12,
                pitch_classes=frozenset((pc + event.key) % 12 for pc in numeral.pitch_classes),
                key_tonic=event.key,
                mode=mode,
                measure=int(event.start) + 1,
                label=event.symbol,
            )
        )
    notes = _notes(melody, axis) if melody is not None else ()
    if melody is not None and melody_analyst is None:
        melody_analyst = _analyst_of(melody.source)
    keys = []
    for chord in chords:
        if not keys or keys[-1][1:] != (chord.key_tonic, chord.mode):
            keys.append((chord.offset, chord.key_tonic, chord.mode))
    return SongData(
        stem=stem,
        analyst=analyst,
        measures=measures,
        chords=tuple(chords),
        notes=notes,
        melody_analyst=melody_analyst if melody is not None else None,
        keys=tuple(keys),
        unmetered=_unmetered(harmony.meters),
    )


def load_melody(melody: MelodyTranscription, *, stem: str = "", analyst: str | None = None) -> SongData:
    """A melody alone as a song: measures from its own meters, keys from its tokens, no chords."""
    if melody.measure_count == 0:
        raise CorpusFormatError("the melody has no measures", path=melody.source)
    measures = _measures(melody.meters)
    axis = _Axis(measures)
    keys = []
    for change in melody.modes:
        entry = (axis.offset(change.position), change.key, change.mode)
        if keys and keys[-1][0] == entry[0]:
            keys.pop()
        if not keys or keys[-1][1:] != entry[1:]:
            keys.append(entry)
    return SongData(
        stem=stem,
        analyst="",
        measures=measures,
        chords=(),
        notes=_notes(melody, axis),
        melody_analyst=analyst if analyst is not None else _analyst_of(melody.source),
        keys=tuple(keys),
        unmetered=_unmetered(melody.meters),
    )


def _analyst_of(source: str) -> str | None:
    name = source.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return name.rsplit("_", 1)[1] if "_" in name else None


def _measures(meters: tuple[str | None, ...], sections: tuple[str | None, ...] = ()) -> tuple[MeasureSpan, ...]:
    measures = []
    offset = Fraction(0)
    for index, meter in enumerate(meters):
        signature = meter or UNMETERED_TIME_SIGNATURE
        numerator, denominator = (int(part) for part in signature.split("/"))
        length = Fraction(4 * numerator, denominator)
        section = sections[index] if index < len(sections) else None
        measures.append(MeasureSpan(index + 1, offset, length, signature, beat_length(signature), section))
        offset += length
    return tuple(measures)


def _unmetered(meters: tuple[str | None, ...]) -> frozenset[int]:
    return frozenset(index + 1 for index, meter in enumerate(meters) if meter is None)


class _Axis:
    """Positions in measures -> quarter lengths."""

    def __init__(self, measures: tuple[MeasureSpan, ...]) -> None:
        self.measures = measures
        self.end = measures[-1].offset + measures[-1].length

    def offset(self, position: Fraction) -> Fraction:
        index = int(position)
        if index >= len(self.measures):
            return self.end
        measure = self.measures[index]
        return measure.offset + (position - index) * measure.length


def _modes(harmony: HarmonyAnalysis) -> list[str]:
    """The mode of every chord event (rules in the module doc)."""
    events = harmony.events
    regions: list[list[int]] = []
    for index, event in enumerate(events):
        if regions and events[regions[-1][-1]].key == event.key:
            regions[-1].append(index)
        else:
            regions.append([index])
    votes: dict[int, Fraction] = {}
    region_votes = []
    for region in regions:
        vote = Fraction(0)
        for index in region:
            numeral = parse_numeral(events[index].symbol)
            if numeral.chromatic_root == 0 and not numeral.secondary:
                length = events[index].end - events[index].start
                vote += length if numeral.numeral == "i" else -length if numeral.numeral == "I" else 0
        region_votes.append(vote)
        key = events[region[0]].key
        votes[key] = votes.get(key, Fraction(0)) + vote
    modes = ["major"] * len(events)
    for region, vote in zip(regions, region_votes):
        key = events[region[0]].key
        minor = vote > 0 or (vote == 0 and votes[key] > 0)
        for index in region:
            modes[index] = "minor" if minor else "major"
    return modes


def _notes(melody: MelodyTranscription, axis: _Axis) -> tuple[MelodyNote, ...]:
    """Notes with lengths: to the next onset, at most NOTE_CAP_BEATS beats."""
    onsets = [axis.offset(note.onset) for note in melody.notes]
    caps = [NOTE_CAP_BEATS * measure.beat_length for measure in axis.measures]
    notes = []
    for index, note in enumerate(melody.notes):
        offset = onsets[index]
        following = onsets[index + 1] if index + 1 < len(onsets) else axis.end
        length = min(following - offset, caps[min(int(note.onset), len(caps) - 1)])
        if length > 0:
            notes.append(MelodyNote(offset, length, note.midi))
    return tuple(notes)


def music21_figure(numeral: Numeral, mode: str) -> str:
    """A figure music21 parses to the same root as the Rock Corpus symbol in ``mode``.

    The Rock Corpus measures numerals from the major scale (``bVI`` is eight
    semitones up in any mode); music21 reads them in the key's own scale, so
    in minor (with the 6th and 7th taken flat) ``III``, ``VI``, ``VII`` need a
    raised accidental and ``bIII``, ``bVI``, ``bVII`` none. The same holds
    for an applied chord whose target is lower case (music21 reads it in a
    minor key). Figures music21
    does not know (``d7``, ``x7``, ``s4``, ``9``) are reduced to the triad or
    seventh-chord inversion; :func:`roman_numeral` then sets the exact pitches.

    >>> music21_figure(parse_numeral('bVIId7'), 'minor'), music21_figure(parse_numeral('viix42/V'), 'major')
    ('VII7', 'viio42/V')
    """
    seventh = numeral.quality.endswith("seventh")
    inversion = ("7", "65", "43", "42")[numeral.inversion] if seventh else ("", "6", "64", "")[numeral.inversion]
    marker = {"diminished": "o", "diminished-seventh": "o", "half-diminished-seventh": "/o",
              "augmented": "+", "augmented-seventh": "+"}.get(numeral.quality, "")
    if numeral.secondary:
        target = numeral.secondary.rstrip("0123456789ohxad")
        # music21 reads an applied chord in the target's key, minor when lower case.
        target_mode = "minor" if target.lstrip("b#").islower() else "major"
        return _minor_degree(numeral.numeral, target_mode) + marker + inversion + "/" + _minor_degree(target, mode)
    return _minor_degree(numeral.numeral, mode) + marker + inversion


def _minor_degree(numeral: str, mode: str) -> str:
    """Respell a major-relative numeral for music21's minor scale (6th and 7th flat)."""
    if mode != "minor":
        return numeral
    bare = numeral.lstrip("b#")
    if bare.upper() not in ("III", "VI", "VII"):
        return numeral
    accidental = numeral[: len(numeral) - len(bare)]
    raised = {"b": "", "": "#", "#": "##"}[accidental]
    return raised + bare


# Interval names above the root by semitones, for pitches music21 cannot spell from a figure.
_INTERVALS = {0: "P1", 1: "m9", 2: "M9", 3: "m3", 4: "M3", 5: "P4", 6: "d5", 7: "P5",
              8: "A5", 9: "M6", 10: "m7", 11: "M7"}


@lru_cache(maxsize=4096)
def _prototype(symbol: str, tonic: int, mode: str) -> roman.RomanNumeral:
    """A RomanNumeral for a symbol in a key, with exactly the pitches of parse_numeral."""
    from music21 import key, pitch, roman

    numeral = parse_numeral(symbol)
    root_pc = (numeral.chromatic_root + tonic) % 12
    # music21 reads 6th and 7th degrees of minor keys by convention: try flat
    # (natural minor), then by chord quality; last, the major key of the tonic,
    # where music21 and the Rock Corpus agree on every numeral.
    attempts = [
        (_MINOR_TONICS if mode == "minor" else _MAJOR_TONICS, mode, roman.Minor67Default.FLAT),
        (_MINOR_TONICS if mode == "minor" else _MAJOR_TONICS, mode, roman.Minor67Default.QUALITY),
        (_MAJOR_TONICS, "major", roman.Minor67Default.FLAT),
    ]
    for tonics, figure_mode, convention in attempts:
        figure = music21_figure(numeral, figure_mode)
        rn = roman.RomanNumeral(figure, key.Key(tonics[tonic]), sixthMinor=convention, seventhMinor=convention)
        if rn.root().pitchClass == root_pc:
            break
    else:
        raise CorpusFormatError(f"cannot spell {symbol!r} for music21 (figure {figure!r})")
    wanted = frozenset((pc + tonic) % 12 for pc in numeral.pitch_classes)
    if frozenset(p.pitchClass for p in rn.pitches) != wanted:
        root = pitch.Pitch(rn.root().name, octave=3)
        intervals = sorted((pc - numeral.chromatic_root) % 12 for pc in numeral.pitch_classes)
        names = dict(_INTERVALS)
        if numeral.quality == "diminished-seventh":
            names[9] = "d7"
        if 3 in intervals and 4 in intervals:
            names[3] = "A9"
        pitches = [root.transpose(names[i]) for i in intervals]
        bass_pc = (numeral.bass + tonic) % 12
        pitches.sort(key=lambda p: p.ps)
        while pitches[0].pitchClass != bass_pc:
            pitches.append(pitches.pop(0).transpose("P8"))
        rn.pitches = pitches
    rn.writeAsChord = True
    return rn


def roman_numeral(symbol: str, tonic: int, mode: str) -> roman.RomanNumeral:
    """A new music21 ``RomanNumeral`` for a Rock Corpus symbol in a key.

    Its pitch classes and root are those of :func:`parse_numeral`; built once
    per (symbol, key) and copied, the copies sharing their ``Key`` objects.

    >>> rn = roman_numeral('bVIId7', 0, 'major')
    >>> rn.root().name, sorted(p.pitchClass for p in rn.pitches)
    ('B-', [2, 5, 8, 10])
    """
    prototype = _prototype(symbol, tonic, mode)
    # The key, the applied chord and the figured-bass notation are shared, not
    # copied: deep-copying them is 90 % of the cost and nothing edits them.
    shared = (prototype._scale, prototype.secondaryRomanNumeralKey,
              prototype.secondaryRomanNumeral, prototype.figuresNotationObj)
    return copy.deepcopy(prototype, {id(item): item for item in shared if item is not None})


def song_to_score(song: SongData, timing: DownbeatTimes | None = None) -> stream.Score:
    """The song as a music21 ``Score``: a harmony part and/or a melody part.

    Each part has one ``Measure`` per corpus measure (numbered from 1) with a
    ``TimeSignature`` where the meter changes; the first part holds a ``Key``
    at every key or mode change. The harmony part (present when the song has
    chords) holds the chords as ``RomanNumeral`` objects at their offsets; a
    chord that crosses a barline is restated in each measure it covers, tied
    to the previous one, and the stretch before the first chord is a rest. The
    melody part (present when the song has notes) holds the notes, tied
    across barlines, and rests, so every measure of every part adds up to its
    ``barDuration``. With ``timing``, each measure whose tempo differs by a
    beat per minute or more from the previous one gets a ``MetronomeMark``
    (quarter notes per minute, from the downbeat seconds).

    >>> from music21_melgen.corpus_adapters.har import parse_har
    >>> score = song_to_score(load_song(parse_har('S: [Eb] [3/4] I V7/vi | vi |'), stem='toy'))
    >>> score.parts[0].measure(1).show('text')
    {0.0} <music21.key.Key of E- major>
    {0.0} <music21.meter.TimeSignature 3/4>
    {0.0} <music21.roman.RomanNumeral I in E- major>
    {1.5} <music21.roman.RomanNumeral V7/vi in E- major>
    """
    from music21 import expressions, key, metadata, note, stream, tempo, tie

    score = stream.Score()
    score.metadata = metadata.Metadata(title=song.stem or "Rock Corpus song")
    if song.analyst:
        score.metadata.addContributor(metadata.Contributor(role="analyst", name=song.analyst))
    parts = []
    if song.chords:
        parts.append(("Harmony", [(c.offset, c.length, (c.label, c.key_tonic, c.mode)) for c in song.chords]))
    if song.notes:
        parts.append(("Melody", [(n.offset, n.length, n.midi) for n in song.notes]))
    for part_index, (name, spans) in enumerate(parts):
        part = stream.Part(id=name)
        part.partName = name
        keys = list(song.keys) if part_index == 0 else []
        index = 0
        previous_signature = None
        previous_bpm = None
        previous_section = None
        for measure_info in song.measures:
            measure = stream.Measure(number=measure_info.number)
            if part_index == 0 and measure_info.section and measure_info.section != previous_section:
                measure.insert(0, expressions.RehearsalMark(measure_info.section))
            previous_section = measure_info.section
            if measure_info.time_signature != previous_signature:
                measure.timeSignature = _time_signature(measure_info.time_signature)
                previous_signature = measure_info.time_signature
            if timing is not None and part_index == 0:
                bpm = _tempo(timing, measure_info)
                if bpm is not None and (previous_bpm is None or abs(bpm - previous_bpm) >= 1):
                    measure.insert(0, tempo.MetronomeMark(number=round(bpm, 1)))
                    previous_bpm = bpm
            start, end = measure_info.offset, measure_info.offset + measure_info.length
            while keys and keys[0][0] < end:
                offset, tonic, mode = keys.pop(0)
                tonic_name = (_MINOR_TONICS if mode == "minor" else _MAJOR_TONICS)[tonic]
                measure.insert(max(offset - start, Fraction(0)), key.Key(tonic_name))
            while index < len(spans) and spans[index][0] + spans[index][1] <= start:
                index += 1
            cursor = start
            position = index
            while position < len(spans) and spans[position][0] < end:
                span_start, span_length, content = spans[position]
                span_end = span_start + span_length
                if span_start > cursor:
                    measure.insert(cursor - start, note.Rest(quarterLength=span_start - cursor))
                    cursor = span_start
                piece_end = min(span_end, end)
                element = roman_numeral(*content) if name == "Harmony" else note.Note(content)
                element.quarterLength = piece_end - cursor
                if span_start < start or span_end > end:
                    kind = "start" if span_start >= start else "stop" if span_end <= end else "continue"
                    element.tie = tie.Tie(kind)
                measure.insert(cursor - start, element)
                cursor = piece_end
                if span_end > end:
                    break
                position += 1
            if cursor < end:
                measure.insert(cursor - start, note.Rest(quarterLength=end - cursor))
            part.append(measure)
        score.insert(0, part)
    return score


@lru_cache(maxsize=64)
def _time_signature_prototype(text: str):
    from music21 import meter

    return meter.TimeSignature(text)


def _time_signature(text: str):
    return copy.deepcopy(_time_signature_prototype(text))


def _tempo(timing: DownbeatTimes, measure: MeasureSpan) -> float | None:
    index = measure.number - 1
    if index + 1 >= len(timing.seconds):
        return None
    seconds = timing.seconds[index + 1] - timing.seconds[index]
    return float(measure.length) * 60.0 / seconds if seconds > 0 else None
