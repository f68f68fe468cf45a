"""Planning a batch: which files are inputs, where each output goes, each song's seed.

Pure planning: reads the file system, writes nothing, imports no model.

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
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from music21_melgen.errors import MelgenError, ScoreError

__all__ = [
    "INPUT_EXTENSIONS",
    "OUTPUT_FORMATS",
    "Inputs",
    "BatchItem",
    "collect_inputs",
    "plan_batch",
    "song_seed",
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

# Files, folders and glob patterns; one path alone counts as one input.
Inputs = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]

_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch and where its output goes."""

    source: Path  # absolute path of the input file
    relative: str  # input path relative to the batch root, POSIX slashes
    output: Path  # absolute path of the output file
    seed: int  # the song's seed, from the base seed and ``relative``


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
