"""The one sampling loop: a melody from any model kind, with the controls a user can turn.

Generation walks the grid once, for all candidates at once. Three parties,
each with one job:

* the **network** answers "logits for this step from this state"
  (:class:`~music21_melgen.network.StepNetwork`; the default LSTM carries its
  state, O(steps); MelGen's windowed network re-reads its window);
* the **representation** supplies the per-step tables
  (:class:`~music21_melgen.encoding.StepTables`: allowed events, chord tones,
  hold and rest events, step boundaries) and turns events back into notes;
* this module applies the **controls**, once, in one place.

Per step, for every candidate, in this order: logits / (temperature × the
model's temperature scale) → softmax; forbidden events get zero (what the
representation forbids; notes outside ``pitch_range``; HOLD with no note
sounding or past ``longest_note``, in quarter lengths or in :class:`Bars` of
the meter where the note began; a rest past ``longest_rest``); chord tones ×
``chord_tone_weight``, the notes then scaled back to their share before it
(the weight picks which note starts, not whether one does); HOLD ÷ the
continuation-reduction factor; if nothing is left, any note the
representation has; keep the nucleus (``top_p``); draw with the candidate's
own random stream. Candidate ``i`` draws from a numpy ``Generator`` seeded
with ``(seed, i)``, so a candidate's melody does not depend on how many
others run beside it. The best candidate is the one the raw model
(temperature 1, no controls) finds likeliest.

Sampling (set-up and step loop) runs with numpy's BLAS held to one thread
(``threadpoolctl``): the products are tiny, and more BLAS threads only spin
and fight over the cores (a melody took 154 ms instead of 68 ms on a busy
2-core machine).

The controls themselves, their units and the models' recommendations live
in :mod:`~music21_melgen.controls`.

Numpy only; torch is needed only to build a model, not to sample from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from music21_melgen.controls import (
    CONTROLS,
    MODEL_DEFAULT,
    RECOMMENDABLE,
    SILENT_SECTIONS,
    Bars,
    SamplingControls,
    controls_from_json,
    controls_to_json,
    section_key,
)
from music21_melgen.encoding import StepTables
from music21_melgen.errors import GenerationError
from music21_melgen.form import Form, echo_input, find_form, form_from_labels, form_from_passages, no_form, step_lags
from music21_melgen.network import MelodyModel, StepNetwork
from music21_melgen.timeline import ChordTimeline, MelodyNote

# The controls are re-exported here: sampling is where users meet them.
__all__ = [
    "MODEL_DEFAULT",
    "CONTROLS",
    "RECOMMENDABLE",
    "Bars",
    "SamplingControls",
    "controls_from_json",
    "controls_to_json",
    "one_blas_thread",
    "GeneratedMelody",
    "generate_melody",
    "sample_candidates",
    "sample_events",
    "SampledEvents",
    "reweight_notes",
    "tempered_probabilities",
]

def one_blas_thread() -> threadpool_limits:
    """A context that holds numpy's BLAS to one thread (the sampling loops run inside it)."""
    return threadpool_limits(1, user_api="blas")


@dataclass(frozen=True)
class GeneratedMelody:
    """The melody kept: notes on the timeline's axis, and how likely the model finds it."""

    notes: tuple[MelodyNote, ...]  # on the timeline's axis; the primer (snapped to the grid) comes first
    log_likelihood: float  # mean log2-probability per generated step under the raw model (bits, ≤ 0)
    candidate: int  # index of the chosen candidate, 0 .. candidates - 1


