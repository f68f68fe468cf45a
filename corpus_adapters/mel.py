"""The ``.mel`` melodic transcriptions of the Rolling Stone Rock Corpus.

A ``.mel`` file (corpus README, "Format of .mel") writes a melody measure by
measure: pitch strings of scale degrees and empty slots, ``|`` barlines,
``R`` / ``R*N`` rest measures, and bracket tokens for the key ``[Eb]`` (which
also resets the mode to major), the mode ``[..b..bb]``, the meter ``[4/4]`` /
``[0]`` and the octave of the first note ``[OCT=4]``. :func:`parse_mel`
follows the authors' melody script, so its notes reproduce their note lists:

* in a pitch string ``.`` is one empty slot, ``_`` four, ``-`` three, ``=``
  six, and a digit ``1``-``7`` one note; all slots of a measure, across its
  space-separated groups, are equal, so slot ``k`` of ``S`` starts at
  ``measure + k/S``;
* the chromatic degree is the major-scale value of the digit, minus one for
  ``b``, plus one for ``#``, as is for ``n``; an unmarked digit is lowered
  when the mode flags its degree;
* the first note lies in octave ``OCT``; every later note takes the pitch
  class nearest the previous note (up 0-6 semitones or down 1-5: a tritone
  goes up), then moves an octave per ``^`` / ``v``.

Onsets are in measures (every measure is 1.0 whatever its meter), as exact
``Fraction`` values; a measure's meter is the one in force at its barline.
The corpus records onsets only: note lengths are decided in
:mod:`music21_melgen.corpus_adapters.song`.

>>> melody = parse_mel('[C] [OCT=4] 1.3. 5... | R*2 | [..b..bb] .3 ^7 |')
>>> [(str(n.onset), n.midi, n.degree) for n in melody.notes]
[('0', 60, 0), ('1/4', 64, 4), ('1/2', 67, 7), ('10/3', 63, 3), ('11/3', 70, 10)]
>>> melody.measure_count, melody.modes[-1].mode
(4, 'minor')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction

from music21_melgen.corpus_adapters.har import MAX_MEASURES, parse_key
from music21_melgen.corpus_adapters.textfile import read_ascii
from music21_melgen.errors import CorpusFormatError

__all__ = [
    "MAJOR_MODE",
    "MelNote",
    "MelodyTranscription",
    "ModeChange",
    "format_notes",
    "parse_mel",
    "read_mel",
]

MAJOR_MODE = "......."  # mode flags of plain major: no degree lowered
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_EMPTY_SLOTS = {".": 1, "_": 4, "-": 3, "=": 6}
_DEFAULT_METER = "4/4"
_MAX_SLOTS = 100_000  # slots in one measure, far above the corpus's 72

_PITCH_STRING_RE = re.compile(r"(?:[._=\-]|(?:\^+|v+)?[b#n]?[1-7])+")
_PIECE_RE = re.compile(r"(?P<empty>[._=\-])|(?P<octave>\^+|v+)?(?P<accidental>[b#n]?)(?P<digit>[1-7])")
_REST_RE = re.compile(r"R(?:\*(\d+))?")
_METER_RE = re.compile(r"\[(\d{1,3})/(\d{1,3})\]")
_OCTAVE_RE = re.compile(r"\[OCT=(\d)\]")
_MODE_RE = re.compile(r"\[([.b]{7})\]")


@dataclass(frozen=True)
class MelNote:
    """One note of the melody: where it starts and which pitch."""

    onset: Fraction  # measures from the song start
    midi: int  # MIDI pitch, 60 = middle C
    degree: int  # chromatic degree above the tonic in force, 0-11
    key: int  # pitch class of the tonic in force


@dataclass(frozen=True)
class ModeChange:
    """A key or mode token: from ``position`` on, this key and mode hold."""

    position: Fraction  # measures from the song start
    key: int  # tonic pitch class
    flags: str  # seven characters, degree 1-7: '.' as in major, 'b' lowered

    @property
    def mode(self) -> str:
        """'minor' when the third is lowered, else 'major' (Mixolydian counts as major)."""
        return "minor" if self.flags[2] == "b" else "major"


@dataclass(frozen=True)
class MelodyTranscription:
    """A whole ``.mel`` transcription, expanded to notes."""

    source: str
    notes: tuple[MelNote, ...]
    meters: tuple[str | None, ...]  # one per measure: '4/4', or None for [0] (unmetered)
    measure_count: int
    modes: tuple[ModeChange, ...]  # every key/mode token in order; the first holds from 0

    def mode_at(self, position: Fraction) -> ModeChange | None:
        """The key and mode in force at ``position`` (None before the first key token)."""
        current = None
        for change in self.modes:
            if change.position > position:
                break
            current = change
        return current


def format_notes(melody: MelodyTranscription) -> list[str]:
    """The lines of the authors' note list (``reference/notes``), formatted exactly."""
    return ["%5.3f %d %d" % (float(n.onset), n.midi, n.degree) for n in melody.notes]


def read_mel(path: str | os.PathLike) -> MelodyTranscription:
    """Read and expand a ``.mel`` file (ASCII text)."""
    return parse_mel(read_ascii(path), str(path))


def parse_mel(text: str, source: str = "<string>") -> MelodyTranscription:
    """Parse and expand the text of a ``.mel`` transcription.

    ``source`` names the text in error messages and in the result.
    """
    if not isinstance(text, str):
        raise CorpusFormatError(f"expected text, got {type(text).__name__}", path=source)
    state = _State(source)
    for line_number, line in enumerate(text.split("\n"), start=1):
        for match in re.finditer(r"\S+", line):
            token = match.group()
            if token[0] == "%":
                break
            state.where = (line_number, match.start() + 1)
            state.token(token)
    return state.result()


