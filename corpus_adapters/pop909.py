"""POP909 songs → a :class:`ChordTimeline` plus the MELODY track as :class:`MelodyNote` values.

A POP909 song folder ``NNN/`` holds ``NNN.mid`` (tracks MELODY, BRIDGE, PIANO),
``beat_midi.txt`` (beat seconds; the third column flags downbeats),
``beat_audio.txt`` (beat seconds and position in the bar),
``chord_midi.txt`` (Harte labels) and ``key_audio.txt`` (key regions). The
axis is the beat grid: one beat of ``beat_midi.txt`` is one quarter length,
beat 0 at offset 0, seconds in between interpolated linearly. Bars come from
the downbeat flags (the MIDI's time signature is often wrong), which read
every song in 4/4 or 6/4; where ``beat_audio.txt`` hears three beats to the
bar, its downbeats, each laid on the nearest beat of the grid, make the bars
(:func:`_triple_downbeats`). MIDI ticks are
turned into seconds through the file's tempo map, then into beats, then onto
the 16th grid; a gap of at most a 16th between two notes is closed (:data:`LEGATO_GAP`).
A song whose melody is off the grid or whose chords do not
cover it raises :class:`CorpusFormatError` naming the file (and line).
Keys are taken as ``key_audio.txt`` labels them: ``A:min`` is tonic A, minor
(never its relative C major); a chord takes the key region its start lies in.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

from music21 import midi as m21midi

from music21_melgen.errors import CorpusFormatError, MelgenError, reason_kind
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote

__all__ = [
    "LEGATO_GAP",
    "MAX_OFF_GRID",
    "MIN_COVERAGE",
    "Pop909Song",
    "Pop909Summary",
    "SongCheck",
    "harte_pitch_classes",
    "iter_pop909",
    "read_pop909_song",
    "reason_kind",
    "song_files",
    "verify_pop909",
]

MAX_OFF_GRID = 0.10  # a song is skipped when more than this share of onsets is off the 16th grid
GRID_TOLERANCE = 0.25  # an onset is off the grid when farther than this (in 16ths) from a grid line
MIN_COVERAGE = 0.90  # a song is skipped when chords cover less than this share of melody onsets
# 16ths: a silence this short between two notes is the singer's articulation, not a rest: the note
# is held to the next onset (47 % of the notes are followed by a gap, 38 % by one of a 16th or less;
# a lead sheet writes them legato, and a model fed the gaps learned to end its notes early).
LEGATO_GAP = 1

# The files of a song folder the reader opens; beat_audio.txt is optional.
SONG_FILES = ("{name}.mid", "beat_midi.txt", "beat_audio.txt", "chord_midi.txt", "key_audio.txt")

_NOTE_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_DEGREE = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 2, "11": 5, "13": 9}
_QUALITY = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "7": (0, 4, 7, 10), "dim7": (0, 3, 6, 9),
    "hdim7": (0, 3, 6, 10), "minmaj7": (0, 3, 7, 11), "maj6": (0, 4, 7, 9), "min6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 2), "maj9": (0, 4, 7, 11, 2), "min9": (0, 3, 7, 10, 2),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "5": (0, 7), "1": (0,), "": (0, 4, 7),
}
_LABEL = re.compile(r"^([A-G])([#b]*):?([a-z0-9]*)(?:\(([^)]*)\))?(?:/([#b]*\d+))?$")


def _pitch_class(name: str) -> int:
    return (_NOTE_PC[name[0]] + name.count("#") - name.count("b")) % 12


def _degree(text: str) -> int:
    """``'b7'`` → 10, ``'3'`` → 4 (semitones above the root)."""
    digits = text.lstrip("#b*")
    if digits not in _DEGREE:
        raise ValueError(f"unknown degree {text!r}")
    return _DEGREE[digits] + text.count("#") - text.count("b")


def harte_pitch_classes(label: str) -> tuple[int | None, frozenset[int]]:
    """Root and absolute pitch classes of a Harte label; ``'N'`` gives ``(None, frozenset())``.

    >>> harte_pitch_classes('A:min7')
    (9, frozenset({0, 9, 4, 7}))
    >>> harte_pitch_classes('G:sus4(b7)/b7')
    (7, frozenset({0, 2, 5, 7}))
    >>> harte_pitch_classes('N')
    (None, frozenset())
    """
    if label in ("N", "X"):
        return None, frozenset()
    match = _LABEL.match(label)
    if match is None or match.group(3) not in _QUALITY:
        raise ValueError(f"unknown chord label {label!r}")
    root = _pitch_class(match.group(1) + match.group(2))
    intervals = set(_QUALITY[match.group(3)])
    for part in filter(None, (match.group(4) or "").split(",")):
        part = part.strip()
        if part.startswith("*"):
            intervals.discard(_degree(part[1:]) % 12)
        else:
            intervals.add(_degree(part) % 12)
    if match.group(5):
        intervals.add(_degree(match.group(5)) % 12)
    return root, frozenset((root + i) % 12 for i in intervals)


@dataclass(frozen=True)
class Pop909Song:
    """One POP909 song on the beat axis."""

    timeline: ChordTimeline
    notes: tuple[MelodyNote, ...]
    name: str


def _rows(path: Path, columns: int) -> list[tuple[int, list[str]]]:
    """Non-empty lines of a whitespace-separated text file, with their line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusFormatError(f"cannot read: {err.__class__.__name__}", path=str(path)) from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < columns:
            raise CorpusFormatError(f"expected {columns} columns, got {len(parts)}", path=str(path), line=number)
        rows.append((number, parts))
    return rows


