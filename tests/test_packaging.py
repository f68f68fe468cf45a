"""The wheel installs one top-level name, ``music21_melgen``, with the design card's folders under it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools in the test environment")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def test_only_one_top_level_name(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"music21_melgen"}


def test_corpus_adapters_and_training_live_under_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "music21_melgen/corpus_adapters/har.py" in names
    assert "music21_melgen/training/train.py" in names
    assert "music21_melgen/models/default/model.safetensors" in names
    assert "music21_melgen/examples/__init__.py" in names
    assert "music21_melgen/examples/sixteen_bars_in_f.musicxml" in names


def test_a_users_own_training_folder_does_not_shadow_ours(tmp_path: Path) -> None:
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "__init__.py").write_text("raise ImportError('the user training package')\n")
    result = subprocess.run(
        [sys.executable, "-c", "import music21_melgen.training.evaluate, music21_melgen.corpus_adapters.har"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