class _State:
    """The reader's running state: key, mode, meter, the measure being filled."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.where = (0, 0)
        self.key: int | None = None
        self.flags = MAJOR_MODE
        self.meter: str | None = _DEFAULT_METER
        self.octave: int | None = None
        self.previous_midi: int | None = None
        self.meters: list[str | None] = []
        self.notes: list[MelNote] = []
        self.modes: list[ModeChange] = []
        # The measure being filled: slot count, and notes/mode changes at their slots.
        self.slots = 0
        self.pending: list[tuple[int, int, int, int]] = []  # (slot, midi, degree, key)
        self.pending_modes: list[tuple[int, int, str]] = []  # (slot, key, flags)

    def error(self, message: str) -> CorpusFormatError:
        line, column = self.where
        return CorpusFormatError(message, path=self.source, line=line, column=column)

    def token(self, token: str) -> None:
        if token == "|":
            self.barline()
        elif token[0] == "[":
            self.bracket(token)
        elif token[0] == "R":
            match = _REST_RE.fullmatch(token)
            if match is None or (match[1] is not None and int(match[1]) < 1):
                raise self.error(f"bad rest {token!r}: expected 'R' or 'R*N' with N >= 1")
            count = int(match[1] or 1)
            if len(self.meters) + count > MAX_MEASURES:
                raise self.error(f"{token} makes more than {MAX_MEASURES} measures")
            for _ in range(count - 1):
                self.barline()
        elif _PITCH_STRING_RE.fullmatch(token):
            self.pitch_string(token)
        else:
            raise self.error(
                f"unknown token {token!r}: expected a pitch string (., _, -, =, 1-7 with b # n ^ v), "
                "'|', 'R*N', or a bracket token"
            )

    def bracket(self, token: str) -> None:
        key = parse_key(token)
        if key is not None:
            self.key, self.flags = key, MAJOR_MODE
            self.pending_modes.append((self.slots, key, self.flags))
            return
        if token == "[0]":
            self.meter = None
            return
        if (match := _METER_RE.fullmatch(token)) and int(match[1]) > 0 and int(match[2]) > 0:
            self.meter = f"{int(match[1])}/{int(match[2])}"
            return
        if match := _OCTAVE_RE.fullmatch(token):
            self.octave = int(match[1])
            return
        if match := _MODE_RE.fullmatch(token):
            if self.key is None:
                raise self.error(f"mode {token} comes before any key token")
            self.flags = match[1]
            self.pending_modes.append((self.slots, self.key, self.flags))
            return
        raise self.error(
            f"bad bracket token {token!r}: expected a key [Eb], a mode [..b..bb], a meter [4/4] or [0], "
            "or an octave [OCT=4]"
        )

    def pitch_string(self, token: str) -> None:
        for piece in _PIECE_RE.finditer(token):
            if piece["empty"]:
                self.slots += _EMPTY_SLOTS[piece["empty"]]
                continue
            midi, degree = self.note(piece["octave"] or "", piece["accidental"], int(piece["digit"]))
            self.pending.append((self.slots, midi, degree, self.key))
            self.slots += 1
        if self.slots > _MAX_SLOTS:
            raise self.error(f"more than {_MAX_SLOTS} slots in one measure")

    def note(self, octave_marks: str, accidental: str, digit: int) -> tuple[int, int]:
        """MIDI pitch and chromatic degree of one note, placed after the previous one."""
        if self.key is None:
            raise self.error("a note comes before any key token")
        degree = _MAJOR_SCALE[digit - 1]
        if accidental == "b":
            degree -= 1
        elif accidental == "#":
            degree += 1
        elif accidental == "" and self.flags[digit - 1] == "b":
            degree -= 1
        degree %= 12
        pitch_class = (degree + self.key) % 12
        if self.previous_midi is None:
            if self.octave is None:
                raise self.error("the first note comes before its octave token [OCT=n]")
            midi = pitch_class + 12 * (self.octave + 1)
        else:
            step = (pitch_class - self.previous_midi) % 12
            midi = self.previous_midi + (step if step <= 6 else step - 12)
        midi += 12 * (octave_marks.count("^") - octave_marks.count("v"))
        if not 0 <= midi <= 127:
            raise self.error(f"the note goes to MIDI pitch {midi}, outside 0-127")
        self.previous_midi = midi
        return midi, degree

    def barline(self) -> None:
        number = len(self.meters)
        if number >= MAX_MEASURES:
            raise self.error(f"more than {MAX_MEASURES} measures")
        slots = self.slots
        for slot, midi, degree, key in self.pending:
            self.notes.append(MelNote(number + Fraction(slot, slots), midi, degree, key))
        for slot, key, flags in self.pending_modes:
            self.modes.append(ModeChange(number + Fraction(slot, slots or 1), key, flags))
        self.meters.append(self.meter)
        self.slots = 0
        self.pending = []
        self.pending_modes = []

    def result(self) -> MelodyTranscription:
        if self.pending:
            raise self.error("notes after the last barline belong to no measure")
        number = len(self.meters)
        for _slot, key, flags in self.pending_modes:
            self.modes.append(ModeChange(Fraction(number), key, flags))
        return MelodyTranscription(
            source=self.source,
            notes=tuple(self.notes),
            meters=tuple(self.meters),
            measure_count=number,
            modes=tuple(self.modes),
        )
