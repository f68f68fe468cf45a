"""The sampling sweep: settings side by side, averaged over seeds, and its bad input."""

from __future__ import annotations

import pytest

from music21_melgen.errors import GenerationError, MelgenError
from music21_melgen.training.evaluate import corpus_songs, evaluate
from music21_melgen.training.sampling_sweep import format_markdown, main, parse_setting, sweep


def test_parse_setting_rejects_what_sampling_would() -> None:
    assert parse_setting("longest_note={\"bars\": 1}") == {"longest_note": {"bars": 1}}
    with pytest.raises(GenerationError, match="top_p must lie in"):
        parse_setting("top_p=2")
    with pytest.raises(GenerationError, match="not name=value"):
        parse_setting("temperature")
    with pytest.raises(GenerationError, match="temperature must be a number"):
        parse_setting("temperature=warm")
    assert parse_setting("echo_harmony=roots") == {"echo_harmony": "roots"}
    with pytest.raises(GenerationError, match="echo_harmony must be one of"):
        parse_setting("echo_harmony=notes")
    with pytest.raises(GenerationError, match="unknown setting"):
        parse_setting("temprature=1.0")


def test_sweep_averages_evaluations_over_seeds(rock_corpus) -> None:
    songs = corpus_songs(rock_corpus, split="validation", limit=2)
    plain = {"chord_tone_weight": 1.0, "longest_rest": None}
    result = sweep(songs, "default", [plain, {"chord_tone_weight": 3.0}], seeds=[0, 7])
    assert result.seeds == (0, 7) and len(result.rows) == 2
    # The mean over seeds is the mean of the single evaluations.
    singles = [
        evaluate(songs, ["default"], seed=seed, controls=plain).rows[1].counts.summary()["chord_tone_ratio"]
        for seed in (0, 7)
    ]
    assert result.rows[0].means["chord_tone_ratio"] == pytest.approx(sum(singles) / 2)
    without_loss = evaluate(songs, ["default"], seed=0, controls=plain, loss=False).rows[1]
    with_loss = evaluate(songs, ["default"], seed=0, controls=plain).rows[1]
    assert without_loss.bits_per_step is None and with_loss.bits_per_step > 0
    assert without_loss.counts.summary() == with_loss.counts.summary()
    low, high = result.rows[0].notes_per_bar_range
    assert low <= result.rows[0].means["notes_per_bar"] <= high
    assert result.rows[1].means["chord_tone_ratio"] > result.rows[0].means["chord_tone_ratio"] + 0.1
    assert all(0 < row.means["overlap_length"] <= 1 for row in result.rows)
    table = format_markdown(result)
    assert "chord_tone_weight 3.0" in table and table.count("\n| ") == 3  # header + 2 rows


def test_sweep_needs_settings_and_seeds(rock_corpus) -> None:
    songs = corpus_songs(rock_corpus, split="validation", limit=1)
    with pytest.raises(MelgenError, match="at least one setting"):
        sweep(songs, "default", [], seeds=[0])


def test_command_line_reports_bad_input_without_traceback(rock_corpus, capsys) -> None:
    assert main(["--corpus", str(rock_corpus), "--setting", "top_p=0"]) == 2
    assert "top_p must lie in" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--corpus", str(rock_corpus), "--seeds", "a,b", "--setting", "top_p=1"])
