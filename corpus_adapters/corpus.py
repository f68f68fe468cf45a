"""A Rock Corpus folder as songs: analyses, melody and timing paired by stem.

A file name is ``<stem>_<analyst>.<ext>`` (``.har``, ``.mel``) or
``<stem>.tim``. :func:`iter_songs` accepts the corpus layout (``har/``,
``mel/``, ``tim/`` sub-folders) or one flat folder holding the files, and
yields one :class:`CorpusSong` per stem that has at least one ``.har``
(melodies or timings without an analysis are skipped), sorted by stem. A stem
with more than one ``.mel`` (never the case in the corpus) takes the first
by analyst name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from music21_melgen.corpus_adapters.har import read_har
from music21_melgen.corpus_adapters.mel import read_mel
from music21_melgen.corpus_adapters.song import SongData, load_song
from music21_melgen.errors import CorpusFormatError

__all__ = ["CorpusSong", "iter_songs", "load_corpus_song", "split_name"]


@dataclass(frozen=True)
class CorpusSong:
    """The files of one song."""

    stem: str  # 'a_hard_days_night'
    harmony: dict[str, Path] = field(hash=False)  # analyst -> .har path
    melody: Path | None  # the .mel, if the song was transcribed
    melody_analyst: str | None  # who transcribed it
    timing: Path | None  # the .tim downbeat times, if present

    @property
    def analysts(self) -> tuple[str, ...]:
        """The harmony analysts, sorted ('dt', 'tdc')."""
        return tuple(sorted(self.harmony))


def split_name(path: Path) -> tuple[str, str]:
    """(stem, analyst) of a ``<stem>_<analyst>.<ext>`` file; analyst '' without '_'.

    >>> split_name(Path('mr_tambourine_man_dylan_dt.har'))
    ('mr_tambourine_man_dylan', 'dt')
    """
    name = path.stem
    if "_" not in name:
        return name, ""
    stem, analyst = name.rsplit("_", 1)
    return stem, analyst


def iter_songs(folder: str | os.PathLike) -> Iterator[CorpusSong]:
    """The songs of a corpus folder (layout or flat), sorted by stem."""
    root = Path(folder)
    if not root.is_dir():
        raise CorpusFormatError("not a folder", path=str(root))

    def files(sub: str, pattern: str) -> list[Path]:
        base = root / sub if (root / sub).is_dir() else root
        return sorted(base.glob(pattern))

    harmony: dict[str, dict[str, Path]] = {}
    for path in files("har", "*.har"):
        stem, analyst = split_name(path)
        harmony.setdefault(stem, {})[analyst] = path
    melodies: dict[str, tuple[Path, str]] = {}
    for path in files("mel", "*.mel"):
        stem, analyst = split_name(path)
        melodies.setdefault(stem, (path, analyst))
    timings = {path.stem: path for path in files("tim", "*.tim")}
    for stem in sorted(harmony):
        melody = melodies.get(stem)
        yield CorpusSong(
            stem=stem,
            harmony=harmony[stem],
            melody=melody[0] if melody else None,
            melody_analyst=melody[1] if melody else None,
            timing=timings.get(stem),
        )


def load_corpus_song(song: CorpusSong, analyst: str) -> SongData:
    """Read one analysis of a song with its melody into a :class:`SongData`."""
    if analyst not in song.harmony:
        raise CorpusFormatError(
            f"{song.stem}: no analysis by {analyst!r} (have {', '.join(song.analysts) or 'none'})"
        )
    harmony = read_har(song.harmony[analyst])
    melody = read_mel(song.melody) if song.melody is not None else None
    return load_song(harmony, melody, stem=song.stem, analyst=analyst, melody_analyst=song.melody_analyst)
