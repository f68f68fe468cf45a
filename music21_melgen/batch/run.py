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
from music21_melgen.errors import GenerationError, MelgenError, ScoreError
from music21_melgen.sampling import MODEL_DEFAULT

__all__ = ["run_batch"]

MAX_JOBS = 1024  # local worker processes; more is a typo, not a machine


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
        generate`` takes them) and ``chord_parts`` / ``primer`` / ``form`` (``"auto"``,
        letters such as ``"AABA"``, or None: see ``engine.form``), passed to
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
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise MelgenError(f"jobs must be a whole number in 1..{MAX_JOBS}, got {jobs!r:.40}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GenerationError(f"seed must be a non-negative whole number, got {seed!r:.40}")
    for name, flag in (("overwrite", overwrite), ("progress", progress)):
        if not isinstance(flag, bool):
            raise MelgenError(f"{name} must be True or False, got {flag!r:.40}")
    _check_chord_parts(controls.get("chord_parts"))
    _check_primer(controls.get("primer"))
    started = time.perf_counter()
    controls = {name: value for name, value in controls.items() if value is not MODEL_DEFAULT}
    controls.setdefault("form", "auto")
    if not (controls["form"] is None or isinstance(controls["form"], str)):
        raise GenerationError(f"form must be 'auto', letters such as 'AABA', or None; got {controls['form']!r:.40}")
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
                outcome.echoes,
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


def _check_chord_parts(chord_parts: Any) -> None:
    """``chord_parts`` as every song will take it: None, or a list of part indices (from 0) or names.

    Checked once before the batch starts, so a bad value is one error, not
    every song failing alike. Whether each part exists is each song's matter.
    """
    if chord_parts is None:
        return
    if isinstance(chord_parts, (str, bytes)) or not isinstance(chord_parts, (list, tuple)) or not chord_parts:
        raise ScoreError(
            f"chord_parts must be a non-empty list of part indices (from 0) or names, such as [0] or "
            f"['Piano'], not {type(chord_parts).__name__} {chord_parts!r:.60}"
        )
    for item in chord_parts:
        if isinstance(item, bool) or not isinstance(item, (int, str)) or item == "" or (isinstance(item, int) and item < 0):
            raise ScoreError(
                f"chord_parts holds {item!r:.60}: give part indices (0 is the top part) or part names"
            )


def _check_primer(primer: Any) -> None:
    """A primer given as a path must be a readable file (checked once, before any song)."""
    if isinstance(primer, (str, os.PathLike)) and not os.path.isfile(primer):
        what = "a folder" if os.path.isdir(primer) else "not a regular file" if os.path.exists(primer) else "no such file"
        raise ScoreError(f"{os.fspath(primer)}: the primer is {what}; give a melody file (MIDI, MusicXML, ...)")


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="song", desc="melgen batch", disable=not enabled, leave=False)
