"""MuseScore 3 opens what we write: convert with mscore3 and find the melody's notes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from tiny_model import save_tiny_model

from music21_melgen import engine

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"
MSCORE = shutil.which("mscore3") or shutil.which("musescore3")

pytestmark = pytest.mark.skipif(
    MSCORE is None, reason="MuseScore 3 (mscore3) is not installed; apt-get install musescore3 (.ci/run does)"
)


def test_musescore_reads_the_generated_melody(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "tiny")
    written = engine.generate_file(EXAMPLE, tmp_path / "song.musicxml", seed=9, model=model)
    converted = tmp_path / "song.mscx"
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    done = subprocess.run(
        [MSCORE, "-o", str(converted), str(written.output)],
        capture_output=True, text=True, timeout=120, env=environment,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    document = etree.parse(str(converted))
    staves = document.getroot().findall("./Score/Staff")
    assert len(staves) == 2
    melody_pitches = [int(p.text) for p in staves[0].iter("pitch")]
    ours = [n.pitch.midi for n in engine.read_score(written.output).parts[0].recurse().notes]
    assert melody_pitches == ours
    names = [t.text for t in document.getroot().iter("trackName")]
    assert "Melody (melgen)" in names
    harmonies = [h for h in staves[1].iter("Harmony")] + [h for h in staves[0].iter("Harmony")]
    assert len(harmonies) == 20


def _through_musescore(written: Path, tmp_path: Path) -> Path:
    converted = tmp_path / f"{written.stem}_musescore.musicxml"
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    done = subprocess.run(
        [MSCORE, "-o", str(converted), str(written)], capture_output=True, text=True, timeout=300, env=environment
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return converted


@pytest.mark.parametrize("name", ["jig.abc", "pickup.rntxt"])
def test_musescore_reads_the_melody_aligned_with_the_score(tmp_path: Path, name: str) -> None:
    from test_alignment import JIG, ROMANTEXT, generated, measure_rows

    written = generated(tmp_path, name, JIG if name == "jig.abc" else ROMANTEXT)
    rows = measure_rows(_through_musescore(written, tmp_path))
    assert len(rows) == 2 and rows[0] == rows[1]
    assert rows[0][0][1] < 3  # the pickup stays short in MuseScore too


def test_musescore_reads_a_pop909_song_aligned(tmp_path: Path) -> None:
    from test_alignment import generate, measure_rows, pop909_files

    source = pop909_files(1)[0]
    written = tmp_path / "song.musicxml"
    generate(source, written, seed=0)
    rows = measure_rows(_through_musescore(written, tmp_path))
    assert len(rows) >= 3 and all(row == rows[0] for row in rows)
