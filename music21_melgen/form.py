"""Form: which passages of a piece echo earlier ones.

Real songs repeat their melody when their harmony repeats. A :class:`Form`
says, for every measure of a :class:`~music21_melgen.timeline.ChordTimeline`,
which earlier measure it echoes (or none); the sampler then lets the model
see, at every step, what the melody did at the aligned step of that measure.

Found in the harmony (:func:`find_form`): a measure's *harmony signature* is
its length and meter and, for each chord sounding in it, the chord's start
within the measure, its root and its pitch classes, all relative to the key's
tonic (so a chorus moved up a step still echoes). A two-measure passage whose
signatures equal those of an earlier passage that does not overlap it echoes:
"the same chords at the same beats for at least two bars, in the key of the
moment". Each of its measures echoes the earlier measure with the same harmony
whose surrounding harmony agrees longest (verse 2 echoes verse 1). Chord
labels found by an algorithm (POP909's) name one progression differently on
its returns (``C`` then ``Cmaj7``); with ``harmony="roots"`` a measure left
without an echo also echoes where the *roots* of its chords repeat an earlier
passage's. Or given by the user
(:func:`form_from_labels`, :func:`form_from_passages`): ``"AABA"`` cuts the measures into equal phrases,
and each phrase echoes the latest earlier phrase with its letter.

>>> from fractions import Fraction as F
>>> from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan
>>> roots = [0, 5, 7, 0, 0, 5, 7, 0]
>>> bars = tuple(MeasureSpan(i + 1, F(4 * i), F(4), '4/4', F(1)) for i in range(8))
>>> chords = tuple(ChordSpan(F(4 * i), F(4), r, frozenset({r, (r + 4) % 12, (r + 7) % 12}), 0, 'major', i + 1)
...                for i, r in enumerate(roots))
>>> form = find_form(ChordTimeline(chords, bars))
>>> form.reference
(None, None, None, None, 0, 1, 2, 3)
>>> print(form)
passage  measures  echoes  why
A        1-4       -       new material
A        5-8       1-4     repeated harmony
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from music21_melgen.errors import GenerationError
from music21_melgen.timeline import ChordTimeline

__all__ = [
    "Passage",
    "Form",
    "find_form",
    "form_from_labels",
    "form_from_passages",
    "no_form",
    "step_lags",
    "reference_events",
    "echo_input",
    "echo_inputs",
    "harmony_signatures",
    "root_signatures",
    "ECHO_HARMONIES",
]

PASSAGE_BARS = 2  # measures of harmony that must repeat before a passage counts as an echo
# How alike an earlier passage's harmony must be for a passage to echo it: the same chords at
# the same beats, or (for measures that have no such echo) the same chord roots in each measure.
ECHO_HARMONIES = ("chords", "roots")


@dataclass(frozen=True)
class Passage:
    """A run of measures: new material, or an echo of an earlier run of the same length."""

    label: str  # 'A', 'B', "A'" ...
    first: int  # index into timeline.measures of its first measure
    last: int  # index of its last measure (inclusive)
    echoes: tuple[int, int] | None  # (first, last) measure indices it echoes, or None
    why: str  # 'new material', 'repeated harmony', 'form given: AABA'


@dataclass(frozen=True)
class Form:
    """Per measure, the earlier measure it echoes (None: new material); and the passages."""

    reference: tuple[int | None, ...]  # one entry per measure of the timeline, an index into its measures
    passages: tuple[Passage, ...]
    measure_numbers: tuple[int, ...]  # the score's numbers of the measures, for display

    def __str__(self) -> str:
        def span(first: int, last: int) -> str:
            a, b = self.measure_numbers[first], self.measure_numbers[last]
            return f"{a}-{b}" if a != b else f"{a}"

        rows = [("passage", "measures", "echoes", "why")]
        for passage in self.passages:
            echoes = span(*passage.echoes) if passage.echoes else "-"
            rows.append((passage.label, span(passage.first, passage.last), echoes, passage.why))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows
        )

    @property
    def echo_share(self) -> float:
        """Share of measures that echo an earlier one."""
        return sum(r is not None for r in self.reference) / max(len(self.reference), 1)


def no_form(timeline: ChordTimeline) -> Form:
    """Every measure new: today's behaviour without form (``form=None``)."""
    count = len(timeline.measures)
    numbers = tuple(m.number for m in timeline.measures)
    return Form((None,) * count, (Passage("A", 0, count - 1, None, "form off"),), numbers)


