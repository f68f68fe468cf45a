"""Score in, melody part out: the orchestration of music21-melgen, and its model cache.

``generate`` runs the whole path on a music21 score: the chord timeline
(:mod:`~music21_melgen.score_harmony`) → the melody model
(:mod:`~music21_melgen.checkpoint`, loaded once per process and cached here,
keyed on the checkpoint's resolved folder) → sampling
(:mod:`~music21_melgen.sampling`) → notation (:mod:`~music21_melgen.notation`)
→ the new part in the score. ``generate_file`` does the same from a file to a
file: it reads with :mod:`~music21_melgen.reading` (bounded, never from
music21's pickle cache), never touches the input, and writes atomically: a
MusicXML input as the user's document plus the melody's part
(:mod:`~music21_melgen.musicxml_merge`), a MIDI input as its tracks plus a
melody track or as MusicXML (:mod:`~music21_melgen.midi_musicxml`), anything
else through :func:`music21_melgen.files.write_score` (MusicXML valid against
the MusicXML 4.0 schema, equal bytes for equal music).

Torch is imported only when a model is first loaded.
"""

from __future__ import annotations

import copy
import os
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from music21 import key, stream

from music21_melgen.atomic import atomic_write
from music21_melgen.errors import (
    GenerationError,
    ModelError,
    OutputError,
    ScoreError,
)
from music21_melgen.files import (
    OUTPUT_FORMATS,
    SCHEMA_KINDS,  # noqa: F401  (re-exported: engine.SCHEMA_KINDS)
    _check_writable,
    _mxl_bytes,
    musicxml_bytes,
    write_score,
)
from music21_melgen.midi_io import midi_with_melody
from music21_melgen.midi_musicxml import parts_musicxml
from music21_melgen.musicxml_merge import (
    MAX_UNPACKED_BYTES,
    ChordMark,
    is_partwise,
    merged_musicxml,
    with_chord_names,
)
from music21_melgen.network import MelodyModel
from music21_melgen.notation import DEFAULT_PART_NAME, key_for, melody_part
from music21_melgen.parts import melody_of, part_roles, parts_of
from music21_melgen.reading import check_input, read_score, read_source
from music21_melgen.form import Form
from music21_melgen.sampling import (
    CONTROLS,
    MODEL_DEFAULT,
    SamplingControls,
    generate_melody,
    resolve_form,
)
from music21_melgen.score_harmony import (
    ScoreTimeline,
    describe_score,
    timeline_from_score,
)
from music21_melgen.timeline import ChordTimeline, MelodyNote

__all__ = [
    "MODEL_DEFAULT",
    "OUTPUT_FORMATS",
    "SAMPLING_CONTROLS",
    "GenerateResult",
    "KeyEstimatedWarning",
    "chords",
    "form",
    "generate",
    "generate_file",
    "load_model",
    "melody_notes",
    "musicxml_bytes",
    "read_score",
    "write_score",
]

# Keywords of ``generate`` / ``generate_file`` that set sampling controls (besides ``seed``):
# the one list, sampling.CONTROLS.
SAMPLING_CONTROLS = CONTROLS

class KeyEstimatedWarning(UserWarning):
    """The score has no written key; the one music21's analysis estimated was used."""


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate_file`` did: files, seed, model, timing and the melody's vital signs."""

    input: Path
    output: Path
    seed: int
    model: str  # the model's name ('default', 'melgen2019', a folder name)
    model_hash: str  # sha256 of the model's weights file
    seconds: float  # wall time for read + generate + write
    key: str  # the key of the first chord, e.g. 'Eb major'
    key_estimated: bool  # True when the score had no written key
    measures: int
    notes: int
    log_likelihood: float  # mean log2-probability per generated step (bits)
    # Passages that echoed earlier ones: (first, last, echoed first, echoed last) measure numbers.
    echoes: tuple[tuple[int, int, int, int], ...] = ()


def _echoes(form: Form) -> tuple[tuple[int, int, int, int], ...]:
    numbers = form.measure_numbers
    return tuple(
        (numbers[p.first], numbers[p.last], numbers[p.echoes[0]], numbers[p.echoes[1]])
        for p in form.passages
        if p.echoes is not None
    )


# --- the model cache --------------------------------------------------------------------

