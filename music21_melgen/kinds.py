"""The one table of model kinds: what each kind is made of, by the name checkpoints store.

A *kind* is a representation (numpy), a model class (numpy weights; it builds
its torch network only when scoring, saving or training), a trainer and the training presets that build it. Every part of the package
that needs one of these looks it up here: loading a checkpoint (the ``kind``
of its ``config.json``), training (a preset names its kind), generation (the
model's representation and step network). The table is explicit: nothing is
registered by importing a module, so a checkpoint of any kind loads in a
fresh process.

Model classes and trainers are named as ``"module:attribute"`` strings, and
imported only when a model is built or trained: the training pipeline stays
out of ``import music21_melgen`` and of this table, and torch out of loading
a model and sampling from it.

>>> sorted(KINDS)
['lstm', 'melgen_window']
>>> KINDS["melgen_window"].presets
('melgen2019',)
>>> kind_of("transformer")
Traceback (most recent call last):
music21_melgen.errors.ModelError: unknown model kind 'transformer' (known: lstm, melgen_window)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.errors import ModelError
from music21_melgen.melgen2019_encoding import MelgenTokenRepresentation

__all__ = ["ModelKind", "KINDS", "kind_of"]


@dataclass(frozen=True)
class ModelKind:
    """One kind of melody model; ``name`` is what checkpoints store as ``kind``."""

    name: str
    summary: str  # one line for listings
    representation: type  # the representation class (its config_class rebuilds a saved config)
    model: str  # "module:Class" of the model class (no torch), with from_arrays(...)
    trainer: str  # "module:function" of the training loop: (preset, corpus, out, ...) -> TrainingResult
    presets: tuple[str, ...]  # names of the training presets that build this kind

    def model_class(self) -> type:
        """The model class (does not import torch; its ``network`` does)."""
        return _resolve(self.model)

    def train_function(self) -> Callable[..., Any]:
        """The trainer (imports torch and the training pipeline)."""
        return _resolve(self.trainer)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(
            name="lstm",
            summary="chord-conditioned LSTM over a 16th-note grid, state carried (the default model)",
            representation=ChordGridRepresentation,
            model="music21_melgen.model:LstmMelodyModel",
            trainer="music21_melgen.training.train:train_lstm",
            presets=("default", "pop", "tiny"),
        ),
        ModelKind(
            name="melgen_window",
            summary="MelGen (2019) reproduced: 64-token window, chord-filter sampling",
            representation=MelgenTokenRepresentation,
            model="music21_melgen.melgen2019_model:MelGen2019Model",
            trainer="music21_melgen.training.melgen2019_training:train_melgen2019",
            presets=("melgen2019",),
        ),
    )
}


def kind_of(name: object) -> ModelKind:
    """The kind called ``name``; ModelError naming the known kinds otherwise."""
    if not isinstance(name, str) or name not in KINDS:
        raise ModelError(f"unknown model kind {name!r} (known: {', '.join(sorted(KINDS))})")
    return KINDS[name]