def harmony_signatures(timeline: ChordTimeline) -> list[tuple]:
    """The harmony signature of each measure (see the module doc)."""
    measures = timeline.measures
    signatures: list[list] = [[m.length, m.time_signature] for m in measures]
    starts = [m.offset for m in measures]
    index = 0
    for chord in timeline.chords:
        while index + 1 < len(measures) and starts[index + 1] <= chord.offset:
            index += 1
        first = index
        # A chord spanning several measures sounds at the start of each later one.
        for position in range(first, len(measures)):
            measure = measures[position]
            if measure.offset >= chord.end:
                break
            start = max(chord.offset, measure.offset) - measure.offset
            tonic = chord.key_tonic
            root = None if chord.root is None else (chord.root - tonic) % 12
            classes = tuple(sorted((pc - tonic) % 12 for pc in chord.pitch_classes))
            signatures[position].append((start, root, classes, chord.mode))
    return [tuple(s) for s in signatures]


def find_form(
    timeline: ChordTimeline,
    *,
    passage_bars: int = PASSAGE_BARS,
    silent: Collection[int] = (),
    harmony: str = "chords",
) -> Form:
    """The echoes a piece's harmony implies, each echoing measure pointing at its likeliest twin.

    Which measures echo: those of a passage of ``passage_bars`` measures whose
    harmony repeats an earlier passage that does not overlap it. Which earlier
    measure each echoes: of the earlier measures with its harmony, the one
    whose surrounding harmony agrees longest with its own (:func:`_twins`):
    verse 2 echoes verse 1 rather than the previous line of verse 2 over the
    same loop of chords, as real melodies do. ``harmony="roots"``: a measure
    that echoes no passage of the same chords echoes, found the same way, one
    where only its chord roots (:func:`root_signatures`) repeat. A second ending (the score's
    repeat brackets) echoes the first, measure for measure, whatever its
    chords. ``silent``: indices of measures where the melody rests (an intro,
    a solo): they neither echo nor are echoed.
    """
    if harmony not in ECHO_HARMONIES:
        raise GenerationError(f"echo harmony must be one of {', '.join(ECHO_HARMONIES)}, got {harmony!r:.40}")
    quiet = set(silent)
    signatures = harmony_signatures(timeline)
    reference = _echoes(signatures, passage_bars, quiet)
    why = ["repeated harmony"] * len(reference)
    if harmony == "roots":
        for measure, twin in enumerate(_echoes(root_signatures(signatures), passage_bars, quiet)):
            if reference[measure] is None and twin is not None:
                reference[measure], why[measure] = twin, "repeated chord roots"
    for measure, first_ending in _second_endings(timeline).items():
        if measure not in quiet and first_ending not in quiet:
            reference[measure] = first_ending
    return _with_passages(timeline, reference, why)


def root_signatures(signatures: list[tuple]) -> list[tuple]:
    """Each measure's harmony signature cut to its length, meter and the set of its chord roots.

    >>> root_signatures([(4, '4/4', (0, 0, (0, 4, 7), 'major'), (2, 9, (0, 4, 9), 'major'))])
    [(4, '4/4', frozenset({0, 9}))]
    """
    return [(*signature[:2], frozenset(chord[1] for chord in signature[2:])) for signature in signatures]


def _echoes(signatures: list[tuple], passage_bars: int, quiet: set[int]) -> list[int | None]:
    """Per measure, its twin when it lies in a passage whose signatures repeat earlier, else None."""
    count = len(signatures)
    echoing = [False] * count
    for start in range(count - passage_bars + 1):
        window = signatures[start : start + passage_bars]
        if any(signatures[e : e + passage_bars] == window for e in range(start - passage_bars, -1, -1)):
            echoing[start : start + passage_bars] = [True] * passage_bars
    twins = _twins([("silent", m) if m in quiet else sig for m, sig in enumerate(signatures)])
    return [twins[m] if echoing[m] and m not in quiet else None for m in range(count)]


