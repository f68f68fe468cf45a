"""The training data: Rock Corpus songs as encoded event and conditioning arrays.

Each song of the corpus gives up to two training sequences, one per analyst's
harmonisation (``dt``, ``tdc``) over the same melody. The corpus readers
give each a :class:`~music21_melgen.timeline.ChordTimeline` plus
:class:`~music21_melgen.timeline.MelodyNote` values
(``SongData.timeline``, ``SongData.notes``), the very timeline
``melgen generate song.har`` reads from the converter's score, and the
representation encodes it. Sequences that cannot be used are counted
by reason and reported, never dropped silently: songs with no melody notes,
and measures the grid cannot hold.

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
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from music21_melgen.corpus_adapters.song import beat_length
from music21_melgen.training.split import split_of

from music21_melgen.encoding import REST, Representation
from music21_melgen.errors import MelgenError, ScoreError
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "ANALYSTS",
    "EncodedSong",
    "EncodedCorpus",
    "beat_length",
    "sung_part",
    "corpus_hash",
    "load_corpus",
]

ANALYSTS = ("dt", "tdc")


@dataclass(frozen=True)
class EncodedSong:
    """One training sequence: a melody over one analyst's harmony, on the grid."""

    stem: str  # song stem, the unit of the split
    analyst: str  # whose harmonisation ('dt' or 'tdc')
    events: np.ndarray  # int64 [T]
    conditioning: np.ndarray  # float32 [T, C]
    # int64 [T]: the echo input of each step (the event at the aligned step of the passage it
    # echoes in the form the harmony implies, music21_melgen.form.echo_inputs), V = no echo;
    # None for MelGen's tokens
    reference: np.ndarray | None = None

    @property
    def split(self) -> str:
        return split_of(self.stem)


@dataclass
class EncodedCorpus:
    """Encoded sequences, the corpus hash and what was left out (reason → names)."""

    songs: list[EncodedSong]
    data_hash: str  # the corpus files (corpus_hash): the same files read by other code give other data
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def sequences_hash(self) -> str:
        """sha256 over every sequence's name, dtypes, shapes and bytes: what training actually sees."""
        digest = hashlib.sha256()
        for song in self.songs:
            digest.update(f"{song.stem}_{song.analyst}".encode("utf-8") + b"\0")
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


def corpus_hash(folder: str | Path) -> str:
    """sha256 over the names and bytes of the corpus's ``har/*.har`` and ``mel/*.mel``."""
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted([*root.glob("har/*.har"), *root.glob("mel/*.mel")]):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_corpus(
    folder: str | Path,
    representation: Representation,
    *,
    stems: set[str] | None = None,
    log: Callable[[str], None] = print,
) -> EncodedCorpus:
    """Encode every song with a melody under both analysts' harmonies.

    ``stems`` limits the songs read (tests use a few). Prints what was skipped
    and why through ``log``.
    """
    from music21_melgen.corpus_adapters.corpus import iter_songs, load_corpus_song

    skipped: dict[str, list[str]] = defaultdict(list)
    songs: list[EncodedSong] = []
    for song in iter_songs(folder):
        stem = song.stem
        if stems is not None and stem not in stems:
            continue
        for analyst in ANALYSTS:
            name = f"{stem}_{analyst}"
            try:
                data = load_corpus_song(song, analyst)
            except MelgenError as error:
                skipped[f"unreadable ({type(error).__name__})"].append(name)
                continue
            if data is None or not data.notes:
                skipped["no melody notes"].append(name)
                continue
            try:
                timeline, notes = data.timeline, data.notes
                if not isinstance(representation, Representation):  # the seed's MelGen tokens: encode() is the sequence
                    songs.append(EncodedSong(stem, analyst, *representation.encode(timeline, notes)))
                    continue
                encoded = representation.encode_timeline(timeline)
                events = representation.encode_melody(encoded, notes)
                timeline, notes = sung_part(timeline, notes, encoded.grid.measure_index[events != REST])
                events, conditioning, reference = representation.encode_with_echoes(timeline, notes)
            except ScoreError as error:
                reason = "a meter the grid cannot hold" if "grid" in str(error) else "unusable harmony"
                skipped[reason].append(name)
                continue
            songs.append(EncodedSong(stem, analyst, events, conditioning, reference))
    kept_stems = {s.stem for s in songs}
    log(f"corpus: {len(songs)} sequences from {len(kept_stems)} songs")
    for reason, names in sorted(skipped.items()):
        log(f"skipped {len(names)} sequences, {reason}: {', '.join(sorted(names))}")
    return EncodedCorpus(songs, corpus_hash(folder), dict(skipped))
