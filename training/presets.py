"""Named training presets: a model size, a representation and how to train it.

A preset is a frozen, validated :class:`TrainingPreset`; ``melgen train
--preset NAME`` looks it up in :data:`PRESETS`. Its ``kind`` names the model
kind it builds (:data:`music21_melgen.kinds.KINDS`), which gives the
representation and the training loop. Presets:

* ``default`` (kind ``lstm``) — the bundled model: the best found within a
  15-minute budget on a 2-core CPU (see the model card in the README);
* ``pop`` (kind ``lstm``) — the ``default`` network and settings for larger
  corpora such as POP909 (``melgen train --corpus pop909``): up to 40
  epochs, so the 14-minute budget stops it; the default model's sampling
  until its own is tuned;
* ``tiny`` (kind ``lstm``) — a few-second model for tests and smoke runs;
* ``melgen2019`` (kind ``melgen_window``) — the 2019 MelGen reproduced (the
  old name ``seed`` still works, with a DeprecationWarning).

>>> PRESETS["default"].hidden_size
256
>>> get_preset("nope")
Traceback (most recent call last):
music21_melgen.errors.ModelError: unknown preset 'nope' (known: default, melgen2019, pop, tiny)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import warnings

from music21_melgen.encoding import GridConfig
from music21_melgen.errors import GenerationError, ModelError
from music21_melgen.kinds import kind_of
from music21_melgen.melgen2019_encoding import MelgenTokenConfig
from music21_melgen.controls import controls_from_json

__all__ = ["TrainingPreset", "PRESETS", "DEFAULT_SAMPLING", "POP_SAMPLING", "MELGEN2019_SAMPLING", "get_preset"]


@dataclass(frozen=True)
class TrainingPreset:
    """Everything a training run needs besides the data; checked on construction."""

    name: str  # the preset's name, stored in the checkpoint
    kind: str = "lstm"  # the model kind it builds, a key of music21_melgen.kinds.KINDS (trainer, representation)
    grid: Any = field(default_factory=GridConfig)  # the kind's representation settings
    embedding_size: int = 32  # width of the previous-event embedding
    hidden_size: int = 256  # LSTM units per layer
    num_layers: int = 1  # stacked LSTM layers
    dropout: float = 0.3  # dropout between layers and before the output layer
    reference: bool = False  # form: the network reads the echoed passage's event at each step
    batch_size: int = 16  # songs per batch
    chunk_steps: int = 128  # truncated back-propagation length, in grid steps
    learning_rate: float = 3e-3  # peak AdamW learning rate, reached after warm-up
    min_learning_rate: float = 1e-4  # floor of the cosine decay
    warmup_steps: int = 50  # optimiser steps of linear warm-up
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    grad_clip: float = 1.0  # largest gradient norm before an update
    max_epochs: int = 40  # passes over the training songs at most
    patience: int = 5  # epochs without a better validation loss before stopping early
    max_minutes: float = 14.0  # wall-clock budget; training stops after the batch that passes it
    seed: int = 0  # seeds torch and the song shuffling
    # torch intra-op threads. 1, not 2: on the 2-core machine, with other
    # processes busy, 2 OpenMP threads made a batch 160x slower (8.2 s vs
    # 0.05 s, measured side by side); a small LSTM gains little from 2 anyway.
    threads: int = 1
    # Sampling settings the trainer recommends, written into the checkpoint's
    # ``sampling`` object (JSON form, see music21_melgen.sampling.controls_from_json);
    # empty: the SamplingControls class defaults.
    sampling: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ModelError("a preset needs a name")
        try:
            controls_from_json(self.sampling)
        except GenerationError as error:
            raise ModelError(f"preset {self.name!r}: {error}") from None
        try:
            kind = kind_of(self.kind)
        except ModelError as error:
            raise ModelError(f"preset {self.name!r}: {error}") from None
        config_class = kind.representation.config_class
        if not isinstance(self.grid, config_class):
            raise ModelError(f"preset {self.name!r}: grid must be a {config_class.__name__}")
        positive_ints = (
            "embedding_size", "hidden_size", "num_layers", "batch_size",
            "chunk_steps", "max_epochs", "patience", "threads",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelError(f"preset {self.name!r}: {name} must be a positive integer, got {value!r}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ModelError(f"preset {self.name!r}: warmup_steps must be >= 0")
        if not 0 <= self.dropout < 1:
            raise ModelError(f"preset {self.name!r}: dropout must lie in [0, 1), got {self.dropout}")
        for name in ("learning_rate", "min_learning_rate", "grad_clip", "max_minutes"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ModelError(f"preset {self.name!r}: {name} must be a positive number, got {value!r}")
        if self.min_learning_rate > self.learning_rate:
            raise ModelError(f"preset {self.name!r}: min_learning_rate exceeds learning_rate")
        if self.weight_decay < 0:
            raise ModelError(f"preset {self.name!r}: weight_decay must be >= 0")

    def to_dict(self) -> dict:
        """JSON-ready settings (stored in the checkpoint's ``training`` block)."""
        return asdict(self)


# The default model's sampling, chosen on the validation split over five
# sampling seeds (docs/form.md, docs/development.md): top-p and continuation
# reduction off (both cut the notes the model wants); the chord-tone weight that
# puts the chord-tone ratio nearest the real melodies'; no note longer than a
# bar (the corpus's melodies never hold a note past two beats); with form,
# repetition 0.3 (that share of the echoing measures repeat their echo whole:
# bar repeat, chord and rhythm echo within 0.05 of the real melodies on whole
# songs), temperature 1.08 (lower temperatures cut the 16th notes real melodies
# have and the note-length overlap falls under 0.90) and rests up to 32
# quarters (more rest, as real songs breathe); silent sections (intros, solos)
# are the SamplingControls default.
DEFAULT_SAMPLING = {
    "temperature": 1.08,
    "top_p": 1.0,
    "chord_tone_weight": 1.2,
    "continuation_reduction": None,
    "longest_note": {"bars": 1},
    "longest_rest": 32,
    "repetition": 0.3,
}
# The pop model's sampling, chosen on the POP909 validation split (docs/models.md): slightly
# cool, chord tones as the model wants (1.2 put the chord-tone ratio 0.03-0.04 over real), rests
# of at most two bars; echoes also where only the chord roots repeat (POP909's chords are found
# by an algorithm, which names one progression differently on its returns), two in ten echoing
# measures repeated whole (bar repeat, chord and rhythm echo within 0.04 of real; docs/form.md).
POP_SAMPLING = {
    **DEFAULT_SAMPLING,
    "temperature": 0.95,
    "chord_tone_weight": 1.0,
    "longest_rest": 8,
    "repetition": 0.2,
    "echo_harmony": "roots",
}
# MelGen's own sampling: temperature 0.7 (inside the melgen2019 model, so 1.0 here), no
# nucleus, continuation reduction 1.3 x1.4.
MELGEN2019_SAMPLING = {
    "temperature": 1.0,
    "top_p": 1.0,
    "chord_tone_weight": 1.0,
    "continuation_reduction": [1.3, 1.4],
    "longest_note": None,
    "longest_rest": 8,
}

PRESETS: dict[str, TrainingPreset] = {
    "default": TrainingPreset(
        name="default", dropout=0.5, weight_decay=0.1, max_epochs=14, patience=4, reference=True,
        sampling=DEFAULT_SAMPLING,
    ),
    # The default network for POP909 and mixed corpora: more songs, so more epochs fit
    # before the validation loss stops falling; the wall budget ends it.
    "pop": TrainingPreset(
        name="pop", dropout=0.5, weight_decay=0.1, max_epochs=40, patience=4, reference=True,
        sampling=POP_SAMPLING,
    ),
    "tiny": TrainingPreset(
        name="tiny",
        embedding_size=8,
        hidden_size=16,
        num_layers=1,
        dropout=0.0,
        batch_size=4,
        chunk_steps=64,
        learning_rate=1e-2,
        min_learning_rate=1e-3,
        warmup_steps=0,
        max_epochs=2,
        patience=2,
        max_minutes=1.0,
    ),
    # MelGen reproduced (training/melgen2019_training.py): chunk_steps is the 64-token
    # window, batch_size counts windows, max_epochs counts rounds of sampled
    # windows; plain Adam at a constant 0.001 (no warm-up, decay or clipping).
    "melgen2019": TrainingPreset(
        name="melgen2019",
        kind="melgen_window",
        grid=MelgenTokenConfig(),
        hidden_size=256,
        num_layers=1,
        dropout=0.3,
        batch_size=64,
        chunk_steps=64,
        learning_rate=1e-3,
        min_learning_rate=1e-3,
        warmup_steps=0,
        weight_decay=0.0,
        max_epochs=50,
        patience=3,
        max_minutes=20.0,
        sampling=MELGEN2019_SAMPLING,
    ),
}


# Old names that still work, with a DeprecationWarning.
RENAMED = {"seed": "melgen2019"}


def get_preset(name: str) -> TrainingPreset:
    """The preset called ``name``; ModelError listing the known ones otherwise."""
    if name in RENAMED:
        warnings.warn(
            f"the preset {name!r} is now called {RENAMED[name]!r}; the old name will go",
            DeprecationWarning,
            stacklevel=2,
        )
        name = RENAMED[name]
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ModelError(f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})") from None
