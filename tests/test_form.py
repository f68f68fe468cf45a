"""Form: passages found in the harmony or given, their echo in sampling, and the form measures."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction as F

import numpy as np
import pytest

from music21_melgen.errors import GenerationError
from music21_melgen.form import find_form, form_from_labels, form_from_passages, no_form, reference_events, step_lags
from music21_melgen.sampling import SamplingControls, generate_melody, sample_events
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan, MelodyNote
from music21_melgen.training.form_metrics import form_measures

TRIAD = {0: (0, 4, 7), 5: (5, 9, 0), 7: (7, 11, 2), 9: (9, 0, 4), 2: (2, 5, 9)}


def timeline(roots: list[int], *, tonics: list[int] | None = None, signature: str = "4/4", length: F = F(4)) -> ChordTimeline:
    tonics = tonics or [0] * len(roots)
    measures = tuple(MeasureSpan(i + 1, length * i, length, signature, F(1)) for i in range(len(roots)))
    chords = tuple(
        ChordSpan(length * i, length, (r + t) % 12, frozenset((pc + t) % 12 for pc in TRIAD[r]), t, "major", i + 1)
        for i, (r, t) in enumerate(zip(roots, tonics))
    )
    return ChordTimeline(chords, measures)


VERSE, CHORUS = [0, 5, 7, 0], [9, 5, 9, 2]


def test_verse_chorus_verse_chorus() -> None:
    form = find_form(timeline(VERSE + CHORUS + VERSE + CHORUS))
    assert form.reference == (None,) * 8 + tuple(range(8))
    assert [(p.label, p.first, p.last, p.echoes) for p in form.passages] == [("A", 0, 7, None), ("A", 8, 15, (0, 7))]


def test_aaba_with_a_bridge_and_a_transposed_return() -> None:
    bridge = [2, 7, 2, 7]
    tonics = [0] * 12 + [2] * 4  # the last A a whole step up: still an echo, in the key of the moment
    form = find_form(timeline(VERSE + VERSE + bridge + VERSE, tonics=tonics))
    assert form.reference[4:8] == (0, 1, 2, 3)
    assert form.reference[8] is None
    assert form.reference[12:16] == (4, 5, 6, 7)
    assert "repeated harmony" in str(form)


def test_verse_two_echoes_verse_one_not_the_last_turn_of_the_loop() -> None:
    loop, chorus = [0, 5, 0, 5], [9, 2, 9, 7]  # a verse over a two-bar loop of chords
    form = find_form(timeline(loop + chorus + loop))
    assert form.reference[2:4] == (0, 1)  # inside the first verse, the loop's first turn
    # The second verse: the latest [I, IV] before it starts at measure 3, but its whole
    # line matches the first verse from measure 1 on: that is the echo a singer hears.
    assert form.reference[8:12] == (0, 1, 2, 3)


def test_two_bars_of_repeated_harmony_are_needed() -> None:
    form = find_form(timeline([0, 5, 7, 9, 0, 2, 7, 5]))  # only single bars repeat
    assert form.reference == (None,) * 8


def test_a_given_form_over_equal_phrases_and_its_errors() -> None:
    tl = timeline(VERSE + VERSE + VERSE + VERSE)
    form = form_from_labels(tl, "AABA")
    assert form.reference[4:8] == (0, 1, 2, 3) and form.reference[8:12] == (None,) * 4
    assert form.reference[12:16] == (4, 5, 6, 7)
    with pytest.raises(GenerationError, match="do not divide into 3 equal phrases"):
        form_from_labels(tl, "ABA")
    with pytest.raises(GenerationError, match="give letters"):
        form_from_labels(tl, "A1")
    with pytest.raises(GenerationError, match="covers 4 measures"):
        generate_melody(_model(), tl, form=form_from_labels(timeline(VERSE), "AB"))


def test_lags_and_reference_events() -> None:
    form = find_form(timeline(VERSE + VERSE))
    lags = step_lags(form, np.repeat(np.arange(8), 16))
    assert lags[:64].tolist() == [0] * 64 and set(lags[64:].tolist()) == {64}
    events = np.arange(128)
    assert reference_events(events, lags, -1)[64:].tolist() == list(range(64))


def _model():
    from music21_melgen.checkpoint import load_model

    return load_model("default")


def test_full_repetition_copies_the_echoed_passage() -> None:
    tl = timeline(VERSE + CHORUS + VERSE + CHORUS)
    model = _model()
    melody = generate_melody(model, tl, SamplingControls.for_model(model, seed=3, repetition=1.0))
    assert melody.notes
    first = [(n.offset, n.length, n.midi) for n in melody.notes if n.offset < 32]
    second = [(n.offset - 32, n.length, n.midi) for n in melody.notes if n.offset >= 32]
    # A note held across the seam may end differently; every note starting inside the echo is a copy.
    assert [n[0] for n in second] == [n[0] for n in first] and [n[2] for n in second] == [n[2] for n in first]
    assert form_measures(melody.notes, tl)["bar_repeat"] >= 0.5


def test_form_off_is_the_model_without_echo() -> None:
    tl = timeline(VERSE + VERSE)
    off = sample_events(_model(), tl, SamplingControls(seed=1), form=None)
    again = sample_events(_model(), tl, SamplingControls(seed=1), form=no_form(tl))
    assert (off.events == again.events).all()


def test_repetition_must_lie_in_0_1() -> None:
    with pytest.raises(GenerationError, match="repetition must lie in 0..1"):
        SamplingControls(repetition=1.5)


def test_form_measures_of_an_exact_and_a_fresh_melody() -> None:
    tl = timeline(VERSE + VERSE)
    line = [MelodyNote(F(4 * i), F(1), 60 + 2 * (i % 4)) for i in range(8)]
    assert form_measures(line, tl) == {"bar_repeat": 0.5, "chord_echo": 1.0, "rhythm_echo": 1.0}
    fresh = [MelodyNote(F(4 * i + (i // 4)), F(1), 60 + i) for i in range(8)]
    measures = form_measures(fresh, tl)
    assert measures["bar_repeat"] == 0.0 and measures["chord_echo"] == 0.0 and measures["rhythm_echo"] == 0.0


def test_engine_form_and_the_accessor_print_the_passages() -> None:
    from lead_sheets import chord_symbol_score

    import music21_melgen  # noqa: F401  (registers the accessor)

    score = chord_symbol_score(["C", "F", "G", "C"] * 2 + ["Am", "F", "Am", "Dm"] + ["C", "F", "G", "C"])
    form = score.melgen.form()
    table = str(form)
    assert "repeated harmony" in table and "5-8" in table and "13-16" in table
    assert score.melgen.form(None).reference == (None,) * 16
    assert score.melgen.form("AABA").reference[12:] == (4, 5, 6, 7)
    sevenths = chord_symbol_score(["C", "F", "G", "C"] + ["C7", "F7", "G7", "C7"])
    assert sevenths.melgen.form().reference[4:] == (None,) * 4
    assert sevenths.melgen.form(echo_harmony="roots").reference[4:] == (0, 1, 2, 3)


def test_cli_form_options_models_version_and_example(tmp_path, capsys) -> None:
    from music21_melgen.cli import main

    example = tmp_path / "lead.musicxml"
    assert main(["example", str(example)]) == 0 and example.is_file()
    out = tmp_path / "out.musicxml"
    assert main(["generate", str(example), "-o", str(out), "--form", "AABB", "--print-form", "--repetition", "1"]) == 0
    printed = capsys.readouterr().out
    assert "form given: AABB" in printed and out.is_file()
    assert main(["generate", str(example), "-o", str(out), "--form", "ABC"]) == 2
    assert "do not divide into 3 equal phrases" in capsys.readouterr().err
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "default: lstm" in listing and "melgen2019: melgen_window" in listing and "recommended sampling" in listing
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "music21-melgen" in capsys.readouterr().out


def _sectioned(sections: list[str | None]) -> ChordTimeline:
    base = timeline(([0, 5, 7, 0] * 4)[: len(sections)])
    measures = tuple(replace(m, section=name) for m, name in zip(base.measures, sections))
    return ChordTimeline(base.chords, measures)


def test_the_melody_rests_over_an_intro_and_a_solo_and_sings_elsewhere() -> None:
    from music21_melgen.controls import SamplingControls

    sections = ["Intro"] * 2 + ["Vr"] * 4 + ["Solo 2"] * 2 + ["Ch"] * 4
    tl = _sectioned(sections)
    melody = generate_melody(_model(), tl, SamplingControls(seed=3))
    sung = {tl.measure_at(n.offset).section for n in melody.notes}
    assert sung and not sung & {"Intro", "Solo 2"}
    everywhere = generate_melody(_model(), tl, SamplingControls(seed=3, silent_sections=()))
    assert {tl.measure_at(n.offset).section for n in everywhere.notes} & {"Intro", "Solo 2"}
    only_intro = _sectioned(["Intro"] * 4)  # a piece that is all intro still gets its melody
    assert generate_melody(_model(), only_intro, SamplingControls(seed=3)).notes


def test_sections_come_from_rehearsal_marks_and_rock_corpus_sections() -> None:
    from music21 import expressions, harmony, note, stream

    from music21_melgen.corpus_adapters.har import parse_har
    from music21_melgen.score_harmony import timeline_from_score

    part = stream.Part()
    for number, mark in enumerate(["Intro", None, "Verse", None], start=1):
        bar = stream.Measure(number=number)
        if mark:
            bar.insert(0, expressions.RehearsalMark(mark))
        bar.insert(0, harmony.ChordSymbol("C"))
        bar.append(note.Note("E4", quarterLength=4))
        part.append(bar)
    score = stream.Score([part])
    assert [m.section for m in timeline_from_score(score).measures] == ["Intro", "Intro", "Verse", "Verse"]
    analysis = parse_har("In: I | V |\nVr: I | IV | V | I |\nS: [C] $In $Vr*2 I |\n")
    assert analysis.sections == ("In", "In") + ("Vr",) * 8 + (None,)


def test_silent_sections_are_checked() -> None:
    from music21_melgen.controls import SamplingControls

    with pytest.raises(GenerationError, match="silent_sections"):
        SamplingControls(silent_sections=("x" * 65,))
    with pytest.raises(GenerationError, match="silent_sections"):
        SamplingControls(silent_sections="intro")
    assert SamplingControls(silent_sections=("Intro 2",)).silent_sections == ("intro",)


def test_the_form_table_names_the_section_that_comes_back() -> None:
    form = find_form(_verse_chorus_verse())
    text = str(form)
    assert "Vr again, repeated harmony" in text


def _verse_chorus_verse() -> ChordTimeline:
    base = timeline(VERSE + CHORUS + VERSE)
    names = ["Vr"] * 4 + ["Ch"] * 4 + ["Vr"] * 4
    return ChordTimeline(base.chords, tuple(replace(m, section=n) for m, n in zip(base.measures, names)))


def test_a_form_given_by_measure_numbers_and_its_errors() -> None:
    tl = timeline(VERSE + CHORUS + VERSE + CHORUS)  # measures 1-16
    form = form_from_passages(tl, "9-12=1-4, 13-16=5-8")
    assert form.reference == (None,) * 8 + tuple(range(8))
    assert "form given" in str(form)
    assert generate_melody(_model(), tl, form="9-12=1-4").notes  # the same string works as form=
    with pytest.raises(GenerationError, match="measure 20 is past the end"):
        form_from_passages(tl, "13-20=1-8")
    with pytest.raises(GenerationError, match=r"passage 9-16 \(measures 9-16\) cannot echo measures 1-4: 8 measures against 4"):
        form_from_passages(tl, "9-16=1-4")
    with pytest.raises(GenerationError, match="overlaps passage 9-12"):
        form_from_passages(tl, "9-12=1-4, 11-14=1-4")
    with pytest.raises(GenerationError, match="wholly before it"):
        form_from_passages(tl, "5-8=3-6")


def test_a_second_ending_echoes_the_first() -> None:
    from music21 import harmony, note, spanner, stream

    from music21_melgen.score_harmony import timeline_from_score

    part = stream.Part()
    bars = []
    for number, symbol in enumerate(["C", "F", "G", "Am", "C", "Dm", "G7", "C"], start=1):
        bar = stream.Measure(number=number)
        bar.insert(0, harmony.ChordSymbol(symbol))
        bar.append(note.Note("E4", quarterLength=4))
        part.append(bar)
        bars.append(bar)
    part.insert(0, spanner.RepeatBracket(bars[4:6], number=1))  # measures 5-6: first ending
    part.insert(0, spanner.RepeatBracket(bars[6:8], number=2))  # measures 7-8: second ending
    tl = timeline_from_score(stream.Score([part]))
    assert [m.ending for m in tl.measures] == [None] * 4 + [1, 1, 2, 2]
    form = find_form(tl)
    assert form.reference[6:8] == (4, 5)  # other chords, but the second ending echoes the first
    assert "second ending" in str(form)


def _sevenths(tl: ChordTimeline, measures: range) -> ChordTimeline:
    """The chords of ``measures`` with a minor seventh added: the same roots, other chords."""
    chords = tuple(
        replace(c, pitch_classes=c.pitch_classes | {(c.root + 10) % 12}) if i in measures else c
        for i, c in enumerate(tl.chords)
    )
    return ChordTimeline(chords, tl.measures)


def test_roots_echo_where_the_chords_come_back_relabelled() -> None:
    # Verse 2 over the verse's roots with sevenths added (a detector's C7 for C): no echo of
    # chords, an echo of roots; measures that echo by their chords keep that echo.
    tl = _sevenths(timeline(VERSE + CHORUS + VERSE + CHORUS), range(8, 12))
    assert find_form(tl).reference[8:12] == (None,) * 4
    form = find_form(tl, harmony="roots")
    assert form.reference == (None,) * 8 + tuple(range(8))
    assert "9-16      1-8     repeated chord roots" in str(form)
    model = _model()
    melody = generate_melody(model, tl, SamplingControls.for_model(model, seed=2, repetition=1.0, echo_harmony="roots"))
    first = [(n.offset, n.midi) for n in melody.notes if n.offset < 16]
    assert first and [(n.offset - 32, n.midi) for n in melody.notes if 32 <= n.offset < 48] == first
    with pytest.raises(GenerationError, match="echo_harmony must be one of chords, roots"):
        SamplingControls(echo_harmony="notes")
    with pytest.raises(GenerationError, match="echo harmony must be one of chords, roots"):
        find_form(tl, harmony="notes")


def test_cli_echo_harmony_flag(tmp_path, capsys) -> None:
    from music21_melgen.cli import main

    example = tmp_path / "lead.musicxml"
    assert main(["example", str(example)]) == 0
    out = tmp_path / "out.musicxml"
    assert main(["generate", str(example), "-o", str(out), "--echo-harmony", "roots", "--print-form"]) == 0
    assert out.is_file() and "passage" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["generate", str(example), "-o", str(out), "--echo-harmony", "notes"])
    assert "invalid choice: 'notes'" in capsys.readouterr().err
