"""Score in, melody part out: the orchestration of music21-melgen, and its model cache.

``generate`` runs the whole path on a music21 score: the chord timeline
(:mod:`~music21_melgen.score_harmony`) → the melody model
(:mod:`~music21_melgen.checkpoint`, loaded once per process and cached here,
keyed on the checkpoint's resolved folder) → sampling
(:mod:`~music21_melgen.sampling`) → notation (:mod:`~music21_melgen.notation`)
→ the new part in the score. ``generate_file`` does the same from a file to a
file: it reads with ``forceSource=True`` (music21's pickle cache is keyed on the
path alone), never touches the input, and writes the output atomically (a
temporary file in the output's folder, then ``os.replace``), MusicXML made
valid against the MusicXML 4.0 schema.

Torch is imported only when a model is first loaded.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from music21 import chord, converter, harmony, key, metadata, note, stream
from music21.musicxml import m21ToXml

from music21_melgen.errors import GenerationError, MelgenError, OutputError, ScoreError
from music21_melgen.notation import DEFAULT_PART_NAME, key_for, melody_part
from music21_melgen.sampling import MODEL_DEFAULT, Bars, SamplingControls, generate_melody
from music21_melgen.score_harmony import ScoreTimeline, describe_score, timeline_from_score
from music21_melgen.timeline import ChordTimeline, MelodyNote, append_tied

__all__ = [
    "MODEL_DEFAULT",
    "SAMPLING_CONTROLS",
    "KeyEstimatedWarning",
    "GenerateResult",
    "OUTPUT_FORMATS",
    "chords",
    "generate",
    "generate_file",
    "load_model",
    "melody_notes",
    "read_score",
    "write_score",
    "musicxml_bytes",
]

# Keywords of ``generate`` / ``generate_file`` that set sampling controls (besides ``seed``).
SAMPLING_CONTROLS = (
    "temperature", "top_p", "chord_tone_weight", "continuation_reduction",
    "candidates", "pitch_range", "longest_note", "longest_rest",
)

# Output format by file extension.
OUTPUT_FORMATS = {".musicxml": "musicxml", ".xml": "musicxml", ".mxl": "mxl", ".mid": "midi", ".midi": "midi"}

# Chord kinds of the MusicXML 4.0 schema (``kind-value``); music21 writes a few others.
SCHEMA_KINDS = (
    "major minor augmented diminished dominant major-seventh minor-seventh diminished-seventh "
    "augmented-seventh half-diminished major-minor major-sixth minor-sixth dominant-ninth "
    "major-ninth minor-ninth dominant-11th major-11th minor-11th dominant-13th major-13th "
    "minor-13th suspended-second suspended-fourth Neapolitan Italian French German pedal power "
    "Tristan other none"
).split()


class KeyEstimatedWarning(UserWarning):
    """The score has no written key; the one music21's analysis estimated was used."""


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate_file`` did: files, seed, model, timing and the melody's vital signs."""

    input: Path
    output: Path
    seed: int
    model: str  # the model's name ('default', 'seed', a folder name)
    model_hash: str  # sha256 of the model's weights file
    seconds: float  # wall time for read + generate + write
    key: str  # the key of the first chord, e.g. 'Eb major'
    key_estimated: bool  # True when the score had no written key
    measures: int
    notes: int
    log_likelihood: float  # mean log2-probability per generated step (bits)


# --- the model cache --------------------------------------------------------------------

