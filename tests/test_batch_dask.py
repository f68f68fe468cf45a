"""Batch generation on a Dask cluster: a LocalCluster on loopback gives the local run's bytes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from music21_melgen.batch import MANIFEST_NAME, read_manifest, run_batch
from music21_melgen.cli import main
from music21_melgen.errors import MelgenError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_batch import make_corpus, outputs, save_tiny_model  # noqa: E402  (shared helpers)

distributed = pytest.importorskip("distributed", reason="the optional 'dask' extra (distributed) is not installed")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and a scheduler, all on 127.0.0.1."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, bytes], dict[str, bytes]]:
    """A corpus with a broken file, a model, and the outputs of local runs (MusicXML and MXL)."""
    corpus = make_corpus(tmp_path_factory.mktemp("corpus"))
    (corpus / "b" / "broken.musicxml").write_text("<score-partwise><part")
    model = str(save_tiny_model(tmp_path_factory.mktemp("model")))
    local = tmp_path_factory.mktemp("local")
    run_batch([corpus], local / "xml", seed=11, model=model)
    run_batch([corpus], local / "mxl", seed=11, model=model, format="mxl")
    return corpus, model, outputs(local / "xml"), outputs(local / "mxl")


def test_dask_run_is_byte_identical_to_the_local_run(cluster, setup, tmp_path: Path) -> None:
    corpus, model, local_xml, local_mxl = setup
    report = run_batch([corpus], tmp_path / "xml", seed=11, model=model, scheduler=cluster.scheduler_address)
    assert (report.ok, report.failed) == (4, 1)
    assert [result.input.name for result in report.results if result.status == "failed"] == ["broken.musicxml"]
    assert len(local_xml) == 4
    assert outputs(tmp_path / "xml") == local_xml
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        report = run_batch([corpus], tmp_path / "mxl", seed=11, model=model, format="mxl", scheduler=client)
        assert report.ok == 4
        assert client.status == "running"  # a client we passed in stays open
    assert outputs(tmp_path / "mxl") == local_mxl


def test_dask_rerun_resumes_through_the_command_line(cluster, setup, tmp_path: Path) -> None:
    corpus, model, local_xml, _ = setup
    argv = ["batch", str(corpus), "-o", str(tmp_path), "--seed", "11", "--model", model,
            "--scheduler", cluster.scheduler_address, "--no-progress"]
    assert main(argv) == 1  # the broken file fails
    (tmp_path / "a" / "two.musicxml").unlink()
    assert main(argv) == 1
    last_run = read_manifest(tmp_path / MANIFEST_NAME)[-5:]
    statuses = {Path(record["output"]).name: record["status"] for record in last_run}
    assert statuses == {
        "one.musicxml": "skipped", "two.musicxml": "ok", "three.musicxml": "skipped",
        "four.musicxml": "skipped", "broken.musicxml": "failed",
    }
    assert outputs(tmp_path) == local_xml


def test_unreachable_scheduler_and_missing_distributed_are_clear_errors(
    setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, model, _, _ = setup
    monkeypatch.setattr("music21_melgen.batch.schedulers._DASK_CONNECT_TIMEOUT", "2s")
    with pytest.raises(MelgenError, match="cannot reach the Dask scheduler"):
        run_batch([corpus], tmp_path / "a", model=model, scheduler="tcp://127.0.0.1:9")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    with pytest.raises(MelgenError, match=r"music21-melgen\[dask\]"):
        run_batch([corpus], tmp_path / "b", model=model, scheduler="tcp://127.0.0.1:9")


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # the module's cluster holds it
def test_a_killed_dask_worker_is_replaced_and_nothing_is_lost(
    setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, model, local_xml, _ = setup
    token = tmp_path / "kill-token"
    token.write_text("the first worker task to delete this file kills its own process")
    monkeypatch.setenv("MELGEN_BATCH_KILL_TOKEN", str(token))  # before the workers start: they inherit it
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local_cluster:
        report = run_batch([corpus], tmp_path / "out", seed=11, model=model, scheduler=local_cluster.scheduler_address)
    assert not token.exists()  # a worker did die
    assert (report.ok, report.failed) == (4, 1)  # the broken file only
    assert outputs(tmp_path / "out") == local_xml
