"""The evaluation: generated melodies set beside real ones, model against model.

One run takes a set of songs with real melodies (the held-out songs of a
corpus, Rock Corpus or POP909, or any folder of scores that carry chords and
a melody, all read by :mod:`music21_melgen.training.sources`), writes a
melody over each song's real chords with every model, measures everything
with :mod:`music21_melgen.training.metrics`, and reports rows:

* ``real`` — the songs' own melodies, the reference;
* one row per model (``default``, ``melgen2019``, or checkpoint folders), sampled
  with the model's recommended settings (its checkpoint's ``sampling``
  object, as the engine does), the first model's overridden by ``controls``;
* for each model sampled with continuation reduction, the same model with it
  switched off (``…, no CR``), which shows what that trick of the original
  MelGen does to stuck notes (a model sampled without it has no such row).

Every row uses the same songs; song ``i`` is sampled with seed ``seed + i``
in every row, so a run is repeatable. Each model also gets its loss on the
real melodies in bits per grid step (comparable only between models of one
representation). The report is a table (:func:`format_table`), a JSON file
and PNG plots of the three histograms, real against each row
(:func:`write_report`).

Score folders: the melody of a score is its *melody part*
(:func:`music21_melgen.training.sources.melody_from_score`), the chords those
:func:`~music21_melgen.score_harmony.timeline_from_score` reads.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from music21_melgen.errors import MelgenError, ScoreError
from music21_melgen.timeline import ChordTimeline, MelodyNote
from music21_melgen.training.form_metrics import form_measures, mean_form
from music21_melgen.training.metrics import HISTOGRAMS, MelodyCounts, count_melody, overlap
from music21_melgen.training.sources import SCORE_EXTENSIONS, melody_from_score

__all__ = [
    "DEFAULT_MODELS",
    "SCORE_EXTENSIONS",
    "METRIC_LABELS",
    "EvalSong",
    "Row",
    "Goal",
    "Evaluation",
    "SongSet",
    "corpus_songs",
    "melody_from_score",
    "score_songs",
    "evaluate",
    "overlaps",
]

DEFAULT_MODELS = ("default", "melgen2019")  # the rows of a run when no --model is given

# Table and JSON names of the metrics, in the order the table prints them.
METRIC_LABELS: dict[str, str] = {
    "chord_tone_ratio": "chord-tone ratio, all notes",
    "chord_tone_ratio_beats": "chord-tone ratio, notes on beats",
    "notes_per_bar": "notes per bar",
    "rest_share": "rest share (of duration)",
    "stuck_share": "stuck share (notes > 1 bar)",
    "longest_note_bars": "longest note (bars, song mean)",
    "pitch_range": "pitch range (semitones, song mean)",
    "mean_abs_interval": "mean absolute interval (semitones)",
    "stepwise_share": "stepwise intervals (1-2 semitones)",
}
OVERLAP_LABELS: dict[str, str] = {
    "pitch_class": "overlap: key-relative pitch class",
    "length": "overlap: note length",
    "interval": "overlap: melodic interval",
}
NO_CR = ", no CR"  # suffix of the rows without continuation reduction


@dataclass(frozen=True)
class EvalSong:
    """One song to evaluate on: its chords and its real melody."""

    name: str  # corpus stem or score file name
    timeline: ChordTimeline
    notes: tuple[MelodyNote, ...]


@dataclass
class Row:
    """One row of the report: the real melodies, or one model under one setting."""

    label: str  # 'real', 'default', 'default, no CR', ...
    counts: MelodyCounts
    model: str | None = None  # bundled name or checkpoint folder; None for 'real'
    representation: str | None = None  # the model's representation name
    weights_sha256: str | None = None  # the model's content hash: which weights were measured
    controls: dict[str, Any] | None = None  # the sampling controls (seed = base seed)
    bits_per_step: float | None = None  # loss on the real melodies, bits per grid step
    seconds: float = 0.0  # wall-clock time of the row's generation
    form: dict[str, float | None] = field(default_factory=dict)  # song means of the form measures

    def to_json(self, reference: MelodyCounts | None) -> dict[str, Any]:
        data = {
            "label": self.label,
            "model": self.model,
            "representation": self.representation,
            "weights_sha256": self.weights_sha256,
            "controls": self.controls,
            "bits_per_step": self.bits_per_step,
            "seconds": round(self.seconds, 3),
            **self.counts.to_json(),
            "form": self.form,
        }
        if reference is not None:
            data["overlaps"] = overlaps(reference, self.counts)
        return data


@dataclass(frozen=True)
class Goal:
    """One goal of the model under test, and whether this run meets it."""

    text: str
    met: bool
    detail: str


@dataclass
class Evaluation:
    """A whole run: the rows, the songs used, and how they were chosen."""

    source: str  # 'Rock Corpus <dir>, split test, sung part', 'POP909 <dir>, ...' or 'scores in <dir>'
    seed: int
    songs: list[str]
    rows: list[Row]
    skipped: list[str] = field(default_factory=list)  # 'name: reason'
    command: str = ""

    @property
    def reference(self) -> Row:
        """The row of the real melodies."""
        return self.rows[0]

    def row(self, label: str) -> Row:
        """The row called ``label``; KeyError if there is none."""
        for row in self.rows:
            if row.label == label:
                return row
        raise KeyError(label)

    def to_json(self) -> dict[str, Any]:
        """The run as JSON data (``report.evaluation_json`` adds the goals)."""
        reference = self.reference.counts
        return {
            "command": self.command,
            "source": self.source,
            "seed": self.seed,
            "songs": self.songs,
            "skipped": self.skipped,
            "histogram_bins": {name: list(labels) for name, labels in HISTOGRAMS.items()},
            "rows": [
                row.to_json(None if index == 0 else reference) for index, row in enumerate(self.rows)
            ],
        }


def overlaps(reference: MelodyCounts, counts: MelodyCounts) -> dict[str, float]:
    """Overlap of each histogram of ``counts`` with the reference's (1.0 = identical)."""
    return {name: overlap(reference.histograms[name], counts.histograms[name]) for name in HISTOGRAMS}


