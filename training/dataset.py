"""The training data: songs of any source as encoded event and conditioning arrays.

The songs come from :mod:`music21_melgen.training.sources`: Rock Corpus
folders (each song gives up to two sequences, one per analyst's
harmonisation, ``dt`` and ``tdc``, over the same melody), POP909 folders and
folders of scores, in any mix. Each song is a
:class:`~music21_melgen.timeline.ChordTimeline` plus
:class:`~music21_melgen.timeline.MelodyNote` values (for a ``.har``, the very
timeline ``melgen generate song.har`` reads from the converter's score), and
the representation encodes it. Sequences that cannot be used are counted by
reason and reported, never dropped silently: songs a reader cannot read,
songs with no melody notes, and measures the grid cannot hold.

A sequence runs from the measure of the song's first melody note to the
measure of its last (:func:`sung_part`): the instrumental intro and outro are
cut, harmony and melody alike, and the sequence is encoded anew, so its
conditioning sees the end where the singing ends. The model thus learns that
a melody begins where the chords do and goes on to the end of the chart,
which is what a user asking for a melody over a chord chart wants (trained on
whole recordings, it stayed silent for bars at the start and over a final
vamp). Silences inside the song (solos, breaks) stay.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from music21_melgen.corpus_adapters.song import beat_length

from music21_melgen.encoding import REST, Representation
from music21_melgen.errors import MelgenError, ScoreError, reason_kind
from music21_melgen.timeline import ChordTimeline, MelodyNote
from music21_melgen.training.sources import ANALYSTS, Source, SourceRead, as_source, read_source
from music21_melgen.training.split import split_of

__all__ = [
    "ANALYSTS",
    "EncodedSong",
    "EncodedCorpus",
    "beat_length",
    "sung_part",
    "sung_song",
    "corpus_hash",
    "files_hash",
    "load_corpus",
]

SourceLike = str | os.PathLike | Source


@dataclass(frozen=True)
class EncodedSong:
    """One training sequence: a melody over one harmony, on the grid."""

    stem: str  # song stem, the unit of the split
    analyst: str  # whose harmonisation ('dt' or 'tdc' in the Rock Corpus; '' elsewhere)
    events: np.ndarray  # int64 [T]
    conditioning: np.ndarray  # float32 [T, C]
    # int64 [T]: the echo input of each step (the event at the aligned step of the passage it
    # echoes in the form the harmony implies, music21_melgen.form.echo_inputs), V = no echo;
    # None for MelGen's tokens
    reference: np.ndarray | None = None
    corpus: str = "rock"  # the source's kind: 'rock', 'pop909' or 'scores' (training.sources)

    @property
    def name(self) -> str:
        """``stem_analyst`` in the Rock Corpus; ``corpus/stem`` (``_analyst`` if any) elsewhere."""
        base = self.stem if self.corpus == "rock" else f"{self.corpus}/{self.stem}"
        return f"{base}_{self.analyst}" if self.analyst else base

    @property
    def split(self) -> str:
        return split_of(self.stem, self.corpus)


@dataclass
class EncodedCorpus:
    """Encoded sequences, the data hash and what was left out (reason → names)."""

    songs: list[EncodedSong]
    data_hash: str  # the source files (files_hash): the same files read by other code give other data
    skipped: dict[str, list[str]] = field(default_factory=dict)
    sources: list[dict] = field(default_factory=list)  # per source: corpus, folder, data_hash, sequences

    def sequences_hash(self) -> str:
        """sha256 over every sequence's name, dtypes, shapes and bytes: what training actually sees."""
        digest = hashlib.sha256()
        for song in self.songs:
            digest.update(song.name.encode("utf-8") + b"\0")
            for array in (song.events, song.conditioning):
                digest.update(f"{array.dtype}{array.shape}".encode("ascii") + array.tobytes())
        return digest.hexdigest()

    def by_split(self) -> dict[str, list[EncodedSong]]:
        """Sequences grouped into 'train', 'validation', 'test'."""
        groups: dict[str, list[EncodedSong]] = {"train": [], "validation": [], "test": []}
        for song in self.songs:
            groups[song.split].append(song)
        return groups


def sung_part(
    timeline: ChordTimeline, notes: tuple[MelodyNote, ...], sounding_measures: np.ndarray
) -> tuple[ChordTimeline, tuple[MelodyNote, ...]]:
    """The measures from the first to the last one where the melody sounds.

    ``sounding_measures``: index into ``timeline.measures`` of every grid step
    where a note sounds. Chords and notes are clipped to those measures.
    """
    inside = sounding_measures[sounding_measures >= 0]
    if not len(inside):
        return timeline, notes
    measures = timeline.measures[int(inside.min()) : int(inside.max()) + 1]
    start, end = measures[0].offset, measures[-1].offset + measures[-1].length
    chords = tuple(
        replace(chord, offset=max(chord.offset, start), length=min(chord.end, end) - max(chord.offset, start))
        for chord in timeline.chords
        if chord.offset < end and chord.end > start
    )
    kept = tuple(
        replace(note, length=min(note.end, end) - note.offset) for note in notes if start <= note.offset < end
    )
    return ChordTimeline(chords, measures, timeline.key_estimated), kept


