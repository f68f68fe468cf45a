"""MelGen's tokens (``"melgen_tokens"``): the ``melgen2019`` model's view of a melody.

The ``melgen2019`` kind reproduces the 2019 MelGen (``../shared/seed/ALGORITHM.md``), so this
representation keeps MelGen's choices, weaknesses included:

* **Grid**: 16 steps per measure whatever the meter (a step is a 16th note in
  4/4, a dotted 16th in 12/8, 3/16 of a quarter in 3/4). A measure shorter or
  longer than its time signature (a pickup) gets ``round(16 × length / bar)``
  steps, at least one, spread evenly over it.
* **Key**: every note is moved so that the key in force at its onset becomes C
  major, or A minor when the chord there is tagged minor (MelGen: key minus 3).
  The pitch is then snapped to the nearest C-major scale tone (a black key goes
  down: MelGen took the first of two equally near tones) and folded by octaves
  into MIDI ``lowest .. highest`` (48–71). Chromatic notes are lost.
* **Chord**: only the diatonic degree 1–7 of the chord's root relative to the
  tonic is kept (semitones 0 1 2 3 4 5 6 7 8 9 10 11 → degrees 1 2 2 3 3 4 4 5
  6 6 7 7: ``bVII`` is 7, ``bIII`` is 3, ``#IV`` is 4). A step with no chord
  (N.C.) takes the degree of the chord before it (the first chord before that).
* **Rhythm** (training data): a note lasts until the next onset, measured in
  measures and snapped to the nearest of :data:`NOTE_LENGTHS` (MelGen's 20
  lengths, 1/8 to 4 measures; a tie goes to the shorter), so there are no
  rests and a long gap is swallowed by the note before it. The token stream
  therefore drifts away from the bar lines, as MelGen's did.
* **Tokens**: ``PITCH_DEGREE`` at an onset (``60_1``), ``_`` while the note is
  held, ``/`` between songs (``separators`` of them, the model's window). The
  vocabulary is ``/``, ``_`` and the note tokens found in the training data
  (``MelgenTokenConfig.tokens``; empty = every pitch × degree, 14 × 7).

Numpy only: no torch, no music21 here.

>>> from fractions import Fraction as F
>>> from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
>>> bar = MeasureSpan(1, F(0), F(4), '4/4', F(1))
>>> g7 = ChordSpan(F(0), F(4), 2, frozenset({2, 6, 9, 0}), 7, 'major', 1, 'V7')  # D7 in G
>>> timeline = ChordTimeline((g7,), (bar,))
>>> rep = MelgenTokenRepresentation()
>>> tokens = rep.tokens(timeline, [MelodyNote(F(0), F(1), 66), MelodyNote(F(1), F(3), 74)])
>>> tokens[:5], len(tokens)
(['71_5', '_', '_', '_', '67_5'], 16)
>>> ids, unknown = rep.token_ids(tokens)
>>> [(str(n.offset), str(n.length), n.midi) for n in rep.decode(ids, timeline)]
[('0', '1', 66), ('1', '3', 62)]
>>> rep.grid(timeline).length
16

Why one module of about 550 lines: it is MelGen's whole view of a melody
(grid, tokens, training streams and the sampler's tables), kept together so
the reproduction can be read against ``ALGORITHM.md`` in one place.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from music21_melgen.encoding import StepTables
from music21_melgen.errors import GenerationError, ModelError, ScoreError
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "SEPARATOR",
    "CONTINUE",
    "SEPARATOR_ID",
    "CONTINUE_ID",
    "STEPS_PER_MEASURE",
    "NOTE_LENGTHS",
    "MelgenTokenConfig",
    "MelgenGrid",
    "MelgenTokenRepresentation",
    "chord_degree",
    "place_octave",
    "transposition",
    "snap_to_c_major",
    "fold_into",
    "snap_length",
    "bar_length",
]

SEPARATOR = "/"  # between songs; fills the window before a melody starts
CONTINUE = "_"  # the sounding note goes on
SEPARATOR_ID = 0  # token id of "/" in every vocabulary
CONTINUE_ID = 1  # token id of "_" in every vocabulary
STEPS_PER_MEASURE = 16  # MelGen's time step: 1/16 of a measure
# MelGen's note lengths in measures (0.0625 was left out on purpose).
NOTE_LENGTHS = tuple(
    Fraction(x)
    for x in (
        "1/8", "1/4", "3/8", "1/2", "5/8", "3/4", "7/8", "1", "9/8", "3/2",
        "13/8", "7/4", "15/8", "2", "9/4", "5/2", "11/4", "3", "7/2", "4",
    )
)
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)  # pitch classes of the C-major (= A natural minor) scale
# Diatonic degree of a chord root, by semitones above the tonic.
_DEGREE_OF_INTERVAL = (1, 2, 2, 3, 3, 4, 4, 5, 6, 6, 7, 7)
_TOKEN = re.compile(r"^(\d{1,3})_([1-7])$")
MAX_SEPARATORS = 1024  # a sane bound on "/" tokens (the window); checkpoints are checked against it


def chord_degree(root: int, tonic: int) -> int:
    """Diatonic degree 1–7 of a chord root (pitch class) in the key of ``tonic``.

    >>> chord_degree(7, 0), chord_degree(10, 0), chord_degree(3, 3), chord_degree(6, 0)
    (5, 7, 1, 4)
    """
    return _DEGREE_OF_INTERVAL[(root - tonic) % 12]


def transposition(tonic: int, mode: str) -> int:
    """Semitones (−6 .. +5) that move a key to C major, or a minor key to A minor.

    >>> transposition(7, 'major'), transposition(4, 'minor'), transposition(9, 'minor')
    (5, 5, 0)
    """
    target = 9 if mode == "minor" else 0
    return (target - tonic + 6) % 12 - 6


def snap_to_c_major(midi: int) -> int:
    """The nearest C-major scale tone; a black key (equally near both) goes down.

    >>> [snap_to_c_major(m) for m in (60, 61, 63, 66, 70, 71)]
    [60, 60, 62, 65, 69, 71]
    """
    return midi - 1 if midi % 12 not in C_MAJOR else midi


def fold_into(midi: int, low: int, high: int) -> int:
    """``midi`` moved by octaves into ``low .. high`` (the range must span an octave).

    >>> fold_into(79, 48, 71), fold_into(40, 48, 71), fold_into(60, 48, 71)
    (67, 52, 60)
    """
    if midi < low:
        midi += 12 * math.ceil((low - midi) / 12)
    elif midi > high:
        midi -= 12 * math.ceil((midi - high) / 12)
    return midi


def snap_length(measures: Fraction) -> int:
    """Steps of the nearest of MelGen's :data:`NOTE_LENGTHS` (a tie goes to the shorter).

    >>> snap_length(Fraction(1, 4)), snap_length(Fraction(5, 4)), snap_length(Fraction(9)), snap_length(Fraction(0))
    (4, 18, 64, 2)
    """
    best = min(NOTE_LENGTHS, key=lambda length: (abs(length - measures), length))
    return int(best * STEPS_PER_MEASURE)


def bar_length(time_signature: str, fallback: Fraction) -> Fraction:
    """Quarter lengths of a full bar of ``time_signature`` (``fallback`` if it is not n/d).

    >>> bar_length('12/8', Fraction(4)), bar_length('3/4', Fraction(4)), bar_length('free', Fraction(5))
    (Fraction(6, 1), Fraction(3, 1), Fraction(5, 1))
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", time_signature or "")
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        return Fraction(fallback)
    return Fraction(4 * int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class MelgenTokenConfig:
    """Settings of :class:`MelgenTokenRepresentation`; every field has MelGen's default."""

    lowest: int = 48  # lowest MIDI pitch of a note token (C3)
    highest: int = 71  # highest MIDI pitch of a note token (B4)
    separators: int = 64  # "/" tokens between songs and before a melody (= the model's window)
    # Note tokens of the vocabulary, "PITCH_DEGREE"; empty = every C-major pitch
    # in lowest..highest with every degree 1-7. Training sets the ones in the data.
    tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("lowest", "highest", "separators"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ModelError(f"MelgenTokenConfig.{name} must be an integer, got {value!r:.80}")
        if not 0 <= self.lowest < self.highest <= 127 or self.highest - self.lowest < 11:
            raise ModelError(
                f"MelgenTokenConfig: lowest..highest must be MIDI numbers spanning at least an octave, "
                f"got {self.lowest}..{self.highest}"
            )
        if not 1 <= self.separators <= MAX_SEPARATORS:
            raise ModelError(f"MelgenTokenConfig.separators must lie in 1..{MAX_SEPARATORS}, got {self.separators}")
        if isinstance(self.tokens, str) or not isinstance(self.tokens, (tuple, list)):
            raise ModelError("MelgenTokenConfig.tokens must be a list of 'PITCH_DEGREE' strings")
        if len(self.tokens) > 128 * 7:
            raise ModelError(f"MelgenTokenConfig.tokens lists {len(self.tokens)} tokens; there are at most {128 * 7}")
        parsed = []
        for token in self.tokens:
            match = _TOKEN.match(token) if isinstance(token, str) else None
            pitch = int(match.group(1)) if match else -1
            if match is None or not self.lowest <= pitch <= self.highest or pitch % 12 not in C_MAJOR:
                raise ModelError(
                    f"MelgenTokenConfig.tokens: {token!r:.40} is not a C-major pitch in "
                    f"{self.lowest}..{self.highest} with a degree 1-7 ('60_1')"
                )
            parsed.append((pitch, int(match.group(2))))
        if len(set(parsed)) != len(parsed):
            raise ModelError("MelgenTokenConfig.tokens: a token is listed twice")
        object.__setattr__(self, "tokens", tuple(f"{p}_{d}" for p, d in sorted(parsed)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MelgenTokenConfig":
        """Rebuild from :func:`dataclasses.asdict` output (a JSON list becomes a tuple)."""
        if not isinstance(data, dict):
            raise ModelError("the MelGen token settings must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ModelError(f"unknown MelGen token settings: {', '.join(sorted(unknown))}")
        try:
            return cls(**{k: tuple(v) if k == "tokens" and isinstance(v, list) else v for k, v in data.items()})
        except TypeError as error:
            raise ModelError(f"bad MelGen token settings: {error}") from None


@dataclass(frozen=True)
class MelgenGrid:
    """A timeline on MelGen's grid: 16 steps a measure; arrays are indexed by step."""

    boundaries: tuple[Fraction, ...]  # quarter-length offset of each step's start, and the end (T + 1)
    degree: np.ndarray  # int [T], chord degree 1-7 in force at the step
    shift: np.ndarray  # int [T], semitones that move the key in force to C major / A minor
    chord_index: np.ndarray  # int [T], index into timeline.chords (-1: no chord span there)
    measure_start: np.ndarray  # int [M + 1], first step of each measure, and T

    @property
    def length(self) -> int:
        """Number of steps (T)."""
        return len(self.boundaries) - 1

    def offset(self, step: int) -> Fraction:
        """Quarter-length offset of a step (``step == T`` gives the end)."""
        return self.boundaries[step]

    def step_of(self, offset: Fraction) -> int:
        """The nearest step boundary to an offset (halves round up), clipped to 0 .. T."""
        index = bisect_right(self.boundaries, offset) - 1
        if index < 0:
            return 0
        if index >= self.length:
            return self.length
        before, after = self.boundaries[index], self.boundaries[index + 1]
        return index + 1 if (offset - before) * 2 >= (after - before) else index


class MelgenTokenRepresentation:
    """MelGen's ``PITCH_DEGREE`` / ``_`` / ``/`` tokens over a 16-steps-a-measure grid.

    Same surface as :class:`~music21_melgen.encoding.Representation` where the
    engine needs it (``name``, ``version``, ``config``, ``vocabulary``,
    ``to_dict``, ``grid``, ``encode``, ``decode``); the conditioning is empty
    because the chord travels inside each note token.
    """

    name: ClassVar[str] = "melgen_tokens"  # stored in checkpoints
    version: ClassVar[int] = 1  # bump when the meaning of the tokens changes
    config_class: ClassVar[type] = MelgenTokenConfig

    def __init__(self, config: MelgenTokenConfig | None = None) -> None:
        if config is not None and not isinstance(config, MelgenTokenConfig):
            raise ModelError(f"{self.name} needs a MelgenTokenConfig, got {type(config).__name__}")
        self.config = config if config is not None else MelgenTokenConfig()
        notes = self.config.tokens or tuple(
            f"{pitch}_{degree}"
            for pitch in range(self.config.lowest, self.config.highest + 1)
            if pitch % 12 in C_MAJOR
            for degree in range(1, 8)
        )
        self.vocabulary: tuple[str, ...] = (SEPARATOR, CONTINUE, *notes)
        self._index = {token: i for i, token in enumerate(self.vocabulary)}
        pitch_degree = [(int(t.split("_")[0]), int(t.split("_")[1])) for t in notes]
        self.token_pitch = np.array([-1, -1, *(p for p, _ in pitch_degree)], dtype=np.int64)  # [V]
        self.token_degree = np.array([0, 0, *(d for _, d in pitch_degree)], dtype=np.int64)  # [V]

    def __repr__(self) -> str:
        return f"<MelgenTokenRepresentation: {self.vocab_size} tokens>"

    # ----- what the engine reads --------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of tokens (V)."""
        return len(self.vocabulary)

    @property
    def conditioning_size(self) -> int:
        """0: the chord is inside the tokens, nothing else conditions the model."""
        return 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: name, version, config and vocabulary."""
        return {
            "name": self.name,
            "version": self.version,
            "config": {**asdict(self.config), "tokens": list(self.config.tokens)},
            "vocabulary": list(self.vocabulary),
        }

    def with_tokens(self, tokens: Sequence[str]) -> "MelgenTokenRepresentation":
        """The same settings with the vocabulary cut down to ``tokens`` (found in the data)."""
        notes = sorted({t for t in tokens if t not in (SEPARATOR, CONTINUE)})
        return MelgenTokenRepresentation(MelgenTokenConfig(**{**asdict(self.config), "tokens": tuple(notes)}))

    # ----- grid ---------------------------------------------------------------
    def grid(self, timeline: ChordTimeline) -> MelgenGrid:
        """Lay the timeline on MelGen's grid (16 steps a measure, any meter)."""
        boundaries: list[Fraction] = []
        measure_start = [0]
        for measure in timeline.measures:
            bar = bar_length(measure.time_signature, measure.length)
            count = max(1, math.floor(STEPS_PER_MEASURE * measure.length / bar + Fraction(1, 2)))
            boundaries.extend(measure.offset + measure.length * k / count for k in range(count))
            measure_start.append(measure_start[-1] + count)
        last = timeline.measures[-1]
        boundaries.append(last.offset + last.length)
        if any(b >= a for a, b in zip(boundaries[1:], boundaries[:-1])):
            raise ScoreError("the measures of the timeline overlap or are out of order")
        total = len(boundaries) - 1
        chords = timeline.chords
        starts = [chord.offset for chord in chords]
        chord_index = np.full(total, -1, dtype=np.int64)
        for step in range(total):
            index = bisect_right(starts, boundaries[step]) - 1
            if index >= 0 and boundaries[step] < chords[index].end:
                chord_index[step] = index
        # The chord giving each step its degree and key: the last real chord
        # (not N.C.) starting at or before the step, else the first real chord.
        real = [i for i, chord in enumerate(chords) if chord.root is not None]
        source = np.empty(total, dtype=np.int64)
        latest, pointer = real[0], 0
        for step in range(total):
            while pointer < len(real) and starts[real[pointer]] <= boundaries[step]:
                latest, pointer = real[pointer], pointer + 1
            source[step] = latest
        degree = np.array(
            [chord_degree(chords[i].root, chords[i].key_tonic) for i in source.tolist()], dtype=np.int64
        )
        shift = np.array(
            [transposition(chords[i].key_tonic, chords[i].mode) for i in source.tolist()], dtype=np.int64
        )
        return MelgenGrid(tuple(boundaries), degree, shift, chord_index, np.array(measure_start, dtype=np.int64))

    # ----- melody → tokens ------------------------------------------------------
    def note_token(self, midi: int, degree: int, shift: int) -> str:
        """The token of a note: moved to C / Am, snapped to the scale, folded into range."""
        pitch = fold_into(snap_to_c_major(midi + shift), self.config.lowest, self.config.highest)
        return f"{pitch}_{degree}"

    def tokens(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> list[str]:
        """MelGen's token stream of a melody (no separators; lengths snapped, no rests)."""
        grid = self.grid(timeline)
        ordered = sorted((n for n in notes if n.length > 0), key=lambda n: n.offset)
        position = self._measure_axis(timeline)
        positions = [position(note.offset) for note in ordered]
        stream: list[str] = []
        for index, note in enumerate(ordered):
            if index + 1 < len(ordered):
                length = positions[index + 1] - positions[index]
            else:
                length = position(note.end) - positions[index]
            step = min(grid.step_of(note.offset), grid.length - 1)
            stream.append(self.note_token(note.midi, int(grid.degree[step]), int(grid.shift[step])))
            stream.extend([CONTINUE] * (snap_length(length) - 1))
        return stream

    def token_ids(self, tokens: Sequence[str]) -> tuple[np.ndarray, int]:
        """Token ids (int64) and how many tokens were not in the vocabulary.

        A note token the vocabulary lacks becomes the one of the same degree
        with the nearest pitch (the lower of two), or of any degree if none
        has it; evaluation on unseen songs needs this, training never does.
        """
        ids = np.empty(len(tokens), dtype=np.int64)
        missing = 0
        for position, token in enumerate(tokens):
            index = self._index.get(token)
            if index is None:
                index = self._nearest(token)
                missing += 1
            ids[position] = index
        return ids, missing

    def encode(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> tuple[np.ndarray, np.ndarray]:
        """``(token ids int64 [N], conditioning float32 [N, 0])`` of a melody's token stream."""
        ids, _ = self.token_ids(self.tokens(timeline, notes))
        return ids, np.zeros((len(ids), 0), dtype=np.float32)

    def grid_tokens(self, grid: MelgenGrid, notes: Sequence[MelodyNote]) -> np.ndarray:
        """Token ids [T] of ``notes`` laid on the grid itself (a primer): onsets at the
        nearest step, ``_`` up to the next onset (no rests), ``/`` before the first note."""
        events = np.full(grid.length, SEPARATOR_ID, dtype=np.int64)
        placed: dict[int, MelodyNote] = {}
        for note in notes:
            step = grid.step_of(note.offset)
            if 0 <= step < grid.length:
                placed[step] = note  # a later note on the same step wins
        starts = sorted(placed)
        for position, step in enumerate(starts):
            end = starts[position + 1] if position + 1 < len(starts) else grid.length
            token = self.note_token(placed[step].midi, int(grid.degree[step]), int(grid.shift[step]))
            events[step] = self.token_ids([token])[0][0]
            events[step + 1 : end] = CONTINUE_ID
        return events

    # ----- what the sampler reads -----------------------------------------------
    def step_tables(self, timeline: ChordTimeline) -> StepTables:
        """MelGen's sampling rules as tables: the chord filter, never ``/``.

        Allowed at a step: ``_`` and the note tokens whose degree is the
        chord's there (MelGen's filter). Chord tones are judged in the song's
        key: the token's pitch moved back, against the chord sounding. The
        octave is placed after sampling (:meth:`finish`), so no pitch-range mask.
        """
        grid = self.grid(timeline)
        total = grid.length
        is_note = self.token_pitch >= 0  # [V]
        allowed = is_note[None, :] & (self.token_degree[None, :] == grid.degree[:, None])  # [T, V]
        allowed[:, CONTINUE_ID] = True
        chord_pcs = np.zeros((len(timeline.chords) + 1, 12), dtype=bool)  # last row: no chord
        for index, chord in enumerate(timeline.chords):
            chord_pcs[index, list(chord.pitch_classes)] = True
        pitch_classes = (self.token_pitch[None, :] - grid.shift[:, None]) % 12  # [T, V]
        tone = chord_pcs[grid.chord_index][np.arange(total)[:, None], pitch_classes] & is_note[None, :]
        measure_of_step = np.searchsorted(grid.measure_start, np.arange(total), side="right") - 1
        return StepTables(
            grid=grid,
            conditioning=np.zeros((total, 0), dtype=np.float32),
            is_note=is_note,
            allowed=allowed,
            chord_tone=tone,
            range_midi=None,
            boundaries=np.array([float(b) for b in grid.boundaries]),
            measure_of_step=np.clip(measure_of_step, 0, len(timeline.measures) - 1),
            hold=CONTINUE_ID,
            rest=None,
            start_event=SEPARATOR_ID,
            min_range=11,  # the octave is placed by octaves: a range under an octave cannot hold a line
        )

    def melody_events(self, tables: StepTables, notes: Sequence[MelodyNote]) -> np.ndarray:
        """Token ids (int64 [T]) of ``notes`` on the tables' grid (a primer, teacher-forced)."""
        return self.grid_tokens(tables.grid, notes)

    def finish(
        self, notes: tuple[MelodyNote, ...], tables: StepTables, start: int, primer: Sequence[MelodyNote],
        pitch_range: tuple[int, int],
    ) -> tuple[MelodyNote, ...]:
        """Generated notes moved by octaves into ``pitch_range``; the primer's notes as given."""
        grid = tables.grid
        primer_pitches = {grid.step_of(note.offset): note.midi for note in primer}
        onsets = [grid.step_of(note.offset) for note in notes]
        generated = [note for note, step in zip(notes, onsets) if step >= start]
        placed = iter(place_octave([note.midi for note in generated], *pitch_range))
        return tuple(
            MelodyNote(note.offset, note.length, primer_pitches.get(step, note.midi) if step < start else next(placed))
            for note, step in zip(notes, onsets)
        )

    # ----- tokens → melody ------------------------------------------------------
    def decode(self, events: Sequence[int] | np.ndarray, timeline: ChordTimeline) -> tuple[MelodyNote, ...]:
        """Melody notes of one token per grid step, moved back to the song's key.

        Pitches come out as the tokens say, moved back by the transposition in
        force (so within ``lowest - 6 .. highest + 6``); placing them in a
        singer's range is the model's job. ``/`` ends a note (a rest).
        """
        return self.decode_on_grid(events, self.grid(timeline))

    def decode_on_grid(self, events: Sequence[int] | np.ndarray, grid: MelgenGrid) -> tuple[MelodyNote, ...]:
        """As :meth:`decode`, on a grid already built."""
        events = np.asarray(events)
        if events.ndim != 1 or len(events) != grid.length:
            raise GenerationError(f"{len(events)} tokens do not fit a timeline of {grid.length} steps")
        if len(events) and (events.min() < 0 or events.max() >= self.vocab_size):
            raise GenerationError(f"tokens must lie in 0..{self.vocab_size - 1}")
        notes: list[MelodyNote] = []
        start, midi = -1, 0
        for step, event in enumerate([*events.tolist(), SEPARATOR_ID]):
            if event == CONTINUE_ID and start >= 0:
                continue
            if start >= 0:
                notes.append(MelodyNote(grid.offset(start), grid.offset(step) - grid.offset(start), midi))
                start = -1
            if step < len(events) and event not in (SEPARATOR_ID, CONTINUE_ID):
                start, midi = step, int(self.token_pitch[event] - grid.shift[step])
        return tuple(notes)

    # ----- helpers --------------------------------------------------------------
    @staticmethod
    def _measure_axis(timeline: ChordTimeline) -> Callable[[Fraction], Fraction]:
        """A function giving where an offset lies in measures (a measure counts as its share of a full bar)."""
        offsets = [measure.offset for measure in timeline.measures]
        bars = [bar_length(m.time_signature, m.length) for m in timeline.measures]
        starts = [Fraction(0)]
        for measure, bar in zip(timeline.measures, bars):
            starts.append(starts[-1] + measure.length / bar)

        def position(offset: Fraction) -> Fraction:
            index = min(max(bisect_right(offsets, offset) - 1, 0), len(offsets) - 1)
            return starts[index] + (Fraction(offset) - offsets[index]) / bars[index]

        return position

    def _nearest(self, token: str) -> int:
        match = _TOKEN.match(token) if isinstance(token, str) else None
        if match is None:
            raise ModelError(f"not a MelGen token: {token!r}")
        pitch, degree = int(match.group(1)), int(match.group(2))
        notes = np.flatnonzero(self.token_pitch >= 0)
        same = notes[self.token_degree[notes] == degree]
        pool = same if len(same) else notes
        distance = np.abs(self.token_pitch[pool] - pitch) * 2 + (self.token_pitch[pool] > pitch)
        return int(pool[np.argmin(distance)])



def place_octave(midis: list[int], low: int, high: int) -> list[int]:
    """Move a line by the octave that puts most notes in ``low .. high``, then fold the rest in.

    >>> place_octave([48, 52, 55, 72], 55, 79)
    [60, 64, 67, 72]
    """
    if not midis:
        return []
    values = np.array(midis)
    centre = (low + high) / 2
    best = max(
        range(-6, 7),
        key=lambda k: (
            int(((values + 12 * k >= low) & (values + 12 * k <= high)).sum()),
            -abs(float(values.mean()) + 12 * k - centre),
        ),
    )
    placed = []
    for midi in (values + 12 * best).tolist():
        while midi < low:
            midi += 12
        while midi > high:
            midi -= 12
        placed.append(int(midi))
    return placed
