"""The exception family of music21-melgen.

Every error the package raises on purpose derives from :class:`MelgenError`,
so ``except MelgenError`` catches all of them. Errors about bad values also
derive from :class:`ValueError` (music21's habit, see ``roman.py``), so both
``except`` styles work. This module must stay import-free: every other module
of the three packages imports it.
"""

from __future__ import annotations

__all__ = [
    "reason_kind",
    "MelgenError",
    "CorpusFormatError",
    "ScoreError",
    "ModelError",
    "CheckpointError",
    "GenerationError",
    "OutputError",
]


class MelgenError(Exception):
    """Base of every error music21-melgen raises on purpose."""


class CorpusFormatError(MelgenError, ValueError):
    """A corpus file (``.har``, ``.mel``, ``.tim``) breaks its format.

    Carries where (``path``, ``line``, ``column``, all optional) and what was
    expected, and says all of it in the message.

    >>> err = CorpusFormatError("unknown token '@'", path='x.har', line=3, column=7)
    >>> str(err)
    "x.har:3:7: unknown token '@'"
    >>> (err.path, err.line, err.column)
    ('x.har', 3, 7)
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = message
        where = ":".join(str(part) for part in (path, line, column) if part is not None)
        super().__init__(f"{where}: {message}" if where else message)


class ScoreError(MelgenError, ValueError):
    """A score cannot be used: no harmony found, unreadable file, bad meter."""


class ModelError(MelgenError, ValueError):
    """A model or its settings cannot be used (bad preset, bad hyper-parameter)."""


class CheckpointError(ModelError):
    """A checkpoint is missing, corrupt or does not match this version."""


class GenerationError(MelgenError, ValueError):
    """Sampling controls or a primer melody that cannot be honoured."""


class OutputError(MelgenError, OSError):
    """An output file cannot be written."""


def reason_kind(reason: str) -> str:
    """The kind of an error message, without the file it names and its figures: for counting skips.

    >>> reason_kind("unreadable (CorpusFormatError): x.har, line 3: bad")
    'unreadable (CorpusFormatError)'
    >>> reason_kind("/data/pop909/012/012.mid: melody off the 16th grid: 40 of 300 onsets (13%)")
    'melody off the 16th grid'
    """
    head, _, rest = reason.partition(": ")
    if rest and ("/" in head or "\\" in head):
        reason = rest
    return reason.split(":", 1)[0]