def generate_melody(
    model: MelodyModel,
    timeline: ChordTimeline,
    controls: SamplingControls | None = None,
    primer: Sequence[MelodyNote] = (),
    form: Form | str | None = "auto",
) -> GeneratedMelody:
    """Write a melody over ``timeline`` with any melody model (``default``, ``melgen2019``, a checkpoint).

    ``controls``: how to sample; None = the model's recommended settings
    (:meth:`SamplingControls.for_model`). Of ``controls.candidates`` melodies
    the one the raw model finds likeliest is kept (ties: the lowest index),
    among those with notes: a melody without a note over a timeline that has
    chords is a GenerationError, never a silent rest.

    ``primer``: melody notes at the start of the timeline that the generated
    line continues (fed through the model as they are, then sampling goes on
    after the primer's last note ends).

    ``form``: which passages echo earlier ones (:mod:`~music21_melgen.form`):
    ``"auto"`` finds them in the harmony, a string of letters (``"AABA"``)
    cuts the measures into equal phrases, a :class:`~music21_melgen.form.Form`
    is used as it is, None turns form off (every passage new).
    """
    candidates = sample_candidates(model, timeline, controls, primer, form)
    sung = [melody for melody in candidates if melody.notes]
    if not sung and any(chord.root is not None for chord in timeline.chords):
        raise GenerationError(
            f"the model wrote no note over {len(timeline.measures)} measures of chords "
            f"({len(candidates)} candidate{'s' if len(candidates) != 1 else ''}): check its weights and "
            f"the sampling controls (longest_rest, pitch_range)"
        )
    return max(sung or candidates, key=lambda melody: melody.log_likelihood)


def sample_candidates(
    model: MelodyModel,
    timeline: ChordTimeline,
    controls: SamplingControls | None = None,
    primer: Sequence[MelodyNote] = (),
    form: Form | str | None = "auto",
) -> list[GeneratedMelody]:
    """Every candidate of one batch, in candidate order (see :func:`generate_melody`).

    Runs wholly on one BLAS thread: a product run on two threads just before
    the loop would leave OpenBLAS's helper thread spinning through it.
    """
    if not isinstance(timeline, ChordTimeline):
        raise GenerationError(f"timeline must be a ChordTimeline, got {type(timeline).__name__}")
    if controls is None:
        controls = SamplingControls.for_model(model)
    if not isinstance(controls, SamplingControls):
        raise GenerationError(f"controls must be SamplingControls, got {type(controls).__name__}")
    primer = tuple(primer)
    if not all(isinstance(note, MelodyNote) for note in primer):
        raise GenerationError("primer must be a sequence of MelodyNote")
    chosen = resolve_form(timeline, form, controls.silent_sections, controls.echo_harmony)
    with one_blas_thread():
        return _sample(model, timeline, controls, primer, chosen)


def resolve_form(
    timeline: ChordTimeline,
    form: Form | str | None,
    silent_sections: Sequence[str] = SILENT_SECTIONS,
    echo_harmony: str = "chords",
) -> Form:
    """The :class:`~music21_melgen.form.Form` that ``form`` means over ``timeline``.

    Found in the harmony (``"auto"``, how alike by ``echo_harmony``), measures
    of ``silent_sections`` neither echo nor are echoed: verse 1 does not echo
    a silent intro over its chords.
    """
    if form is None:
        return no_form(timeline)
    if isinstance(form, Form):
        if len(form.reference) != len(timeline.measures):
            raise GenerationError(
                f"the form covers {len(form.reference)} measures, the score has {len(timeline.measures)}"
            )
        return form
    if form == "auto":
        return find_form(timeline, silent=silent_measures(timeline, silent_sections), harmony=echo_harmony)
    if isinstance(form, str):
        return form_from_passages(timeline, form) if "=" in form else form_from_labels(timeline, form)
    raise GenerationError(
        f"form must be 'auto', letters such as 'AABA', passages such as '9-16=1-8', a Form or None; "
        f"got {type(form).__name__}"
    )


def _primer_events(representation: Any, tables: StepTables, primer: Sequence[MelodyNote]) -> tuple[np.ndarray, int]:
    """Primer events on the grid and the step where generation starts."""
    if not primer:
        return np.zeros(0, dtype=np.int64), 0
    total = tables.length
    begin, end = tables.grid.offset(0), tables.grid.offset(total)
    for note in primer:
        if note.offset < begin or note.end > end or note.length <= 0:
            raise GenerationError(
                f"primer note at {note.offset} (length {note.length}) lies outside the timeline ({begin} .. {end})"
            )
    events = representation.melody_events(tables, primer)
    start = min(max(tables.grid.step_of(max(note.end for note in primer)), 1), total)
    if start >= total:
        raise GenerationError("the primer fills the whole timeline: nothing is left to generate")
    return events[:start], start


