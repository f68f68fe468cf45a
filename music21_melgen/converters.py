"""music21 SubConverters for the Rock Corpus formats ``.har`` and ``.mel``.

After ``import music21_melgen`` (which calls :func:`register`)::

    from music21 import converter
    harmony = converter.parse("one_dt.har", forceSource=True)   # Score: a Harmony part
    melody = converter.parse("hey_jude_dt.mel", forceSource=True)  # Score: a Melody part

A ``.har`` file becomes a Score with one part of ``RomanNumeral`` objects,
measures, time signatures and keys; a ``.mel`` file one part of notes and
rests with its own measures and keys (see :func:`music21_melgen.corpus_adapters.song.song_to_score`).
Each file is read alone, even when a sibling melody or analysis exists:
``converter.parse`` stays predictable, and :mod:`music21_melgen.corpus_adapters.corpus`
pairs files by stem when both are wanted.

The Score carries no copy of the reader's chord timeline: ``melgen generate
song.har`` reads the chords back from the Score's ``RomanNumeral`` objects
(:func:`music21_melgen.score_harmony.timeline_from_score`), so a score edited
after parsing is read as edited, never through a stale stored timeline.
Reading them back gives exactly the timeline training reads from the same
file through :mod:`music21_melgen.corpus_adapters` (every analysis of the
corpus: ``tests/test_corpus_route.py``), because the Score writes each chord
event once (restated across barlines with ties) in its key and mode.

music21 ships ``ConverterClercqTemperley`` for ``.har``, which reads harmony
only and does not follow the authors' expansion exactly. Format detection
checks every converter's ``registerFormats`` before any extension, and custom
converters come first, so :class:`RockCorpusHarConverter` lists ``'har'`` in
``registerFormats`` and wins once registered. :func:`register` is idempotent
(music21 does not de-duplicate registrations).
"""

from __future__ import annotations

from pathlib import Path

from music21 import stream
from music21.converter import registerSubConverter, subConverters

__all__ = ["RockCorpusHarConverter", "RockCorpusMelConverter", "register"]


def _stem_and_analyst(path: str | Path | None) -> tuple[str, str]:
    if path is None:
        return "", ""
    name = Path(path).stem
    stem, _, analyst = name.rpartition("_")
    return (stem, analyst) if stem else (name, "")


class RockCorpusHarConverter(subConverters.SubConverter):
    """Reads a Rock Corpus ``.har`` analysis into a Score of Roman numerals."""

    registerFormats = ("har", "rockcorpusharmony")
    registerInputExtensions = ("har",)

    def parseData(self, dataString: str | bytes, number: int | None = None, *,
                  source: str | None = None) -> stream.Score:
        """Expand ``.har`` text into ``self.stream``."""
        from music21_melgen.corpus_adapters.har import parse_har
        from music21_melgen.corpus_adapters.song import load_song, song_to_score

        stem, analyst = _stem_and_analyst(source)
        harmony = parse_har(_text(dataString, source), source or "<string>")
        self.stream = song_to_score(load_song(harmony, stem=stem, analyst=analyst))
        return self.stream

    def parseFile(self, filePath: str | Path, number: int | None = None, **keywords) -> stream.Score:
        """Read a ``.har`` file (ASCII) into ``self.stream``."""
        return self.parseData(_read(filePath), number, source=str(filePath))


class RockCorpusMelConverter(subConverters.SubConverter):
    """Reads a Rock Corpus ``.mel`` transcription into a Score with a melody part."""

    registerFormats = ("mel", "rockcorpusmelody")
    registerInputExtensions = ("mel",)

    def parseData(self, dataString: str | bytes, number: int | None = None, *,
                  source: str | None = None) -> stream.Score:
        """Expand ``.mel`` text into ``self.stream``."""
        from music21_melgen.corpus_adapters.mel import parse_mel
        from music21_melgen.corpus_adapters.song import load_melody, song_to_score

        stem, analyst = _stem_and_analyst(source)
        melody = parse_mel(_text(dataString, source), source or "<string>")
        self.stream = song_to_score(load_melody(melody, stem=stem, analyst=analyst or None))
        return self.stream

    def parseFile(self, filePath: str | Path, number: int | None = None, **keywords) -> stream.Score:
        """Read a ``.mel`` file (ASCII) into ``self.stream``."""
        return self.parseData(_read(filePath), number, source=str(filePath))


def _read(path: str | Path) -> str:
    from music21_melgen.corpus_adapters.textfile import read_ascii

    return read_ascii(path)


def _text(data: str | bytes, source: str | None) -> str:
    if isinstance(data, bytes):
        from music21_melgen.errors import CorpusFormatError

        try:
            return data.decode("ascii")
        except UnicodeDecodeError as error:
            raise CorpusFormatError(f"not ASCII text ({error.reason} at byte {error.start})", path=source) from None
    return data


def register() -> None:
    """Register both converters with music21, once per process (idempotent).

    >>> from music21 import converter
    >>> register(); register()
    >>> converter.Converter().subConvertersList().count(RockCorpusHarConverter)
    1
    """
    from music21 import converter

    registered = converter.Converter().subConvertersList("input")
    for sub_converter in (RockCorpusMelConverter, RockCorpusHarConverter):
        if sub_converter not in registered:
            registerSubConverter(sub_converter)
