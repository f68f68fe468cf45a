"""Small lead sheets for tests: one chord symbol and a whole-bar rest a measure, in 4/4."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["chord_symbol_score"]


def chord_symbol_score(figures: Sequence[str]):
    """A music21 Score of one part: measure ``i`` holds ``figures[i]`` and a whole-bar rest."""
    from music21 import harmony, meter, note, stream

    part = stream.Part()
    for number, figure in enumerate(figures, 1):
        bar = stream.Measure(number=number)
        if number == 1:
            bar.insert(0, meter.TimeSignature("4/4"))
        bar.insert(0, harmony.ChordSymbol(figure))
        bar.append(note.Rest(quarterLength=4))
        part.append(bar)
    return stream.Score([part])
