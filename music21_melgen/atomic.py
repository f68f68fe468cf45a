"""The one atomic writer: every file music21-melgen writes goes through here.

:func:`atomic_write` (bytes or text) and :func:`atomic_write_with` (a
function that writes to a path: safetensors, matplotlib) put the data in a
hidden temporary file in the target's own folder, flush it to disk, and
rename it over the target with ``os.replace``, so the target is whole or
untouched whatever happens, a ``kill -9`` included (a stray
``.NAME.tmp-XXXXXXXX.EXT`` may then remain). The temporary is created with
mode ``0o666`` through ``os.open``, so the kernel applies the process umask as
it does to any new file: the result is ``0644`` under umask ``022``, ``0600``
under ``077`` (``tempfile.mkstemp`` would make every output private). Any
``OSError`` becomes an :class:`~music21_melgen.errors.OutputError` that names
the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from music21_melgen.errors import MelgenError, OutputError

__all__ = ["atomic_write", "atomic_write_with"]


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` atomically; return the path.

    The file's mode follows the umask; an ``OSError`` becomes an
    :class:`OutputError` naming the file, and nothing is left behind.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / 'a.txt', 'hello\\n').read_text()
    'hello\\n'
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt']
    >>> atomic_write(folder / 'missing' / 'b.txt', b'')
    Traceback (most recent call last):
    ...
    music21_melgen.errors.OutputError: .../missing/b.txt: cannot write: No such file or directory
    >>> import shutil; shutil.rmtree(folder)
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            handle.write(payload)

    return atomic_write_with(path, write)


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary)`` to fill a temporary file, then rename it over ``path``.

    For writers that take a path (``safetensors.torch.save_file``,
    ``figure.savefig``): the temporary is in ``path``'s folder, hidden, ends
    with ``path``'s suffix (writers that pick a format by extension still
    work) and already exists, created with the umask's mode. Returns ``path``.
    An ``OSError`` (from ``write`` too) becomes an :class:`OutputError` naming
    ``path``; any other exception from ``write`` passes through unchanged.
    Either way the temporary is removed.

    >>> import shutil, tempfile
    >>> target = Path(tempfile.mkdtemp()) / 'b.json'
    >>> atomic_write_with(target, lambda temporary: temporary.write_text('{}')).read_text()
    '{}'
    >>> shutil.rmtree(target.parent)
    """
    target = Path(path)
    temporary: Path | None = None
    try:
        temporary = _create_temporary(target)
        mode = temporary.stat().st_mode & 0o777  # 0o666 less the umask, as the kernel made it
        write(temporary)
        if temporary.stat().st_mode & 0o777 != mode:  # a writer that recreated the file (safetensors: 0600)
            os.chmod(temporary, mode)
        _fsync(temporary)  # the data is on disk before the name points at it
        os.replace(temporary, target)
    except MelgenError:
        _discard(temporary)
        raise
    except OSError as error:
        _discard(temporary)
        raise OutputError(f"{target}: cannot write: {error.strerror or error}") from None
    except BaseException:
        _discard(temporary)
        raise
    return target


def _create_temporary(target: Path) -> Path:
    """A new empty file beside ``target``, mode ``0o666`` less the umask (the kernel applies it)."""
    for _ in range(100):
        temporary = target.with_name(f".{target.stem}.tmp-{os.urandom(4).hex()}{target.suffix}")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return temporary
    raise FileExistsError(f"no free temporary name beside {target}")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)  # read-only suffices on Linux, and works on a 0444 file
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _discard(temporary: Path | None) -> None:
    if temporary is not None:
        try:
            temporary.unlink()
        except OSError:
            pass