_MODELS: dict[tuple[str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def load_model(model: str | os.PathLike | Any = "default") -> Any:
    """The melody model for a bundled name or checkpoint folder, loaded once per process (cached).

    The cache is keyed on the resolved folder and the modification time of its
    files, so a retrained checkpoint in the same folder is read again. An
    already loaded model object passes through.
    """
    from music21_melgen import checkpoint

    if not isinstance(model, (str, os.PathLike)):
        if isinstance(model, MelodyModel):
            return model
        raise ModelError(
            f"model must be a bundled name ({', '.join(checkpoint.BUNDLED_MODELS)}), a checkpoint folder "
            f"or a loaded model, got {type(model).__name__}"
        )
    folder, name = checkpoint.resolve_model(model)
    folder = folder.expanduser().resolve()
    stamp = max((f.stat().st_mtime_ns for f in folder.glob("*") if f.is_file()), default=0)
    cache_key = (str(folder), stamp)
    with _MODELS_LOCK:
        if cache_key not in _MODELS:
            bundled = name in checkpoint.BUNDLED_MODELS and folder == (checkpoint.MODELS_DIR / name).resolve()
            _MODELS[cache_key] = checkpoint.load_model(name if bundled else folder)
        return _MODELS[cache_key]


# --- reading ----------------------------------------------------------------------------


def melody_notes(melody: stream.Stream | str | os.PathLike | Sequence[MelodyNote]) -> tuple[MelodyNote, ...]:
    """A primer melody as :class:`MelodyNote` values, offsets from its own start.

    Takes a stream, a file music21 reads (MIDI, MusicXML, ...) or MelodyNotes.
    The melody of a stream is its melody part by the one rule of
    :func:`music21_melgen.parts.part_roles` (the highest mostly monophonic
    part; a lone line is one); chords give their top note, and tied notes
    merge by MIDI pitch (:func:`music21_melgen.parts.melody_of`).
    """
    if isinstance(melody, (str, os.PathLike)):
        check_input(Path(melody), "the primer ")
        melody = read_score(melody)
    if not isinstance(melody, stream.Stream):
        notes = tuple(melody)
        if not all(isinstance(n, MelodyNote) for n in notes):
            raise GenerationError("a primer must be a stream, a file or a sequence of MelodyNote")
        return notes
    roles = part_roles(melody)
    if roles.melody is None:
        found = "no melody part (its highest part is chords)" if roles.accompaniment else "no pitched notes"
        raise GenerationError(f"{describe_score(melody)}: the primer has {found}")
    return melody_of(parts_of(melody)[roles.melody])


# --- generating -------------------------------------------------------------------------


def chords(score: stream.Stream, *, chord_parts: Sequence[int | str] | None = None) -> ScoreTimeline:
    """The chord timeline ``generate`` would read from ``score`` (print it to check it)."""
    return timeline_from_score(score, chord_parts=chord_parts)


def form(
    score: stream.Stream,
    *,
    form: Form | str | None = "auto",
    chord_parts: Sequence[int | str] | None = None,
    echo_harmony: str = "chords",
) -> Form:
    """The passages of ``score`` and which earlier ones they echo (print it for a table).

    ``form``: ``"auto"`` finds them in the harmony (repeated chords at the same
    beats for at least two measures, in the key of the moment; with
    ``echo_harmony="roots"``, as the ``pop`` model samples, also repeated chord
    roots); letters (``"AABA"``) cut the measures into equal phrases; None:
    every passage new.
    """
    timeline = timeline_from_score(score, chord_parts=chord_parts)
    return resolve_form(timeline, form, echo_harmony=echo_harmony)


def generate(
    score: stream.Stream,
    *,
    seed: int = 0,
    primer: stream.Stream | str | os.PathLike | Sequence[MelodyNote] | None = None,
    model: str | os.PathLike | Any = "default",
    chord_parts: Sequence[int | str] | None = None,
    part_name: str = DEFAULT_PART_NAME,
    inPlace: bool = True,
    form: Form | str | None = "auto",
    **controls: Any,
) -> stream.Part | stream.Score:
    """Write a melody over the chords of ``score`` and put it in as a new part.

    ``inPlace=True`` (music21's convention): the new ``Part`` goes into
    ``score`` itself, as its top part, and is returned; nothing is copied.
    ``inPlace=False``: ``score`` is left alone and a new ``Score`` is returned
    (a copy holding the melody as its first part, ``new_score.parts[0]``), as
    music21's transformers do. A ``Part`` or other non-score stream can only be
    used with ``inPlace=False`` (the result is a new Score of the stream plus
    the melody).

    ``seed``: the random seed (same seed, same notes). ``controls``: the
    sampling controls by name (:data:`~music21_melgen.sampling.CONTROLS`, each
    documented with its unit and direction on
    :class:`~music21_melgen.sampling.SamplingControls`): ``temperature``,
    ``top_p``, ``chord_tone_weight``, ``continuation_reduction``,
    ``candidates``, ``pitch_range``, ``longest_note`` (quarter lengths or
    ``Bars(n)``), ``longest_rest``. A control left out (or ``MODEL_DEFAULT``)
    takes the model's recommended value (the ``sampling`` object of its
    checkpoint; see :meth:`~music21_melgen.sampling.SamplingControls.for_model`),
    so the bundled ``default`` and ``melgen2019`` models each sample their best
    way. ``primer`` is a melody (stream, file or MelodyNotes) the new line
    continues; ``model`` is ``"default"``, ``"melgen2019"``, a checkpoint folder
    or a loaded model;
    ``chord_parts`` names the parts to chordify (see ``timeline_from_score``);
    ``form`` says which passages echo earlier ones (see :func:`form`;
    ``repetition`` among the controls sets how closely they repeat).
    A score without a written key gets an estimated one and a
    :class:`KeyEstimatedWarning`.
    """
    if not isinstance(score, stream.Stream):
        raise ScoreError(f"expected a music21 Stream, got {type(score).__name__}")
    if isinstance(score, stream.Opus):
        raise ScoreError(
            f"{describe_score(score)} is an Opus of {len(score.scores)} scores: a melody follows one "
            "score; call generate on each of opus.scores"
        )
    if inPlace and not isinstance(score, stream.Score):
        raise ScoreError(
            f"{describe_score(score)} is a {type(score).__name__}, not a Score: a melody part can "
            "only be inserted into a Score; call generate on the score, or pass inPlace=False to "
            "get a new Score holding this stream and the melody"
        )
    _check_control_names(controls)
    timeline = timeline_from_score(score, chord_parts=chord_parts)
    part = _melody_for(score, timeline, seed, controls, primer, model, part_name, form)[0]
    if inPlace:
        _insert_on_top(score, part)
        return part
    if isinstance(score, stream.Score):
        result = copy.deepcopy(score)
    else:
        result = stream.Score()
        result.insert(0, copy.deepcopy(score))
    _insert_on_top(result, part)
    return result


def _check_control_names(controls: dict[str, Any]) -> None:
    unknown = sorted(set(controls) - set(CONTROLS))
    if unknown:
        raise GenerationError(
            f"unknown sampling control(s): {', '.join(unknown)} (known: seed, {', '.join(CONTROLS)})"
        )


def _controls(model: Any, seed: int, given: dict[str, Any]) -> SamplingControls:
    """The model's recommended controls with what the caller ``given`` (MODEL_DEFAULT = not given)."""
    if given.get("pitch_range") not in (None, MODEL_DEFAULT):
        given = {**given, "pitch_range": tuple(given["pitch_range"])}
    if given.get("continuation_reduction") not in (None, MODEL_DEFAULT):
        given = {**given, "continuation_reduction": tuple(given["continuation_reduction"])}
    return SamplingControls.for_model(model, seed=seed, **given)


def _melody_for(
    score: stream.Stream,
    timeline: ScoreTimeline,
    seed: int,
    given: dict[str, Any],
    primer: Any,
    model: Any,
    part_name: str,
    form: Form | str | None = "auto",
) -> tuple[stream.Part, Any, Any]:
    """Sample a melody over ``timeline`` and write it as a Part; also return the melody and model.

    ``given``: the sampling controls the caller set (MODEL_DEFAULT = the model's value).
    """
    loaded = load_model(model)
    controls = _controls(loaded, seed, given)
    if timeline.key_estimated:
        first = timeline.chords[0]
        warnings.warn(
            f"{describe_score(score)}: no key written; using the estimated key "
            f"{key_for(first.key_tonic, first.mode).name}",
            KeyEstimatedWarning,
            stacklevel=3,
        )
    start = timeline.measures[0].offset
    primer_notes = tuple(
        MelodyNote(n.offset + start, n.length, n.midi) for n in (melody_notes(primer) if primer is not None else ())
    )
    melody = generate_melody(loaded, timeline, controls, primer_notes, form)
    low, high = controls.pitch_range
    outside = [n for n in melody.notes[len(primer_notes):] if not low <= n.midi <= high]
    if outside:
        raise GenerationError(
            f"the model wrote MIDI pitch {outside[0].midi} outside the range {low}..{high}"
        )
    part = melody_part(melody.notes, timeline, key_signature=_score_keys(score, timeline), part_name=part_name)
    return part, melody, loaded


def _score_keys(score: stream.Stream, timeline: ChordTimeline) -> list[tuple[Fraction, key.KeySignature]] | None:
    """The score's own key signatures with offsets (a bare signature read as the timeline's mode)."""
    parts = list(score.parts) if isinstance(score, stream.Score) else []
    for part in [*parts, score]:
        found: dict[Fraction, key.KeySignature] = {}
        for signature in part.recurse().getElementsByClass(key.KeySignature):
            offset = Fraction(signature.getOffsetInHierarchy(score)).limit_denominator(1 << 16)
            if offset in found:
                continue
            if not isinstance(signature, key.Key):
                span = timeline.chord_at(offset) or timeline.chords[0]
                guess = key_for(span.key_tonic, span.mode)
                signature = guess if guess.sharps == signature.sharps else signature
            found[offset] = signature
        if found:
            return sorted(found.items(), key=lambda pair: pair[0])
    return None


# MusicXML kind-values by the chord's pitch classes above its root.
_KINDS = {
    frozenset({0, 4, 7}): "major", frozenset({0, 3, 7}): "minor", frozenset({0, 3, 6}): "diminished",
    frozenset({0, 4, 8}): "augmented", frozenset({0, 4, 7, 10}): "dominant",
    frozenset({0, 4, 7, 11}): "major-seventh", frozenset({0, 3, 7, 10}): "minor-seventh",
    frozenset({0, 3, 6, 10}): "half-diminished", frozenset({0, 3, 6, 9}): "diminished-seventh",
    frozenset({0, 4, 7, 9}): "major-sixth", frozenset({0, 3, 7, 9}): "minor-sixth",
    frozenset({0, 5, 7}): "suspended-fourth", frozenset({0, 2, 7}): "suspended-second", frozenset({0, 7}): "power",
}


def _chord_marks(timeline: ScoreTimeline) -> list[ChordMark]:
    """The timeline's chords as chord names for the melody part, each named by the fullest common chord it holds.

    A ``.har`` or RomanText score reaches music21's export as block chords
    only; chord names above the melody make the harmony readable.

    >>> from music21_melgen.timeline import ChordSpan, MeasureSpan
    >>> bars = (MeasureSpan(1, Fraction(0), Fraction(4), '4/4', Fraction(1)),)
    >>> five = ChordSpan(Fraction(2), Fraction(2), 2, frozenset({2, 6, 9, 0}), 5, 'major', 1, 'V7/ii')
    >>> one = ChordSpan(Fraction(0), Fraction(2), 5, frozenset({5, 9, 0}), 5, 'major', 1, 'I')
    >>> _chord_marks(ScoreTimeline((one, five), bars))
    [ChordMark(measure='1', offset=Fraction(0, 1), root='F', kind='major'), ChordMark(measure='1', offset=Fraction(2, 1), root='D', kind='dominant')]
    """
    marks = []
    for span in timeline.chords:
        if span.root is None:
            continue
        above = frozenset((pc - span.root) % 12 for pc in span.pitch_classes)
        fits = [shape for shape in _KINDS if shape <= above]  # the fullest common chord it holds
        if not fits:
            continue
        kind = _KINDS[max(fits, key=len)]
        bar = timeline.measure_at(span.offset)
        root = timeline.spelled(span)[0]
        marks.append(ChordMark(str(bar.number), span.offset - bar.offset, root, kind))
    return marks


def _insert_on_top(score: stream.Score, part: stream.Part) -> None:
    """Insert ``part`` into ``score`` so that it sorts (and exports) as the first part."""
    part.priority = min((p.priority for p in score.parts), default=0) - 1
    score.insert(0, part)


# --- writing (music21_melgen.files) and the whole path --------------------------------


def generate_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    seed: int = 0,
    model: str | os.PathLike | Any = "default",
    chord_parts: Sequence[int | str] | None = None,
    primer: stream.Stream | str | os.PathLike | Sequence[MelodyNote] | None = None,
    limit: int = MAX_UNPACKED_BYTES,
    form: Form | str | None = "auto",
    **controls: Any,
) -> GenerateResult:
    """Read ``input_path``, write it with a generated melody to ``output_path``.

    ``controls`` are ``generate``'s sampling keywords (temperature, top_p,
    chord_tone_weight, continuation_reduction, candidates, pitch_range,
    longest_note, longest_rest); one left out (or ``MODEL_DEFAULT``) takes the
    model's recommended value. The output format follows the extension (``OUTPUT_FORMATS``);
    the input is never modified, the output never left half written. A
    MusicXML input written as MusicXML (or ``.mxl``) is the user's document
    plus the melody's part, every other element unchanged
    (:mod:`~music21_melgen.musicxml_merge`); a MIDI input written as MIDI is
    the user's tracks, byte for byte, plus a melody track
    (:mod:`~music21_melgen.midi_io`). ``limit``: the most bytes of MusicXML
    read from the input (default 50 MB).
    """
    started = time.perf_counter()
    source, target = Path(input_path), Path(output_path)
    if target.suffix.lower() not in OUTPUT_FORMATS:
        raise OutputError(
            f"{target}: unknown output extension {target.suffix!r}; use one of {', '.join(OUTPUT_FORMATS)}"
        )
    _check_writable(target)
    if source.exists() and target.exists() and source.resolve() == target.resolve():
        raise OutputError(f"{target}: is the input file; choose another output so the input stays as it is")
    _check_control_names(controls)
    score, original, kind = read_source(source, limit)
    try:
        timeline = timeline_from_score(score, chord_parts=chord_parts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KeyEstimatedWarning)
            part, melody, loaded = _melody_for(
                score, timeline, seed, controls, primer, model, DEFAULT_PART_NAME, form
            )
            chosen = _controls(loaded, seed, controls)
            echoes = _echoes(resolve_form(timeline, form, chosen.silent_sections, chosen.echo_harmony))
    except (GenerationError, ScoreError) as error:
        if str(source) in str(error):
            raise
        raise type(error)(f"{source}: {error}") from None
    fmt = OUTPUT_FORMATS[target.suffix.lower()]
    lossless = original is not None and (
        (kind == "musicxml" and fmt in ("musicxml", "mxl") and is_partwise(original))
        or (kind == "midi" and fmt == "midi")
    )
    if kind == "midi" and fmt in ("musicxml", "mxl"):  # the measured MIDI parts, written directly
        melody_xml = musicxml_bytes(stream.Score([part]))
        data = merged_musicxml(parts_musicxml(score, title=source.stem), melody_xml, where=str(source))
        atomic_write(target, data if fmt == "musicxml" else _mxl_bytes(data, target.with_suffix(".musicxml").name))
    elif lossless and kind == "musicxml":
        data = merged_musicxml(original, musicxml_bytes(stream.Score([part])), where=str(source))
        atomic_write(target, data if fmt == "musicxml" else _mxl_bytes(data, target.with_suffix(".musicxml").name))
    elif lossless:
        end = timeline.measures[-1].offset + timeline.measures[-1].length
        notes = [n for n in melody.notes if n.offset < end]
        atomic_write(target, midi_with_melody(original, notes, name=DEFAULT_PART_NAME, where=str(source)))
    elif timeline.source == "roman numerals" and fmt in ("musicxml", "mxl"):
        _insert_on_top(score, part)
        data = with_chord_names(musicxml_bytes(score), _chord_marks(timeline))
        atomic_write(target, data if fmt == "musicxml" else _mxl_bytes(data, target.with_suffix(".musicxml").name))
    else:
        _insert_on_top(score, part)
        write_score(score, target, timeline=timeline)
    first = timeline.chords[0]
    return GenerateResult(
        input=source,
        output=target,
        seed=seed,
        model=str(getattr(loaded, "name", model)),
        model_hash=str(getattr(loaded, "content_hash", "")),
        seconds=time.perf_counter() - started,
        key=timeline.key_name if isinstance(timeline, ScoreTimeline) else key_for(first.key_tonic, first.mode).name,
        key_estimated=timeline.key_estimated,
        measures=len(timeline.measures),
        notes=len(melody.notes),
        log_likelihood=float(melody.log_likelihood),
        echoes=echoes,
    )
