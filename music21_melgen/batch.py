"""Batch generation: a melody for every score of a corpus, locally or on Dask.

A *batch* turns a set of inputs (files, folders searched recursively, glob
patterns) into one output score per input under an output folder, and keeps
a *manifest* there: ``manifest.jsonl``, one JSON object per line and per input
per run, with the keys

``input``
    absolute path of the input file;
``output``
    path of the output file, relative to the output folder (POSIX slashes);
``status``
    ``"ok"`` (written now), ``"skipped"`` (already there) or ``"failed"``;
``error``
    what went wrong (``null`` unless failed);
``seed``
    the song's own seed (see :func:`song_seed`);
``model_hash``
    SHA-256 of the model's weights (see :func:`model_hash`);
``settings``
    a short hash of the sampling controls in effect, the model's recommended
    settings filled in where none was given;
``seconds``
    time spent on the input, parse to written file.

Lines are appended by the coordinating process as results arrive, each with a
single ``write`` to a file opened ``O_APPEND`` and then ``fsync``-ed, and are
kept shorter than ``PIPE_BUF`` (4096 bytes), so two runs writing into one
folder interleave whole lines. A later line about an output overrides an
earlier one.

**Input set.** A folder contributes every file below it whose extension is in
:data:`INPUT_EXTENSIONS` (hidden files and folders, and the output folder
itself, are left out); a file named on its own is taken whatever its
extension; a glob pattern (``corpus/**/*.xml``) contributes what it matches.
For the Rock Corpus that means the ``.har`` analyses: one output per analysis
(``1999_dt`` and ``1999_tdc`` both), and the ``.mel``, ``.tim`` and ``.txt``
files are not inputs. Inputs are never modified.

**Output names.** The *batch root* is the deepest folder holding every named
folder and the folder of every named or matched file. An output keeps its
input's path relative to that root, with the extension replaced by the
format's (``har/1999_dt.har`` -> ``OUT/1999_dt.musicxml`` when ``har`` is
given). Where two inputs would share a name (``song.xml`` and ``song.mid`` in
one folder), both keep their own extension too (``song.xml.musicxml``,
``song.mid.musicxml``), so no two inputs ever write to one output.

**Seeds.** Each song is generated with :func:`song_seed` of the base seed and
its path relative to the batch root, so an output does not depend on the
worker count, the order of work or which other inputs share the batch.

**Resume.** An output that exists is skipped unless the manifest's latest
``ok``/``skipped`` line about it names another seed, model hash or settings
hash (then it is generated again); ``overwrite=True`` regenerates everything. A
model retrained in place while a batch runs fails the songs still to do
(the manifest's model hash always names the weights that wrote an output);
the next run does them, and redoes the others, with the new weights. This
rule counts an output without any manifest line as done: a run killed between
writing an output and appending its line loses nothing. Each output is written
in a private hidden folder beside it (``.melgen-tmp.HOST-PID-XXXXXXXX``) and
renamed into place with ``os.replace``, so a run killed at any moment
(``kill -9`` included) leaves complete outputs or nothing under an output's
name; the next run deletes the folders of dead processes of this host, and
such folders are never searched for inputs.

**Identical bytes.** MusicXML from music21 holds random part and instrument
ids and the day of writing (``<encoding-date>``), an ``.mxl`` archive the time.
The batch numbers the ids (``P1``, ``I1``, ...), drops the optional encoding
date and gives archive members a fixed time, so equal seeds give
byte-identical files whatever the day, the worker or the machine.

**Workers.** ``jobs=1`` works in the calling process. ``jobs=N`` runs a pool
of ``N`` processes (the ``spawn`` start method: torch and ``fork`` do not mix). Each worker imports the package (which
registers the converters: the registry is per process), runs torch and
numpy's BLAS on one thread (``N`` single-threaded workers share ``N`` cores
without contention) and loads the model once. A worker
that dies (killed, out of memory) breaks the pool: the pool is restarted, the
songs it was working on are retried one at a time, and a song that kills its
worker even alone is recorded as failed. ``scheduler="tcp://HOST:PORT"`` (or a
``distributed.Client``) sends the same work to a Dask cluster instead; its
workers must see the input and output paths (a shared file system) and have
this package installed.

The environment variable ``MELGEN_BATCH_KILL_TOKEN`` is a test hook: when it
names a file, the first worker task that manages to delete that file kills its
own process with ``SIGKILL``, as the kernel's OOM killer would.
"""

