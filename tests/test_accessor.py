"""The score.melgen accessor and the package-level functions (music21_melgen.accessor)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from music21 import harmony, key, meter, note, stream

import music21_melgen
from music21_melgen import accessor
from tiny_model import save_tiny_model

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def lead_sheet() -> stream.Score:
    part = stream.Part()
    for number, figure in enumerate(["G", "C", "D7", "G"], start=1):
        bar = stream.Measure(number=number)
        if number == 1:
            bar.append([meter.TimeSignature("3/4"), key.Key("G")])
        bar.insert(0, harmony.ChordSymbol(figure))
        bar.append(note.Rest(quarterLength=3))
        part.append(bar)
    return stream.Score([part])


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, music21_melgen; from music21 import stream; stream.Score().melgen; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_register_is_idempotent_and_refuses_to_replace_foreign_attributes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    descriptor = stream.Stream.__dict__["melgen"]
    music21_melgen.register()
    accessor.register()
    assert stream.Stream.__dict__["melgen"] is descriptor
    monkeypatch.setattr(stream.Stream, "melgen", "someone else's", raising=True)
    with pytest.raises(AttributeError, match="already has an attribute 'melgen'"):
        accessor.register()


def test_the_accessor_is_never_stored_on_the_stream() -> None:
    score = lead_sheet()
    first, second = score.melgen, score.melgen
    assert isinstance(first, accessor.MelgenAccessor) and first is not second
    assert "melgen" not in vars(score)
    assert copy.deepcopy(score).melgen._stream is not score
    assert stream.Stream.melgen is accessor.MelgenAccessor


def test_chords_shows_the_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    timeline = lead_sheet().melgen.chords()
    assert [c.label for c in timeline.chords] == ["G", "C", "D7", "G"]
    timeline.show()
    printed = capsys.readouterr().out
    assert "key G major" in printed and printed.count("\n") == 2 + 4


def test_generate_inserts_and_returns_the_part(model: Path) -> None:
    score = lead_sheet()
    part = score.melgen.generate(seed=2, model=model, part_name="Tune")
    assert part in score.parts and part.partName == "Tune"
    assert [m.timeSignature.ratioString for m in part.getElementsByClass(stream.Measure) if m.timeSignature] == ["3/4"]
    with pytest.raises(TypeError, match="inPlace=False"):
        score.melgen.generate(inPlace=False)


def test_package_level_generate_and_chords_are_the_engines(model: Path) -> None:
    from music21_melgen import engine

    assert music21_melgen.generate is engine.generate and music21_melgen.chords is engine.chords
    score = lead_sheet()
    new_score = music21_melgen.generate(score, seed=2, model=model, inPlace=False)
    assert len(score.parts) == 1 and len(new_score.parts) == 2
    with pytest.raises(AttributeError):
        music21_melgen.no_such_name  # noqa: B018