@dataclass
class SongSet:
    """Songs to evaluate on, where they came from, and those left out (``'name: reason'``)."""

    songs: list[EvalSong]
    source: str
    skipped: list[str] = field(default_factory=list)


# --- songs from the corpus -----------------------------------------------------------


def corpus_songs(
    corpus: str | os.PathLike,
    *,
    split: str = "test",
    analysts: Sequence[str] = ("dt", "tdc"),
    limit: int | None = None,
    whole_songs: bool = False,
) -> SongSet:
    """The songs of one split (``train``, ``validation``, ``test``, ``all``) of a corpus folder.

    The folder is a Rock Corpus or POP909 (or scores), told by what it holds
    (:func:`music21_melgen.training.sources.detect_source`). Each Rock Corpus
    song gives one entry per harmony analyst in ``analysts`` (``stem_dt``,
    ``stem_tdc``) over its one melody; other corpora one entry per song. Every
    song is cut to its sung part (from the measure of the first melody note to
    that of the last, :func:`music21_melgen.training.dataset.sung_part`) as in
    training, so the loss here matches the test loss of ``melgen train``;
    ``whole_songs=True`` keeps the instrumental intro and outro. ``limit``
    keeps the first songs (by stem). Songs that cannot be read, have no
    melody notes, or have measures the grid cannot hold are left out and
    listed in ``skipped``.
    """
    from music21_melgen.encoding import ChordGridRepresentation
    from music21_melgen.training.dataset import sung_song
    from music21_melgen.training.sources import CORPUS_NAMES, as_source, read_source

    source = as_source(corpus)
    read = read_source(source, split, analysts=analysts, limit=limit)
    cut = "whole songs" if whole_songs else "sung part"
    result = SongSet([], f"{CORPUS_NAMES[source.corpus]} {corpus}, split {split}, {cut}")
    result.skipped = [f"{name}: {reason}" for name, reason in read.skipped]
    grid = ChordGridRepresentation()  # lays notes on steps to find the sung measures
    for song in read.songs:
        timeline, notes = song.timeline, song.notes
        if not whole_songs:
            try:
                timeline, notes = sung_song(timeline, notes, grid)
            except ScoreError as error:
                result.skipped.append(f"{song.name}: {error}")
                continue
        result.songs.append(EvalSong(song.name, timeline, notes))
    return result


# --- songs from scores ---------------------------------------------------------------


def score_songs(folder: str | os.PathLike, *, split: str = "all", limit: int | None = None) -> SongSet:
    """The scores in ``folder`` (files ending in :data:`SCORE_EXTENSIONS`), sorted by name, whole.

    ``split`` (``train``, ``validation``, ``test``; default ``all``) keeps the
    songs of that split (key ``scores/<file stem>``, a tune of an ABC book
    ``scores/<file stem>/<X: number>``). ScoreError names the file when one
    cannot be read or has no melody part; a tune of a book that cannot be
    used is left out and listed in ``skipped``.
    """
    from music21_melgen.training.sources import Source, read_source

    root = Path(folder)
    if not root.is_dir():
        raise ScoreError(f"{root}: no such folder of scores")
    if not any(p.is_file() and p.suffix.lower() in SCORE_EXTENSIONS for p in root.iterdir()):
        raise ScoreError(f"{root}: no scores found (looked for {' '.join(SCORE_EXTENSIONS)})")
    read = read_source(Source("scores", root), split, limit=limit)
    where = f"scores in {root}" + ("" if split == "all" else f", split {split}")
    return SongSet(
        [EvalSong(song.name, song.timeline, song.notes) for song in read.songs],
        where,
        [f"{name}: {reason}" for name, reason in read.skipped],
    )


# --- the run --------------------------------------------------------------------------


def _model_labels(models: Sequence[str | os.PathLike]) -> list[str]:
    """Row labels: a bundled name as it is, a checkpoint by its folder name (made unique)."""
    from music21_melgen.checkpoint import resolve_model

    labels: list[str] = []
    for model in models:
        label = resolve_model(model)[1]
        label = label or str(model)
        while label in labels or label == "real":
            label += "'"
        labels.append(label)
    return labels