from __future__ import annotations

import glob
import hashlib
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from music21_melgen.errors import CheckpointError, GenerationError, MelgenError, OutputError, ScoreError
from music21_melgen.sampling import MODEL_DEFAULT

__all__ = [
    "INPUT_EXTENSIONS",
    "OUTPUT_FORMATS",
    "MANIFEST_NAME",
    "BatchItem",
    "BatchResult",
    "BatchReport",
    "collect_inputs",
    "plan_batch",
    "song_seed",
    "model_hash",
    "read_manifest",
    "run_batch",
]

# Extensions a folder is searched for (lower case): what ``melgen generate``
# reads through music21 and this package's converters.
INPUT_EXTENSIONS = (
    ".musicxml",
    ".xml",
    ".mxl",
    ".mid",
    ".midi",
    ".rntxt",
    ".rntext",
    ".har",
    ".abc",
    ".krn",
)

# Output format name -> file extension (the engine writes by extension).
OUTPUT_FORMATS = {"musicxml": ".musicxml", "mxl": ".mxl", "mid": ".mid"}

MANIFEST_NAME = "manifest.jsonl"

STATUSES = ("ok", "skipped", "failed")

# Files, folders and glob patterns; one path alone counts as one input.
Inputs = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]

# Keywords of ``engine.generate_file`` beside the sampling controls that a batch passes on.
_PASSED_THROUGH = ("chord_parts", "primer")

