"""Song sources for training and evaluation: any folder → named chord timelines with melodies.

Three kinds of folder are read, each told by what it holds (:func:`detect_source`):

* ``rock`` — the Rock Corpus: ``har/*.har`` (and ``mel/*.mel``), or the same
  files flat in one folder; one song per stem and harmony analyst
  (``dt``, ``tdc``), read by :mod:`music21_melgen.corpus_adapters.corpus`;
* ``pop909`` — POP909: sub-folders ``NNN/`` holding ``NNN.mid`` and
  ``chord_midi.txt``, read by :mod:`music21_melgen.corpus_adapters.pop909`;
* ``scores`` — files music21 reads (:data:`SCORE_EXTENSIONS`), each a song:
  chords from :func:`~music21_melgen.score_harmony.timeline_from_score`, the
  melody from the melody part (:func:`melody_from_score`); a book of tunes
  (an ABC file of several ``X:`` tunes) gives one song per tune
  (:func:`book_songs`: stem ``<file stem>/<X: number>``, name ``<file>#<number>``).

:func:`read_source` gives the songs of one split (the fixed per-corpus split
of :mod:`music21_melgen.training.split`) and every song left out with its
reason, never dropping one silently. Corpus songs that cannot be read are
skipped (the corpora hold a few); a score that cannot be read is an error
naming the file, since the user chose every file of a score folder. A tune
of a book that cannot be used (no chords, no melody) is skipped with its
reason: books such as the Nottingham collection hold a few.

The melody part of a score is the one :func:`music21_melgen.parts.part_roles`
calls the melody (the rule the chord reader and the primer reader use too):
among the pitched, non-drum parts, the one with the highest mean pitch, which
must be mostly monophonic (at least 90 % of its onsets single notes; a chord
in it counts as its top note). Chord symbols and Roman numerals in that part
are harmony, not melody. A score whose only part is its melody must carry
chord symbols or numerals.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from music21_melgen.errors import CorpusFormatError, MelgenError, ScoreError
from music21_melgen.timeline import ChordTimeline, MelodyNote
from music21_melgen.training.split import SPLITS, split_of

__all__ = [
    "ANALYSTS",
    "CORPUS_NAMES",
    "SCORE_EXTENSIONS",
    "Source",
    "SourceRead",
    "SourceSong",
    "as_source",
    "book_songs",
    "detect_source",
    "melody_from_score",
    "read_source",
    "score_song",
]

ANALYSTS = ("dt", "tdc")  # the Rock Corpus harmony analysts

# Files of a score folder that are read (music21's own formats).
SCORE_EXTENSIONS = (".musicxml", ".xml", ".mxl", ".mid", ".midi", ".krn", ".abc", ".rntxt", ".mei")

# The corpus labels, and how reports name them.
CORPUS_NAMES = {"rock": "Rock Corpus", "pop909": "POP909", "scores": "scores"}

@dataclass(frozen=True)
class SourceSong:
    """One song of a source: its chords, its melody, and where it comes from."""

    corpus: str  # 'rock', 'pop909' or 'scores'
    stem: str  # the unit of the split: Rock Corpus stem, POP909 folder name, score file stem
    variant: str  # the Rock Corpus harmony analyst ('dt', 'tdc'); '' otherwise
    timeline: ChordTimeline
    notes: tuple[MelodyNote, ...]
    name: str = ""  # how reports name it ('hey_jude_dt', '001', 'lead.musicxml'); default from stem and variant

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.stem}_{self.variant}" if self.variant else self.stem)

    @property
    def split(self) -> str:
        """``'train'``, ``'validation'`` or ``'test'`` (:func:`~music21_melgen.training.split.split_of`)."""
        return split_of(self.stem, self.corpus)


@dataclass(frozen=True)
class Source:
    """A folder and the kind of songs it holds."""

    corpus: str  # 'rock', 'pop909' or 'scores'
    folder: Path

    def __str__(self) -> str:
        return f"{CORPUS_NAMES[self.corpus]} {self.folder}"


@dataclass
class SourceRead:
    """What :func:`read_source` read: the songs, those left out, and the files opened."""

    source: Source
    songs: list[SourceSong] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    files: list[Path] = field(default_factory=list)  # every file read, for the data hash


def _score_files(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in SCORE_EXTENSIONS)


def detect_source(folder: str | os.PathLike) -> str:
    """The kind of song folder ``folder`` is: ``'rock'``, ``'pop909'`` or ``'scores'``.

    CorpusFormatError naming the folder when it is none of them.
    """
    root = Path(folder)
    if not root.is_dir():
        raise CorpusFormatError("no such folder of songs", path=str(root))
    if any((root / "har").glob("*.har")) or any(root.glob("*.har")):
        return "rock"
    if any(
        (sub / f"{sub.name}.mid").is_file() and (sub / "chord_midi.txt").is_file()
        for sub in root.iterdir()
        if sub.is_dir()
    ):
        return "pop909"
    if _score_files(root):
        return "scores"
    raise CorpusFormatError(
        "not a song folder: no Rock Corpus har/*.har, no POP909 NNN/NNN.mid with chord_midi.txt, "
        f"no scores ({' '.join(SCORE_EXTENSIONS)})",
        path=str(root),
    )


def as_source(folder: str | os.PathLike | Source, corpus: str | None = None) -> Source:
    """``folder`` as a :class:`Source`, its kind detected; ``corpus`` given: the kind it must be.

    >>> as_source(Source("pop909", Path("x")))
    Source(corpus='pop909', folder=PosixPath('x'))
    """
    if isinstance(folder, Source):
        return folder
    found = detect_source(folder)
    if corpus is not None and found != corpus:
        raise CorpusFormatError(
            f"not a folder of {CORPUS_NAMES[corpus]} (it holds {CORPUS_NAMES[found]})", path=str(folder)
        )
    return Source(found, Path(folder))


def read_source(
    source: str | os.PathLike | Source,
    split: str = "all",
    *,
    analysts: Sequence[str] = ANALYSTS,
    stems: Iterable[str] | None = None,
    limit: int | None = None,
) -> SourceRead:
    """The songs of ``source`` in ``split`` (``train``, ``validation``, ``test`` or ``all``).

    ``analysts``: which Rock Corpus harmonies to read (ignored elsewhere).
    ``stems`` keeps only those stems; ``limit`` the first ``limit`` stems of
    the split (sorted). Rock Corpus and POP909 songs that cannot be read are
    listed in ``skipped`` with the reason; a score that cannot be read raises
    ScoreError naming the file.
    """
    chosen = as_source(source)
    if split not in (*SPLITS, "all"):
        raise MelgenError(f"unknown split {split!r} (known: {', '.join(SPLITS)}, all)")
    wanted = None if stems is None else set(stems)

    def keep(stem: str) -> bool:
        return (wanted is None or stem in wanted) and (split == "all" or split_of(stem, chosen.corpus) == split)

    reader = {"rock": _read_rock, "pop909": _read_pop909, "scores": _read_scores}[chosen.corpus]
    return reader(chosen, keep, tuple(analysts), limit)


def _read_rock(source: Source, keep: Any, analysts: tuple[str, ...], limit: int | None) -> SourceRead:
    from music21_melgen.corpus_adapters.corpus import iter_songs, load_corpus_song

    result = SourceRead(source)
    root = source.folder
    result.files = sorted([*root.glob("har/*.har"), *root.glob("mel/*.mel"), *root.glob("*.har"), *root.glob("*.mel")])
    count = 0
    for song in iter_songs(root):
        if not keep(song.stem):
            continue
        if limit is not None and count >= limit:
            break
        count += 1
        for analyst in analysts:
            name = f"{song.stem}_{analyst}"
            if analyst not in song.harmony:
                result.skipped.append((name, f"no analysis by {analyst}"))
                continue
            try:
                data = load_corpus_song(song, analyst)
            except MelgenError as error:
                result.skipped.append((name, f"unreadable ({type(error).__name__}): {error}"))
                continue
            if data is None or not data.notes:
                result.skipped.append((name, "no melody notes"))
                continue
            result.songs.append(SourceSong("rock", song.stem, analyst, data.timeline, tuple(data.notes)))
    return result


def _read_pop909(source: Source, keep: Any, analysts: tuple[str, ...], limit: int | None) -> SourceRead:
    from music21_melgen.corpus_adapters.pop909 import read_pop909_song, song_files

    result = SourceRead(source)
    folders = sorted(
        p for p in source.folder.iterdir() if p.is_dir() and (p / f"{p.name}.mid").is_file() and keep(p.name)
    )
    for folder in folders[:limit]:
        result.files += song_files(folder)
        try:
            song = read_pop909_song(folder)
        except MelgenError as error:
            result.skipped.append((folder.name, str(error)))
            continue
        result.songs.append(SourceSong("pop909", folder.name, "", song.timeline, song.notes))
    result.files = [path for path in result.files if path.is_file()]
    return result


def _read_scores(source: Source, keep: Any, analysts: tuple[str, ...], limit: int | None) -> SourceRead:
    result = SourceRead(source)
    count = 0
    for path in _score_files(source.folder):
        if limit is not None and count >= limit:
            break
        if not _is_book(path):
            if not keep(path.stem):
                continue
            result.files.append(path)
            result.songs.append(score_song(path))
            count += 1
            continue
        result.files.append(path)
        for stem, name, song in book_songs(path, keep):
            if limit is not None and count >= limit:
                break
            count += 1
            if isinstance(song, SourceSong):
                result.songs.append(song)
            else:
                result.skipped.append((name, song))
    return result


def _is_book(path: Path) -> bool:
    """Whether ``path`` is an ABC file of several tunes (``X:`` lines), told from its text without parsing."""
    if path.suffix.lower() != ".abc":
        return False
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # score_song says why it cannot be read
    return len(_TUNE_START.findall(text)) > 1


_TUNE_START = re.compile(r"^X:", re.MULTILINE)


def book_songs(path: str | os.PathLike, keep: Any = None) -> list[tuple[str, str, SourceSong | str]]:
    r"""The tunes of a book (an ABC file of several tunes) as ``(stem, name, song or reason)``.

    A tune's stem is ``"<file stem>/<X: number>"`` (its position from 1, as
    ``n<position>``, when the number is missing or repeats in the file), the
    unit of the split (key ``scores/<file stem>/<number>``); its name is
    ``"<file name>#<number>"``. ``keep(stem)`` chooses tunes (default all). A
    tune that cannot be used (no chords, no melody part, no notes) gives the
    reason instead of a song; a file that cannot be read raises ScoreError.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "two.abc").write_text(
    ...     'X:1\nT:A\nM:3/4\nL:1/4\nK:G\n"G"GAB|"D7"A2F|"G"G3|]\n\n'
    ...     'X:2\nT:B\nM:3/4\nL:1/4\nK:G\nGAB|A2F|G3|]\n')
    >>> [(stem, name, getattr(song, "name", song)) for stem, name, song in book_songs(folder / "two.abc")]
    [('two/1', 'two.abc#1', 'two.abc#1'), ('two/2', 'two.abc#2', 'the melody is the only part and there are no chord symbols or numerals')]
    """
    from music21_melgen.reading import read_book

    file = Path(path)
    scores = read_book(file)
    numbers = [str(getattr(score.metadata, "number", None) or "").strip() for score in scores]
    result: list[tuple[str, str, SourceSong | str]] = []
    for position, (score, number) in enumerate(zip(scores, numbers), start=1):
        tune = number if number and numbers.count(number) == 1 and "/" not in number else f"n{position}"
        stem, name = f"{file.stem}/{tune}", f"{file.name}#{tune}"
        if keep is not None and not keep(stem):
            continue
        try:
            result.append((stem, name, _song_of_score(score, file, stem, name)))
        except ScoreError as error:
            result.append((stem, name, str(error).removeprefix(f"{name}: ")))
    return result


def score_song(path: str | os.PathLike) -> SourceSong:
    """One score file as a song: its chords and its melody part.

    ScoreError naming the file when it cannot be read, has no melody part, or
    has no chords (its only part is the melody, with no chord symbols or numerals).
    """
    from music21_melgen.engine import read_score

    file = Path(path)
    try:
        score = read_score(file)
    except MelgenError as error:
        text = str(error)
        raise ScoreError(text if str(file) in text else f"{file}: {text}") from None
    return _song_of_score(score, file, file.stem, file.name, where=str(file))


def _song_of_score(score: Any, file: Path, stem: str, name: str, where: str = "") -> SourceSong:
    """A parsed score as a song; ScoreError starting ``"<where or name>: "`` when it cannot be used."""
    from music21_melgen.score_harmony import timeline_from_score

    where = where or name
    try:
        notes = melody_from_score(score)
        timeline = timeline_from_score(score)
    except MelgenError as error:
        text = str(error)
        text = text.removeprefix(f"{file}: ")
        raise ScoreError(f"{where}: {text}") from None
    parts = getattr(score, "parts", ())
    if getattr(timeline, "source", "").startswith("chordified") and len(parts) < 2:
        raise ScoreError(f"{where}: the melody is the only part and there are no chord symbols or numerals")
    if not notes:
        raise ScoreError(f"{where}: the melody part has no notes")
    return SourceSong("scores", stem, "", timeline, notes, name=name)


def _frac(value: float | Fraction) -> Fraction:
    return Fraction(value).limit_denominator(1 << 16)


def melody_from_score(score: Any) -> tuple[MelodyNote, ...]:
    """The melody part of a music21 score as notes on the score's time axis.

    The part is the one :func:`music21_melgen.parts.part_roles` calls the
    melody; its notes are read by :func:`music21_melgen.parts.melody_of`
    (tied notes of one pitch merge; a chord gives its top note).
    ScoreError when no part fits.
    """
    from music21_melgen.parts import melody_of, part_roles, parts_of, pitched_notes
    from music21_melgen.score_harmony import describe_score

    where = describe_score(score)
    roles = part_roles(score)
    parts = parts_of(score)
    if roles.melody is None:
        if not roles.accompaniment:
            raise ScoreError(f"{where}: no part with pitched notes, so no melody to compare with")
        highest = max(
            (parts[index] for index in roles.accompaniment),
            key=lambda part: _mean_pitch(pitched_notes(part)),
        )
        elements = pitched_notes(highest)
        singles = sum(1 for element in elements if len(element.pitches) == 1)
        raise ScoreError(
            f"{where}: the highest part ({highest.partName or highest.id}) is chords "
            f"({singles} of {len(elements)} onsets are single notes), not a melody"
        )
    part = parts[roles.melody]
    start = _frac(part.getOffsetInHierarchy(score)) if part is not score else Fraction(0)
    return tuple(MelodyNote(start + n.offset, n.length, n.midi) for n in melody_of(part))


def _mean_pitch(elements: Sequence[Any]) -> float:
    heights = [p.ps for element in elements for p in element.pitches]
    return sum(heights) / len(heights)
