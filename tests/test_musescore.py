"""MuseScore 3 opens what we write: convert with mscore3 and find the melody's notes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from music21_melgen import engine
from tiny_model import save_tiny_model

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
