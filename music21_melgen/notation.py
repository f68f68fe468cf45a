"""Melody notes written as notation: a music21 ``Part`` fitted to a score's measures.

The melody engine thinks in :class:`~music21_melgen.timeline.MelodyNote` values
(offset, length, MIDI pitch) on the chord timeline's axis. This module turns
them into a well-formed part that music21 can export with
``makeNotation=False``: the score's own measures (numbers, offsets, meters,
pickups), the key signature, notes split at barlines and tied across them,
lengths that no single note value can show split into tied notes (at beats
first), rests filling every gap, and each pitch spelled for the key in force
(flats in flat keys, sharps in sharp keys, the raised sixth and seventh in
minor), with an accidental shown only where the key signature and the measure
so far do not imply it. Every measure holds exactly its own length.

Why one module of about 550 lines: spelling, note values and accidentals are
the one job of writing a pitch and a length in a measure; split, each part
would call the others' private tables.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache

from music21 import beam, clef, duration, key, meter, note, pitch, stream, tie
from music21 import instrument as m21instrument
from music21.common.numberTools import opFrac
from music21.exceptions21 import Music21Exception
from music21.stream.makeNotation import iterateBeamGroups

from music21_melgen.errors import GenerationError
from music21_melgen.timeline import ChordTimeline, MeasureSpan, MelodyNote

__all__ = [
    "DEFAULT_PART_NAME",
    "key_for",
    "melody_part",
    "settled_duration",
    "spell",
    "split_note_values",
    "split_rest_values",
]

DEFAULT_PART_NAME = "Melody (melgen)"

# Single note values in quarter lengths, longest first: plain values from a
# breve (8) down to a 128th (1/32), dotted and double-dotted ones, and triplet
# values from a whole-note triplet (8/3) to a 32nd triplet (1/12), which
# music21 writes as 3:2 tuplets.
_PLAIN = [Fraction(8) / 2**k for k in range(9)]
_NOTE_VALUES = tuple(
    sorted(
        set(_PLAIN)
        | {value * Fraction(3, 2) for value in _PLAIN[:-1]}
        | {value * Fraction(7, 4) for value in _PLAIN[:-2]}
        | {value * Fraction(2, 3) for value in _PLAIN[1:7]},
        reverse=True,
    )
)

# Tonic spellings with the fewest accidentals, by pitch class.
_MAJOR_TONICS = ("C", "D-", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_MINOR_TONICS = ("c", "c#", "d", "e-", "e", "f", "f#", "g", "g#", "a", "b-", "b")
# Chromatic spellings in a key with no sharps or flats.
_NATURAL_KEY_CHROMATIC = {1: "C#", 3: "E-", 6: "F#", 8: "A-", 10: "B-"}

KeyPlan = key.KeySignature | Sequence[tuple[Fraction | float, key.KeySignature]] | None


def key_for(tonic: int, mode: str) -> key.Key:
    """The music21 ``Key`` for a tonic pitch class and mode, spelled with the fewest accidentals.

    >>> key_for(3, 'major')
    <music21.key.Key of E- major>
    >>> key_for(8, 'minor')
    <music21.key.Key of g# minor>
    """
    names = _MINOR_TONICS if mode == "minor" else _MAJOR_TONICS
    return key.Key(names[tonic % 12])


def spell(midi: int, in_key: key.KeySignature) -> pitch.Pitch:
    """The pitch ``midi`` spelled for ``in_key``.

    Scale tones take the key's names; in minor the raised sixth and seventh
    are spelled as such; other chromatic tones are flats in flat keys and
    sharps in sharp keys unless that needs more accidentals (B, not Cb, in F
    major); in C major / A minor: C#, Eb, F#, Ab, Bb.

    >>> eb = key.Key('E-')
    >>> spell(68, eb).nameWithOctave, spell(66, eb).nameWithOctave
    ('A-4', 'G-4')
    >>> spell(68, key.Key('a')).nameWithOctave
    'G#4'
    >>> spell(60, key.Key('C#')).nameWithOctave
    'B#3'
    """
    if not 0 <= midi <= 127:
        raise GenerationError(f"MIDI pitch {midi} lies outside 0..127")
    name = _spelling_names(in_key)[midi % 12]
    spelled = pitch.Pitch(name)
    spelled.octave = 4
    spelled.octave += (midi - int(spelled.ps)) // 12
    return spelled


def melody_part(
    notes: Iterable[MelodyNote],
    timeline: ChordTimeline,
    *,
    key_signature: KeyPlan = None,
    part_name: str = DEFAULT_PART_NAME,
    instrument: m21instrument.Instrument | None = None,
) -> stream.Part:
    """A ``Part`` holding ``notes`` in the measures of ``timeline``.

    ``key_signature`` is one key signature for the whole part, or
    ``(offset, KeySignature)`` pairs for a score whose key changes (each is
    written at the start of the measure it falls in); by default the keys of
    the timeline's chords are used. Notes are clipped to the timeline, a note
    overlapping the next one is cut where the next begins (of notes starting
    together, the highest is kept). ``instrument``
    defaults to a voice (General MIDI program 54, "Voice Oohs") so a MIDI
    export sounds.

    >>> from fractions import Fraction as F
    >>> from music21_melgen.timeline import ChordSpan, MeasureSpan
    >>> bars = (MeasureSpan(1, F(0), F(4), '4/4', F(1)), MeasureSpan(2, F(4), F(4), '4/4', F(1)))
    >>> chords = (ChordSpan(F(0), F(8), 3, frozenset({3, 7, 10}), 3, 'major', 1, 'Eb'),)
    >>> timeline = ChordTimeline(chords, bars)
    >>> part = melody_part([MelodyNote(F(2), F(3), 68)], timeline)
    >>> part.show('text')
    {0.0} <music21.instrument.Vocalist 'Melody (melgen): Voice'>
    {0.0} <music21.stream.Measure 1 offset=0.0>
        {0.0} <music21.clef.TrebleClef>
        {0.0} <music21.key.Key of E- major>
        {0.0} <music21.meter.TimeSignature 4/4>
        {0.0} <music21.note.Rest half>
        {2.0} <music21.note.Note A->
    {4.0} <music21.stream.Measure 2 offset=4.0>
        {0.0} <music21.note.Note A->
        {1.0} <music21.note.Rest quarter>
        {2.0} <music21.note.Rest half>
    >>> [n.tie.type for n in part.recurse().notes]
    ['start', 'stop']
    """
    measures = list(timeline.measures)
    start = measures[0].offset
    end = measures[-1].offset + measures[-1].length
    placed = _clean(notes, start, end)
    onsets = [n.offset for n in placed]
    keys = _key_plan(key_signature, timeline)
    key_offsets = [offset for offset, _ in keys]

    part = stream.Part()
    part.partName = part_name
    part.partAbbreviation = "Mel."
    played = instrument if instrument is not None else m21instrument.Vocalist()
    played.partName = part_name
    part.insert(0, played)

    previous_signature = None
    signature = None
    beamed: list[tuple[stream.Measure, meter.TimeSignature]] = []
    written_keys: set[int] = set()
    cursor = 0
    for index, bar in enumerate(measures):
        bar_end = bar.offset + bar.length
        measure = stream.Measure(number=bar.number)
        if index == 0:
            measure.insert(0, clef.TrebleClef())
        due = [i for i, offset in enumerate(key_offsets) if offset < bar_end and i not in written_keys]
        if index == 0 and not due:
            due = [0]
        if due:
            measure.insert(0, _copy_key(keys[due[-1]][1]))
            written_keys.update(range(due[-1] + 1))
        if bar.time_signature != previous_signature or signature is None:
            signature = meter.TimeSignature(bar.time_signature)
            measure.insert(0, signature)
            previous_signature = bar.time_signature
        nominal = Fraction(signature.barDuration.quarterLength)
        if bar.length < nominal:
            if index == 0:
                measure.paddingLeft = float(nominal - bar.length)
            else:
                measure.paddingRight = float(nominal - bar.length)

        while cursor < len(placed) and placed[cursor].end <= bar.offset:
            cursor += 1
        here = placed[cursor:bisect_left(onsets, bar_end, cursor)]  # placed is sorted by offset
        if not here and bar.length == nominal:
            rest = note.Rest(quarterLength=bar.length)
            rest.fullMeasure = True
            measure.insert(0, rest)
        elif not here:  # a pickup or short bar: rests of its real length, never a 'measure' rest
            _place(measure, bar, bar.offset, bar.length, None, False, False, nominal)
        else:
            _fill(measure, here, bar, keys, key_offsets, nominal)
        part.insert(bar.offset, measure)
        beamed.append((measure, signature))
    _beam(part, beamed)
    return part


def _beam(part: stream.Part, measures: list[tuple[stream.Measure, meter.TimeSignature]]) -> None:
    """Beams and stem directions, the same as ``part.makeBeams(inPlace=True)`` sets them.

    Why not ``makeBeams`` itself: it finds each measure's time signature and
    each beam group's clef through the part's context, rebuilding the part's
    offset tree every time (quadratic in the measures, a third of the notation
    time of a song); here every measure's meter is known and the part's only
    clef is treble. Beams are cosmetic: if music21 cannot beam a meter, the
    part is left as ``makeBeams`` leaves it then (beamed up to that measure,
    stems unset).
    """
    treble = clef.TrebleClef()
    try:
        for measure, signature in measures:
            notes = measure.notesAndRests.stream()
            if len(notes) <= 1:
                continue
            bar = signature.barDuration.quarterLength
            if opFrac(sum(n.quarterLength for n in notes)) > bar:
                continue
            start: float | Fraction = 0.0
            if measure.paddingLeft:
                start = opFrac(measure.paddingLeft)
            elif not measure.paddingRight and notes.highestTime < bar:
                start = bar - notes.highestTime
            for element, beams in zip(notes, signature.getBeams(notes, measureStartOffset=start)):
                element.beams = beams if beams is not None else beam.Beams()
        for group in iterateBeamGroups(part, skipNoBeams=True, recurse=True):
            pitches = [p for n in group for p in n.pitches]
            if not pitches:
                continue
            direction = treble.getStemDirectionForPitches(pitches)
            for element in group:
                element.stemDirection = direction
    except Music21Exception:
        return
    part.streamStatus.beams = True


def _as_key(signature: key.KeySignature) -> key.Key:
    return signature if isinstance(signature, key.Key) else signature.asKey("major")


def _copy_key(signature: key.KeySignature) -> key.KeySignature:
    if isinstance(signature, key.Key):
        return key.Key(signature.tonic.name, signature.mode)
    return key.KeySignature(signature.sharps)


def _spelling_names(signature: key.KeySignature) -> tuple[str, ...]:
    """The twelve pitch-class names for ``signature``, cached: building them realizes music21 scales (ms each)."""
    if isinstance(signature, key.Key):
        return _key_spelling(signature.tonic.name, signature.mode)
    return _signature_spelling(signature.sharps)


@lru_cache(maxsize=None)
def _key_spelling(tonic: str, mode: str) -> tuple[str, ...]:
    table = _spelling_table(key.Key(tonic, mode))
    return tuple(table[pc] for pc in range(12))


@lru_cache(maxsize=None)
def _signature_spelling(sharps: int) -> tuple[str, ...]:
    table = _spelling_table(_as_key(key.KeySignature(sharps)))
    return tuple(table[pc] for pc in range(12))


def _spelling_table(in_key: key.Key) -> dict[int, str]:
    table = {p.pitchClass: p.name for p in in_key.pitches}
    if in_key.mode == "minor":
        for degree in (6, 7):  # the raised sixth and seventh of melodic minor
            raised = in_key.pitchFromDegree(degree).transpose("A1")
            table.setdefault(raised.pitchClass, raised.name)
    scale_names = dict(table)
    for pc in range(12):
        if pc in table:
            continue
        if in_key.sharps == 0:
            table[pc] = _NATURAL_KEY_CHROMATIC[pc]
            continue
        # the scale tone below raised, or the one above lowered: fewer accidentals
        # win (B natural, not Cb, in F major), then the key's own direction
        options = []
        if (pc - 1) % 12 in scale_names:
            options.append((pitch.Pitch(scale_names[(pc - 1) % 12]).transpose("A1"), in_key.sharps < 0))
        if (pc + 1) % 12 in scale_names:
            options.append((pitch.Pitch(scale_names[(pc + 1) % 12]).transpose("-A1"), in_key.sharps > 0))
        best = min(options, key=lambda option: (abs(option[0].alter), option[1]))
        table[pc] = best[0].name
    return table


def _key_plan(plan: KeyPlan, timeline: ChordTimeline) -> list[tuple[Fraction, key.KeySignature]]:
    if isinstance(plan, key.KeySignature):
        return [(timeline.measures[0].offset, plan)]
    if plan:
        pairs = sorted(((Fraction(offset), sig) for offset, sig in plan), key=lambda pair: pair[0])
        return pairs
    keys: list[tuple[Fraction, key.KeySignature]] = []
    for bar in timeline.measures:
        span = timeline.chord_at(bar.offset) or next(
            (c for c in timeline.chords if c.offset >= bar.offset), timeline.chords[-1]
        )
        wanted = key_for(span.key_tonic, span.mode)
        if not keys or keys[-1][1].sharps != wanted.sharps:
            keys.append((bar.offset, wanted))
    return keys


def _clean(notes: Iterable[MelodyNote], start: Fraction, end: Fraction) -> list[MelodyNote]:
    ordered = sorted(notes, key=lambda n: (n.offset, n.midi))
    cleaned: list[MelodyNote] = []
    for index, item in enumerate(ordered):
        if not 0 <= item.midi <= 127:
            raise GenerationError(f"note at offset {item.offset}: MIDI pitch {item.midi} outside 0..127")
        offset = max(Fraction(item.offset), start)
        stop = min(Fraction(item.end), end)
        if index + 1 < len(ordered):
            stop = min(stop, Fraction(ordered[index + 1].offset))
        if stop > offset:
            cleaned.append(MelodyNote(offset, stop - offset, item.midi))
    return cleaned


def _fill(
    measure: stream.Measure,
    notes: list[MelodyNote],
    bar: MeasureSpan,
    keys: list[tuple[Fraction, key.KeySignature]],
    key_offsets: list[Fraction],
    nominal: Fraction,
) -> None:
    """Notes and rests for one measure (``nominal`` long by its meter), in order, exactly filling it."""
    bar_end = bar.offset + bar.length
    position = bar.offset
    in_force: dict[tuple[str, int | None], float] = {}  # accidentals written so far in this measure
    for item in notes:
        onset = max(item.offset, bar.offset)
        if onset > position:
            _place(measure, bar, position, onset - position, None, False, False, nominal)
        stop = min(item.end, bar_end)
        in_key = keys[max(bisect_right(key_offsets, onset) - 1, 0)][1]
        sounding = spell(item.midi, in_key)
        tied_in = item.offset < bar.offset
        _mark_accidental(sounding, _signature_alters(in_key.sharps), in_force, tied_in)
        _place(measure, bar, onset, stop - onset, sounding, tied_in, item.end > bar_end, nominal)
        position = stop
    if position < bar_end:
        _place(measure, bar, position, bar_end - position, None, False, False, nominal)


def _place(
    measure: stream.Measure,
    bar: MeasureSpan,
    offset: Fraction,
    length: Fraction,
    sounding: pitch.Pitch | None,
    tied_from_before: bool,
    tied_onwards: bool,
    nominal: Fraction,
) -> None:
    """Write one note or rest as tied note values; a rest says whether it fills the bar.

    Stating ``fullMeasure`` (what music21's 'auto' would find) spares the
    MusicXML writer a time-signature context search for every rest.
    """
    position = offset - bar.offset
    if sounding is None:
        pieces = _rest_values(position, length, bar.beat_length)
    else:
        pieces = _note_values(position, length, bar.beat_length)
    for index, value in enumerate(pieces):
        if sounding is None:
            element: note.GeneralNote = note.Rest()
            element.fullMeasure = value == nominal
        else:
            element = note.Note(_copied_pitch(sounding, shown=index == 0))
            starts = index == 0 and not tied_from_before
            ends = index == len(pieces) - 1 and not tied_onwards
            if not (starts and ends):
                element.tie = tie.Tie("start" if starts else "stop" if ends else "continue")
        element.duration = settled_duration(value)
        measure.insert(position, element)
        position += value


@lru_cache(maxsize=None)
def _signature_alters(sharps: int) -> dict[str, float]:
    """Step → alteration the key signature of ``sharps`` sharps (negative: flats) gives it."""
    return {p.step: p.alter for p in key.KeySignature(sharps).alteredPitches}


def _mark_accidental(
    sounding: pitch.Pitch, signature: dict[str, float], in_force: dict[tuple[str, int | None], float], tied_in: bool
) -> None:
    """Show ``sounding``'s accidental only where the signature and the measure so far do not imply it.

    A note tied in from the previous measure shows none. ``in_force`` holds
    what this measure has already written, by step and octave.

    >>> in_force = {}
    >>> shown = []
    >>> for name in ('B-4', 'B4', 'B4', 'B-4', 'B-5'):
    ...     p = pitch.Pitch(name)
    ...     _mark_accidental(p, {'B': -1.0}, in_force, False)
    ...     shown.append(p.accidental.displayStatus if p.accidental else None)
    >>> shown  # None: a natural with nothing to show carries no accidental at all
    [False, True, None, True, False]
    """
    where = (sounding.step, sounding.octave)
    expected = in_force.get(where, signature.get(sounding.step, 0.0))
    alter = sounding.alter
    in_force[where] = alter
    if alter == expected or tied_in:
        if sounding.accidental is not None:
            sounding.accidental.displayStatus = False
        return
    if sounding.accidental is None:
        sounding.accidental = pitch.Accidental("natural")
    sounding.accidental.displayStatus = True


def _copied_pitch(sounding: pitch.Pitch, *, shown: bool) -> pitch.Pitch:
    """A copy of ``sounding`` for one tied piece of a note: only the first piece may show its accidental."""
    copied = pitch.Pitch(sounding.nameWithOctave)
    if sounding.accidental is not None:
        if copied.accidental is None:
            copied.accidental = pitch.Accidental(sounding.accidental.name)
        copied.accidental.displayStatus = bool(sounding.accidental.displayStatus) and shown
    return copied


def _note_values(position: Fraction, length: Fraction, beat: Fraction) -> list[Fraction]:
    """Split ``length`` (starting ``position`` into the measure) into single note values.

    A length one note can show stays whole; otherwise it is cut at the next
    beat, then into the longest values that fit.

    >>> _note_values(Fraction(0), Fraction(3), Fraction(1))
    [Fraction(3, 1)]
    >>> _note_values(Fraction(1, 2), Fraction(5, 4), Fraction(1))
    [Fraction(1, 2), Fraction(3, 4)]
    >>> _note_values(Fraction(0), Fraction(5), Fraction(1))
    [Fraction(4, 1), Fraction(1, 1)]
    """
    if length <= 0:
        return []
    if length in _NOTE_VALUES:
        return [length]
    next_beat = (position // beat + 1) * beat
    if position + length > next_beat and position % beat:
        head = next_beat - position
        return _note_values(position, head, beat) + _note_values(next_beat, length - head, beat)
    values = _decompose(length)
    if values is None:
        raise GenerationError(f"a length of {length} quarter notes cannot be written as notes")
    return list(values)


def _rest_values(position: Fraction, length: Fraction, beat: Fraction) -> list[Fraction]:
    """Rests that show the beats: split at every beat, whole beats joined into a value that starts on a multiple of itself.

    >>> _rest_values(Fraction(1), Fraction(3), Fraction(1))   # beats 2-4 of 4/4: quarter, half
    [Fraction(1, 1), Fraction(2, 1)]
    >>> _rest_values(Fraction(1, 2), Fraction(7, 2), Fraction(1))
    [Fraction(1, 2), Fraction(1, 1), Fraction(2, 1)]
    """
    values: list[Fraction] = []
    end = position + length
    while position < end:
        next_beat = (position // beat + 1) * beat
        if position % beat or end < next_beat:
            stop = min(next_beat, end)
            values.extend(_note_values(position, stop - position, beat))
            position = stop
            continue
        beats = int((end - position) // beat)
        while beats > 1 and not (beats * beat in _NOTE_VALUES and position % (beats * beat) == 0):
            beats -= 1
        chunk = beats * beat
        values.extend([chunk] if chunk in _NOTE_VALUES else _note_values(position, chunk, beat))
        position += chunk
    return values


@lru_cache(maxsize=4096)
def _decompose(length: Fraction) -> tuple[Fraction, ...] | None:
    """The longest-first run of note values adding up to ``length``, or None."""
    if length == 0:
        return ()
    for value in _NOTE_VALUES:
        if value <= length:
            tail = _decompose(length - value)
            if tail is not None:
                return (value, *tail)
    return None


def settled_duration(value: Fraction) -> duration.Duration:
    """A ``Duration`` of ``value`` quarters whose note value is already worked out.

    music21 works out a duration's type lazily, the first time it is asked,
    and then tells every stream holding the note; asked here, before the
    duration has an owner, it costs nothing more (a third of a MIDI
    accompaniment's MusicXML export otherwise).

    >>> settled_duration(Fraction(3, 2)).fullName
    'Dotted Quarter'
    """
    plain = _plain_value(value)
    if plain is not None:
        return duration.Duration(components=(plain,))
    settled = duration.Duration(value)
    settled.components  # noqa: B018  (the property works the components out)
    return settled


@lru_cache(maxsize=256)
def _plain_value(value: Fraction) -> duration.DurationTuple | None:
    """The single note value (type, dots) of ``value`` quarters, or None for tuplets and ties."""
    found = duration.durationTupleFromQuarterLength(value)
    return None if found.type in ("inexpressible", "complex") else found


def split_note_values(position: Fraction, length: Fraction, beat: Fraction) -> list[Fraction]:
    """Single note values (tied) for a note ``length`` long, ``position`` into a measure of ``beat``-long beats.

    >>> split_note_values(Fraction(1, 2), Fraction(5, 4), Fraction(1))
    [Fraction(1, 2), Fraction(3, 4)]
    """
    return _note_values(position, length, beat)


def split_rest_values(position: Fraction, length: Fraction, beat: Fraction) -> list[Fraction]:
    """Rest values for a gap ``length`` long, ``position`` into a measure, showing the beats.

    >>> split_rest_values(Fraction(1), Fraction(3), Fraction(1))
    [Fraction(1, 1), Fraction(2, 1)]
    """
    return _rest_values(position, length, beat)