def _second_endings(timeline: ChordTimeline) -> dict[int, int]:
    """Measure of a later ending (2nd, 3rd ...) → the aligned measure of the first ending before it.

    A second ending ends the repeated passage a second time: it echoes the
    first, measure for measure, as far as both run and their lengths agree.
    """
    measures = timeline.measures
    runs: list[tuple[int, int, int]] = []  # (ending, first index, last index)
    for index, measure in enumerate(measures):
        if measure.ending is None:
            continue
        if runs and runs[-1][0] == measure.ending and runs[-1][2] == index - 1:
            runs[-1] = (measure.ending, runs[-1][1], index)
        else:
            runs.append((measure.ending, index, index))
    echoes: dict[int, int] = {}
    first_run: tuple[int, int, int] | None = None
    for run in runs:
        if run[0] == 1:
            first_run = run
            continue
        if first_run is None:
            continue
        for k in range(min(run[2] - run[1], first_run[2] - first_run[1]) + 1):
            later, earlier = run[1] + k, first_run[1] + k
            if measures[later].length != measures[earlier].length:
                break
            echoes[later] = earlier
    return echoes


def _twins(signatures: list[tuple]) -> list[int | None]:
    """For each measure, the earlier measure with the same harmony whose context agrees longest.

    Context: the run of equal measures just before both, plus the run just
    after both (up to the later one); ties go to the latest. In the real
    Rock Corpus melodies (validation split) the measure chosen so is the one
    the melody repeats exactly 25 % more often than the latest such measure.

    >>> _twins(["a", "b", "a", "b", "c", "a", "b", "a", "b"])
    [None, None, 0, 1, None, 0, 1, 2, 3]
    """
    ids = {sig: number for number, sig in enumerate(dict.fromkeys(signatures))}
    codes = np.array([ids[sig] for sig in signatures], dtype=np.int64)
    count = len(codes)
    best_context = np.full(count, -1, dtype=np.int64)
    best = np.full(count, -1, dtype=np.int64)
    for lag in range(1, count):  # shortest lag first: on a tie the latest measure is kept
        equal = codes[lag:] == codes[:-lag]  # equal[k]: measure k + lag has the harmony of measure k
        context = _runs_before(equal) + np.minimum(_runs_before(equal[::-1])[::-1], lag - 1)
        target = np.arange(lag, count)
        better = equal & (context > best_context[lag:])
        best_context[target[better]] = context[better]
        best[target[better]] = target[better] - lag
    return [int(b) if b >= 0 else None for b in best]


def _runs_before(flags: np.ndarray) -> np.ndarray:
    """For each position, how many True values run just before it.

    >>> _runs_before(np.array([True, True, False, True, True])).tolist()
    [0, 1, 2, 0, 1]
    """
    index = np.arange(len(flags))
    last_false = np.maximum.accumulate(np.where(flags, -1, index))
    run_through = index - last_false  # True values ending at each position, itself included
    return np.concatenate(([0], run_through[:-1])) if len(flags) else run_through


def form_from_labels(timeline: ChordTimeline, labels: str) -> Form:
    """A user's form over equal phrases: ``"AABA"`` → four phrases, A's echo the latest A.

    GenerationError when the measures do not divide into that many equal phrases.
    """
    letters = [c for c in labels.strip() if not c.isspace()]
    if not letters or not all(c.isalpha() for c in letters):
        raise GenerationError(f"form {labels!r}: give letters, one per phrase, e.g. 'AABA'")
    count = len(timeline.measures)
    if count % len(letters):
        raise GenerationError(
            f"form {labels!r}: {count} measures do not divide into {len(letters)} equal phrases"
        )
    size = count // len(letters)
    reference: list[int | None] = [None] * count
    latest: dict[str, int] = {}
    for phrase, letter in enumerate(letters):
        first = phrase * size
        if letter in latest:
            lengths = [timeline.measures[latest[letter] + k].length for k in range(size)]
            if lengths != [timeline.measures[first + k].length for k in range(size)]:
                raise GenerationError(
                    f"form {labels!r}: phrase {phrase + 1} (measures {timeline.measures[first].number}-"
                    f"{timeline.measures[first + size - 1].number}) cannot echo an earlier {letter}: "
                    "its measures differ in length"
                )
            for k in range(size):
                reference[first + k] = latest[letter] + k
        latest[letter] = first
    return _with_passages(timeline, reference, f"form given: {labels}")