_PIPE_BUF = 4096  # POSIX minimum atomic pipe write; a manifest line stays below it
_KILL_TOKEN_VARIABLE = "MELGEN_BATCH_KILL_TOKEN"
_TEMP_MARK = ".melgen-tmp"  # a private folder beside an output: .melgen-tmp.HOST-PID-XXXXXXXX
_TEMP_PATTERN = re.compile(r"^\.melgen-tmp\.(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]+$")
_GLOB_CHARACTERS = frozenset("*?[")
_DASK_CONNECT_TIMEOUT = "20s"  # how long to try reaching a Dask scheduler
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch and where its output goes."""

    source: Path  # absolute path of the input file
    relative: str  # input path relative to the batch root, POSIX slashes
    output: Path  # absolute path of the output file
    seed: int  # the song's seed, from the base seed and ``relative``


@dataclass(frozen=True)
class BatchResult:
    """What became of one input: one manifest line."""

    input: Path
    output: Path
    status: str  # 'ok', 'skipped' or 'failed'
    error: str | None
    seed: int
    model_hash: str
    seconds: float  # parse to written file; 0 when skipped
    peak_rss_mb: float | None = None  # peak resident memory of the worker so far
    settings: str = ""  # hash of the sampling controls in effect (see the manifest)
    worker: str | None = None  # 'HOST:PID' of the process that generated it
    cpu_seconds: float | None = None  # CPU time spent on it (wall time less waiting for a core)

    def record(self, out_dir: Path) -> dict[str, Any]:
        """The manifest line of this result, as a JSON-ready dict."""
        return {
            "input": str(self.input),
            "output": _relative_posix(self.output, out_dir),
            "status": self.status,
            "error": self.error,
            "seed": self.seed,
            "model_hash": self.model_hash,
            "settings": self.settings,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class BatchReport:
    """The results of a batch, one per input, in input order."""

    out_dir: Path
    manifest: Path
    results: list[BatchResult] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the whole run

    def _count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ok(self) -> int:
        """Outputs written by this run."""
        return self._count("ok")

    @property
    def skipped(self) -> int:
        """Outputs already there, left alone."""
        return self._count("skipped")

    @property
    def failed(self) -> int:
        """Inputs that gave no output."""
        return self._count("failed")

    @property
    def success(self) -> bool:
        """True when no input failed."""
        return self.failed == 0

    def summary(self, max_failures: int = 20) -> str:
        """A few lines for people: the counts, the time, the first failures.

        >>> report = BatchReport(Path('/out'), Path('/out/manifest.jsonl'), [
        ...     BatchResult(Path('/in/a.xml'), Path('/out/a.musicxml'), 'ok', None, 1, 'h', 0.5),
        ...     BatchResult(Path('/in/b.xml'), Path('/out/b.musicxml'), 'failed', 'empty', 2, 'h', 0.1),
        ... ], seconds=1.25)
        >>> print(report.summary())
        2 inputs: 1 written, 0 skipped, 1 failed in 1.2 s (manifest: /out/manifest.jsonl)
        failed: /in/b.xml: empty
        """
        lines = [
            f"{len(self.results)} inputs: {self.ok} written, {self.skipped} skipped, "
            f"{self.failed} failed in {self.seconds:.1f} s (manifest: {self.manifest})"
        ]
        failures = [result for result in self.results if result.status == "failed"]
        lines.extend(
            f"failed: {result.error}" if str(result.input) in (result.error or "") else f"failed: {result.input}: {result.error}"
            for result in failures[:max_failures]
        )
        if len(failures) > max_failures:
            lines.append(f"... and {len(failures) - max_failures} more failures (see the manifest)")
        return "\n".join(lines)


def song_seed(base_seed: int, relative: str) -> int:
    """The seed of one song: a hash of the base seed and its path in the batch.

    Stable across processes, machines and Python versions (SHA-256, not
    ``hash()``), and in ``0 .. 2**31 - 1`` so every random generator takes it.

    >>> song_seed(0, 'har/1999_dt.har') == song_seed(0, 'har/1999_dt.har')
    True
    >>> song_seed(0, 'a.xml') != song_seed(1, 'a.xml')
    True
    >>> 0 <= song_seed(7, 'b.mid') < 2**31
    True
    """
    digest = hashlib.sha256(f"{int(base_seed)}\0{relative}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def model_hash(model: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the weights behind ``model`` (a bundled name or a checkpoint folder).

    The same content hash a loaded model carries, computed without loading it
    (no torch in the coordinating process). Raises :class:`CheckpointError`
    when there are no weights.
    """
    from music21_melgen import checkpoint

    weights = _model_folder(model) / checkpoint.WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing: model {os.fspath(model)!r} has no weights there")
    try:
        return checkpoint.file_sha256(weights)
    except OSError as error:
        raise CheckpointError(f"{weights}: unreadable: {error.strerror or error}") from None


def _model_argument(model: str | os.PathLike[str]) -> str:
    """The model as workers get it: a bundled name, or an absolute folder path."""
    from music21_melgen import checkpoint

    if isinstance(model, str) and model in checkpoint.BUNDLED_MODELS:
        return model
    return os.path.abspath(model)


def _model_folder(model: str | os.PathLike[str]) -> Path:
    from music21_melgen import checkpoint

    if isinstance(model, str) and model in checkpoint.BUNDLED_MODELS:
        return checkpoint.MODELS_DIR / model
    return Path(os.path.abspath(model))


