"""The output folder's manifest, the model and settings fingerprints, and the resume rule.

Lines are appended to ``manifest.jsonl`` by the coordinating process as
results arrive, each with a single ``write`` to a file opened ``O_APPEND`` and
then ``fsync``-ed, and are kept shorter than ``PIPE_BUF`` (4096 bytes), so two
runs writing into one folder interleave whole lines. A later line about an
output overrides an earlier one.

**Resume.** An output that exists is skipped unless the manifest's latest
``ok``/``skipped`` line about it names another seed, model hash or settings
hash (then it is generated again); ``overwrite=True`` regenerates everything. A
model retrained in place while a batch runs fails the songs still to do
(the manifest's model hash always names the weights that wrote an output);
the next run does them, and redoes the others, with the new weights. This
rule counts an output without any manifest line as done: a run killed between
writing an output and appending its line loses nothing.

**Private folders.** Each output is written in a private hidden folder beside
it (``.melgen-tmp.HOST-PID-XXXXXXXX``) and renamed into place with
``os.replace``, so a run killed at any moment (``kill -9`` included) leaves
complete outputs or nothing under an output's name; the next run deletes the
folders of dead processes of this host, and such folders are never searched
for inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from music21_melgen.batch.plan import BatchItem, _relative_posix
from music21_melgen.errors import CheckpointError, GenerationError, OutputError

__all__ = [
    "MANIFEST_NAME",
    "STATUSES",
    "BatchResult",
    "BatchReport",
    "model_hash",
    "read_manifest",
]

MANIFEST_NAME = "manifest.jsonl"

STATUSES = ("ok", "skipped", "failed")

# Keywords of ``engine.generate_file`` beside the sampling controls that a batch passes on.
_PASSED_THROUGH = ("chord_parts", "primer", "form")

_PIPE_BUF = 4096  # POSIX minimum atomic pipe write; a manifest line stays below it
_TEMP_MARK = ".melgen-tmp"  # a private folder beside an output: .melgen-tmp.HOST-PID-XXXXXXXX
_TEMP_PATTERN = re.compile(r"^\.melgen-tmp\.(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]+$")


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
    echoes: str = ""  # passages that echoed earlier ones: "5-8<1-4;13-16<9-12" (measure numbers)

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
            "echoes": self.echoes,
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

    folder, name = checkpoint.resolve_model(model)
    return name if name in checkpoint.BUNDLED_MODELS and folder.parent == checkpoint.MODELS_DIR else os.path.abspath(folder)


def _model_folder(model: str | os.PathLike[str]) -> Path:
    from music21_melgen import checkpoint

    return Path(os.path.abspath(checkpoint.resolve_model(model)[0]))


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


def _recommended(model: str | os.PathLike[str]) -> dict[str, Any]:
    """The model's recommended sampling settings, read from its config (no torch here)."""
    from music21_melgen import checkpoint

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


# --- output folder and manifest --------------------------------------------


def _prepare_out_dir(out: Path, manifest: Path) -> None:
    """Create the output folder and prove the manifest can be appended to."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.close(descriptor)
        probe = _scratch_folder(out)
        probe.mkdir()
        probe.rmdir()
    except OSError as error:
        raise OutputError(f"{out}: cannot write to the output folder: {error.strerror or error}") from None


def _scratch_folder(parent: Path) -> Path:
    """A name for this process's private folder in ``parent`` (not created)."""
    return parent / f"{_TEMP_MARK}.{socket.gethostname()}-{os.getpid()}-{os.urandom(4).hex()}"


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
