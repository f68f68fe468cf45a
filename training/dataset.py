"""The training data: Rock Corpus songs as encoded event and conditioning arrays.

Each song of the corpus gives up to two training sequences, one per analyst's
harmonisation (``dt``, ``tdc``) over the same melody. A song read by
``corpus_adapters`` (``SongData``, quarter lengths) becomes a
:class:`~music21_melgen.timeline.ChordTimeline` plus
:class:`~music21_melgen.timeline.MelodyNote` values (:func:`song_timeline`),
then the representation encodes it. Sequences that cannot be used are counted
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
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np

from music21_melgen.encoding import REST, Representation
from music21_melgen.errors import MelgenError, ScoreError
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
from music21_melgen.training.split import split_of

__all__ = [
    "ANALYSTS",
    "EncodedSong",
    "EncodedCorpus",
    "beat_length",
    "song_timeline",
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

    @property
    def split(self) -> str:
        return split_of(self.stem)


@dataclass
class EncodedCorpus:
    """Encoded sequences, the corpus hash and what was left out (reason → names)."""

    songs: list[EncodedSong]
    data_hash: str
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def by_split(self) -> dict[str, list[EncodedSong]]:
        """Sequences grouped into 'train', 'validation', 'test'."""
        groups: dict[str, list[EncodedSong]] = {"train": [], "validation": [], "test": []}
        for song in self.songs:
            groups[song.split].append(song)
        return groups


def beat_length(time_signature: str) -> Fraction:
    """Quarter lengths of one beat: compound meters (6/8, 9/8, 12/8) beat in dotted quarters.

    >>> beat_length('4/4'), beat_length('12/8'), beat_length('7/8'), beat_length('3/8')
    (Fraction(1, 1), Fraction(3, 2), Fraction(1, 2), Fraction(1, 2))
    """
    try:
        numerator, denominator = (int(part) for part in time_signature.split("/"))
    except (AttributeError, ValueError):
        raise ScoreError(f"not a time signature: {time_signature!r}") from None
    if numerator < 1 or denominator < 1:
        raise ScoreError(f"not a time signature: {time_signature!r}")
    if denominator == 8 and numerator % 3 == 0 and numerator > 3:
        return Fraction(3, 2)
    return Fraction(4, denominator)


def song_timeline(song: Any) -> tuple[ChordTimeline, tuple[MelodyNote, ...]]:
    """A corpus ``SongData`` as a chord timeline and its melody notes."""
    measures = []
    for measure in song.measures:
        signature = measure.time_signature
        if not signature:
            raise ScoreError(f"measure {measure.number}: unmetered, a meter the grid cannot hold")
        measures.append(
            MeasureSpan(
                measure.number,
                Fraction(measure.offset),
                Fraction(measure.length),
                signature,
                beat_length(signature),
            )
        )
    chords = tuple(
        ChordSpan(
            Fraction(chord.offset),
            Fraction(chord.length),
            chord.root,
            frozenset(chord.pitch_classes),
            chord.key_tonic,
            chord.mode,
            chord.measure,
            chord.symbol,
        )
        for chord in song.chords
    )
    notes = tuple(MelodyNote(Fraction(n.offset), Fraction(n.length), n.midi) for n in song.notes)
    return ChordTimeline(chords, tuple(measures)), notes


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
                timeline, notes = song_timeline(data)
                if not isinstance(representation, Representation):  # the seed's MelGen tokens: encode() is the sequence
                    songs.append(EncodedSong(stem, analyst, *representation.encode(timeline, notes)))
                    continue
                encoded = representation.encode_timeline(timeline)
                events = representation.encode_melody(encoded, notes)
                timeline, notes = sung_part(timeline, notes, encoded.grid.measure_index[events != REST])
                events, conditioning = representation.encode(timeline, notes)
            except ScoreError as error:
                reason = "a meter the grid cannot hold" if "grid" in str(error) else "unusable harmony"
                skipped[reason].append(name)
                continue
            songs.append(EncodedSong(stem, analyst, events, conditioning))
    kept_stems = {s.stem for s in songs}
    log(f"corpus: {len(songs)} sequences from {len(kept_stems)} songs")
    for reason, names in sorted(skipped.items()):
        log(f"skipped {len(names)} sequences, {reason}: {', '.join(sorted(names))}")
    return EncodedCorpus(songs, corpus_hash(folder), dict(skipped))