def _allowed(tables: StepTables, controls: SamplingControls, start: int, timeline: ChordTimeline) -> np.ndarray:
    """The representation's allowed events, less the notes outside the pitch range [T, V]."""
    low, high = controls.pitch_range
    if high - low < tables.min_range:
        raise GenerationError(
            f"this model places its notes by octaves and needs a pitch range of at least "
            f"{tables.min_range + 1} semitones, got {low}..{high}"
        )
    if tables.range_midi is None:
        return tables.allowed
    midi = tables.range_midi
    allowed = tables.allowed & (~tables.is_note[None, :] | ((midi >= low) & (midi <= high)))
    empty = np.flatnonzero(~(allowed & tables.is_note[None, :])[start:].any(axis=1))
    if len(empty):
        step = start + int(empty[0])
        measure = timeline.measures[int(tables.measure_of_step[step])].number
        sounding = midi[step][tables.is_note & (midi[step] >= 0)]
        raise GenerationError(
            f"measure {measure}: pitch range {low}..{high} leaves no note the model can sing "
            f"(its notes here lie in MIDI {sounding.min()}..{sounding.max()})"
        )
    return allowed


def silent_measures(timeline: ChordTimeline, silent_sections: Sequence[str]) -> list[int]:
    """Indices of the measures in a silent section; none when every measure would be.

    A piece labelled only "Intro" still gets a melody.
    """
    names = {section_key(name) for name in silent_sections}
    found = [index for index, m in enumerate(timeline.measures) if m.section and section_key(m.section) in names]
    return [] if len(found) == len(timeline.measures) else found


def _silent_steps(tables: StepTables, controls: SamplingControls, timeline: ChordTimeline) -> np.ndarray:
    """The steps lying in a silent section (:func:`silent_measures`), bool [T]; none without rests (MelGen's tokens)."""
    found = silent_measures(timeline, controls.silent_sections)
    if tables.rest is None or not found:
        return np.zeros(tables.length, dtype=bool)
    quiet = np.zeros(len(timeline.measures), dtype=bool)
    quiet[found] = True
    return quiet[np.clip(tables.measure_of_step, 0, len(quiet) - 1)]


def _longest_note(tables: StepTables, controls: SamplingControls, timeline: ChordTimeline) -> np.ndarray:
    """Quarter lengths a note begun at each step may last (``inf``: no limit), float [T]."""
    limit = controls.longest_note
    if limit is None:
        return np.full(tables.length, math.inf)
    if isinstance(limit, Bars):
        bars = np.array([float(limit.quarters(measure)) for measure in timeline.measures])
        longest = bars[tables.measure_of_step]
    else:
        longest = np.full(tables.length, float(limit))
    shortest_step = float(np.diff(tables.boundaries).min()) if tables.length else 0.0
    if tables.length and longest.min() < shortest_step - 1e-9:
        raise GenerationError(f"longest_note {limit} is shorter than one grid step ({shortest_step:g} quarter)")
    return longest


@dataclass(frozen=True)
class SampledEvents:
    """The events the loop drew, before they become notes (tests and diagnostics read them)."""

    tables: StepTables  # the representation's tables of the timeline
    events: np.ndarray  # int64 [B, T], one event per step for each candidate (primer included)
    log_likelihood: np.ndarray  # float64 [B], mean log2-probability per generated step, raw model
    start: int  # first generated step (the primer fills the steps before)


