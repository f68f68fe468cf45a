"""The ``melgen`` accessor: ``score.melgen.generate()`` on every music21 ``Stream``.

music21 has no accessor mechanism of its own, but ``Stream`` has neither
``__slots__`` nor ``__getattr__``, so a descriptor set on the class works, the
way pandas registers ``DataFrame.str`` and friends. Each attribute access
builds a small new :class:`MelgenAccessor` bound to the stream; nothing is
stored on the stream (music21 deep-copies every instance attribute when it
copies a stream) and loaded models live in :mod:`music21_melgen.engine`.

>>> import music21_melgen
>>> from music21 import stream
>>> isinstance(stream.Score().melgen, MelgenAccessor)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from music21 import stream

__all__ = ["ACCESSOR_NAME", "MelgenAccessor", "register"]

ACCESSOR_NAME = "melgen"


class MelgenAccessor:
    """melody generation bound to one stream: ``stream.melgen.generate()``, ``.chords()``."""

    def __init__(self, bound: stream.Stream) -> None:
        self._stream = bound

    def __repr__(self) -> str:
        return f"<melgen accessor of {self._stream!r}>"

    def chords(self, *, chord_parts: Sequence[int | str] | None = None) -> Any:
        """The chord timeline the melody would follow; ``print()`` it to check it.

        ``chord_parts``: parts to chordify (names, ids or 0-based indices).
        """
        from music21_melgen.engine import chords

        return chords(self._stream, chord_parts=chord_parts)

    def form(
        self, form: Any = "auto", *, chord_parts: Sequence[int | str] | None = None, echo_harmony: str = "chords"
    ) -> Any:
        """The passages of the score and which earlier ones they echo; ``print()`` it for a table.

        ``form``: ``"auto"`` (found in the harmony), letters such as
        ``"AABA"`` (equal phrases), or None (every passage new). Pass the
        same value to :meth:`generate` as ``form=``; ``echo_harmony="roots"``
        shows what the ``pop`` model follows.
        """
        from music21_melgen.engine import form as score_form

        return score_form(self._stream, form=form, chord_parts=chord_parts, echo_harmony=echo_harmony)

    def generate(self, **controls: Any) -> stream.Part:
        """Write a melody over the stream's chords, insert it as the top part, return the Part.

        Takes the keywords of :func:`music21_melgen.engine.generate` (seed,
        primer, model, chord_parts, part_name and the sampling controls of
        :data:`music21_melgen.sampling.CONTROLS`); a sampling control left out
        takes the model's recommended value. Always in place: use
        ``music21_melgen.generate(score, inPlace=False)`` for a new score.
        """
        from music21_melgen.engine import generate

        if "inPlace" in controls:
            raise TypeError(
                "score.melgen.generate() always inserts into the score; "
                "call music21_melgen.generate(score, inPlace=False) for a copy"
            )
        return generate(self._stream, inPlace=True, **controls)


class _AccessorDescriptor:
    """Builds a fresh :class:`MelgenAccessor` for the stream it is read from."""

    def __get__(self, instance: stream.Stream | None, owner: type) -> Any:
        if instance is None:
            return MelgenAccessor
        return MelgenAccessor(instance)


def register() -> None:
    """Put the ``melgen`` accessor on ``music21.stream.Stream`` (idempotent).

    Raises ``AttributeError`` if something else already owns the name.
    """
    current = stream.Stream.__dict__.get(ACCESSOR_NAME)
    if isinstance(current, _AccessorDescriptor):
        return
    if current is not None or hasattr(stream.Stream, ACCESSOR_NAME):
        raise AttributeError(
            f"music21.stream.Stream already has an attribute {ACCESSOR_NAME!r}; "
            "music21-melgen will not replace it"
        )
    setattr(stream.Stream, ACCESSOR_NAME, _AccessorDescriptor())