def sung_song(
    timeline: ChordTimeline, notes: tuple[MelodyNote, ...], representation: Representation
) -> tuple[ChordTimeline, tuple[MelodyNote, ...]]:
    """:func:`sung_part` of a song, the sounding measures found on ``representation``'s grid.

    ScoreError when the grid cannot hold the song.
    """
    encoded = representation.encode_timeline(timeline)
    events = representation.encode_melody(encoded, notes)
    return sung_part(timeline, notes, encoded.grid.measure_index[events != REST])


def files_hash(root: str | Path, files: Iterable[Path]) -> str:
    """sha256 over the names (relative to ``root``) and bytes of ``files``, in sorted order."""
    base = Path(root)
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(base).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def corpus_hash(folder: str | Path) -> str:
    """sha256 over the names and bytes of the corpus's ``har/*.har`` and ``mel/*.mel``."""
    root = Path(folder)
    return files_hash(root, [*root.glob("har/*.har"), *root.glob("mel/*.mel")])


def _source_hash(read: SourceRead) -> str:
    """A Rock Corpus: :func:`corpus_hash` (every file); other sources: the files read."""
    folder = read.source.folder
    if read.source.corpus == "rock" and any(folder.glob("har/*.har")):
        return corpus_hash(folder)
    return files_hash(folder, read.files)


def load_corpus(
    folder: SourceLike | Sequence[SourceLike],
    representation: Representation,
    *,
    stems: set[str] | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> EncodedCorpus:
    """Encode the songs of one source or several (Rock Corpus, POP909, score folders, any mix).

    Every Rock Corpus song with a melody gives a sequence under each analyst's
    harmony. ``stems`` limits the songs read in every source (tests use a
    few); ``limit`` keeps the first ``limit`` songs of each source. Prints what
    was read and what was skipped and why through ``log``. The data hash is
    the one source's hash, or for several, the hash of their hashes in order.
    """
    folders = [folder] if isinstance(folder, (str, os.PathLike, Source)) else list(folder)
    if not folders:
        raise MelgenError("no training data: give at least one corpus or score folder")
    sources = [as_source(item) for item in folders]
    skipped: dict[str, list[str]] = defaultdict(list)
    songs: list[EncodedSong] = []
    records: list[dict] = []
    for source in sources:
        started = time.perf_counter()
        read = read_source(source, stems=stems, limit=limit)
        for name, reason in read.skipped:
            shown = name if source.corpus == "rock" else f"{source.corpus}/{name}"
            skipped[reason_kind(reason)].append(shown)
        count = len(songs)
        for song in read.songs:
            encoded = _encode(song.corpus, song.stem, song.variant, song.timeline, song.notes, representation)
            if isinstance(encoded, EncodedSong):
                songs.append(encoded)
            else:
                shown = song.name if source.corpus == "rock" else f"{source.corpus}/{song.name}"
                skipped[encoded].append(shown)
        added = len(songs) - count
        records.append(
            {"corpus": source.corpus, "folder": str(source.folder), "data_hash": _source_hash(read), "sequences": added}
        )
        log(f"{source}: {added} sequences from {len(read.songs)} songs in {time.perf_counter() - started:.1f} s")
    kept_stems = {(s.corpus, s.stem) for s in songs}
    log(f"corpus: {len(songs)} sequences from {len(kept_stems)} songs")
    for reason, names in sorted(skipped.items()):
        log(f"skipped {len(names)} sequences, {reason}: {', '.join(sorted(names))}")
    if len(records) == 1:
        data_hash = records[0]["data_hash"]
    else:
        data_hash = hashlib.sha256(
            "".join(f"{r['corpus']}:{r['data_hash']}\n" for r in records).encode("ascii")
        ).hexdigest()
    return EncodedCorpus(songs, data_hash, dict(skipped), records)


def _encode(
    corpus: str,
    stem: str,
    variant: str,
    timeline: ChordTimeline,
    notes: tuple[MelodyNote, ...],
    representation: Representation,
) -> EncodedSong | str:
    """The song's sung part encoded with its echo inputs, or the reason it cannot be."""
    try:
        if not isinstance(representation, Representation):  # the seed's MelGen tokens: encode() is the sequence
            return EncodedSong(stem, variant, *representation.encode(timeline, notes), corpus=corpus)
        timeline, notes = sung_song(timeline, notes, representation)
        events, conditioning, reference = representation.encode_with_echoes(timeline, notes)
    except ScoreError as error:
        return "a meter the grid cannot hold" if "grid" in str(error) else "unusable harmony"
    return EncodedSong(stem, variant, events, conditioning, reference, corpus)
