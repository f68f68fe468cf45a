"""A killed ``melgen batch --jobs 2`` leaves no process behind (issue 15).

A real subprocess: the batch runs on a corpus of small lead sheets with a
tiny model, is killed (SIGTERM or SIGKILL) once it has written a song, and
within a few seconds none of its workers (nor multiprocessing's resource
tracker) is alive. SIGTERM is handled like Ctrl-C: exit status 130, the
manifest made of whole lines, every output it records there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_batch import save_tiny_model, write_lead_sheet

from music21_melgen.batch import MANIFEST_NAME

SONGS = 40
START_TIMEOUT = 120  # seconds for the batch to write its first song (workers import torch and music21)
EXIT_TIMEOUT = 10  # seconds for every process of the batch to be gone after the kill


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    figures = ["C", "G", "Am", "F"] * 4
    for i in range(SONGS):
        write_lead_sheet(root / f"song{i:02}.musicxml", figures)
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("model")))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_killed_batch_leaves_no_worker(corpus, model, tmp_path, kill):
    out = tmp_path / "out"
    manifest = out / MANIFEST_NAME
    command = [sys.executable, "-m", "music21_melgen", "batch", str(corpus), "-o", str(out),
               "--jobs", "2", "--model", model, "--no-progress"]
    batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (manifest.is_file() and manifest.read_bytes().strip()):
            assert batch.poll() is None, batch.communicate()
            assert time.monotonic() < deadline, "the batch wrote nothing in time"
            time.sleep(0.1)
        spawned = children(batch.pid)
        assert len(spawned) >= 2  # two workers (and the resource tracker)
        batch.send_signal(kill)
        status = batch.wait(timeout=EXIT_TIMEOUT)
        deadline = time.monotonic() + EXIT_TIMEOUT
        while any(alive(pid) for pid in spawned) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in spawned if alive(pid)], "processes of the batch outlived it"
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
        for pid in children(batch.pid):
            os.kill(pid, signal.SIGKILL)
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert records and all(record["status"] == "ok" for record in records)
    assert len(records) < SONGS  # it was stopped, not finished
    for record in records:
        assert (out / record["output"]).stat().st_size > 0
    # A song a worker renamed into place just before the kill may lack its line; no line lacks its song.
    written = {path.name for path in out.glob("*.musicxml")}
    assert {Path(record["output"]).name for record in records} <= written
    if kill == signal.SIGTERM:
        assert status == 130
        assert "interrupted" in batch.stderr.read()


# --- every argument of run_batch checked before any work ----------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"chord_parts": 5}, "chord_parts must be a non-empty list"),
        ({"chord_parts": "Piano"}, "chord_parts must be a non-empty list"),
        ({"chord_parts": []}, "chord_parts must be a non-empty list"),
        ({"chord_parts": [True]}, "chord_parts holds True"),
        ({"chord_parts": [-1]}, "chord_parts holds -1"),
        ({"primer": "."}, "the primer is a folder"),
        ({"primer": "no/such/primer.mid"}, "the primer is no such file"),
        ({"jobs": 10**6}, "jobs must be a whole number in 1..1024"),
        ({"overwrite": "yes"}, "overwrite must be True or False"),
    ],
)
def test_bad_arguments_are_one_error_before_any_work(corpus, tmp_path, arguments, message):
    from music21_melgen.batch import run_batch
    from music21_melgen.errors import MelgenError

    with pytest.raises(MelgenError, match=message):
        run_batch([corpus], tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_cli_counts_parts_from_one(tmp_path, capsys):
    from music21_melgen.cli import main

    score = tmp_path / "song.musicxml"
    write_lead_sheet(score, ["C", "G"])
    assert main(["generate", str(score), "-o", str(tmp_path / "out.musicxml"), "--chord-parts", "99"]) == 2
    error = capsys.readouterr().err
    assert "no part 99" in error and "part 98 (" not in error and "0..0" not in error
