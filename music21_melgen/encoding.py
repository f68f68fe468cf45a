"""Grid representations: a melody over a chord timeline as one event per time step.

A representation turns a :class:`~music21_melgen.timeline.ChordTimeline` and
its melody into the two arrays a model reads, and the model's events back into
:class:`~music21_melgen.timeline.MelodyNote` values:

* ``events`` (int64, shape ``[T]``): one melody event per grid step;
* ``conditioning`` (float32, shape ``[T, C]``): what the harmony and the meter
  say about each step, known before any note is chosen.

Each representation is one subclass of :class:`Representation` (MidiTok's
habit) overriding a few hooks; a model kind names its representation class
(:mod:`~music21_melgen.kinds`), checkpoints name it and carry its config, which round-trips through
JSON with a version stamp (:meth:`Representation.to_dict`,
:func:`representation_from_dict`). Numpy only: no torch here.

The default, :class:`ChordGridRepresentation` (``"chord_grid"``):

* a grid of ``steps_per_quarter`` steps per quarter note (4 = sixteenths) in
  any meter; a measure whose length is not a whole number of steps is "a meter
  the grid cannot hold" (:class:`~music21_melgen.errors.ScoreError`);
* events ``REST``, ``HOLD`` (the sounding note goes on) and ``NOTE:k``, with
  ``k`` the MIDI pitch minus the *reference tonic*: the key's tonic placed in
  MIDI ``tonic_low .. tonic_low + 11``. ``k`` covers ``lowest_interval ..
  highest_interval`` (default −17 .. +21, chosen from the data: 99.5 % of
  the Rock Corpus notes fall inside); notes outside are folded by octaves
  into that range. Chromatic notes stay as they are;
* onsets and ends are rounded to the nearest step (halves round up); when two
  notes start on one step the later one in the input wins, and a note ends at
  the latest where the next one starts.

>>> from fractions import Fraction as F
>>> from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
>>> bar = MeasureSpan(1, F(0), F(2), '2/4', F(1))
>>> timeline = ChordTimeline((ChordSpan(F(0), F(2), 7, frozenset({7, 11, 2}), 7, 'major', 1, 'I'),), (bar,))
>>> rep = ChordGridRepresentation()
>>> events, cond = rep.encode(timeline, [MelodyNote(F(0), F(3, 4), 67), MelodyNote(F(1), F(1, 4), 71)])
>>> [rep.vocabulary[e] for e in events]
['NOTE:+12', 'HOLD', 'HOLD', 'REST', 'NOTE:+16', 'REST', 'REST', 'REST']
>>> cond.shape == (8, rep.conditioning_size)
True
>>> rep.decode(events, timeline)[0]
MelodyNote(offset=Fraction(0, 1), length=Fraction(3, 4), midi=67)

Why one module of about 550 lines: the grid, the base class and its one
subclass change together (a new event or conditioning column touches all
three), and checkpoints name them as one representation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any, ClassVar, Sequence

import numpy as np

from music21_melgen.errors import GenerationError, ModelError, ScoreError
from music21_melgen.form import echo_inputs, find_form, step_lags
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "REST",
    "HOLD",
    "GridConfig",
    "Grid",
    "EncodedTimeline",
    "StepTables",
    "Representation",
    "ChordGridRepresentation",
    "representation_from_dict",
]

REST = 0  # event id of "no note sounds"
HOLD = 1  # event id of "the sounding note goes on"


@dataclass(frozen=True)
class GridConfig:
    """Settings of :class:`ChordGridRepresentation`; every field has a default."""

    steps_per_quarter: int = 4  # grid steps per quarter note (4: a step is a sixteenth)
    tonic_low: int = 54  # the reference tonic lies in MIDI tonic_low .. tonic_low + 11
    lowest_interval: int = -17  # lowest NOTE event, semitones from the reference tonic
    highest_interval: int = 21  # highest NOTE event, semitones from the reference tonic
    # Upper bounds (in steps) of the buckets for "steps until the next chord";
    # anything further falls in one more bucket after the last.
    next_chord_buckets: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
    max_beats: int = 8  # beat-in-measure one-hot size; later beats share the last slot
    max_sub_beats: int = 8  # step-in-beat one-hot size; later steps share the last slot
    hypermeasure: int = 4  # measure index modulo this, one-hot (place in a 4-bar phrase)

    # Sane bounds of every integer field (a checkpoint's config is checked against them
    # before anything is allocated: the grid's size grows with steps_per_quarter).
    BOUNDS: ClassVar[dict[str, tuple[int, int]]] = {
        "steps_per_quarter": (1, 48),
        "tonic_low": (0, 116),
        "lowest_interval": (-127, 127),
        "highest_interval": (-127, 127),
        "max_beats": (1, 64),
        "max_sub_beats": (1, 64),
        "hypermeasure": (1, 64),
    }
    MAX_BUCKETS: ClassVar[int] = 64  # entries of next_chord_buckets
    MAX_BUCKET_STEPS: ClassVar[int] = 100_000  # largest bucket bound, in steps

    def __post_init__(self) -> None:
        for name, (low, high) in self.BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                kind = "a positive integer" if low == 1 else "an integer"
                raise ModelError(f"GridConfig.{name} must be {kind} in {low}..{high}, got {value!r:.80}")
        if not self.lowest_interval + 11 < self.highest_interval:
            raise ModelError("GridConfig: the NOTE range must span more than an octave")
        if self.tonic_low + self.lowest_interval < 0 or self.tonic_low + 11 + self.highest_interval > 127:
            raise ModelError(
                f"GridConfig: tonic_low {self.tonic_low} with intervals {self.lowest_interval}.."
                f"{self.highest_interval} reaches outside MIDI 0..127"
            )
        buckets = self.next_chord_buckets
        if (
            not isinstance(buckets, (tuple, list))
            or not 1 <= len(buckets) <= self.MAX_BUCKETS
            or not all(isinstance(b, int) and not isinstance(b, bool) for b in buckets)
            or list(buckets) != sorted(set(buckets))
            or not 1 <= buckets[0] <= buckets[-1] <= self.MAX_BUCKET_STEPS
        ):
            raise ModelError(
                f"GridConfig.next_chord_buckets must be 1..{self.MAX_BUCKETS} increasing integers "
                f"in 1..{self.MAX_BUCKET_STEPS}"
            )
        object.__setattr__(self, "next_chord_buckets", tuple(buckets))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GridConfig":
        """Rebuild from :func:`dataclasses.asdict` output (JSON lists become tuples)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ModelError(f"unknown grid settings: {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except TypeError as error:
            raise ModelError(f"bad grid settings: {error}") from None


@dataclass(frozen=True)
class Grid:
    """A timeline laid on the step grid; arrays are indexed by step ``0 .. T-1``."""

    origin: Fraction  # quarter length of step 0 (the first measure's start)
    steps_per_quarter: int
    measure_index: np.ndarray  # int [T], index into timeline.measures (-1: in no measure)
    step_in_measure: np.ndarray  # int [T]
    beat: np.ndarray  # int [T], beat of the measure, from 0
    sub_beat: np.ndarray  # int [T], step within the beat, from 0
    chord_index: np.ndarray  # int [T], index into timeline.chords (-1: no chord)
    tonic: np.ndarray  # int [T], pitch class of the key's tonic in force

    @property
    def length(self) -> int:
        return len(self.measure_index)

    def offset(self, step: int) -> Fraction:
        """Quarter-length offset of a step (``step == T`` gives the end)."""
        return self.origin + Fraction(step, self.steps_per_quarter)

    def step_of(self, offset: Fraction) -> int:
        """The nearest step to an offset (halves round up)."""
        return math.floor((Fraction(offset) - self.origin) * self.steps_per_quarter + Fraction(1, 2))


@dataclass(frozen=True)
class EncodedTimeline:
    """Everything known about a timeline before a note is chosen."""

    grid: Grid
    conditioning: np.ndarray  # float32 [T, C]
    event_midi: np.ndarray  # int [T, V]: MIDI pitch each NOTE event would sound, -1 otherwise
    chord_tone: np.ndarray  # bool [T, V]: the NOTE event is a tone of the chord sounding


@dataclass(frozen=True)
class StepTables:
    """What a representation tells the sampler about every step of one timeline.

    The sampler applies the user's controls to these tables and nothing else,
    so every representation is sampled by the same loop
    (:mod:`~music21_melgen.sampling`).
    """

    grid: Any  # the representation's own grid (decoding needs it)
    conditioning: np.ndarray  # float32 [T, C], the network's per-step input known in advance (C may be 0)
    is_note: np.ndarray  # bool [V], the events that start a note
    allowed: np.ndarray  # bool [T, V], events the representation allows at each step
    chord_tone: np.ndarray  # bool [T, V], note events that are tones of the chord sounding
    # int [T, V], MIDI pitch of each note event at each step for the pitch-range mask, -1 for
    # other events; None: the representation places the octave itself (``Representation.finish``)
    range_midi: np.ndarray | None
    boundaries: np.ndarray  # float [T + 1], quarter-length offset of each step's start, and the end
    measure_of_step: np.ndarray  # int [T], index into timeline.measures
    hold: int  # event id: the sounding note goes on
    rest: int | None  # event id of silence; None if the representation has none
    start_event: int  # the "previous event" fed before step 0
    min_range: int = 0  # semitones the pitch range must span at least

    @property
    def length(self) -> int:
        """Number of steps (T)."""
        return len(self.measure_of_step)


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


class Representation:
    """A way to put melody and harmony on a grid; subclasses override the hooks.

    Hooks: :meth:`_vocabulary`, :meth:`_conditioning`, :meth:`_event_midi`,
    :meth:`_note_event`, :meth:`_note_of_event`. The grid itself (steps,
    measures, beats, chords per step) is shared.
    """

    name: ClassVar[str] = ""  # stored in checkpoints
    version: ClassVar[int] = 1  # bump when the meaning of events or conditioning changes
    config_class: ClassVar[type] = GridConfig  # the settings class; its from_dict rebuilds a saved config

    def __init__(self, config: GridConfig | None = None) -> None:
        self.config = config if config is not None else GridConfig()
        self.vocabulary: tuple[str, ...] = tuple(self._vocabulary())

    # ----- public API -------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of distinct events (V)."""
        return len(self.vocabulary)

    @property
    def conditioning_size(self) -> int:
        """Width of a conditioning row (C)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: name, version, config and vocabulary."""
        return {
            "name": self.name,
            "version": self.version,
            "config": asdict(self.config),
            "vocabulary": list(self.vocabulary),
        }

    def grid(self, timeline: ChordTimeline) -> Grid:
        """Lay the timeline on the step grid (ScoreError for a meter it cannot hold)."""
        spq = self.config.steps_per_quarter
        origin = timeline.measures[0].offset
        spans = []
        for measure in timeline.measures:
            start = (measure.offset - origin) * spq
            count = measure.length * spq
            beat_steps = measure.beat_length * spq
            if start.denominator != 1 or count.denominator != 1:
                raise ScoreError(
                    f"measure {measure.number}: a meter the grid cannot hold "
                    f"({measure.time_signature}, {measure.length} quarters is not a whole "
                    f"number of 1/{spq}-quarter steps)"
                )
            if measure.beat_length <= 0:
                raise ScoreError(f"measure {measure.number}: beat length must be positive")
            spans.append((int(start), int(count), beat_steps))
        total = max(start + count for start, count, _ in spans)
        measure_index = np.full(total, -1, dtype=np.int64)
        step_in_measure = np.zeros(total, dtype=np.int64)
        beat = np.zeros(total, dtype=np.int64)
        sub_beat = np.zeros(total, dtype=np.int64)
        for index, (start, count, beat_steps) in enumerate(spans):
            local = np.arange(count)
            measure_index[start : start + count] = index
            step_in_measure[start : start + count] = local
            if beat_steps.denominator == 1:
                beats = local // int(beat_steps)
                beat_starts = beats * int(beat_steps)
            else:
                beats = np.array([math.floor(int(s) / beat_steps) for s in local], dtype=np.int64)
                beat_starts = np.array([math.ceil(int(b) * beat_steps) for b in beats], dtype=np.int64)
            beat[start : start + count] = beats
            sub_beat[start : start + count] = np.maximum(local - beat_starts, 0)
        chord_index = np.full(total, -1, dtype=np.int64)
        tonic = np.full(total, -1, dtype=np.int64)
        for index, chord in enumerate(timeline.chords):
            if not all(int(pc) == pc and 0 <= pc < 12 for pc in chord.pitch_classes):
                raise ScoreError(
                    f"measure {chord.measure}: chord {chord.label!r} has pitch classes outside 0..11"
                )
            first = max(_round_half_up((chord.offset - origin) * spq), 0)
            last = min(_round_half_up((chord.end - origin) * spq), total)
            chord_index[first:last] = index
            tonic[first:last] = chord.key_tonic
        # Steps before the first chord take the first key, steps after a gap the last one.
        known = np.flatnonzero(tonic >= 0)
        if len(known) == 0:
            first_key = next(c.key_tonic for c in timeline.chords if c.root is not None)
            tonic[:] = first_key
        else:
            fill = np.maximum.accumulate(np.where(tonic >= 0, np.arange(total), -1))
            fill[fill < 0] = known[0]
            tonic = tonic[fill]
        return Grid(origin, spq, measure_index, step_in_measure, beat, sub_beat, chord_index, tonic)

    def encode_timeline(self, timeline: ChordTimeline) -> EncodedTimeline:
        """Conditioning and per-step event tables of a timeline (no melody needed)."""
        grid = self.grid(timeline)
        event_midi = self._event_midi(grid)
        chord_tone = np.zeros(event_midi.shape, dtype=bool)
        pcs = np.zeros((len(timeline.chords) + 1, 12), dtype=bool)  # last row: no chord
        for index, chord in enumerate(timeline.chords):
            pcs[index, list(chord.pitch_classes)] = True
        rows = pcs[grid.chord_index]  # chord_index -1 selects the empty last row
        is_note = event_midi >= 0
        chord_tone[is_note] = rows[np.nonzero(is_note)[0], event_midi[is_note] % 12]
        conditioning = self._conditioning(grid, timeline).astype(np.float32)
        return EncodedTimeline(grid, conditioning, event_midi, chord_tone)

    def step_tables(self, timeline: ChordTimeline) -> StepTables:
        """The per-step tables the sampler reads (see :class:`StepTables`)."""
        encoded = self.encode_timeline(timeline)
        grid = encoded.grid
        total = grid.length
        is_note = np.arange(self.vocab_size) >= 2  # every event after REST and HOLD
        boundaries = np.array([float(grid.offset(step)) for step in range(total + 1)])
        return StepTables(
            grid=grid,
            conditioning=encoded.conditioning,
            is_note=is_note,
            allowed=np.ones((total, self.vocab_size), dtype=bool),
            chord_tone=encoded.chord_tone,
            range_midi=encoded.event_midi,
            boundaries=boundaries,
            measure_of_step=np.maximum(grid.measure_index, 0),
            hold=HOLD,
            rest=REST,
            start_event=REST,
        )

    def melody_events(self, tables: StepTables, notes: Sequence[MelodyNote]) -> np.ndarray:
        """Events (int64 [T]) of ``notes`` on the tables' grid (a primer, teacher-forced)."""
        return self._events_on_grid(tables.grid, notes)

    def finish(
        self, notes: tuple[MelodyNote, ...], tables: StepTables, start: int, primer: Sequence[MelodyNote],
        pitch_range: tuple[int, int],
    ) -> tuple[MelodyNote, ...]:
        """The sampled notes as the user gets them (this representation: as decoded)."""
        return notes

    def encode_melody(self, encoded: EncodedTimeline, notes: Sequence[MelodyNote]) -> np.ndarray:
        """Melody events (int64 [T]) of ``notes`` on an encoded timeline's grid."""
        return self._events_on_grid(encoded.grid, notes)

    def _events_on_grid(self, grid: Grid, notes: Sequence[MelodyNote]) -> np.ndarray:
        total = grid.length
        placed: dict[int, tuple[int, MelodyNote]] = {}
        for note in notes:
            start = grid.step_of(note.offset)
            if 0 <= start < total:
                end = max(grid.step_of(note.end), start + 1)
                placed[start] = (end, note)  # a later note on the same step wins
        events = np.full(total, REST, dtype=np.int64)
        starts = sorted(placed)
        for position, start in enumerate(starts):
            end, note = placed[start]
            if position + 1 < len(starts):
                end = min(end, starts[position + 1])
            end = min(end, total)
            events[start] = self._note_event(note.midi, grid, start)
            events[start + 1 : end] = HOLD
        return events

    def encode(self, timeline: ChordTimeline, notes: Sequence[MelodyNote]) -> tuple[np.ndarray, np.ndarray]:
        """``(events int64 [T], conditioning float32 [T, C])`` of a melody over a timeline."""
        encoded = self.encode_timeline(timeline)
        return self.encode_melody(encoded, notes), encoded.conditioning

    def encode_with_echoes(
        self, timeline: ChordTimeline, notes: Sequence[MelodyNote]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(events, conditioning, echo inputs)`` of a known melody, the grid built once.

        The echo inputs (int64 [T], ``vocab_size`` = no echo) follow the form the
        harmony implies (:func:`music21_melgen.form.find_form`), read from the
        melody itself: what training and scoring feed a model that reads echoes.
        """
        encoded = self.encode_timeline(timeline)
        events = self.encode_melody(encoded, notes)
        measure_of_step = np.maximum(encoded.grid.measure_index, 0)
        lags = step_lags(find_form(timeline), measure_of_step)
        return events, encoded.conditioning, echo_inputs(events, lags, measure_of_step, self.vocab_size)

    def decode(self, events: Sequence[int] | np.ndarray, timeline: ChordTimeline) -> tuple[MelodyNote, ...]:
        """Melody notes of an event sequence; a HOLD with no sounding note is a rest."""
        return self.decode_on_grid(events, self.grid(timeline))

    def decode_on_grid(self, events: Sequence[int] | np.ndarray, grid: Grid) -> tuple[MelodyNote, ...]:
        """As :meth:`decode`, on a grid already built."""
        events = np.asarray(events)
        if events.ndim != 1 or len(events) != grid.length:
            raise GenerationError(
                f"{len(events)} events do not fit a timeline of {grid.length} steps"
            )
        if len(events) and (events.min() < 0 or events.max() >= self.vocab_size):
            raise GenerationError(f"events must lie in 0..{self.vocab_size - 1}")
        notes: list[MelodyNote] = []
        start, midi = -1, 0
        for step, event in enumerate([*events.tolist(), REST]):
            if event == HOLD and start >= 0:
                continue
            if start >= 0:
                notes.append(MelodyNote(grid.offset(start), grid.offset(step) - grid.offset(start), midi))
                start = -1
            if step < len(events) and event not in (REST, HOLD):
                start, midi = step, self._note_of_event(int(event), grid, step)
        return tuple(notes)

    # ----- hooks ------------------------------------------------------------
    def _vocabulary(self) -> list[str]:
        raise NotImplementedError

    def _conditioning(self, grid: Grid, timeline: ChordTimeline) -> np.ndarray:
        raise NotImplementedError

    def _event_midi(self, grid: Grid) -> np.ndarray:
        raise NotImplementedError

    def _note_event(self, midi: int, grid: Grid, step: int) -> int:
        raise NotImplementedError

    def _note_of_event(self, event: int, grid: Grid, step: int) -> int:
        raise NotImplementedError


class ChordGridRepresentation(Representation):
    """The default: tonic-relative chromatic notes, chords and meter as conditioning.

    Conditioning columns, in order (sizes with the default config):

    ========================  ====  =============================================
    block                     size  meaning
    ========================  ====  =============================================
    root                      13    chord root rel. tonic one-hot; slot 12 = N.C.
    pitch classes             12    the chord's pitch classes rel. tonic (quality)
    next root                 13    the next chord's root (slot 12: N.C. or end)
    next pitch classes        12    the next chord's pitch classes rel. tonic
    steps to next chord       11    bucketed one-hot (``next_chord_buckets``)
    beat                      8     beat of the measure one-hot
    sub-beat                  8     step within the beat one-hot
    downbeat                  1     1 on the first step of a measure
    minor                     1     1 in a minor key
    hypermeasure              4     measure index mod 4 one-hot
    ========================  ====  =============================================
    """

    name = "chord_grid"
    version = 1

    @property
    def conditioning_size(self) -> int:
        config = self.config
        return (
            13 + 12 + 13 + 12
            + len(config.next_chord_buckets) + 1
            + config.max_beats + config.max_sub_beats + 1 + 1 + config.hypermeasure
        )

    def _vocabulary(self) -> list[str]:
        notes = range(self.config.lowest_interval, self.config.highest_interval + 1)
        return ["REST", "HOLD", *(f"NOTE:{k:+d}" for k in notes)]

    def _reference_tonic(self, grid: Grid) -> np.ndarray:
        low = self.config.tonic_low
        return low + (grid.tonic - low) % 12

    def _event_midi(self, grid: Grid) -> np.ndarray:
        intervals = np.arange(self.config.lowest_interval, self.config.highest_interval + 1)
        midi = np.full((grid.length, self.vocab_size), -1, dtype=np.int64)
        midi[:, 2:] = self._reference_tonic(grid)[:, None] + intervals[None, :]
        return midi

    def _note_event(self, midi: int, grid: Grid, step: int) -> int:
        low, high = self.config.lowest_interval, self.config.highest_interval
        reference = self.config.tonic_low + (int(grid.tonic[step]) - self.config.tonic_low) % 12
        interval = midi - reference
        if interval > high:
            interval -= 12 * math.ceil((interval - high) / 12)
        elif interval < low:
            interval += 12 * math.ceil((low - interval) / 12)
        return 2 + interval - low

    def _note_of_event(self, event: int, grid: Grid, step: int) -> int:
        reference = self.config.tonic_low + (int(grid.tonic[step]) - self.config.tonic_low) % 12
        return reference + event - 2 + self.config.lowest_interval

    def _conditioning(self, grid: Grid, timeline: ChordTimeline) -> np.ndarray:
        config = self.config
        total = grid.length
        chords = timeline.chords
        # Per chord (last row = no chord): root one-hot (13) and pitch classes (12), absolute.
        root_abs = np.array([c.root if c.root is not None else -1 for c in chords] + [-1])
        pcs_abs = np.zeros((len(chords) + 1, 12), dtype=np.float32)
        for index, chord in enumerate(chords):
            pcs_abs[index, list(chord.pitch_classes)] = 1.0
        index = grid.chord_index
        # The next chord: where the run of the current chord index ends.
        change = np.flatnonzero(np.diff(index) != 0) + 1  # steps where a new chord index begins
        run_end = np.full(total, total, dtype=np.int64)
        if len(change):
            positions = np.searchsorted(change, np.arange(total), side="right")
            inside = positions < len(change)
            run_end[inside] = change[positions[inside]]
        next_index = np.where(run_end < total, index[np.minimum(run_end, total - 1)], -1)
        until = run_end - np.arange(total)
        steps = np.arange(total)
        tonic = grid.tonic

        def root_block(chord_rows: np.ndarray) -> np.ndarray:
            block = np.zeros((total, 13), dtype=np.float32)
            roots = root_abs[chord_rows]
            slot = np.where(roots >= 0, (roots - tonic) % 12, 12)
            block[steps, slot] = 1.0
            return block

        def pcs_block(chord_rows: np.ndarray) -> np.ndarray:
            absolute = pcs_abs[chord_rows]  # [T, 12]
            rotate = (np.arange(12)[None, :] + tonic[:, None]) % 12  # rel. pc j = abs (j + tonic)
            return np.take_along_axis(absolute, rotate, axis=1)

        def one_hot(values: np.ndarray, size: int) -> np.ndarray:
            block = np.zeros((total, size), dtype=np.float32)
            block[steps, np.clip(values, 0, size - 1)] = 1.0
            return block

        buckets = np.searchsorted(np.array(config.next_chord_buckets), until, side="left")
        in_measure = grid.measure_index >= 0
        minor = np.array([c.mode == "minor" for c in chords] + [False])
        # Steps with no chord take the mode of the chord nearest before (or the first one).
        mode_rows = index.copy()
        known = np.maximum.accumulate(np.where(mode_rows >= 0, steps, -1))
        first_known = np.flatnonzero(mode_rows >= 0)
        known[known < 0] = first_known[0] if len(first_known) else 0
        mode_rows = mode_rows[known] if len(first_known) else mode_rows
        blocks = [
            root_block(index),
            pcs_block(index),
            root_block(next_index),
            pcs_block(next_index),
            one_hot(buckets, len(config.next_chord_buckets) + 1),
            one_hot(grid.beat, config.max_beats) * in_measure[:, None],
            one_hot(grid.sub_beat, config.max_sub_beats) * in_measure[:, None],
            ((grid.step_in_measure == 0) & in_measure).astype(np.float32)[:, None],
            minor[mode_rows].astype(np.float32)[:, None],
            one_hot(grid.measure_index % config.hypermeasure, config.hypermeasure) * in_measure[:, None],
        ]
        return np.concatenate(blocks, axis=1)


def representation_from_dict(data: dict[str, Any], cls: type | None = None) -> Any:
    """Rebuild a representation of class ``cls`` from its ``to_dict`` output.

    ``cls`` comes from the checkpoint's model kind (:mod:`~music21_melgen.kinds`);
    None: :class:`ChordGridRepresentation`. Checks the stored name against the
    class, the version stamp and that the vocabulary rebuilt from the config is
    the one stored; raises ModelError saying which of them is wrong.
    """
    cls = ChordGridRepresentation if cls is None else cls
    if not isinstance(data, dict):
        raise ModelError("representation must be a JSON object")
    name = data.get("name")
    if name != cls.name:
        raise ModelError(f"representation {name!r} does not belong to this model kind (it reads {cls.name!r})")
    if data.get("version") != cls.version:
        raise ModelError(
            f"representation {name!r} version {data.get('version')!r} does not match "
            f"this package's version {cls.version}"
        )
    config = data.get("config")
    if not isinstance(config, dict):
        raise ModelError(f"representation {name!r} has no config object")
    representation = cls(cls.config_class.from_dict(config))
    if data.get("vocabulary") != list(representation.vocabulary):
        raise ModelError(f"representation {name!r}: stored vocabulary does not match its config")
    return representation