def sample_events(
    model: MelodyModel,
    timeline: ChordTimeline,
    controls: SamplingControls,
    primer: Sequence[MelodyNote] = (),
    form: Form | str | None = "auto",
) -> SampledEvents:
    """The one loop's events for every candidate, on one BLAS thread (see :func:`sample_candidates`)."""
    chosen = resolve_form(timeline, form, controls.silent_sections, controls.echo_harmony)
    with one_blas_thread():
        return _sample_events(model, timeline, controls, tuple(primer), chosen)


def _sample(
    model: MelodyModel, timeline: ChordTimeline, controls: SamplingControls, primer: tuple[MelodyNote, ...], form: Form
) -> list[GeneratedMelody]:
    sampled = _sample_events(model, timeline, controls, primer, form)
    representation, tables = model.representation, sampled.tables
    melodies = []
    for i, events in enumerate(sampled.events):
        notes = representation.decode_on_grid(events, tables.grid)
        notes = representation.finish(notes, tables, sampled.start, primer, controls.pitch_range)
        melodies.append(GeneratedMelody(notes, float(sampled.log_likelihood[i]), i))
    return melodies


def _sample_events(
    model: MelodyModel, timeline: ChordTimeline, controls: SamplingControls, primer: tuple[MelodyNote, ...], form: Form
) -> SampledEvents:
    representation = model.representation
    tables = representation.step_tables(timeline)
    total = tables.length
    forced, start = _primer_events(representation, tables, primer)
    silent = _silent_steps(tables, controls, timeline)
    if silent.any():
        forced = np.where(silent, tables.rest, forced if len(forced) == total else np.zeros(total, dtype=np.int64))
    batch = controls.candidates
    allowed = _allowed(tables, controls, start, timeline)
    weight = np.where(tables.chord_tone, float(controls.chord_tone_weight), 1.0) * allowed  # [T, V]
    longest = _longest_note(tables, controls, timeline)
    longest_rest = math.inf if controls.longest_rest is None else float(controls.longest_rest)
    if tables.rest is not None and total and longest_rest < float(np.diff(tables.boundaries).min()) - 1e-9:
        raise GenerationError(f"longest_rest {controls.longest_rest} is shorter than one grid step")
    inverse_temperature = 1.0 / (float(model.temperature_scale) * float(controls.temperature))
    # One uniform per step from each candidate's own stream: a candidate's melody
    # does not depend on how many others run beside it.
    uniforms = np.stack(
        [np.random.default_rng(np.random.SeedSequence([controls.seed, i])).random(total) for i in range(batch)]
    )
    # Whether each echoing measure is copied whole: a stream of its own, so the notes drawn
    # do not depend on the repetition setting except where a measure is copied.
    copies = np.stack(
        [np.random.default_rng(np.random.SeedSequence([controls.seed, i, 1])).random(total) for i in range(batch)]
    ) < float(controls.repetition)
    network = model.step_network()
    network.start(tables, batch)
    lags = step_lags(form, tables.measure_of_step)  # steps back to the echoed step, 0 = none
    events, log_likelihood = _sample_steps(
        network, tables, start, forced, weight, uniforms, longest, longest_rest,
        controls.continuation_reduction or (1.0, 1.0), inverse_temperature, float(controls.top_p),
        lags, copies, silent,
    )
    steps = max(total - start, 1)
    return SampledEvents(tables, events, log_likelihood / steps / math.log(2), start)


def reweight_notes(p: np.ndarray, weight: np.ndarray, notes: slice | np.ndarray = slice(2, None)) -> np.ndarray:
    """``p * weight`` [B, V], the note events (``notes``) scaled back to their mass before it.

    ``weight`` [V] is the allowed-event mask (0 or 1) times the chord-tone
    weight. The chord-tone weight chooses *which* note starts, not *whether*
    one does: weighting chord tones up without this also raised the chance of
    a new note against HOLD and REST (chord-tone weight 1.1 gave 6–10 % more
    notes per bar on the validation songs). ``notes``: the note events, by
    default every event after REST and HOLD.

    >>> p = np.array([[0.2, 0.2, 0.3, 0.3]])  # REST, HOLD, a chord tone, another note
    >>> reweight_notes(p, np.array([1.0, 1.0, 2.0, 1.0])).round(3).tolist()
    [[0.2, 0.2, 0.4, 0.2]]
    """
    weighted = p * weight
    before = (p * (weight > 0))[:, notes].sum(axis=1, keepdims=True)
    after = weighted[:, notes].sum(axis=1, keepdims=True)
    weighted[:, notes] *= before / np.maximum(after, 1e-300)  # after == 0 only where before == 0
    return weighted


