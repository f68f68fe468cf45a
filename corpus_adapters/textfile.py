"""Reading a corpus file as text: every corpus format is plain ASCII.

One place turns an unreadable or non-ASCII file into a ``CorpusFormatError``
naming the file, so each reader only parses.
"""

from __future__ import annotations

import os
from pathlib import Path

from music21_melgen.errors import CorpusFormatError

__all__ = ["read_ascii"]


def read_ascii(path: str | os.PathLike) -> str:
    """The text of ``path``; ``CorpusFormatError`` if it cannot be read or is not ASCII.

    >>> read_ascii('/no/such/file.har')
    Traceback (most recent call last):
    ...
    music21_melgen.errors.CorpusFormatError: /no/such/file.har: cannot read: No such file or directory
    """
    try:
        return Path(path).read_bytes().decode("ascii")
    except UnicodeDecodeError as error:
        raise CorpusFormatError(f"not ASCII text ({error.reason} at byte {error.start})", path=str(path)) from None
    except OSError as error:
        raise CorpusFormatError(f"cannot read: {error.strerror}", path=str(path)) from None
