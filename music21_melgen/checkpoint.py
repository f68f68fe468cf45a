"""Checkpoints: a folder with ``model.safetensors`` (weights) and ``config.json``.

``config.json`` holds everything needed to rebuild and judge the model::

    format, format_version      this layout ("music21-melgen-checkpoint", 1)
    kind                        the model kind, looked up in music21_melgen.kinds.KINDS
    representation              name, version, config and vocabulary (encoding.py)
    model                       the network's hyper-parameters
    weights_sha256              sha256 of model.safetensors (the content hash)
    training_data_hash          sha256 of the corpus files trained on
    metrics                     e.g. val_bits_per_step, test_bits_per_step
    training                    preset, seconds, epochs, command, seed, split ...
    sampling                    the sampling settings the trainer recommends
                                (optional; see sampling.controls_from_json)
    versions                    python, torch, numpy, safetensors, music21_melgen

Both files are written to a temporary file in the same folder and renamed, so
a crash never leaves half a checkpoint. Loading checks every part and raises
:class:`~music21_melgen.errors.CheckpointError` saying what is wrong; weights
are read with safetensors only (nothing is ever unpickled: ``torch.load`` runs
code from the file, safetensors cannot), into numpy: loading a model and
sampling from it never import torch (saving does). ``"default"`` and ``"melgen2019"`` name
the folders bundled in ``music21_melgen/models/`` (:func:`resolve_model` is
the one place a model name becomes a folder; the old name ``"seed"`` still
works, with a DeprecationWarning).

The ``sampling`` object is what ``SamplingControls.for_model`` starts from
when the user leaves a control unset; it is checked on load (a bad value is a
CheckpointError) and can be read without loading the weights
(:func:`recommended_sampling`), so help texts and batch coordinators need no
torch. Editing it changes how a model samples, not its weights or their hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import warnings
from dataclasses import asdict
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from music21_melgen.encoding import representation_from_dict
from music21_melgen.errors import CheckpointError, GenerationError, ModelError
from music21_melgen.atomic import atomic_write, atomic_write_with
from music21_melgen.kinds import kind_of
from music21_melgen.controls import controls_from_json

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "BUNDLED_MODELS",
    "RENAMED_MODELS",
    "MODELS_DIR",
    "resolve_model",
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "file_sha256",
    "recommended_sampling",
]

FORMAT = "music21-melgen-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MODELS_DIR = Path(__file__).resolve().parent / "models"
BUNDLED_MODELS = ("default", "pop", "melgen2019")  # names resolve_model turns into MODELS_DIR/<name>
RENAMED_MODELS = {"seed": "melgen2019"}  # old names that still work, with a DeprecationWarning
# Sane bounds, checked before anything is allocated (the config classes bound each number).
MAX_CONFIG_BYTES = 4 << 20  # a config.json is a few kB; a larger file is refused unread
MAX_CONFIG_DEPTH = 32  # nesting of JSON lists and objects in config.json
MAX_PARAMETERS = 20_000_000  # weights a model's settings may imply (80 MB in float32)
MAX_HEADER_BYTES = 1 << 20  # the safetensors header (the tensors' names, dtypes and shapes)
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}  # the floating-point dtypes weights may have
_SHA256 = re.compile(r"[0-9a-f]{64}")


def resolve_model(name_or_path: str | os.PathLike) -> tuple[Path, str]:
    """The checkpoint folder a model name or path means, and the model's name.

    The one resolver of model names: a bundled name (:data:`BUNDLED_MODELS`),
    an old name (:data:`RENAMED_MODELS`, with a DeprecationWarning) or a
    folder. CheckpointError for anything else.

    >>> folder, name = resolve_model("default")
    >>> folder.name, name
    ('default', 'default')
    """
    if isinstance(name_or_path, str) and name_or_path in RENAMED_MODELS:
        new = RENAMED_MODELS[name_or_path]
        warnings.warn(
            f"the model {name_or_path!r} is now called {new!r}; the old name will go",
            DeprecationWarning,
            stacklevel=3,
        )
        name_or_path = new
    if isinstance(name_or_path, str) and name_or_path in BUNDLED_MODELS:
        return MODELS_DIR / name_or_path, name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise CheckpointError(
            f"model must be a bundled name ({', '.join(BUNDLED_MODELS)}) or a checkpoint folder, "
            f"got {type(name_or_path).__name__}"
        )
    folder = Path(name_or_path)
    if not folder.is_dir() and os.sep not in os.fspath(name_or_path) and folder.suffix == "":
        raise CheckpointError(
            f"unknown model {os.fspath(name_or_path)!r}: not a bundled model ({', '.join(BUNDLED_MODELS)}) "
            f"nor a checkpoint folder"
        )
    return folder, folder.name


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("torch", "numpy", "safetensors", "music21_melgen"):
        try:
            versions[package] = str(import_module(package).__version__)
        except (ImportError, AttributeError):
            versions[package] = "unknown"
    return versions


def save_checkpoint(
    model: Any,
    directory: str | os.PathLike,
    *,
    metrics: dict,
    training: dict,
    sampling: dict | None = None,
) -> Path:
    """Write ``model`` to ``directory`` (created if needed); return the folder.

    ``training`` should carry ``data_hash`` (stored as ``training_data_hash``),
    ``seconds``, ``command`` and the preset; ``metrics`` the losses in bits per
    step; ``sampling`` the recommended sampling settings in JSON form
    (``sampling.controls_to_json``), checked first. Sets ``model.content_hash``
    and ``model.config`` to what was saved.
    """
    from safetensors.torch import save_file

    try:
        kind_of(getattr(model, "kind", None))
    except ModelError:
        raise CheckpointError(f"cannot save a {type(model).__name__}: its kind is not a known model kind") from None
    if sampling is not None:
        try:
            controls_from_json(sampling)
        except GenerationError as error:
            raise CheckpointError(f"cannot save {directory}: {error}") from None
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        weights = folder / WEIGHTS_FILE
        tensors = model.tensors()
        atomic_write_with(weights, lambda path: save_file(tensors, str(path), metadata={"format": FORMAT}))
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": model.kind,
            "representation": model.representation.to_dict(),
            "model": model.model_config(),
            "weights_sha256": file_sha256(weights),
            "training_data_hash": training.get("data_hash"),
            "metrics": metrics,
            "training": training,
            "versions": _versions(),
        }
        if sampling is not None:
            config["sampling"] = sampling
        text = json.dumps(config, indent=2, sort_keys=False) + "\n"
        atomic_write(folder / CONFIG_FILE, text)
    except TypeError as error:
        raise CheckpointError(f"{folder}: metrics and training must be JSON data: {error}") from None
    except OSError as error:
        raise CheckpointError(f"{folder}: cannot write the checkpoint: {error}") from None
    model.content_hash = config["weights_sha256"]
    model.config = config
    return folder


def load_checkpoint(directory: str | os.PathLike, *, name: str | None = None) -> Any:
    """Load and check a checkpoint folder; CheckpointError says what is wrong.

    Everything is checked before anything is allocated: the config's size,
    nesting and every number against its bounds (the config classes), the
    parameter count the model settings imply (:data:`MAX_PARAMETERS`), and
    the names, shapes and byte sizes in the weights file's header against
    them. Weights that hold NaN or infinity are refused.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    config_path = folder / CONFIG_FILE
    weights_path = folder / WEIGHTS_FILE
    if not config_path.is_file():
        raise CheckpointError(f"{config_path}: missing (a checkpoint needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    config = _read_config(config_path)
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{config_path}: not a music21-melgen checkpoint (format must be {FORMAT!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{config_path}: checkpoint format version {config.get('format_version')!r:.40}; "
            f"this package reads version {FORMAT_VERSION}"
        )
    try:
        kind = kind_of(config.get("kind"))
    except ModelError as error:
        raise CheckpointError(f"{config_path}: {_short(error)}") from None
    _check_sampling(config, config_path)
    try:
        representation = representation_from_dict(config.get("representation"), kind.representation)
    except ModelError as error:
        raise CheckpointError(f"{config_path}: representation: {_short(error)}") from None
    model_class = kind.model_class()
    try:
        network_config = model_class.config_class.from_dict(config.get("model"))
    except ModelError as error:
        raise CheckpointError(f"{config_path}: model: {_short(error)}") from None
    shapes = network_config.weight_shapes()
    parameters = sum(math.prod(shape) for shape in shapes.values())
    if parameters > MAX_PARAMETERS:
        settings = ", ".join(f"{key} {value}" for key, value in asdict(network_config).items())
        raise CheckpointError(
            f"{config_path}: model: {settings} imply {parameters:,} weights; at most {MAX_PARAMETERS:,}"
        )
    stored_hash = config.get("weights_sha256")
    if stored_hash is not None and not (isinstance(stored_hash, str) and _SHA256.fullmatch(stored_hash)):
        raise CheckpointError(f"{config_path}: weights_sha256 must be 64 hex digits, got {stored_hash!r:.80}")
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: missing")
    content_hash = file_sha256(weights_path)
    if stored_hash is not None and stored_hash != content_hash:
        raise CheckpointError(
            f"{weights_path}: sha256 {content_hash[:12]}… differs from {stored_hash[:12]}… in "
            f"{CONFIG_FILE}: the weights were changed or damaged after saving"
        )
    dtypes = _check_header(weights_path, shapes)
    arrays = _read_weights(weights_path, dtypes)
    for key, array in arrays.items():
        if not bool(np.isfinite(array).all()):
            raise CheckpointError(f"{weights_path}: {key} holds NaN or infinite values")
    try:
        return model_class.from_arrays(
            config.get("model"),
            representation,
            arrays,
            name=name or folder.name,
            config=config,
            content_hash=content_hash,
        )
    except ModelError as error:
        raise CheckpointError(f"{folder}: {_short(error)}") from None


def _short(error: BaseException) -> str:
    """An error's message cut to one reasonable line (a config's values can be huge)."""
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:300] + "…"


def _read_config(config_path: Path) -> dict[str, Any]:
    """``config.json`` parsed and checked for size and nesting; CheckpointError otherwise.

    A file over :data:`MAX_CONFIG_BYTES` is refused before it is read, and a
    JSON nested deeper than :data:`MAX_CONFIG_DEPTH` after parsing (a nesting
    too deep for the parser is refused too).
    """
    try:
        with open(config_path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_CONFIG_BYTES:
                raise CheckpointError(f"{config_path}: larger than {MAX_CONFIG_BYTES // (1 << 20)} MB: not a config")
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{config_path}: larger than {MAX_CONFIG_BYTES // (1 << 20)} MB: not a config")
        config = json.loads(data.decode("utf-8"))
    except CheckpointError:
        raise
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{config_path}:{error.lineno}:{error.colno}: bad JSON: {error.msg}") from None
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{config_path}: unreadable: not UTF-8 ({error.reason} at byte {error.start})") from None
    except RecursionError:
        raise CheckpointError(f"{config_path}: bad JSON: nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise CheckpointError(f"{config_path}: bad JSON: {_short(error)}") from None
    except OSError as error:
        raise CheckpointError(f"{config_path}: unreadable: {error.strerror or error}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path}: not a music21-melgen checkpoint (format must be {FORMAT!r})")
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise CheckpointError(f"{config_path}: bad JSON: nested deeper than {MAX_CONFIG_DEPTH} levels")
    return config


def _depth(value: Any) -> int:
    """How deeply JSON lists and objects nest in ``value`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _check_header(weights_path: Path, shapes: dict[str, tuple[int, ...]]) -> set[str]:
    """The safetensors header's tensors against ``shapes``, read without loading any weight.

    Checks the header's size against the file's, each tensor's dtype, shape
    and byte range, and that the names and shapes are the ones the config
    implies; CheckpointError naming the first that is wrong. Returns the
    dtypes the file holds.
    """
    where = f"{weights_path}: not a readable safetensors file"
    try:
        size = weights_path.stat().st_size
        with open(weights_path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{where}: shorter than its header")
            length = int.from_bytes(prefix, "little")
            if length > min(MAX_HEADER_BYTES, size - 8):
                raise CheckpointError(f"{where}: a header of {length:,} bytes in a file of {size:,}")
            header = json.loads(handle.read(length).decode("utf-8"))
    except CheckpointError:
        raise
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{where}: bad header: {_short(error)}") from None
    except OSError as error:
        raise CheckpointError(f"{weights_path}: unreadable: {error.strerror or error}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the header is not a JSON object")
    data_size = size - 8 - length
    found: dict[str, tuple[int, ...]] = {}
    dtypes: set[str] = set()
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        itemsize = _DTYPE_BYTES.get(entry.get("dtype")) if isinstance(entry, dict) else None
        if (
            itemsize is None
            or not isinstance(shape, list)
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
            or offsets[1] - offsets[0] != math.prod(shape) * itemsize
        ):
            raise CheckpointError(
                f"{where}: tensor {key!r:.60} has a bad dtype, shape or byte range (floating point "
                f"{', '.join(_DTYPE_BYTES)} within the file's {data_size:,} data bytes)"
            )
        found[key] = tuple(shape)
        dtypes.add(entry["dtype"])
    if found.keys() != shapes.keys():
        missing = sorted(shapes.keys() - found.keys())
        extra = sorted(found.keys() - shapes.keys())
        raise CheckpointError(
            _short(f"{weights_path}: weights do not match {CONFIG_FILE}: missing {missing}, unexpected {extra}")
        )
    wrong = [f"{key} {found[key]} (config says {shape})" for key, shape in shapes.items() if found[key] != shape]
    if wrong:
        raise CheckpointError(f"{weights_path}: weight shapes do not match {CONFIG_FILE}: {'; '.join(wrong)}")
    return dtypes


def _read_weights(weights_path: Path, dtypes: set[str]) -> dict[str, np.ndarray]:
    """The weights of a checked safetensors file as numpy arrays (no torch, nothing unpickled).

    numpy has no bfloat16: such tensors are read as their bits and widened
    to float32 exactly (a bfloat16 is the top half of a float32).
    """
    from safetensors import SafetensorError, deserialize
    from safetensors.numpy import load_file

    try:
        if "BF16" not in dtypes:
            return load_file(str(weights_path))
        arrays = {}
        for key, entry in deserialize(weights_path.read_bytes()):
            if entry["dtype"].upper() == "BF16":
                bits = np.frombuffer(entry["data"], dtype="<u2").astype(np.uint32) << 16
                arrays[key] = bits.view(np.float32).reshape(entry["shape"])
            else:
                dtype = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}[entry["dtype"].upper()]
                arrays[key] = np.frombuffer(entry["data"], dtype=dtype).reshape(entry["shape"])
        return arrays
    except (SafetensorError, OSError, RuntimeError, ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{weights_path}: not a readable safetensors file: {error}") from None


def _check_sampling(config: dict, config_path: Path) -> dict[str, Any]:
    """The checked ``sampling`` object of a config as SamplingControls keywords ({} if absent)."""
    if "sampling" not in config:
        return {}
    try:
        return controls_from_json(config["sampling"])
    except GenerationError as error:
        raise CheckpointError(f"{config_path}: {_short(error)}") from None


def recommended_sampling(name_or_path: str | os.PathLike = "default") -> dict[str, Any]:
    """The sampling settings a checkpoint recommends, as SamplingControls keywords.

    Reads only ``config.json`` (no torch, no weights); {} when the checkpoint
    recommends nothing. CheckpointError when the file is missing or the
    settings are bad.

    >>> recommended_sampling("melgen2019")["continuation_reduction"]
    (1.3, 1.4)
    """
    config_path = resolve_model(name_or_path)[0] / CONFIG_FILE
    if not config_path.is_file():
        raise CheckpointError(f"{config_path}: missing: {os.fspath(name_or_path)!r} is not a checkpoint")
    return _check_sampling(_read_config(config_path), config_path)


def load_model(name_or_path: str | os.PathLike = "default") -> Any:
    """A ready melody model: ``"default"`` / ``"melgen2019"`` (bundled) or a checkpoint folder."""
    folder, name = resolve_model(name_or_path)
    if isinstance(name_or_path, str) and name in BUNDLED_MODELS and not (folder / CONFIG_FILE).is_file():
        raise CheckpointError(f"the bundled model {name!r} is not installed (expected it in {folder})")
    return load_checkpoint(folder, name=name)