def form_from_passages(timeline: ChordTimeline, passages: str) -> Form:
    """A user's form by measure numbers: ``"9-16=1-8, 25-32=1-8"`` (measures 9-16 echo 1-8, ...).

    Numbers are the score's measure numbers; a passage may be one measure
    (``"12=4"``). GenerationError naming the passage and its measures when one
    lies past the end, echoes a passage of another length or one not wholly
    before it, or overlaps another passage.

    >>> from fractions import Fraction as F
    >>> from music21_melgen.timeline import ChordSpan, MeasureSpan
    >>> bars = tuple(MeasureSpan(i + 1, F(4 * i), F(4), '4/4', F(1)) for i in range(8))
    >>> chords = (ChordSpan(F(0), F(32), 0, frozenset({0, 4, 7}), 0, 'major', 1),)
    >>> form_from_passages(ChordTimeline(chords, bars), "5-8=1-4").reference
    (None, None, None, None, 0, 1, 2, 3)
    """
    index_of: dict[int, int] = {}
    for index, measure in enumerate(timeline.measures):
        index_of.setdefault(measure.number, index)
    numbers = [m.number for m in timeline.measures]
    span_text = f"{numbers[0]}-{numbers[-1]}" if numbers else "none"

    def span(text: str, whole: str) -> tuple[int, int]:
        first, _, last = text.strip().partition("-")
        try:
            a, b = int(first), int(last or first)
        except ValueError:
            raise GenerationError(f"form {whole!r}: {text.strip()!r} is not a measure or a range such as 9-16") from None
        for number in (a, b):
            if number not in index_of:
                raise GenerationError(
                    f"form {whole!r}: measure {number} is past the end (the score has measures {span_text})"
                )
        if index_of[b] < index_of[a]:
            raise GenerationError(f"form {whole!r}: {text.strip()!r} runs backwards")
        return index_of[a], index_of[b]

    reference: list[int | None] = [None] * len(timeline.measures)
    taken: dict[int, str] = {}
    for item in (part for part in passages.split(",") if part.strip()):
        target, equals, source = item.partition("=")
        if not equals:
            raise GenerationError(f"form {passages!r}: {item.strip()!r} is not PASSAGE=ECHOED, e.g. 9-16=1-8")
        (first, last), (echo_first, echo_last) = span(target, passages), span(source, passages)
        name = f"passage {target.strip()} (measures {numbers[first]}-{numbers[last]})"
        if last - first != echo_last - echo_first:
            raise GenerationError(
                f"form {passages!r}: {name} cannot echo measures {source.strip()}: "
                f"{last - first + 1} measures against {echo_last - echo_first + 1}"
            )
        if echo_last >= first:
            raise GenerationError(f"form {passages!r}: {name} must echo measures wholly before it, not {source.strip()}")
        for k in range(first, last + 1):
            if k in taken:
                raise GenerationError(f"form {passages!r}: {name} overlaps passage {taken[k]}")
            taken[k] = target.strip()
            reference[k] = echo_first + (k - first)
    return _with_passages(timeline, reference, f"form given: {passages.strip()}")


def _with_passages(timeline: ChordTimeline, reference: list[int | None], why: str | list[str]) -> Form:
    """Group measures into passages: runs of new material, and runs echoing one contiguous earlier run.

    ``why``: why the echoes echo, one reason for all or one per measure (a passage takes its first's).
    """
    whys = [why] * len(reference) if isinstance(why, str) else why
    numbers = tuple(m.number for m in timeline.measures)
    passages: list[Passage] = []
    label_of: dict[int, str] = {}  # measure index -> label of the passage it is in
    next_letter = 0
    index = 0
    count = len(reference)
    while index < count:
        end = index
        if reference[index] is None:
            while end + 1 < count and reference[end + 1] is None:
                end += 1
            label = chr(ord("A") + next_letter % 26)
            next_letter += 1
            passages.append(Passage(label, index, end, None, "new material"))
        else:
            lag = index - reference[index]
            while end + 1 < count and reference[end + 1] is not None and end + 1 - reference[end + 1] == lag:
                end += 1
            source = label_of.get(reference[index], "A")
            label = source.rstrip("'") + ("" if _same_material(reference, index, end, lag, label_of, source) else "'")
            passages.append(Passage(label, index, end, (index - lag, end - lag), _why(timeline, index, end, lag, whys[index])))
        for k in range(index, end + 1):
            label_of[k] = passages[-1].label
        index = end + 1
    return Form(tuple(reference), tuple(passages), numbers)