def _as_slice(mask: np.ndarray) -> slice | np.ndarray:
    """``mask`` [V] as ``slice(k, None)`` when it is False then True throughout; else the mask itself.

    >>> _as_slice(np.array([False, False, True, True])), _as_slice(np.array([True, False])).tolist()
    (slice(2, None, None), [True, False])
    """
    first = int(np.argmax(mask)) if mask.any() else len(mask)
    return slice(first, None) if mask[first:].all() and not mask[:first].any() else mask


def tempered_probabilities(logits: np.ndarray, allowed: np.ndarray, inverse_temperature: float) -> np.ndarray:
    """Unnormalised tempered probabilities [B, V] of the ``allowed`` events, 0 elsewhere.

    Computed in log space from the likeliest *allowed* event, ``exp((logits -
    max) * inverse_temperature)``, so that event keeps 1 whatever the
    temperature: at a tiny temperature the draw is greedy within the rules,
    instead of every allowed event underflowing to 0. Each row must allow
    at least one event.

    >>> tempered_probabilities(np.array([[0.0, -2.0, 5.0]]), np.array([[True, True, False]]), 1000.0).tolist()
    [[1.0, 0.0, 0.0]]
    """
    top = np.where(allowed, logits, -np.inf).max(axis=1, keepdims=True)
    shifted = np.where(allowed, logits - top, -np.inf)
    return np.exp(shifted if inverse_temperature == 1.0 else shifted * inverse_temperature)