def collect_inputs(
    inputs: Inputs, *, exclude: str | os.PathLike[str] | None = None
) -> tuple[Path, list[Path]]:
    """Expand files, folders and globs into input files, and find the batch root.

    Returns the root (the deepest folder holding every named folder and the
    folder of every file) and the files, sorted, each once. Files under
    ``exclude`` (the output folder) found by searching are left out. Raises
    :class:`ScoreError` for an argument that names nothing.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]  # one path, not the characters of one
    excluded = os.path.realpath(exclude) if exclude is not None else None
    anchors: list[str] = []
    found: dict[str, Path] = {}

    def add(path: str, searched: bool) -> None:
        real = os.path.realpath(path)
        if searched and excluded is not None and _is_within(real, excluded):
            return
        found.setdefault(real, Path(os.path.abspath(path)))

    for argument in inputs:
        text = os.fspath(argument)
        if os.path.isdir(text):
            anchors.append(os.path.abspath(text))
            for path in _search_folder(text):
                add(path, searched=True)
        elif os.path.isfile(text):
            anchors.append(os.path.dirname(os.path.abspath(text)))
            add(text, searched=False)
        elif _GLOB_CHARACTERS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise ScoreError(f"{text}: the pattern matches no file")
            for match in matches:
                if os.path.isdir(match):
                    anchors.append(os.path.abspath(match))
                    for path in _search_folder(match):
                        add(path, searched=True)
                else:
                    anchors.append(os.path.dirname(os.path.abspath(match)))
                    add(match, searched=True)
        else:
            raise ScoreError(f"{text}: no such file or folder")
    if not found:
        raise ScoreError("no input files found (a folder is searched for " + " ".join(INPUT_EXTENSIONS) + ")")
    root = Path(os.path.commonpath(anchors))
    return root, sorted(found.values())


def plan_batch(
    inputs: Inputs,
    out_dir: str | os.PathLike[str],
    *,
    format: str = "musicxml",
    seed: int = 0,
) -> list[BatchItem]:
    """The items of a batch: each input file with its output path and seed.

    Pure planning: reads the file system, writes nothing.
    """
    extension = _output_extension(format)
    out = Path(os.path.abspath(out_dir))
    root, files = collect_inputs(inputs, exclude=out)
    relatives = [_relative_posix(path, root) for path in files]
    names = _output_names(relatives, extension)
    return [
        BatchItem(path, relative, out / name, song_seed(seed, relative))
        for path, relative, name in zip(files, relatives, names)
    ]


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a manifest, in order; a line that is not a JSON object is ignored.

    A missing manifest has no records.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise OutputError(f"{path}: cannot read the manifest: {error.strerror or error}") from None
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("output"), str):
            records.append(record)
    return records


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


def _recommended(model: str | os.PathLike[str]) -> dict[str, Any]:
    """The model's recommended sampling settings, read from its config (no torch here)."""
    from music21_melgen import checkpoint

    if isinstance(model, str) and model in checkpoint.BUNDLED_MODELS:
        return checkpoint.recommended_sampling(model)
    return checkpoint.recommended_sampling(_model_folder(model))