def _number(text: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise CorpusFormatError(f"not a number: {text!r}", path=str(path), line=line) from None


class _BeatGrid:
    """Seconds ↔ beats (quarter lengths) by linear interpolation between beat times."""

    def __init__(self, times: list[float]) -> None:
        self.times = times
        self.first = times[1] - times[0]
        self.last = times[-1] - times[-2]

    def beats(self, seconds: float) -> float:
        times = self.times
        if seconds <= times[0]:
            return (seconds - times[0]) / self.first
        if seconds >= times[-1]:
            return len(times) - 1 + (seconds - times[-1]) / self.last
        index = bisect_right(times, seconds) - 1
        return index + (seconds - times[index]) / (times[index + 1] - times[index])


def _read_beats(folder: Path) -> tuple[_BeatGrid, list[int]]:
    path = folder / "beat_midi.txt"
    rows = _rows(path, 3)
    times = [_number(parts[0], path, line) for line, parts in rows]
    if len(times) < 2:
        raise CorpusFormatError("fewer than two beats", path=str(path))
    for (line, _), before, after in zip(rows[1:], times, times[1:]):
        if after <= before:
            raise CorpusFormatError("beat times do not increase", path=str(path), line=line)
    downbeats = [index for index, (line, parts) in enumerate(rows) if _number(parts[2], path, line) == 1.0]
    if not downbeats:
        raise CorpusFormatError("no downbeat flagged", path=str(path))
    return _BeatGrid(times), _triple_downbeats(folder / "beat_audio.txt", times) or downbeats


def _triple_downbeats(path: Path, times: list[float]) -> list[int] | None:
    """Downbeats (indices into ``times``) from ``beat_audio.txt`` when it hears 3/4, else None.

    ``beat_midi.txt`` flags a downbeat every four or six beats in every song;
    the audio beat tracker gives each beat its position in the bar, and in 40
    songs the highest position is 3. Its downbeats are laid on the nearest
    MIDI beat; a song without the file keeps the MIDI reading.
    """
    if not path.exists():
        return None
    rows = _rows(path, 2)
    beats = [(_number(parts[0], path, line), _number(parts[1], path, line)) for line, parts in rows]
    if not beats or max(position for _, position in beats) != 3:
        return None
    nearest = set()
    for seconds, position in beats:
        if position == 1:
            index = bisect_right(times, seconds)
            nearest.add(min((i for i in (index - 1, index) if 0 <= i < len(times)), key=lambda i: abs(times[i] - seconds)))
    return sorted(nearest) or None


def _measures(beat_count: int, downbeats: list[int]) -> tuple[MeasureSpan, ...]:
    starts = ([0] if downbeats[0] > 0 else []) + downbeats + [beat_count]
    number = 0 if downbeats[0] > 0 else 1
    measures = []
    for start, end in pairwise(starts):
        if end > start:
            beats = end - start
            measures.append(MeasureSpan(number, Fraction(start), Fraction(beats), f"{beats}/4", Fraction(1)))
            number += 1
    if len(measures) > 1 and measures[0].number == 0:  # a pickup takes the meter of the bar after it
        first = measures[0]
        measures[0] = MeasureSpan(0, first.offset, first.length, measures[1].time_signature, Fraction(1))
    return tuple(measures)


def _read_keys(folder: Path) -> list[tuple[float, int, str]]:
    path = folder / "key_audio.txt"
    keys = []
    for line, parts in _rows(path, 3):
        tonic, _, quality = parts[2].partition(":")
        if quality not in ("maj", "min") or not tonic or tonic[0] not in _NOTE_PC:
            raise CorpusFormatError(f"unknown key {parts[2]!r}", path=str(path), line=line)
        keys.append((_number(parts[0], path, line), _pitch_class(tonic), "major" if quality == "maj" else "minor"))
    if not keys:
        raise CorpusFormatError("no key", path=str(path))
    keys.sort(key=lambda key: key[0])
    return keys


def _key_at(keys: list[tuple[float, int, str]], seconds: float) -> tuple[int, str]:
    index = max(bisect_right([key[0] for key in keys], seconds + 1e-6) - 1, 0)
    return keys[index][1], keys[index][2]


def _sixteenths(beats: float) -> int:
    return round(beats * 4)


def _read_chords(folder: Path, grid: _BeatGrid, keys, measures) -> tuple[list[ChordSpan], list[int]]:
    path = folder / "chord_midi.txt"
    chords: list[ChordSpan] = []
    lines: list[int] = []
    starts = [m.offset for m in measures]
    for line, parts in _rows(path, 3):
        start, end = _number(parts[0], path, line), _number(parts[1], path, line)
        try:
            root, pcs = harte_pitch_classes(parts[2])
        except ValueError as err:
            raise CorpusFormatError(str(err), path=str(path), line=line) from None
        begin, stop = _sixteenths(grid.beats(start)), _sixteenths(grid.beats(end))
        if chords:
            begin = max(begin, int(chords[-1].end * 4))
        if stop <= begin or begin < 0:
            continue
        tonic, mode = _key_at(keys, start)
        offset = Fraction(begin, 4)
        measure = measures[max(bisect_right(starts, offset) - 1, 0)].number
        chords.append(ChordSpan(offset, Fraction(stop - begin, 4), root, pcs, tonic, mode, measure, parts[2]))
        lines.append(line)
    return chords, lines


def _tempo_map(mf: m21midi.MidiFile) -> list[tuple[int, float, float]]:
    """(tick, seconds at that tick, seconds per tick) at every tempo change."""
    changes: list[tuple[int, int]] = []
    for track in mf.tracks:
        tick = 0
        for event in track.events:
            if isinstance(event, m21midi.DeltaTime):
                tick += event.time
            elif event.type == m21midi.MetaEvents.SET_TEMPO and event.data:
                changes.append((tick, int.from_bytes(event.data, "big")))
    changes.sort()
    division = mf.ticksPerQuarterNote or 480
    result = [(0, 0.0, 0.5 / division)]
    for tick, micros in changes:
        base_tick, base_seconds, per_tick = result[-1]
        seconds = base_seconds + (tick - base_tick) * per_tick
        if tick == base_tick:
            result.pop()
        result.append((tick, seconds, micros / 1e6 / division))
    return result


def _melody_events(path: Path) -> list[tuple[float, float, int]]:
    """(start seconds, end seconds, MIDI pitch) of the MELODY track, in order."""
    mf = m21midi.MidiFile()
    try:
        mf.open(str(path))
        try:
            mf.read()
        finally:
            mf.close()
    except (m21midi.MidiException, OSError, IndexError, ValueError) as err:
        raise CorpusFormatError(f"unreadable MIDI: {err}".splitlines()[0], path=str(path)) from None
    melody = None
    for track in mf.tracks:
        for event in track.events:
            if event.type == m21midi.MetaEvents.SEQUENCE_TRACK_NAME and event.data.strip() == b"MELODY":
                melody = track
    if melody is None:
        raise CorpusFormatError("no MELODY track", path=str(path))
    tempo = _tempo_map(mf)
    tempo_ticks = [t[0] for t in tempo]

    def seconds(tick: int) -> float:
        base_tick, base_seconds, per_tick = tempo[bisect_right(tempo_ticks, tick) - 1]
        return base_seconds + (tick - base_tick) * per_tick

    on_types = m21midi.ChannelVoiceMessages.NOTE_ON
    off_types = m21midi.ChannelVoiceMessages.NOTE_OFF
    tick = 0
    sounding: dict[int, int] = {}
    notes: list[tuple[int, int, int]] = []
    for event in melody.events:
        if isinstance(event, m21midi.DeltaTime):
            tick += event.time
        elif event.type == on_types and event.velocity:
            if event.pitch in sounding:
                notes.append((sounding[event.pitch], tick, event.pitch))
            sounding[event.pitch] = tick
        elif event.type in (on_types, off_types) and event.pitch in sounding:
            notes.append((sounding.pop(event.pitch), tick, event.pitch))
    notes.sort()
    return [(seconds(start), seconds(end), pitch) for start, end, pitch in notes]


def _quantized_notes(path: Path, grid: _BeatGrid) -> tuple[list[MelodyNote], int]:
    """Melody notes on the 16th grid, and how many onsets lay off it."""
    off = 0
    cells: list[tuple[int, int, int]] = []
    for start, end, pitch in _melody_events(path):
        exact = grid.beats(start) * 4
        begin = round(exact)
        if abs(exact - begin) > GRID_TOLERANCE:
            off += 1
        stop = max(round(grid.beats(end) * 4), begin + 1)
        if cells and cells[-1][0] == begin:  # two onsets in one cell: keep the later, higher line
            cells.pop()
        if cells and cells[-1][1] > begin:
            cells[-1] = (cells[-1][0], begin, cells[-1][2])
        if cells and 0 < begin - cells[-1][1] <= LEGATO_GAP:
            cells[-1] = (cells[-1][0], begin, cells[-1][2])
        cells.append((begin, stop, pitch))
    notes = [MelodyNote(Fraction(b, 4), Fraction(e - b, 4), p) for b, e, p in cells]
    return notes, off


def _coverage(timeline: ChordTimeline, notes: list[MelodyNote]) -> tuple[float, float, MelodyNote | None]:
    """Share of onsets under a chord (not N.C.), the chord-tone share of those, the first uncovered note."""
    covered = tones = 0
    first = None
    for note in notes:
        chord = timeline.chord_at(note.offset)
        if chord is None or chord.root is None:
            first = first or note
            continue
        covered += 1
        tones += note.midi % 12 in chord.pitch_classes
    return covered / max(len(notes), 1), tones / max(covered, 1), first


@dataclass(frozen=True)
class SongCheck:
    """Sanity figures of one song read cleanly."""

    name: str
    notes: int
    bars: int
    coverage: float  # share of melody onsets under a chord
    chord_tones: float  # share of covered onsets whose pitch class is in the chord
    meter: str  # the time signature of most of its measures


def _read(folder: Path) -> tuple[Pop909Song, SongCheck]:
    name = folder.name
    grid, downbeats = _read_beats(folder)
    measures = _measures(len(grid.times), downbeats)
    keys = _read_keys(folder)
    chords, lines = _read_chords(folder, grid, keys, measures)
    chord_path = folder / "chord_midi.txt"
    try:
        timeline = ChordTimeline(tuple(chords), measures)
    except MelgenError as err:
        raise CorpusFormatError(str(err), path=str(chord_path)) from None
    midi_path = folder / f"{name}.mid"
    notes, off = _quantized_notes(midi_path, grid)
    if not notes:
        raise CorpusFormatError("melody has no notes", path=str(midi_path))
    if off > MAX_OFF_GRID * len(notes):
        raise CorpusFormatError(
            f"melody off the 16th grid: {off} of {len(notes)} onsets ({off / len(notes):.0%})", path=str(midi_path)
        )
    coverage, chord_tones, first = _coverage(timeline, notes)
    if coverage < MIN_COVERAGE:
        index = max(bisect_right([c.offset for c in chords], first.offset) - 1, 0) if first else 0
        raise CorpusFormatError(
            f"chords do not cover the melody: {coverage:.1%} of onsets covered, first gap at beat {float(first.offset):g}",
            path=str(chord_path), line=lines[index] if lines else None,
        )
    song = Pop909Song(timeline, tuple(notes), name)
    meter = Counter(m.time_signature for m in measures).most_common(1)[0][0]
    return song, SongCheck(name, len(notes), len(measures), coverage, chord_tones, meter)


def song_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The files of a song folder that the reader opens, those present: what a data hash must cover."""
    folder = Path(folder)
    return [path for path in (folder / name.format(name=folder.name) for name in SONG_FILES) if path.is_file()]


def read_pop909_song(folder: str | os.PathLike[str]) -> Pop909Song:
    """Read one POP909 song folder; raises :class:`CorpusFormatError` with the reason to skip it."""
    return _read(Path(folder))[0]


def _song_folders(root: str | os.PathLike[str]) -> list[Path]:
    base = Path(root)
    if not base.is_dir():
        raise CorpusFormatError("not a folder", path=str(base))
    return sorted(p for p in base.iterdir() if p.is_dir() and (p / f"{p.name}.mid").exists())


def iter_pop909(root: str | os.PathLike[str]) -> Iterator[tuple[str, Pop909Song | str]]:
    """``(name, song)`` for every song folder of ``root``, or ``(name, reason)`` for one skipped."""
    for folder in _song_folders(root):
        try:
            yield folder.name, read_pop909_song(folder)
        except MelgenError as err:
            yield folder.name, str(err)


@dataclass(frozen=True)
class Pop909Summary:
    """What :func:`verify_pop909` found: the songs read cleanly and the reasons for the rest."""

    songs: tuple[SongCheck, ...]
    skipped: tuple[tuple[str, str], ...]  # (name, reason)
    reasons: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """Counts and reasons first, then one line per song."""
        total = len(self.songs) + len(self.skipped)
        out = [f"{len(self.songs)}/{total} songs read cleanly, {len(self.skipped)} skipped"]
        out += [f"skipped {count}: {kind}" for kind, count in self.reasons.most_common()]
        if self.songs:
            mean = sum(s.chord_tones for s in self.songs) / len(self.songs)
            out.append(f"mean chord-tone ratio {mean:.3f}")
            meters = Counter(s.meter for s in self.songs).most_common()
            out.append("meters: " + ", ".join(f"{meter} {count}" for meter, count in meters))
        out += [f"skip {name}: {reason}" for name, reason in self.skipped]
        out += [
            f"{s.name} notes {s.notes} bars {s.bars} meter {s.meter} coverage {s.coverage:.3f} "
            f"chord-tones {s.chord_tones:.3f}"
            for s in self.songs
        ]
        return out


def verify_pop909(root: str | os.PathLike[str], limit: int | None = None) -> Pop909Summary:
    """Read every song (the first ``limit`` ones if given) and gather the sanity figures."""
    songs: list[SongCheck] = []
    skipped: list[tuple[str, str]] = []
    for folder in _song_folders(root)[:limit]:
        try:
            songs.append(_read(folder)[1])
        except MelgenError as err:
            skipped.append((folder.name, str(err)))
    reasons = Counter(reason_kind(reason) for _, reason in skipped)
    return Pop909Summary(tuple(songs), tuple(skipped), reasons)