def _sample_steps(
    network: StepNetwork,
    tables: StepTables,
    start: int,
    forced: np.ndarray,
    weight: np.ndarray,
    uniforms: np.ndarray,
    longest: np.ndarray,
    longest_rest: float,
    reduction: tuple[float, float],
    inverse_temperature: float,
    top_p: float,
    lags: np.ndarray,
    copies: np.ndarray,
    silent: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The sampling loop, for every model kind: events [B, T] and log-likelihoods [B] (nats).

    Steps before ``start`` are teacher-forced to ``forced``; ``weight`` [T, V]
    is the allowed-event mask times the chord-tone weight; ``longest`` [T]
    the quarters a note begun at each step may last; ``lags`` [T] the steps
    back to the aligned step of the echoed measure (0: none), whose event the
    network reads; ``copies`` [B, T], read at the first step of each measure,
    says whether an echoing measure repeats its echo exactly (each step copied
    where the rules allow it); ``silent`` [T] the steps of silent sections,
    teacher-forced to ``forced`` (a rest) like the primer.
    """
    batch, total = uniforms.shape
    vocab = weight.shape[1]
    hold, rest, is_note, ends = tables.hold, tables.rest, tables.is_note, tables.boundaries
    reduction_start, growth = reduction
    rows = np.arange(batch)
    events = np.zeros((batch, total), dtype=np.int64)
    log_likelihood = np.zeros(batch)
    previous = np.full(batch, tables.start_event, dtype=np.int64)
    sounding = np.zeros(batch, dtype=bool)  # a note sounds (begun, not ended by a rest)
    onset = np.zeros(batch, dtype=np.int64)  # step where the sounding note began
    rest_onset = np.zeros(batch, dtype=np.int64)  # step where the current rest began
    factor = np.full(batch, float(reduction_start))
    # Per-step Python values and masks computed once: the loop runs ~100 small numpy calls a step.
    measure = tables.measure_of_step.tolist()
    lag_of = lags.tolist()
    silent_of = silent.tolist()
    echoes = network.uses_reference or bool(copies.any())
    permitted = weight > 0  # [T, V]
    notes = _as_slice(is_note)  # a slice reads faster than a boolean mask, and sums the same
    no_echo = np.full(batch, network.none_reference) if network.uses_reference else None
    matching = np.ones(batch, dtype=bool)  # every step of this measure so far equals its echo
    copying = np.zeros(batch, dtype=bool)  # this measure repeats its echo exactly
    for t in range(total):
        if t == 0 or measure[t] != measure[t - 1]:
            matching[:] = True
            copying = copies[:, t]
        echoed = None
        if echoes and lag_of[t] > 0:
            echoed = events[:, t - lag_of[t]]  # what the melody did at the aligned step of the echoed passage
        reference = None
        if no_echo is not None:
            reference = no_echo if echoed is None else echo_input(echoed, matching, network.none_reference)
        if t < start or silent_of[t]:
            network.feed(t, previous, reference)
            event = np.full(batch, forced[t], dtype=np.int64)  # teacher-force the primer, or a silent section's rest
        else:
            logits = network.step(t, previous, reference)  # [B, V]
            # Raw model probabilities (unnormalised); their log ranks the candidates.
            raw = np.exp(logits - logits.max(axis=1, keepdims=True))
            total_raw = raw.sum(axis=1)
            # What the rules allow: the representation's events in the pitch range, HOLD only
            # while a note sounds (and within longest_note), a rest within longest_rest; if
            # nothing is left, any note the representation has.
            can_hold = sounding & (ends[t + 1] - ends[onset] <= longest[onset] + 1e-9)
            allowed = permitted[t][None, :].repeat(batch, axis=0)
            allowed[:, hold] &= can_hold
            if rest is not None:
                allowed[:, rest] &= (previous != rest) | (ends[t + 1] - ends[rest_onset] <= longest_rest + 1e-9)
            empty = ~allowed.any(axis=1)
            nothing_left = bool(empty.any())
            if nothing_left:
                allowed[empty] = is_note
            # Tempered over the allowed events, weighted; HOLD divided by the factor.
            tempered = tempered_probabilities(logits, allowed, inverse_temperature)
            p = reweight_notes(tempered, weight[t], notes)
            p[:, hold] *= can_hold / factor
            if nothing_left:
                p[empty] = tempered[empty]
            if echoed is not None and copying.any():
                # A copy the rules allow (no hold of silence, no rest past its cap); else the model's draw.
                copied = copying & (p[rows, echoed] > 0)
                if copied.any():
                    p[copied] = 0.0
                    p[copied, echoed[copied]] = 1.0
            cdf = np.cumsum(p, axis=1)
            if top_p < 1.0:
                # Nucleus: keep the likeliest events until top_p of the mass is covered.
                descending = -np.sort(-p, axis=1)
                before = np.cumsum(descending, axis=1) - descending
                kept = (before < top_p * cdf[:, -1:]).sum(axis=1)
                p = np.where(p >= descending[rows, kept - 1][:, None], p, 0.0)
                cdf = np.cumsum(p, axis=1)
            # Inverse-CDF draw with this step's uniform from each candidate's stream.
            event = np.minimum((cdf < uniforms[:, t, None] * cdf[:, -1:]).sum(axis=1), vocab - 1)
            log_likelihood += np.log(raw[rows, event] / total_raw)
        new_note = is_note[event]
        onset = np.where(new_note, t, onset)
        if rest is not None:
            # A silent section's rest does not count against longest_rest: it starts after it.
            rest_onset = np.where((event == rest) & (previous != rest), t, rest_onset) if not silent_of[t] else np.full(batch, t + 1)
            sounding = np.where(event == rest, False, sounding | new_note)
        else:
            sounding |= new_note
        # The divisor stays finite and positive through any number of holds (bounded start and growth).
        factor = np.where(event == hold, np.clip(factor * growth, 1e-300, 1e300), reduction_start)
        if echoed is not None:
            matching &= event == echoed
        events[:, t] = event
        previous = event
    return events, log_likelihood
