"""MIDI files in and out at the track level: quantized, barred parts in; the user's tracks plus one out.

Reading (:func:`read_midi`): the Standard MIDI File is read with music21's
low-level ``midi.MidiFile`` (events, not streams), each note's onset and end
are quantized to the nearer of a sixteenth grid and an eighth-triplet grid
(music21's own ``quarterLengthDivisors=(4, 3)``), and every track with notes
becomes a ``Part`` already cut into measures: notes that cross a barline are
split and tied, overlapping notes go into voices, gaps are rests, so every
measure holds exactly its meter and music21 can export the part without
``makeNotation``. The meter is the file's first time signature; a file
without one, or one declaring a one-beat bar (``1/4``, ``1/8``: POP909 and
other exports write them for songs in 4/4), is barred in 4/4.

Writing (:func:`midi_with_melody`): the input file's bytes are kept as they
are (header and every track chunk) and one track holding the melody is
appended, so a MIDI input comes back with its own tracks unchanged.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from music21 import chord, instrument, key, meter, note, percussion, pitch, stream, tie
from music21 import midi as m21midi

from music21_melgen.errors import OutputError, ScoreError
from music21_melgen.notation import (
    settled_duration,
    split_note_values,
    split_rest_values,
)
from music21_melgen.timeline import MeasureSpan, MelodyNote

__all__ = ["DRUM_CHANNEL", "MELODY_PROGRAM", "midi_with_melody", "quantize", "read_midi"]

DRUM_CHANNEL = 10  # General MIDI percussion channel (1-based, as music21 counts)
MELODY_PROGRAM = 53  # General MIDI "Voice Oohs" (0-based program number), the melody's sound
_GRIDS = (Fraction(1, 4), Fraction(1, 3))  # quantization grids in quarter lengths


def quantize(quarters: Fraction) -> Fraction:
    """The nearest point of a sixteenth or eighth-triplet grid (ties go to the sixteenth).

    >>> quantize(Fraction(49, 48)), quantize(Fraction(31, 96)), quantize(Fraction(2, 3))
    (Fraction(1, 1), Fraction(1, 3), Fraction(2, 3))
    """
    candidates = [round(quarters / grid) * grid for grid in _GRIDS]
    return min(candidates, key=lambda value: abs(value - quarters))


@dataclass(frozen=True)
class _Sound:
    """One quantized event of a track: onset, end (quarter lengths), MIDI pitches."""

    onset: Fraction
    end: Fraction
    pitches: tuple[int, ...]


@dataclass
class _Track:
    name: str
    program: int | None
    drums: bool
    sounds: list[_Sound]


def read_midi(path: str | os.PathLike[str]) -> stream.Score:
    """A MIDI file as a ``Score`` of measured parts, one per track with notes (see module docstring).

    Raises :class:`ScoreError` naming the file when it is not a MIDI file or holds no notes.
    """
    source = Path(path)
    midi_file = m21midi.MidiFile()
    try:
        midi_file.open(str(source))
        try:
            midi_file.read()
        finally:
            midi_file.close()
    except Exception as error:  # music21 raises several kinds on a damaged file
        raise ScoreError(f"{source}: not a readable MIDI file ({type(error).__name__}: {error})") from None
    ticks = midi_file.ticksPerQuarterNote
    if not isinstance(ticks, int) or ticks <= 0:
        raise ScoreError(f"{source}: SMPTE time division is not supported; export with ticks per quarter note")
    tracks, signature, written_key = _tracks(midi_file, ticks)
    if not tracks:
        raise ScoreError(f"{source}: the MIDI file holds no notes")
    end = max(sound.end for track in tracks for sound in track.sounds)
    bar_length = Fraction(signature.barDuration.quarterLength)
    bars = int(-(-end // bar_length)) or 1
    beat = Fraction(signature.beatDuration.quarterLength)
    spans = [MeasureSpan(i + 1, i * bar_length, bar_length, signature.ratioString, beat) for i in range(bars)]
    score = stream.Score()
    for index, track in enumerate(tracks):
        score.insert(0, _part(track, spans, signature, written_key, index))
    return score


def _tracks(midi_file: m21midi.MidiFile, ticks: int) -> tuple[list[_Track], meter.TimeSignature, key.Key | None]:
    """Quantized tracks with notes, the meter to bar them in, and the written key (if any)."""
    signature: meter.TimeSignature | None = None
    written_key: key.Key | None = None
    tracks: list[_Track] = []
    for midi_track in midi_file.tracks:
        now = 0
        name = ""
        programs: dict[int, int] = {}
        held: dict[tuple[int, int], list[int]] = {}
        notes: list[tuple[int, int, int, int]] = []  # onset tick, end tick, pitch, channel
        for event in midi_track.events:
            if isinstance(event, m21midi.DeltaTime):
                now += event.time
                continue
            kind = event.type
            if kind == m21midi.MetaEvents.SEQUENCE_TRACK_NAME and not name:
                name = event.data.decode("latin-1", "replace").strip()
            elif kind == m21midi.MetaEvents.TIME_SIGNATURE and signature is None and len(event.data) >= 2:
                numerator, denominator = event.data[0], 2 ** event.data[1]
                if numerator > 1 and denominator in (2, 4, 8, 16):
                    signature = meter.TimeSignature(f"{numerator}/{denominator}")
            elif kind == m21midi.MetaEvents.KEY_SIGNATURE and written_key is None and len(event.data) >= 2:
                sharps = struct.unpack("b", event.data[:1])[0]
                if -7 <= sharps <= 7:
                    written_key = key.KeySignature(sharps).asKey("minor" if event.data[1] else "major")
            elif kind == m21midi.ChannelVoiceMessages.PROGRAM_CHANGE:
                programs.setdefault(event.channel, event.data)
            elif kind == m21midi.ChannelVoiceMessages.NOTE_ON and event.velocity:
                held.setdefault((event.channel, event.pitch), []).append(now)
            elif kind in (m21midi.ChannelVoiceMessages.NOTE_OFF, m21midi.ChannelVoiceMessages.NOTE_ON):
                started = held.get((event.channel, event.pitch))
                if started:
                    notes.append((started.pop(0), now, event.pitch, event.channel))
        if not notes:
            continue
        channels = [channel for *_, channel in notes]
        channel = max(set(channels), key=channels.count)
        grouped: dict[tuple[Fraction, Fraction], set[int]] = {}
        for onset, stop, midi_pitch, _ in notes:
            start = quantize(Fraction(onset, ticks))
            step = _GRIDS[0] if start % _GRIDS[0] == 0 else _GRIDS[1]
            end = max(quantize(Fraction(stop, ticks)), start + step)  # a note never vanishes
            grouped.setdefault((start, end), set()).add(midi_pitch)
        sounds = [_Sound(start, end, tuple(sorted(p))) for (start, end), p in sorted(grouped.items())]
        tracks.append(_Track(name, programs.get(channel), channel == DRUM_CHANNEL, sounds))
    return tracks, signature or meter.TimeSignature("4/4"), written_key


def _voices(sounds: list[_Sound]) -> list[list[_Sound]]:
    """Sounds laid into voices: each goes into the first voice free at its onset."""
    voices: list[list[_Sound]] = []
    for sound in sounds:
        for voice in voices:
            if voice[-1].end <= sound.onset:
                voice.append(sound)
                break
        else:
            voices.append([sound])
    return voices


def _part(
    track: _Track, spans: list[MeasureSpan], signature: meter.TimeSignature, written_key: key.Key | None, index: int
) -> stream.Part:
    part = stream.Part()
    part.id = f"track{index + 1}"
    part.partName = track.name or f"Track {index + 1}"
    if track.drums:
        played: instrument.Instrument = instrument.Percussion()
    elif track.program is not None:
        played = instrument.instrumentFromMidiProgram(track.program)
    else:
        played = instrument.Piano()
    played.partName = part.partName
    part.insert(0, played)
    voices = _voices(track.sounds)
    onsets = [[sound.onset for sound in voice] for voice in voices]
    cursors = [0] * len(voices)
    for number, bar in enumerate(spans):
        measure = stream.Measure(number=bar.number)
        if number == 0:
            if written_key is not None:
                measure.insert(0, key.Key(written_key.tonic.name, written_key.mode))
            measure.insert(0, meter.TimeSignature(signature.ratioString))
        containers: list[stream.Stream] = []
        for voice_index, voice in enumerate(voices):
            while cursors[voice_index] < len(voice) and voice[cursors[voice_index]].end <= bar.offset:
                cursors[voice_index] += 1
            cursor = cursors[voice_index]
            here = voice[cursor:bisect_left(onsets[voice_index], bar.offset + bar.length, cursor)]
            if voice_index > 0 and not here:
                continue
            container = stream.Voice(id=str(voice_index + 1)) if len(voices) > 1 else measure
            _fill(container, here, bar, track.drums)
            containers.append(container)
        for container in containers:
            if container is not measure:
                measure.coreInsert(0, container)
        measure.coreElementsChanged()
        part.coreInsert(bar.offset, measure)
    part.coreElementsChanged()
    return part


def _fill(container: stream.Stream, sounds: Iterable[_Sound], bar: MeasureSpan, drums: bool) -> None:
    """Notes (tied across the barlines) and rests filling one measure of one voice exactly."""
    bar_end = bar.offset + bar.length
    position = bar.offset
    for sound in sounds:
        onset = max(sound.onset, bar.offset)
        if onset > position:
            _put(container, bar, position, onset - position, None, False, False, drums)
        stop = min(sound.end, bar_end)
        _put(container, bar, onset, stop - onset, sound.pitches, sound.onset < bar.offset, sound.end > bar_end, drums)
        position = stop
    if position < bar_end:
        _put(container, bar, position, bar_end - position, None, False, False, drums)
    container.coreElementsChanged()


def _put(
    container: stream.Stream,
    bar: MeasureSpan,
    offset: Fraction,
    length: Fraction,
    pitches: tuple[int, ...] | None,
    tied_from_before: bool,
    tied_onwards: bool,
    drums: bool,
) -> None:
    position = offset - bar.offset
    if pitches is None:
        pieces = split_rest_values(position, length, bar.beat_length)
    else:
        pieces = split_note_values(position, length, bar.beat_length)
    for index, value in enumerate(pieces):
        element: note.GeneralNote
        if pitches is None:
            element = note.Rest()
            element.fullMeasure = value == bar.length
        else:
            element = _sounding(pitches, drums)
            starts = index == 0 and not tied_from_before
            ends = index == len(pieces) - 1 and not tied_onwards
            if not (starts and ends) and not drums:
                element.tie = tie.Tie("start" if starts else "stop" if ends else "continue")
        element.duration = settled_duration(value)
        container.coreInsert(position, element)  # in order; _fill tells the container once at its end
        position += value


def _sounding(pitches: tuple[int, ...], drums: bool) -> note.GeneralNote:
    if drums:
        hits = [note.Unpitched() for _ in pitches]
        return hits[0] if len(hits) == 1 else percussion.PercussionChord(hits)
    if len(pitches) == 1:
        return note.Note(pitch.Pitch(midi=pitches[0]))
    return chord.Chord([pitch.Pitch(midi=p) for p in pitches])


# --- writing --------------------------------------------------------------------------


def _variable_length(value: int) -> bytes:
    """A MIDI variable-length quantity.

    >>> _variable_length(0), _variable_length(200), _variable_length(0x0FFFFFFF)
    (b'\\x00', b'\\x81H', b'\\xff\\xff\\xff\\x7f')
    """
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _melody_track(notes: Iterable[MelodyNote], ticks: int, name: str, channel: int) -> bytes:
    """An ``MTrk`` chunk: the track name, the melody's program, its notes (velocity 90)."""
    encoded = name.encode("latin-1", "replace")
    events: list[tuple[int, int, bytes]] = []  # tick, order (offs first), message
    for item in notes:
        start = round(item.offset * ticks)
        stop = max(round(item.end * ticks), start + 1)
        events.append((start, 1, bytes([0x90 | channel, item.midi, 90])))
        events.append((stop, 0, bytes([0x80 | channel, item.midi, 0])))
    events.sort(key=lambda event: (event[0], event[1]))
    body = bytearray(b"\x00\xff\x03" + _variable_length(len(encoded)) + encoded)
    body += b"\x00" + bytes([0xC0 | channel, MELODY_PROGRAM])
    now = 0
    for tick, _, message in events:
        body += _variable_length(tick - now) + message
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def midi_with_melody(original: bytes, notes: Iterable[MelodyNote], *, name: str, where: str = "") -> bytes:
    """The bytes of a MIDI file with one track appended holding ``notes`` (offsets in quarters).

    Every chunk of ``original`` is kept byte for byte; the header's track
    count goes up by one (a format-0 file becomes format 1, its one track
    unchanged). The melody plays on a channel no track uses (or channel 16).
    """
    if original[:4] != b"MThd" or len(original) < 14:
        raise OutputError(f"{where or 'input'}: not a Standard MIDI File; cannot add a melody track to it")
    header_length = struct.unpack(">I", original[4:8])[0]
    file_format, count, division = struct.unpack(">HHH", original[8:14])
    if division & 0x8000:
        raise OutputError(f"{where or 'input'}: SMPTE time division is not supported for MIDI output")
    used = _channels_used(original)
    channel = next((c for c in range(16) if c != DRUM_CHANNEL - 1 and c not in used), 15)
    header = (
        original[:8] + struct.pack(">HHH", 1 if file_format == 0 else file_format, count + 1, division)
        + original[14:8 + header_length]
    )
    return header + original[8 + header_length:] + _melody_track(notes, division, name, channel)


def _channels_used(original: bytes) -> set[int]:
    """Channels (0-based) the note-on messages of the MIDI file ``original`` use."""
    midi_file = m21midi.MidiFile()
    try:
        midi_file.readstr(original)
    except Exception:  # unreadable tracks: fall back to channel 16
        return set(range(15))
    return {
        event.channel - 1
        for track in midi_file.tracks
        for event in track.events
        if not isinstance(event, m21midi.DeltaTime) and event.type == m21midi.ChannelVoiceMessages.NOTE_ON
    }
