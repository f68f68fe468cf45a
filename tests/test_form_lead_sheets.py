"""Form on lead sheets nobody here wrote: music21's bundled ones.

The echo must hold beyond the Rock Corpus: over music21's two bundled lead
sheets (a ragtime and a Foster song), the default model's melodies repeat
bars about as often as the written melodies, and echo far more than with
repetition off.
"""

from __future__ import annotations

import pytest
from music21 import corpus

from music21_melgen.engine import load_model
from music21_melgen.form import find_form
from music21_melgen.sampling import SamplingControls, generate_melody
from music21_melgen.score_harmony import timeline_from_score
from music21_melgen.training.form_metrics import form_measures
from music21_melgen.training.sources import melody_from_score

LEAD_SHEETS = ("leadSheet/berlinAlexandersRagtime.mxl", "leadSheet/fosterBrownHair.mxl")
SEEDS = range(3)


def _mean(runs: list[dict]) -> dict[str, float]:
    return {name: sum(run[name] or 0.0 for run in runs) / len(runs) for name in runs[0]}


@pytest.mark.parametrize("name", LEAD_SHEETS)
def test_bundled_lead_sheets_get_their_form(name: str) -> None:
    score = corpus.parse(name)
    timeline = timeline_from_score(score)
    assert find_form(timeline).echo_share > 0.4  # both repeat their harmony
    real = form_measures(melody_from_score(score), timeline)
    model = load_model("default")

    def measures(**given) -> dict[str, float]:
        runs = [
            form_measures(generate_melody(model, timeline, SamplingControls.for_model(model, seed=s, **given)).notes, timeline)
            for s in SEEDS
        ]
        return _mean(runs)

    bundled, fresh = measures(), measures(repetition=0.0)
    assert abs(bundled["bar_repeat"] - real["bar_repeat"]) <= 0.15
    assert abs(bundled["chord_echo"] - real["chord_echo"]) <= 0.25
    assert bundled["bar_repeat"] > 3 * fresh["bar_repeat"] and bundled["chord_echo"] > 2 * fresh["chord_echo"]