_MODELS: dict[tuple[str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def _model_folder(model: str | os.PathLike) -> Path:
    from music21_melgen.checkpoint import BUNDLED_MODELS, MODELS_DIR

    if isinstance(model, str) and model in BUNDLED_MODELS:
        return (MODELS_DIR / model).resolve()
    return Path(model).expanduser().resolve()


def load_model(model: str | os.PathLike | Any = "default") -> Any:
    """The melody model for a bundled name or checkpoint folder, loaded once per process (cached).

    The cache is keyed on the resolved folder and the modification time of its
    files, so a retrained checkpoint in the same folder is read again. An
    already loaded model object passes through.
    """
    if not isinstance(model, (str, os.PathLike)):
        return model
    from music21_melgen import checkpoint

    folder = _model_folder(model)
    stamp = max((f.stat().st_mtime_ns for f in folder.glob("*") if f.is_file()), default=0)
    cache_key = (str(folder), stamp)
    with _MODELS_LOCK:
        if cache_key not in _MODELS:
            _MODELS[cache_key] = checkpoint.load_model(model)
        return _MODELS[cache_key]


# --- reading ----------------------------------------------------------------------------


def read_score(path: str | os.PathLike) -> stream.Score:
    """Parse any file music21 (or our ``.har``/``.mel`` converters) reads, never from the pickle cache.

    Raises :class:`ScoreError` naming the file when it is missing or unreadable.
    """
    source = Path(path)
    if not source.is_file():
        raise ScoreError(f"{source}: no such file")
    if not os.access(source, os.R_OK):
        raise ScoreError(f"{source}: not readable (check its permissions)")
    try:
        parsed = converter.parse(source, forceSource=True)
    except MelgenError:
        raise
    except Exception as error:  # music21's parsers raise many kinds; say which file failed
        raise ScoreError(
            f"{source}: music21 cannot read it as a score ({type(error).__name__}: {error}); "
            "give a MusicXML, MIDI, ABC, RomanText, Humdrum or Rock Corpus .har file"
        ) from None
    if isinstance(parsed, stream.Opus):
        if not parsed.scores:
            raise ScoreError(f"{source}: the file holds no score")
        parsed = parsed.scores[0]
    if not isinstance(parsed, stream.Score):
        score = stream.Score()
        score.insert(0, parsed)
        parsed = score
    if parsed.metadata is None:
        parsed.metadata = metadata.Metadata()
    parsed.metadata.filePath = str(source)
    return parsed


def melody_notes(melody: stream.Stream | str | os.PathLike | Sequence[MelodyNote]) -> tuple[MelodyNote, ...]:
    """A primer melody as :class:`MelodyNote` values, offsets from its own start.

    Takes a stream (its first part with notes; chords give their top note),
    a file music21 reads (MIDI, MusicXML, ...) or MelodyNotes. Tied notes
    merge by MIDI pitch, so ties between differently spelled notes (G# tied
    to Ab) hold, which music21's ``stripTies`` does not promise.
    """
    if isinstance(melody, (str, os.PathLike)):
        melody = read_score(melody)
    if not isinstance(melody, stream.Stream):
        notes = tuple(melody)
        if not all(isinstance(n, MelodyNote) for n in notes):
            raise GenerationError("a primer must be a stream, a file or a sequence of MelodyNote")
        return notes
    parts = list(melody.parts) if isinstance(melody, stream.Score) else [melody]
    part = next((p for p in parts if p.recurse().notes), None)
    if part is None:
        raise GenerationError(f"{describe_score(melody)}: the primer melody has no notes")
    merged: list[MelodyNote] = []
    for element in part.flatten().notes:
        if isinstance(element, chord.Chord):
            midi = max(p.midi for p in element.pitches)
        elif isinstance(element, note.Note):
            midi = element.pitch.midi
        else:
            continue
        offset = Fraction(element.offset).limit_denominator(1 << 16)
        length = Fraction(element.quarterLength).limit_denominator(1 << 16)
        if length <= 0:
            continue
        tied = element.tie is not None and element.tie.type in ("stop", "continue")
        append_tied(merged, MelodyNote(offset, length, midi), tied=tied)
    return tuple(merged)


# --- generating -------------------------------------------------------------------------


def chords(score: stream.Stream, *, chord_parts: Sequence[int | str] | None = None) -> ScoreTimeline:
    """The chord timeline ``generate`` would read from ``score`` (print it to check it)."""
    return timeline_from_score(score, chord_parts=chord_parts)


def generate(
    score: stream.Stream,
    *,
    seed: int = 0,
    temperature: float = MODEL_DEFAULT,
    top_p: float = MODEL_DEFAULT,
    chord_tone_weight: float = MODEL_DEFAULT,
    continuation_reduction: tuple[float, float] | None = MODEL_DEFAULT,
    candidates: int = MODEL_DEFAULT,
    pitch_range: tuple[int, int] = MODEL_DEFAULT,
    longest_note: float | Fraction | Bars | None = MODEL_DEFAULT,
    longest_rest: float | Fraction | None = MODEL_DEFAULT,
    primer: stream.Stream | str | os.PathLike | Sequence[MelodyNote] | None = None,
    model: str | os.PathLike | Any = "default",
    chord_parts: Sequence[int | str] | None = None,
    part_name: str = DEFAULT_PART_NAME,
    inPlace: bool = True,
) -> stream.Part | stream.Score:
    """Write a melody over the chords of ``score`` and put it in as a new part.

    ``inPlace=True`` (music21's convention): the new ``Part`` goes into
    ``score`` itself, as its top part, and is returned; nothing is copied.
    ``inPlace=False``: ``score`` is left alone and a new ``Score`` is returned
    (a copy holding the melody as its first part, ``new_score.parts[0]``), as
    music21's transformers do. A ``Part`` or other non-score stream can only be
    used with ``inPlace=False`` (the result is a new Score of the stream plus
    the melody).

    Sampling controls: ``seed`` (same seed, same notes), ``temperature`` (<1
    safer, >1 wilder), ``top_p`` (nucleus share, 1.0 = off),
    ``chord_tone_weight`` (>1 more chord tones), ``continuation_reduction``
    ((start, growth) divisor of held notes, None = off), ``candidates``
    (best of N by the model's likelihood), ``pitch_range`` (lowest, highest
    MIDI pitch), ``longest_note`` (quarter lengths or ``Bars(n)``, None = no
    limit), ``longest_rest`` (quarter lengths, None = no limit). A control
    left at ``MODEL_DEFAULT`` takes the model's recommended value (the
    ``sampling`` object of its checkpoint; see
    :meth:`~music21_melgen.sampling.SamplingControls.for_model`), so the
    bundled ``default`` and ``seed`` models each sample their best way.
    ``primer`` is a melody (stream, file or MelodyNotes) the new line
    continues; ``model`` is ``"default"``, ``"seed"`` or a checkpoint folder;
    ``chord_parts`` names the parts to chordify (see ``timeline_from_score``).
    A score without a written key gets an estimated one and a
    :class:`KeyEstimatedWarning`.
    """
    if not isinstance(score, stream.Stream):
        raise ScoreError(f"expected a music21 Stream, got {type(score).__name__}")
    if inPlace and not isinstance(score, stream.Score):
        raise ScoreError(
            f"{describe_score(score)} is a {type(score).__name__}, not a Score: a melody part can "
            "only be inserted into a Score; call generate on the score, or pass inPlace=False to "
            "get a new Score holding this stream and the melody"
        )
    timeline = timeline_from_score(score, chord_parts=chord_parts)
    given = {
        "temperature": temperature,
        "top_p": top_p,
        "chord_tone_weight": chord_tone_weight,
        "continuation_reduction": continuation_reduction,
        "candidates": candidates,
        "pitch_range": pitch_range,
        "longest_note": longest_note,
        "longest_rest": longest_rest,
    }
    part = _melody_for(score, timeline, seed, given, primer, model, part_name)[0]
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
    melody = generate_melody(loaded, timeline, controls, primer_notes)
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


def _insert_on_top(score: stream.Score, part: stream.Part) -> None:
    """Insert ``part`` into ``score`` so that it sorts (and exports) as the first part."""
    part.priority = min((p.priority for p in score.parts), default=0) - 1
    score.insert(0, part)


# --- writing ----------------------------------------------------------------------------


def _degrees(formula: str) -> dict[int, int]:
    """music21's chord formula ('1,3,#5,-7') as {degree: alteration in semitones}."""
    found = {}
    for token in formula.split(","):
        digits = token.lstrip("#-")
        found[int(digits)] = token.count("#") - token.count("-")
    return found


@lru_cache(maxsize=None)
def _schema_kind(kind: str) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """A schema kind plus ``(type, degree, alter)`` changes that spell music21's ``kind``.

    The base is the schema kind needing the fewest ``<degree>`` changes. A
    seventh is never added (MusicXML reads an added 7 as the minor seventh,
    music21 as the major one), so a chord with a seventh gets a base that has
    one. ``alter`` values are relative to the base's degree, ``add`` ones to a
    dominant chord, as MusicXML says.
    """
    target = _degrees(harmony.CHORD_TYPES[kind][0])
    best: tuple[int, str, tuple[tuple[str, int, int], ...]] | None = None
    for candidate in SCHEMA_KINDS:
        if candidate not in harmony.CHORD_TYPES:
            continue
        base = _degrees(harmony.CHORD_TYPES[candidate][0])
        if 7 in target and 7 not in base:
            continue
        changes = []
        for degree in sorted(set(target) | set(base)):
            if degree not in base:
                changes.append(("add", degree, target[degree]))
            elif degree not in target:
                changes.append(("subtract", degree, 0))
            elif base[degree] != target[degree]:
                changes.append(("alter", degree, target[degree] - base[degree]))
        if best is None or len(changes) < best[0]:
            best = (len(changes), candidate, tuple(changes))
    assert best is not None, kind  # 'dominant' (1,3,5,-7) is always a candidate
    return best[1], best[2]


def _fix_kinds(root: Any) -> None:
    """Rewrite ``<kind>`` values outside the schema as a schema kind plus ``<degree>`` elements."""
    from lxml import etree

    for kind in root.iter("kind"):
        value = (kind.text or "").strip()
        if value in SCHEMA_KINDS:
            continue
        if value not in harmony.CHORD_TYPES:
            kind.text = "other"  # unknown to music21 too: keep the chord's text, drop the claim
            continue
        base, changes = _schema_kind(value)
        if "text" not in kind.attrib:
            kind.set("text", harmony.CHORD_TYPES[value][1][0] if harmony.CHORD_TYPES[value][1] else "")
        kind.text = base
        parent = kind.getparent()
        anchor = kind
        for sibling in ("inversion", "bass"):
            found = parent.find(sibling)
            if found is not None:
                anchor = found
        at = parent.index(anchor) + 1
        for change_type, degree, alter in changes:
            element = etree.Element("degree")
            etree.SubElement(element, "degree-value").text = str(degree)
            etree.SubElement(element, "degree-alter").text = str(alter)
            etree.SubElement(element, "degree-type").text = change_type
            parent.insert(at, element)
            at += 1


def _sort_not_needed(*, inPlace: bool = False) -> None:
    """Stands in for ``Chord.sortAscending`` while exporting: the exporter drops its result."""


@contextmanager
def _discarded_sorts_skipped(score: stream.Score) -> Iterator[None]:
    """While exporting ``score``, skip the chord sort whose result music21 throws away.

    music21 10.5's ``MeasureExporter.chordToXml`` calls ``c.sortAscending()``,
    which returns a sorted deep copy, and ignores it: the notes are written in
    their stored order. The copy of a ``RomanNumeral`` (its key, scales and
    figures) costs ~2 ms, about a third of exporting a Rock Corpus song.
    So, only for the chords of this score and only for this call, the method
    is shadowed on each chord object by a no-op; the written MusicXML is the
    same, and no music21 class or module is touched, so other exports (other
    threads included) are unaffected.

    >>> from music21 import roman
    >>> score = stream.Score([stream.Part([stream.Measure([roman.RomanNumeral('V7', 'C')])])])
    >>> five = score.recurse().getElementsByClass(chord.Chord).first()
    >>> with _discarded_sorts_skipped(score):
    ...     five.sortAscending() is None
    True
    >>> five.sortAscending() is five, 'sortAscending' in vars(five)
    (False, False)
    """
    shadowed = [
        element
        for element in score.recurse().getElementsByClass(chord.Chord)
        if "sortAscending" not in vars(element)
    ]
    for element in shadowed:
        element.sortAscending = _sort_not_needed
    try:
        yield
    finally:
        for element in shadowed:
            del element.sortAscending


def musicxml_bytes(score: stream.Score) -> bytes:
    """``score`` as MusicXML 4.0 that validates against the schema.

    Exported without music21's ``makeNotation`` (which can re-flow measures
    after a meter change) when the score is well formed, with it otherwise;
    chord kinds the schema lacks are rewritten (:func:`_fix_kinds`).
    """
    from lxml import etree

    try:
        with _discarded_sorts_skipped(score):
            exporter = m21ToXml.GeneralObjectExporter(score)
            exporter.makeNotation = False
            data = exporter.parse()
    except Exception:  # not well formed (complex durations, missing measures): let music21 tidy a copy
        try:
            data = m21ToXml.GeneralObjectExporter(copy.deepcopy(score)).parse()
        except Exception as error:
            raise OutputError(f"music21 cannot write this score as MusicXML: {error}") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    root = etree.fromstring(data, parser)
    _fix_kinds(root)
    return etree.tostring(
        root.getroottree(),
        xml_declaration=True,
        encoding="UTF-8",
        doctype='<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
        '"http://www.musicxml.org/dtds/partwise.dtd">',
    )


def _mxl_bytes(xml: bytes, name: str) -> bytes:
    container = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<container><rootfiles>'
        f'<rootfile full-path="{name}" media-type="application/vnd.recordare.musicxml+xml"/>'
        "</rootfiles></container>\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.recordare.musicxml", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container)
        archive.writestr(name, xml)
    return buffer.getvalue()


def _midi_bytes(score: stream.Score, timeline: ChordTimeline | None) -> bytes:
    """MIDI of ``score``; chord symbols (silent in music21's MIDI) sound as a block-chord part."""
    from music21 import instrument
    from music21.midi import translate

    sounding = score
    if timeline is not None and not any(
        isinstance(n, chord.Chord) and not isinstance(n, harmony.Harmony)
        for n in score.recurse().notes
    ) and score.recurse().getElementsByClass(harmony.ChordSymbol):
        sounding = copy.copy(score)
        sounding.insert(0, _chord_part(timeline, instrument))
    try:
        midi_file = translate.streamToMidiFile(sounding)
        return midi_file.writestr()
    except Exception as error:
        raise OutputError(f"music21 cannot write this score as MIDI: {error}") from None


def _chord_part(timeline: ChordTimeline, instrument: Any) -> stream.Part:
    """The timeline's chords as block chords (root position from C3), struck again each measure."""
    part = stream.Part()
    part.partName = "Chords (melgen)"
    part.insert(0, instrument.Piano())
    for bar in timeline.measures:
        measure = stream.Measure(number=bar.number)
        bar_end = bar.offset + bar.length
        for span in timeline.chords:
            start, stop = max(span.offset, bar.offset), min(span.end, bar_end)
            if span.root is None or stop <= start:
                continue
            block = chord.Chord(sorted({48 + span.root + (pc - span.root) % 12 for pc in span.pitch_classes}))
            block.quarterLength = stop - start
            measure.insert(start - bar.offset, block)
        part.insert(bar.offset, measure)
    return part


def write_score(
    score: stream.Score, path: str | os.PathLike, *, timeline: ChordTimeline | None = None
) -> Path:
    """Write ``score`` to ``path`` in the format its extension names, atomically.

    MusicXML (``.musicxml``, ``.xml``, compressed ``.mxl``) valid against the
    schema; MIDI (``.mid``, ``.midi``), where ``timeline`` (if given) makes
    silent chord symbols sound. The file appears whole or not at all.
    """
    target = Path(path)
    fmt = OUTPUT_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"{target}: unknown output extension {target.suffix!r}; use one of {', '.join(OUTPUT_FORMATS)}"
        )
    _check_writable(target)
    if fmt == "midi":
        data = _midi_bytes(score, timeline)
    else:
        data = musicxml_bytes(score)
        if fmt == "mxl":
            data = _mxl_bytes(data, target.with_suffix(".musicxml").name)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {error.strerror or error}") from None
    return target


