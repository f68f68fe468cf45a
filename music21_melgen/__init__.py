"""music21-melgen: a melody for the chords of any music21 score.

Importing the package registers a ``melgen`` accessor on every music21
``Stream`` and the Rock Corpus converters (``.har``, ``.mel``)::

    import music21_melgen
    from music21 import converter
    score = converter.parse("song.musicxml")
    part = score.melgen.generate(seed=7)      # the new melody Part, in the score
    score.write("musicxml", "out.musicxml")

The same, as a function that leaves the input alone::

    new_score = music21_melgen.generate(score, seed=7, inPlace=False)

Torch is imported only when a model is needed, so readers, converters and the
chord timeline stay light.
"""

from __future__ import annotations

from typing import Any

from music21_melgen.errors import (
    CheckpointError,
    CorpusFormatError,
    GenerationError,
    MelgenError,
    ModelError,
    OutputError,
    ScoreError,
)

__all__ = [
    "CheckpointError",
    "CorpusFormatError",
    "GenerationError",
    "MelgenError",
    "ModelError",
    "OutputError",
    "ScoreError",
    "register",
]

__version__ = "0.1.0"

# Modules with a ``register()`` that hooks them into music21; each call is
# idempotent, so importing the package twice (or in a worker) is harmless.
_REGISTRARS = (
    "music21_melgen.accessor",
    "music21_melgen.converters",
)


def register() -> None:
    """Register the accessor and converters with music21 (idempotent).

    Importing the package already does this; call it again in a process whose
    music21 converter registry was reset (a pool or Dask worker, a test).
    """
    from importlib import import_module

    for module_name in _REGISTRARS:
        import_module(module_name).register()


# Public names that live in heavier modules, loaded on first use.
_LAZY = {
    "generate": "music21_melgen.engine",
    "chords": "music21_melgen.engine",
    "load_model": "music21_melgen.checkpoint",
    "SamplingControls": "music21_melgen.sampling",
    "generate_melody": "music21_melgen.sampling",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'music21_melgen' has no attribute {name!r}")


register()
