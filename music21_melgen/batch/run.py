"""``run_batch``: plan, skip what is done, dispatch the rest, append the manifest."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from music21_melgen.batch.manifest import (
    MANIFEST_NAME,
    BatchReport,
    BatchResult,
    _is_done,
    _latest_records,
    _ManifestWriter,
    _model_argument,
    _prepare_out_dir,
    _recommended,
    _remove_dead_temp_files,
    _settings_hash,
    model_hash,
    read_manifest,
)
from music21_melgen.batch.plan import BatchItem, Inputs, _relative_posix, plan_batch
from music21_melgen.batch.schedulers import _dispatch
from music21_melgen.batch.workers import _Outcome, _Task
from music21_melgen.errors import GenerationError, MelgenError
from music21_melgen.sampling import MODEL_DEFAULT

__all__ = ["run_batch"]


def run_batch(
    inputs: Inputs,
    out_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    format: str = "musicxml",
    scheduler: Any = None,
    seed: int = 0,
    model: str | os.PathLike[str] = "default",
    overwrite: bool = False,
    progress: bool = False,
    **controls: Any,
) -> BatchReport:
    """Generate a melody for every input; write one output each and the manifest.

    Parameters
    ----------
    inputs
        Files, folders (searched recursively for :data:`INPUT_EXTENSIONS`) and
        glob patterns.
    out_dir
        Output folder, created if missing; outputs mirror the inputs' folders.
    jobs
        Worker processes of the local pool (ignored with ``scheduler``).
    format
        ``'musicxml'``, ``'mxl'`` or ``'mid'``.
    scheduler
        ``None`` for the local pool, else a Dask scheduler address
        (``'tcp://HOST:PORT'``) or a ``distributed.Client``.
    seed
        Base seed; each song's seed is :func:`song_seed` of it and its path.
    model
        Bundled model name or checkpoint path, as ``melgen generate`` takes.
    overwrite
        Regenerate outputs that are already there.
    progress
        Show a progress bar on standard error.
    **controls
        Sampling controls (``temperature``, ``top_p``, ... as ``melgen
        generate`` takes them) and ``chord_parts`` / ``primer``, passed to
        ``engine.generate_file`` for every song; checked before any work. A
        control left out (or ``MODEL_DEFAULT``) takes the model's recommended
        value (its checkpoint's ``sampling`` settings).

    Returns
    -------
    BatchReport
        One :class:`BatchResult` per input, in input order. A failed input is
        recorded and the run goes on; bad arguments, no inputs, an output
        folder that cannot be written raise from the package's exception
        family before any work starts.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise MelgenError(f"jobs must be a positive whole number, got {jobs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GenerationError(f"seed must be a non-negative whole number, got {seed!r}")
    started = time.perf_counter()
    controls = {name: value for name, value in controls.items() if value is not MODEL_DEFAULT}
    settings = _settings_hash(controls, _recommended(model))
    if isinstance(controls.get("primer"), (str, os.PathLike)):
        controls["primer"] = os.path.abspath(controls["primer"])  # workers may run elsewhere
    items = plan_batch(inputs, out_dir, format=format, seed=seed)
    fingerprint = model_hash(model)
    model_argument = _model_argument(model)
    out = Path(os.path.abspath(out_dir))
    manifest = out / MANIFEST_NAME
    _prepare_out_dir(out, manifest)
    _remove_dead_temp_files(out)

    latest = _latest_records(read_manifest(manifest))
    results: dict[BatchItem, BatchResult] = {}
    to_do: list[BatchItem] = []
    for item in items:
        if not overwrite and _is_done(item, latest.get(_relative_posix(item.output, out)), fingerprint, settings):
            results[item] = BatchResult(
                item.source, item.output, "skipped", None, item.seed, fingerprint, 0.0, settings=settings
            )
        else:
            to_do.append(item)

    bar = _progress_bar(len(items), progress)
    with _ManifestWriter(manifest) as writer:
        for result in results.values():
            writer.append(result.record(out))
        bar.update(len(results))

        def finish(item: BatchItem, outcome: _Outcome) -> None:
            result = BatchResult(
                item.source,
                item.output,
                "failed" if outcome.error else "ok",
                outcome.error,
                item.seed,
                fingerprint,
                outcome.seconds,
                outcome.peak_rss_mb,
                settings,
                outcome.worker,
                outcome.cpu_seconds,
            )
            results[item] = result
            writer.append(result.record(out))
            bar.update(1)

        tasks = [
            _Task(str(item.source), str(item.output), item.seed, model_argument, fingerprint, dict(controls))
            for item in to_do
        ]
        by_task = dict(zip(tasks, to_do))
        try:
            _dispatch(tasks, jobs, scheduler, model_argument, lambda task, outcome: finish(by_task[task], outcome))
        finally:
            bar.close()
    return BatchReport(out, manifest, [results[item] for item in items], time.perf_counter() - started)


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="song", desc="melgen batch", disable=not enabled, leave=False)