def _check_writable(target: Path) -> None:
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist; create it first")
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name such as out.musicxml")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: the folder {folder} is not writable")


def generate_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    seed: int = 0,
    model: str | os.PathLike | Any = "default",
    chord_parts: Sequence[int | str] | None = None,
    primer: stream.Stream | str | os.PathLike | Sequence[MelodyNote] | None = None,
    **controls: Any,
) -> GenerateResult:
    """Read ``input_path``, write it with a generated melody to ``output_path``.

    ``controls`` are ``generate``'s sampling keywords (temperature, top_p,
    chord_tone_weight, continuation_reduction, candidates, pitch_range,
    longest_note, longest_rest); one left out (or ``MODEL_DEFAULT``) takes the
    model's recommended value. The output format follows the extension (``OUTPUT_FORMATS``);
    the input is never modified, the output never left half written.
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
    unknown = set(controls) - set(SAMPLING_CONTROLS)
    if unknown:
        raise GenerationError(f"unknown sampling control(s): {', '.join(sorted(unknown))}")
    score = read_score(source)
    timeline = timeline_from_score(score, chord_parts=chord_parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeyEstimatedWarning)
        part, melody, loaded = _melody_for(score, timeline, seed, controls, primer, model, DEFAULT_PART_NAME)
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
        key=key_for(first.key_tonic, first.mode).name.replace("-", "b"),
        key_estimated=timeline.key_estimated,
        measures=len(timeline.measures),
        notes=len(melody.notes),
        log_likelihood=float(melody.log_likelihood),
    )
