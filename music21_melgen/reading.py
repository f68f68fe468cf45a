"""Reading a user's score: any file music21 (or our converters) reads, bounded, never from the pickle cache.

:func:`read_source` gives the engine the score and, for MusicXML and MIDI
inputs, the input's own bytes, so the output can be the user's document plus
one part (:mod:`~music21_melgen.musicxml_merge`) or the user's tracks plus one
(:mod:`~music21_melgen.midi_io`). MIDI files are read by
:func:`~music21_melgen.midi_io.read_midi` (quantized, barred parts); MusicXML
is read at most :data:`~music21_melgen.musicxml_merge.MAX_UNPACKED_BYTES`
bytes (50 MB, also the bound for the score inside an ``.mxl``). Every failure
is one :class:`~music21_melgen.errors.ScoreError` line naming the file: a
missing file, a folder or FIFO, an unreadable or too large file, a book of
several scores, and music21's own parse errors (an embedded traceback cut to
its context and last line).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from music21 import converter, metadata, stream

from music21_melgen.errors import MelgenError, ScoreError
from music21_melgen.midi_io import read_midi
from music21_melgen.musicxml_merge import (
    MAX_UNPACKED_BYTES,
    MUSICXML_SUFFIXES,
    read_musicxml_bytes,
)

__all__ = ["check_input", "read_book", "read_score", "read_source"]


def read_score(path: str | os.PathLike, *, limit: int = MAX_UNPACKED_BYTES) -> stream.Score:
    """Parse any file music21 (or our ``.har``/``.mel`` converters) reads, never from the pickle cache.

    MIDI files are read by :func:`music21_melgen.midi_io.read_midi` (quantized,
    barred parts); MusicXML is read at most ``limit`` bytes (default 50 MB,
    also the bound for the score inside an ``.mxl``). Raises
    :class:`ScoreError` naming the file when it is missing, not a regular
    file, unreadable, too large, or holds several scores (an ABC book).
    """
    return read_source(Path(path), limit)[0]


def check_input(source: Path, what: str = "") -> None:
    """Raise :class:`ScoreError` unless ``source`` is a readable regular file (``what``: 'the primer ')."""
    if not source.exists():
        raise ScoreError(f"{what}{source}: no such file")
    if source.is_dir():
        raise ScoreError(f"{what}{source}: is a folder, not a score file")
    if not source.is_file():
        raise ScoreError(f"{what}{source}: is not a regular file (a FIFO, socket or device); give a score file")
    if not os.access(source, os.R_OK):
        raise ScoreError(f"{what}{source}: not readable (check its permissions)")


def _one_line(error: BaseException) -> str:
    """An exception's message on one line: a traceback embedded in it keeps its context and its last line.

    >>> _one_line(ValueError("At line 4 for token m1 I b9 V, an exception was raised: \\n"
    ...                      "Traceback (most recent call last):\\n  File x\\nmusic21.romanText.Bad: too many notes"))
    'At line 4 for token m1 I b9 V: Bad: too many notes'
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if any(line.startswith("Traceback") for line in lines):
        context = lines[0] if not lines[0].startswith("Traceback") else ""
        context = re.sub(r",? an exception was raised:?$", "", context)
        last = re.sub(r"^(?:\w+\.)+(?=\w+: )", "", lines[-1])
        return f"{context}: {last}" if context else last
    first = re.sub(rf"^(?:\w+\.)*{type(error).__name__}: ", "", lines[0])  # music21 repeats its class
    return first if len(lines) == 1 else first + " ..."


def _parse(source: Path, limit: int) -> tuple[Any, bytes | None, str]:
    """What music21 makes of ``source`` (a Score, an Opus, a Part ...), its bytes and their kind."""
    check_input(source)
    suffix = source.suffix.lower()
    original: bytes | None = None
    kind = ""
    try:
        if suffix in (".mid", ".midi"):
            original, kind = source.read_bytes(), "midi"
            parsed: Any = read_midi(source)
        elif suffix in MUSICXML_SUFFIXES:
            original, kind = read_musicxml_bytes(source, limit=limit), "musicxml"
            parsed = converter.parseData(original, format="musicxml", forceSource=True)
        else:
            parsed = converter.parse(source, forceSource=True)
    except MelgenError:
        raise
    except Exception as error:  # music21's parsers raise many kinds; say which file failed, on one line
        raise ScoreError(
            f"{source}: music21 cannot read it as a score ({type(error).__name__}: {_one_line(error)}); "
            "give a MusicXML, MIDI, ABC, RomanText, Humdrum or Rock Corpus .har file"
        ) from None
    return parsed, original, kind


def _as_score(parsed: Any, source: Path) -> stream.Score:
    if not isinstance(parsed, stream.Score):
        score = stream.Score()
        score.insert(0, parsed)
        parsed = score
    if parsed.metadata is None:
        parsed.metadata = metadata.Metadata()
    parsed.metadata.filePath = str(source)
    return parsed


def read_book(path: str | os.PathLike, *, limit: int = MAX_UNPACKED_BYTES) -> list[stream.Score]:
    """Every score of a file: the tunes of a book (an ABC file of several ``X:`` tunes), or the one score.

    Read as :func:`read_score` reads (same errors), but a book gives all its
    tunes, in file order, instead of an error; each keeps its metadata
    (``metadata.number`` is the tune's ``X:`` number) and names the file in
    ``metadata.filePath``. ScoreError when the file holds no score.
    """
    source = Path(path)
    parsed = _parse(source, limit)[0]
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise ScoreError(f"{source}: the file holds no score")
        return [_as_score(score, source) for score in scores]
    return [_as_score(parsed, source)]


def read_source(source: Path, limit: int = MAX_UNPACKED_BYTES) -> tuple[stream.Score, bytes | None, str]:
    """The score of ``source``, the input's own bytes (MusicXML text or MIDI file) and their kind.

    The kind is 'musicxml', 'midi' or '' (other formats: no bytes kept).
    """
    parsed, original, kind = _parse(source, limit)
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise ScoreError(f"{source}: the file holds no score")
        if len(scores) > 1:
            raise ScoreError(
                f"{source}: holds {len(scores)} scores (a book of tunes); melgen writes one melody per "
                "score: put each tune in a file of its own (or call generate on each of opus.scores)"
            )
        parsed = scores[0]
    return _as_score(parsed, source), original, kind