def _why(timeline: ChordTimeline, first: int, last: int, lag: int, why: str) -> str:
    """``why``, named by the section when the passage and its echo lie in sections of one name ("Ch again");
    "second ending" for a later ending that echoes the first."""
    if all((timeline.measures[k].ending or 0) > 1 and timeline.measures[k - lag].ending == 1 for k in range(first, last + 1)):
        return "second ending"
    names = {timeline.measures[k].section for k in range(first, last + 1)}
    names |= {timeline.measures[k - lag].section for k in range(first, last + 1)}
    if len(names) == 1 and None not in names:
        return f"{names.pop()} again, {why}"
    return why


def _same_material(
    reference: list[int | None], first: int, last: int, lag: int, label_of: dict[int, str], label: str
) -> bool:
    """True when the echoed run lies wholly in passages of one label (an exact return, not a variant)."""
    return all(label_of.get(k - lag) == label for k in range(first, last + 1))


def step_lags(form: Form, measure_of_step: np.ndarray) -> np.ndarray:
    """Steps back to the aligned step of the echoed measure, per grid step (0: no echo), int [T].

    ``measure_of_step`` [T] (non-decreasing) comes from the representation's grid.

    >>> form = Form((None, 0), (), (1, 2))
    >>> step_lags(form, np.array([0, 0, 1, 1])).tolist()
    [0, 0, 2, 2]
    """
    measure_of_step = np.asarray(measure_of_step, dtype=np.int64)
    count = len(form.reference)
    first_step = np.searchsorted(measure_of_step, np.arange(count), side="left")
    lag_of_measure = np.array(
        [0 if ref is None else int(first_step[m] - first_step[ref]) for m, ref in enumerate(form.reference)],
        dtype=np.int64,
    )
    return lag_of_measure[np.clip(measure_of_step, 0, count - 1)] if count else np.zeros(len(measure_of_step), np.int64)


def echo_input(echoed: np.ndarray, matching: np.ndarray, none: int) -> np.ndarray:
    """The network's echo input: the echoed event, shifted by ``none + 1`` while the measure so far matches its echo.

    So one embedding table says both what the echoed passage did here and
    whether this measure has followed it exactly up to now (index ``none`` =
    no echo): once a measure starts copying its echo, the model can see it and
    finish the bar, as real melodies repeat whole bars.

    >>> echo_input(np.array([3, 3]), np.array([True, False]), 9).tolist()
    [13, 3]
    """
    return np.where(matching, echoed + none + 1, echoed)


def echo_inputs(events: np.ndarray, lags: np.ndarray, measure_of_step: np.ndarray, none: int) -> np.ndarray:
    """:func:`echo_input` of every step of a known melody (training, scoring), int [T].

    >>> echo_inputs(np.array([5, 1, 5, 2]), np.array([0, 0, 2, 2]), np.array([0, 0, 1, 1]), 9).tolist()
    [9, 9, 15, 11]
    """
    echoed = reference_events(events, lags, none)
    has = echoed != none
    matching = np.ones(len(events), dtype=bool)
    for t in range(1, len(events)):
        if measure_of_step[t] == measure_of_step[t - 1]:
            matching[t] = matching[t - 1] and (not has[t - 1] or events[t - 1] == echoed[t - 1])
    return np.where(has, echo_input(echoed, matching, none), none)


def reference_events(events: np.ndarray, lags: np.ndarray, none: int) -> np.ndarray:
    """The event at the aligned step of the echoed passage, per step (``none`` where no echo).

    >>> reference_events(np.array([5, 1, 7, 1]), np.array([0, 0, 2, 2]), 9).tolist()
    [9, 9, 5, 1]
    """
    steps = np.arange(len(events))
    source = steps - lags
    return np.where((lags > 0) & (source >= 0), events[np.clip(source, 0, None)], none)