def _settings_hash(controls: Mapping[str, Any], recommended: Mapping[str, Any] | None = None) -> str:
    """Check the sampling controls now (every song would reject bad ones); hash their effect.

    The hash covers every setting, the model's ``recommended`` ones (then the
    class defaults) filled in where none is given, numbers as floats, so
    ``temperature=1`` and no temperature at all hash alike when the model
    recommends 1. Raises :class:`GenerationError` for an unknown or bad control.
    """
    from dataclasses import fields

    from music21_melgen.sampling import SamplingControls, controls_to_json

    sampling = {f.name for f in fields(SamplingControls)} - {"seed"}
    known = sampling | set(_PASSED_THROUGH)
    unknown = sorted(set(controls) - known)
    if unknown:
        raise GenerationError(f"unknown sampling control(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    checked = SamplingControls.for_model(
        dict(recommended or {}), **{name: value for name, value in controls.items() if name in sampling}
    )
    effective = {name: value for name, value in controls_to_json(checked).items() if name != "seed"}
    effective.update({name: controls.get(name) for name in _PASSED_THROUGH})

    def plain(value: Any) -> Any:
        if isinstance(value, (int, float, Fraction)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, (list, tuple)):
            return [plain(part) for part in value]
        if isinstance(value, dict):
            return {key: plain(part) for key, part in value.items()}
        return value if value is None or isinstance(value, (str, bool)) else str(value)

    text = json.dumps({name: plain(value) for name, value in effective.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _dispatch(tasks: list[_Task], jobs: int, scheduler: Any, model: str, finish: _Finish) -> None:
    """Run the tasks where the caller asked: Dask, this process, or a pool."""
    if not tasks:
        return
    if scheduler is not None:
        _run_on_dask(scheduler, tasks, finish)
    elif jobs == 1:
        _prepare(model, one_thread=False)
        for task in tasks:
            finish(task, _run_task(task))
    else:
        with _one_thread_per_child():
            _run_on_pool(jobs, model, tasks, finish)


# --- planning helpers ------------------------------------------------------


def _output_extension(format: str) -> str:
    try:
        return OUTPUT_FORMATS[format]
    except (KeyError, TypeError):
        raise MelgenError(
            f"unknown output format {format!r}; choose one of: {', '.join(OUTPUT_FORMATS)}"
        ) from None


def _search_folder(folder: str) -> Iterator[str]:
    """Files below ``folder`` with a known extension; hidden entries left out."""
    for directory, subfolders, files in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in INPUT_EXTENSIONS:
                yield os.path.join(directory, name)


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _relative_posix(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _output_names(relatives: list[str], extension: str) -> list[str]:
    """Output paths (relative to the output folder) for input paths, all distinct.

    >>> _output_names(['a/x.har', 'y.xml', 'y.mid'], '.musicxml')
    ['a/x.musicxml', 'y.xml.musicxml', 'y.mid.musicxml']
    """
    names = [str(Path(relative).with_suffix(extension).as_posix()) for relative in relatives]
    counts: dict[str, int] = {}
    for name in names:
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    names = [
        relative + extension if counts[name.casefold()] > 1 else name
        for relative, name in zip(relatives, names)
    ]
    taken: dict[str, int] = {}
    for name in names:
        taken[name.casefold()] = taken.get(name.casefold(), 0) + 1
    return [
        name[: -len(extension)] + "." + hashlib.sha256(relative.encode()).hexdigest()[:8] + extension
        if taken[name.casefold()] > 1
        else name
        for relative, name in zip(relatives, names)
    ]


# --- output folder and manifest --------------------------------------------


def _prepare_out_dir(out: Path, manifest: Path) -> None:
    """Create the output folder and prove the manifest can be appended to."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.close(descriptor)
        probe = out / f"{_TEMP_MARK}.{socket.gethostname()}-{os.getpid()}-{os.urandom(4).hex()}"
        probe.mkdir()
        probe.rmdir()
    except OSError as error:
        raise OutputError(f"{out}: cannot write to the output folder: {error.strerror or error}") from None


def _remove_dead_temp_files(out: Path) -> None:
    """Delete the temporary folders left by killed processes of this host."""
    host = socket.gethostname()
    for directory, subfolders, _ in os.walk(out):
        for name in list(subfolders):
            match = _TEMP_PATTERN.match(name)
            if match:
                subfolders.remove(name)
                if match["host"] == host and not _process_alive(int(match["pid"])):
                    shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _latest_records(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Output path -> its latest 'ok' or 'skipped' record."""
    latest = {}
    for record in records:
        if record.get("status") in ("ok", "skipped"):
            latest[record["output"]] = record
    return latest


def _is_done(item: BatchItem, record: Mapping[str, Any] | None, fingerprint: str, settings: str) -> bool:
    """True when the output exists and its latest manifest line (if any) has these settings."""
    if not item.output.is_file():
        return False
    if record is None:
        return True
    return (
        record.get("seed") == item.seed
        and record.get("model_hash") == fingerprint
        and record.get("settings", settings) == settings
    )


class _ManifestWriter:
    """Appends whole JSON lines to the manifest, each flushed to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.descriptor = -1

    def __enter__(self) -> _ManifestWriter:
        try:
            self.descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise OutputError(f"{self.path}: cannot open the manifest: {error.strerror or error}") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.descriptor)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line with one ``write`` call, then ``fsync``."""
        line = _manifest_line(record)
        try:
            os.write(self.descriptor, line)
            os.fsync(self.descriptor)
        except OSError as error:
            raise OutputError(f"{self.path}: cannot append to the manifest: {error.strerror or error}") from None


def _manifest_line(record: dict[str, Any]) -> bytes:
    """The record as one UTF-8 line shorter than PIPE_BUF (a long error is cut).

    >>> line = _manifest_line({'output': 'a.mid', 'error': 'x' * 9000})
    >>> len(line) < 4096, line.endswith(b'\\n'), json.loads(line)['error'].endswith('...')
    (True, True, True)
    """
    line = json.dumps(record, ensure_ascii=False) + "\n"
    encoded = line.encode("utf-8")
    error = record.get("error")
    if len(encoded) >= _PIPE_BUF and error:
        excess = len(encoded) - _PIPE_BUF + 16
        shortened = dict(record, error=error[: max(len(error) - excess, 0)] + "...")
        encoded = (json.dumps(shortened, ensure_ascii=False) + "\n").encode("utf-8")
    return encoded


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="song", desc="melgen batch", disable=not enabled, leave=False)


# --- work in a worker -------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """What a worker needs for one input (plain values: it crosses processes)."""

    source: str
    output: str
    seed: int
    model: str
    model_hash: str  # the weights the batch was planned with; a worker checks it has them
    controls: dict[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class _Outcome:
    """What a worker reports back for one input."""

    error: str | None
    seconds: float
    peak_rss_mb: float | None
    worker: str | None = None  # 'HOST:PID'
    cpu_seconds: float | None = None  # CPU time of the worker process on this input


_worker_error: str | None = None  # why this process could not get ready to generate
_in_worker = False  # True in pool and Dask workers (the kill hook works only there)


def _init_worker(model: str) -> None:
    """Get a pool or Dask worker ready: package imported, one torch thread, model loaded."""
    global _in_worker
    _in_worker = True
    _prepare(model, one_thread=True)


def _prepare(model: str, *, one_thread: bool) -> None:
    """Register the converters and load the model (cached per process); note any failure.

    A worker that cannot load the model reports it as each task's error
    rather than dying, so the batch records why instead of retrying forever.
    """
    global _worker_error
    try:
        import music21_melgen
        from music21_melgen import engine

        music21_melgen.register()
        if one_thread:
            import torch

            torch.set_num_threads(1)
        engine.load_model(model)
        _worker_error = None
    except MelgenError as error:
        _worker_error = str(error)
    except Exception as error:
        _worker_error = f"{type(error).__name__}: {error}"


def _run_task(task: _Task) -> _Outcome:
    """Generate one output, written to a temporary file and renamed into place."""
    started, cpu_started = time.perf_counter(), time.process_time()
    error = _worker_error
    if error is None:
        _maybe_die_for_test()
        error = _generate(task)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return _Outcome(
        error,
        time.perf_counter() - started,
        round(peak, 1),
        f"{socket.gethostname()}:{os.getpid()}",
        time.process_time() - cpu_started,
    )


def _generate(task: _Task) -> str | None:
    """Write one output through a private temporary folder beside it; the error, if any."""
    from music21_melgen import engine

    output = Path(task.output)
    scratch = output.parent / f"{_TEMP_MARK}.{socket.gethostname()}-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        model = engine.load_model(task.model)  # cached; read again if its files were replaced
        found = getattr(model, "content_hash", "") or task.model_hash
        if found != task.model_hash:
            return (
                f"the model's weights changed during the batch (sha256 {found[:12]}..., planned with "
                f"{task.model_hash[:12]}...); run the batch again to use the new model throughout"
            )
        scratch.mkdir(parents=True)
        temporary = scratch / output.name  # same name: an .mxl names its inner file after it
        engine.generate_file(task.source, temporary, seed=task.seed, model=model, **task.controls)
        _make_deterministic(temporary)
        os.replace(temporary, output)
    except MelgenError as error:
        return str(error)
    except OSError as error:
        return f"{output}: cannot write: {error.strerror or error}"
    except Exception as error:  # a library bug on one song must not end the batch
        return f"{type(error).__name__}: {error}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return None


def _make_deterministic(path: Path) -> None:
    """Rewrite a MusicXML or MXL output so that equal music gives equal bytes.

    music21 names parts and instruments with random MD5 ids and stamps the
    day in ``<encoding-date>``; an MXL archive also stamps its members with the
    time. Ids become ``P1``, ``P2`` ... / ``I1`` ... in order of appearance,
    the (optional) encoding date goes, archive members get a fixed time.
    MIDI files hold no such thing and are left as they are.
    """
    suffix = path.suffix.lower()
    if suffix in (".musicxml", ".xml"):
        path.write_bytes(_deterministic_musicxml(path.read_bytes()))
    elif suffix == ".mxl":
        with zipfile.ZipFile(path) as archive:
            members = [(info, archive.read(info)) for info in archive.infolist()]
        with zipfile.ZipFile(path, "w") as archive:
            for info, data in members:
                if info.filename.lower().endswith((".musicxml", ".xml")) and not info.filename.startswith("META-INF/"):
                    data = _deterministic_musicxml(data)
                fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                fixed.compress_type = info.compress_type
                fixed.external_attr = info.external_attr
                archive.writestr(fixed, data)


_RANDOM_ID = re.compile(rb'id="([PI])([0-9a-f]{32})"')
_ENCODING_DATE = re.compile(rb"[ \t]*<encoding-date>[^<]*</encoding-date>\r?\n?")


def _deterministic_musicxml(data: bytes) -> bytes:
    """MusicXML bytes with music21's random ids numbered and the encoding date removed.

    >>> xml = (b'<encoding>\\n  <encoding-date>2024-01-31</encoding-date>\\n</encoding>'
    ...        b'<score-part id="P' + b'a' * 32 + b'"/><part id="P' + b'a' * 32 + b'"/>'
    ...        b'<x id="P1"/><y id="P' + b'b' * 32 + b'"/>')
    >>> print(_deterministic_musicxml(xml).decode())
    <encoding>
    </encoding><score-part id="P2"/><part id="P2"/><x id="P1"/><y id="P3"/>
    """
    names: dict[bytes, bytes] = {}
    counters = {b"P": 0, b"I": 0}

    def rename(match: re.Match[bytes]) -> bytes:
        letter, token = match[1], match[1] + match[2]
        if token not in names:
            while True:
                counters[letter] += 1
                candidate = letter + str(counters[letter]).encode()
                if b'id="' + candidate + b'"' not in data:
                    break
            names[token] = candidate
        return b'id="' + names[token] + b'"'

    return _ENCODING_DATE.sub(b"", _RANDOM_ID.sub(rename, data))


def _maybe_die_for_test() -> None:
    """The test hook of the module docstring: die once, as if OOM-killed."""
    token = os.environ.get(_KILL_TOKEN_VARIABLE)
    if not token or not _in_worker:
        return
    try:
        os.unlink(token)
    except OSError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _dask_task(task: _Task) -> _Outcome:
    """A Dask task: get this worker process ready if needed, then run."""
    _init_worker(task.model)
    return _run_task(task)


# --- schedulers -------------------------------------------------------------

_Finish = Callable[[_Task, _Outcome], None]


def _run_on_pool(jobs: int, model: str, tasks: list[_Task], finish: _Finish) -> None:
    """Run tasks on a pool of ``jobs`` processes, restarting it if a worker dies.

    At most ``jobs`` tasks are in flight, so when the pool breaks, the tasks in
    flight are the ones that may have killed it: each is retried alone, and
    one that breaks the pool alone is recorded as failed. A pool that breaks
    again and again with nothing done in between (workers that cannot even
    start) fails what is left.
    """
    pending = deque(tasks)
    suspects: deque[_Task] = deque()
    in_flight: dict[Future[_Outcome], _Task] = {}
    alone = False  # the one task in flight is a suspect, run alone
    fruitless_restarts = 0
    pool = _new_pool(jobs, model)
    try:
        while pending or suspects or in_flight:
            broken = False
            try:
                if suspects and not in_flight:
                    future = pool.submit(_run_task, suspects[0])  # raises if broken: keep the task
                    in_flight[future] = suspects.popleft()
                    alone = True
                while pending and not alone and not suspects and len(in_flight) < jobs:
                    future = pool.submit(_run_task, pending[0])
                    in_flight[future] = pending.popleft()
            except BrokenProcessPool:
                broken = True
            if not broken:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken = True
                    else:
                        finish(in_flight.pop(future), _outcome_of(future))
                        fruitless_restarts = 0
                if not in_flight:
                    alone = False
            if not broken:
                continue
            wait(in_flight)
            for future, task in in_flight.items():
                if not isinstance(future.exception(), BrokenProcessPool):
                    finish(task, _outcome_of(future))
                elif alone:
                    finish(task, _Outcome("the worker process died (killed or out of memory)", 0.0, None))
                else:
                    suspects.append(task)
            in_flight.clear()
            alone = False
            pool.shutdown(wait=True, cancel_futures=True)
            fruitless_restarts += 1
            if fruitless_restarts > 3:
                for task in [*suspects, *pending]:
                    finish(task, _Outcome("the worker processes keep dying before any work is done", 0.0, None))
                suspects.clear()
                pending.clear()
                break
            pool = _new_pool(jobs, model)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome_of(future: Future[_Outcome]) -> _Outcome:
    """The outcome a finished future holds, or a failure saying why it holds none."""
    error = future.exception()
    if error is None:
        return future.result()
    return _Outcome(f"the task could not run: {type(error).__name__}: {error}", 0.0, None)


@contextmanager
def _one_thread_per_child() -> Iterator[None]:
    """While open, child processes start with one BLAS/OpenMP thread (unless the user chose).

    numpy's BLAS reads these variables once, when a process loads it, and a
    pool worker has loaded numpy before its initializer runs; so they are set
    in this process's environment, which spawned workers inherit, and put back
    afterwards. ``N`` workers with several BLAS threads each would fight over
    ``N`` cores.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _new_pool(jobs: int, model: str) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(model,),
    )


def _run_on_dask(scheduler: Any, tasks: list[_Task], finish: _Finish) -> None:
    """Run tasks on a Dask cluster; a task whose workers keep dying is failed."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise MelgenError(
            "a Dask scheduler needs the optional package 'distributed': "
            "pip install 'music21-melgen[dask]'"
        ) from None
    if isinstance(scheduler, Client):
        client, own = scheduler, False
    else:
        try:
            client, own = Client(str(scheduler), set_as_default=False, timeout=_DASK_CONNECT_TIMEOUT), True
        except (OSError, TimeoutError) as error:
            raise MelgenError(f"cannot reach the Dask scheduler {scheduler}: {error}") from None
    try:
        threads = max(sum(client.nthreads().values()), 1)
        window = 4 * threads
        queue = deque(tasks)
        in_flight: dict[Any, _Task] = {}

        def submit() -> Any:
            task = queue.popleft()
            future = client.submit(_dask_task, task, pure=False)
            in_flight[future] = task
            return future

        running = as_completed([submit() for _ in range(min(window, len(queue)))], loop=client.loop)
        for future in running:
            task = in_flight.pop(future)
            try:
                outcome = future.result()
            except Exception as error:  # KilledWorker and the like: record, go on
                outcome = _Outcome(f"Dask task failed: {type(error).__name__}: {error}", 0.0, None)
            finish(task, outcome)
            future.release()
            if queue:
                running.add(submit())
    finally:
        if own:
            client.close()