def _bits_per_step(loaded: Any, songs: Sequence[EvalSong]) -> float:
    """Loss on the real melodies, pooled over grid steps (bits per step)."""
    total_bits = 0.0
    total_steps = 0
    for song in songs:
        steps = loaded.representation.grid(song.timeline).length
        total_bits += -loaded.log_likelihood(song.timeline, song.notes) * steps
        total_steps += steps
    return total_bits / total_steps if total_steps else 0.0


def _usable(songs: Sequence[EvalSong], models: Sequence[Any]) -> tuple[list[EvalSong], list[str]]:
    """Songs every model can lay on its grid, and the reasons the others cannot."""
    kept, skipped = [], []
    for song in songs:
        try:
            for loaded in models:
                loaded.representation.grid(song.timeline)
        except MelgenError as error:
            skipped.append(f"{song.name}: {error}")
            continue
        if not song.notes:
            skipped.append(f"{song.name}: the real melody has no notes")
            continue
        kept.append(song)
    return kept, skipped


def evaluate(
    songs: SongSet | Sequence[EvalSong],
    models: Sequence[str | os.PathLike] = DEFAULT_MODELS,
    *,
    seed: int = 0,
    controls: dict[str, Any] | None = None,
    command: str = "",
    progress: Callable[[str], None] | None = None,
    loss: bool = True,
) -> Evaluation:
    """Generate over every song with every model, measure, and gather the rows.

    ``songs``: a :class:`SongSet` (:func:`corpus_songs`, :func:`score_songs`)
    or a plain list of :class:`EvalSong`. Songs some model cannot lay on its
    grid are left out of every row and listed in ``Evaluation.skipped``.

    ``controls`` are sampling settings (``temperature``, ``top_p``,
    ``chord_tone_weight``, ...; see :class:`~music21_melgen.sampling.SamplingControls`)
    for the **first** model, the one under test, over its recommended ones;
    the others sample with their own recommendation (as the engine does).
    ``progress`` receives one line per finished row. ``loss=False`` skips
    each model's loss pass over the real melodies (``bits_per_step`` None),
    for runs that read only the note statistics (:mod:`music21_melgen.training.sampling_sweep`).
    Models are loaded once per process (:func:`music21_melgen.engine.load_model`).
    """
    from music21_melgen.engine import load_model
    from music21_melgen.sampling import SamplingControls, generate_melody

    if not models:
        raise MelgenError("evaluate needs at least one model")
    song_set = songs if isinstance(songs, SongSet) else SongSet(list(songs), "songs given")
    loaded_models = [load_model(model) for model in models]
    kept, skipped = _usable(song_set.songs, loaded_models)
    skipped = [*song_set.skipped, *skipped]
    if not kept:
        reasons = "; ".join(skipped[:3])
        raise ScoreError(f"no song can be evaluated{': ' + reasons if reasons else ''}")
    real_form = mean_form([form_measures(s.notes, s.timeline) for s in kept])
    rows = [Row("real", sum((count_melody(s.notes, s.timeline) for s in kept), MelodyCounts()), form=real_form)]
    if progress:
        progress(f"real: {len(kept)} songs, {rows[0].counts.notes} notes")
    generated: list[Row] = []
    for index, (model, loaded, label) in enumerate(zip(models, loaded_models, _model_labels(models))):
        base = SamplingControls.for_model(loaded, **(controls or {}) if index == 0 else {})
        bits = _bits_per_step(loaded, kept) if loss else None
        settings = [("", base)]
        if base.continuation_reduction is not None:
            settings.append((NO_CR, dataclasses.replace(base, continuation_reduction=None)))
        for suffix, setting in settings:
            started = time.perf_counter()
            counts = MelodyCounts()
            per_song = []
            for number, song in enumerate(kept):
                melody = generate_melody(
                    loaded, song.timeline, dataclasses.replace(setting, seed=seed + number)
                )
                counts = counts + count_melody(melody.notes, song.timeline)
                per_song.append(form_measures(melody.notes, song.timeline))
            row = Row(
                label + suffix,
                counts,
                model=str(model),
                representation=getattr(loaded.representation, "name", None),
                weights_sha256=getattr(loaded, "content_hash", None) or None,
                controls=_controls_json(dataclasses.replace(setting, seed=seed)),
                bits_per_step=bits,
                seconds=time.perf_counter() - started,
                form=mean_form(per_song),
            )
            generated.append(row)
            if progress:
                progress(f"{row.label}: {counts.notes} notes in {row.seconds:.1f} s")
    # Rows with continuation reduction first, then those without.
    rows += [row for row in generated if not row.label.endswith(NO_CR)]
    rows += [row for row in generated if row.label.endswith(NO_CR)]
    return Evaluation(song_set.source, seed, [song.name for song in kept], rows, skipped, command)


def _controls_json(controls: Any) -> dict[str, Any]:
    from music21_melgen.sampling import controls_to_json

    return controls_to_json(controls)
