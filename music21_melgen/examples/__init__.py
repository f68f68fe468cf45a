"""The bundled example scores, reachable from anywhere once the package is installed.

``sixteen_bars_in_f.musicxml`` is a sixteen-bar lead sheet in F (chord symbols
over a simple line), the score of the README's quick start. After a plain
wheel install it lives inside the package; :func:`example_path` finds it and
:func:`copy_example` puts a copy where the user wants it, so

    python -m music21_melgen.examples                # writes ./sixteen_bars_in_f.musicxml
    melgen generate sixteen_bars_in_f.musicxml -o out.musicxml

works from any folder.

>>> example_path().name
'sixteen_bars_in_f.musicxml'
"""

from __future__ import annotations

import os
from pathlib import Path

from music21_melgen.atomic import atomic_write
from music21_melgen.errors import OutputError

__all__ = ["EXAMPLES", "copy_example", "example_path"]

EXAMPLES = ("sixteen_bars_in_f.musicxml",)  # the bundled example scores, the first is the default


def example_path(name: str = EXAMPLES[0]) -> Path:
    """The installed path of a bundled example score (read it, do not write to it)."""
    if name not in EXAMPLES:
        raise OutputError(f"no bundled example {name!r}; the examples are: {', '.join(EXAMPLES)}")
    return Path(__file__).resolve().parent / name


def copy_example(target: str | os.PathLike[str] | None = None, name: str = EXAMPLES[0]) -> Path:
    """Copy a bundled example to ``target`` (a file, or a folder to put it in; default: here).

    Written atomically; returns the path written.

    >>> import tempfile
    >>> copy_example(tempfile.mkdtemp()).read_bytes() == example_path().read_bytes()
    True
    """
    destination = Path(target) if target is not None else Path.cwd()
    if destination.is_dir():
        destination = destination / name
    if not destination.parent.is_dir():
        raise OutputError(f"{destination}: the folder {destination.parent} does not exist; create it first")
    return atomic_write(destination, example_path(name).read_bytes())
