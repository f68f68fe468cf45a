"""The training loop of the melody LSTM: whole songs, truncated back-propagation.

Each batch is a group of songs of similar length, padded (padding targets are
-1 and ignored). The loop runs over a batch in chunks of ``chunk_steps`` grid
steps and carries the LSTM state from one chunk to the next, detached (so the
model sees a whole song's context while gradients stop at the chunk
boundary). AdamW, gradient clipping, a warm-up + cosine learning-rate schedule
(:func:`learning_rate`, a pure function of the step), early stopping on the
validation loss, fixed seeds, a tqdm bar; the best checkpoint so far is kept
in the output folder (rewritten atomically at each improvement), and the test
loss of the best weights is added at the end.

The trainer of a preset is its kind's (:data:`music21_melgen.kinds.KINDS`).
The songs come from any mix of sources (Rock Corpus, POP909, score folders;
:mod:`music21_melgen.training.sources`), each with its own fixed split; the
checkpoint's ``training`` block records the sources and the stems of each
split per corpus.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from music21_melgen.checkpoint import save_checkpoint
from music21_melgen.encoding import Representation
from music21_melgen.errors import ModelError
from music21_melgen.kinds import kind_of
from music21_melgen.lstm_network import MelodyLSTM
from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig, shifted_inputs
from music21_melgen.training.dataset import EncodedSong, load_corpus
from music21_melgen.training.presets import TrainingPreset, get_preset
from music21_melgen.training.sources import Source

__all__ = [
    "TrainingResult",
    "learning_rate",
    "song_batches",
    "pad_batch",
    "pad_references",
    "evaluate_bits",
    "train_lstm",
    "split_by_corpus",
    "train",
]

LN2 = math.log(2)


@dataclass(frozen=True)
class TrainingResult:
    """What a run produced: where the checkpoint is and its figures."""

    checkpoint: Path
    metrics: dict
    seconds: float
    epochs: int


def learning_rate(step: int, *, total: int, warmup: int, peak: float, floor: float) -> float:
    """Learning rate at optimiser step ``step``: linear warm-up, then cosine decay to ``floor``.

    >>> round(learning_rate(0, total=100, warmup=10, peak=1.0, floor=0.1), 4)
    0.0909
    >>> learning_rate(10, total=100, warmup=10, peak=1.0, floor=0.1)
    1.0
    >>> round(learning_rate(55, total=100, warmup=10, peak=1.0, floor=0.1), 3)
    0.55
    >>> learning_rate(500, total=100, warmup=10, peak=1.0, floor=0.1)
    0.1
    """
    # 1) warm-up: rise linearly from peak/(warmup+1) towards peak over the first steps
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    # 2) past the end: stay at the floor
    if step >= total:
        return floor
    # 3) in between: cosine from peak down to floor; ratio goes 0 → 1
    ratio = (step - warmup) / max(total - warmup, 1)
    coefficient = 0.5 * (1.0 + math.cos(math.pi * ratio))  # 1 → 0
    return floor + coefficient * (peak - floor)


def song_batches(songs: Sequence[EncodedSong], batch_size: int, rng: np.random.Generator) -> list[list[EncodedSong]]:
    """Songs in batches of similar length (less padding), batch order shuffled.

    Songs are shuffled first so equal lengths do not always pair the same way.
    """
    order = rng.permutation(len(songs))
    by_length = sorted(order, key=lambda i: len(songs[i].events))
    batches = [[songs[i] for i in by_length[s : s + batch_size]] for s in range(0, len(by_length), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def pad_batch(songs: Sequence[EncodedSong]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(prev [B, T], cond [B, T, C], targets [B, T])``; padding targets are -1."""
    length = max(len(song.events) for song in songs)
    width = songs[0].conditioning.shape[1]
    prev = np.zeros((len(songs), length), dtype=np.int64)
    cond = np.zeros((len(songs), length, width), dtype=np.float32)
    targets = np.full((len(songs), length), -1, dtype=np.int64)
    for row, song in enumerate(songs):
        n = len(song.events)
        prev[row, :n] = shifted_inputs(song.events)
        cond[row, :n] = song.conditioning
        targets[row, :n] = song.events
    return torch.from_numpy(prev), torch.from_numpy(cond), torch.from_numpy(targets)


def pad_references(songs: Sequence[EncodedSong], none: int) -> torch.Tensor:
    """The echoed event of each step, ``[B, T]`` (``none`` where no echo, and on padding)."""
    length = max(len(song.events) for song in songs)
    reference = np.full((len(songs), length), none, dtype=np.int64)
    for row, song in enumerate(songs):
        if song.reference is not None:
            reference[row, : len(song.reference)] = song.reference
    return torch.from_numpy(reference)


@torch.no_grad()
def evaluate_bits(network: MelodyLSTM, songs: Sequence[EncodedSong], batch_size: int = 16) -> float:
    """Mean loss in bits per grid step over all steps of ``songs`` (whole songs, no chunks)."""
    if not songs:
        return float("nan")
    was_training = network.training
    network.eval()
    total, count = 0.0, 0
    ordered = sorted(songs, key=lambda song: len(song.events))
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        prev, cond, targets = pad_batch(batch)
        reference = pad_references(batch, network.config.vocab_size) if network.config.reference else None
        logits, _, _ = network(prev, cond, reference=reference)
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1, reduction="sum"
        )
        total += float(losses)
        count += int((targets >= 0).sum())
    network.train(was_training)
    return total / count / LN2


def _build_model(preset: TrainingPreset) -> tuple[Representation, MelodyLSTM]:
    representation = kind_of(preset.kind).representation(preset.grid)
    config = MelodyLSTMConfig(
        vocab_size=representation.vocab_size,
        conditioning_size=representation.conditioning_size,
        embedding_size=preset.embedding_size,
        hidden_size=preset.hidden_size,
        num_layers=preset.num_layers,
        dropout=preset.dropout,
        reference=preset.reference,
    )
    return representation, MelodyLSTM(config)


def train_lstm(
    preset: TrainingPreset,
    songs: dict[str, list[EncodedSong]],
    out: Path,
    *,
    data_hash: str,
    command: str,
    representation: Representation,
    max_epochs: int | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    sources: Sequence[dict] = (),
) -> TrainingResult:
    """Train :class:`MelodyLSTM` on encoded songs split into train / validation / test.

    ``sources`` (one JSON object per source: corpus, folder, data hash,
    sequences; :attr:`~music21_melgen.training.dataset.EncodedCorpus.sources`)
    are recorded in the checkpoint's ``training`` block.
    """
    from tqdm import tqdm

    torch.set_num_threads(preset.threads)
    torch.manual_seed(preset.seed)
    rng = np.random.default_rng(preset.seed)
    train_songs, val_songs, test_songs = songs["train"], songs["validation"], songs["test"]
    if not train_songs:
        raise ModelError("no training songs: nothing to learn from")
    _, network = _build_model(preset)
    model = LstmMelodyModel(network, representation, name=out.name)
    network.train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=preset.learning_rate, weight_decay=preset.weight_decay)
    epochs = max_epochs or preset.max_epochs
    budget = 60.0 * (max_minutes or preset.max_minutes)
    batches_per_epoch = math.ceil(len(train_songs) / preset.batch_size)
    steps_per_epoch = sum(
        math.ceil(max(len(s.events) for s in batch) / preset.chunk_steps)
        for batch in song_batches(train_songs, preset.batch_size, np.random.default_rng(0))
    )
    total_steps = epochs * steps_per_epoch
    started = time.monotonic()
    best_val, best_epoch, best_state, stale = math.inf, 0, None, 0
    step, epoch, out_of_time = 0, 0, False
    history: list[dict] = []
    log(
        f"training {preset.name}: {sum(p.numel() for p in network.parameters())} parameters, "
        f"{len(train_songs)} / {len(val_songs)} / {len(test_songs)} train / validation / test sequences, "
        f"{batches_per_epoch} batches an epoch"
    )
    for epoch in range(1, epochs + 1):
        network.train()
        loss_sum, loss_count = 0.0, 0
        bar = tqdm(
            song_batches(train_songs, preset.batch_size, rng),
            desc=f"epoch {epoch}/{epochs}",
            disable=not progress,
            leave=False,
            file=sys.stderr,
        )
        for batch in bar:
            prev, cond, targets = pad_batch(batch)
            reference = pad_references(batch, network.config.vocab_size) if network.config.reference else None
            state = None
            for start in range(0, prev.shape[1], preset.chunk_steps):
                chunk = slice(start, start + preset.chunk_steps)
                valid = int((targets[:, chunk] >= 0).sum())
                if valid == 0:
                    continue
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(
                        step, total=total_steps, warmup=preset.warmup_steps,
                        peak=preset.learning_rate, floor=preset.min_learning_rate,
                    )
                echoed = None if reference is None else reference[:, chunk]
                _, loss, state = network(prev[:, chunk], cond[:, chunk], targets[:, chunk], state, echoed)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), preset.grad_clip)
                optimizer.step()
                state = tuple(s.detach() for s in state)  # truncate back-propagation here
                step += 1
                loss_sum += loss.item() * valid
                loss_count += valid
            bar.set_postfix(bits=f"{loss_sum / max(loss_count, 1) / LN2:.3f}")
            if time.monotonic() - started > budget:
                out_of_time = True
                break
        bar.close()
        train_bits = loss_sum / max(loss_count, 1) / LN2
        val_bits = evaluate_bits(network, val_songs)
        elapsed = time.monotonic() - started
        history.append({"epoch": epoch, "train_bits": round(train_bits, 4), "val_bits": round(val_bits, 4)})
        improved = val_bits < best_val or not val_songs
        log(
            f"epoch {epoch}: train {train_bits:.4f} bits/step, validation {val_bits:.4f} bits/step, "
            f"{elapsed:.0f} s{' (best)' if improved else ''}"
        )
        if improved:
            best_val, best_epoch, stale = val_bits, epoch, 0
            best_state = copy.deepcopy(network.state_dict())
            save_checkpoint(
                model,
                out,
                metrics={"val_bits_per_step": round(best_val, 4), "best_epoch": best_epoch},
                training=_training_block(preset, data_hash, command, elapsed, epoch, history, songs, sources),
                sampling=dict(preset.sampling) or None,
            )
        else:
            stale += 1
        if stale >= preset.patience:
            log(f"no better validation loss for {preset.patience} epochs: stopping")
            break
        if out_of_time:
            log(f"time budget of {budget / 60:.1f} minutes used: stopping")
            break
    network.load_state_dict(best_state)
    network.eval()
    seconds = time.monotonic() - started
    metrics = {
        "train_bits_per_step": round(evaluate_bits(network, train_songs), 4),
        "val_bits_per_step": round(best_val, 4) if val_songs else None,
        "test_bits_per_step": round(evaluate_bits(network, test_songs), 4) if test_songs else None,
        "best_epoch": best_epoch,
        "parameters": sum(p.numel() for p in network.parameters()),
    }
    path = save_checkpoint(
        model,
        out,
        metrics=metrics,
        training=_training_block(preset, data_hash, command, seconds, epoch, history, songs, sources),
        sampling=dict(preset.sampling) or None,
    )
    log(
        f"best epoch {best_epoch}: validation {metrics['val_bits_per_step']} bits/step, "
        f"test {metrics['test_bits_per_step']} bits/step; {seconds / 60:.1f} min; saved {path}"
    )
    return TrainingResult(path, metrics, seconds, epoch)


def _training_block(
    preset: TrainingPreset,
    data_hash: str,
    command: str,
    seconds: float,
    epochs: int,
    history: list[dict],
    songs: dict[str, list[EncodedSong]],
    sources: Sequence[dict] = (),
) -> dict:
    return {
        "preset": preset.to_dict(),
        "data_hash": data_hash,
        "command": command,
        "seconds": round(seconds, 1),
        "epochs": epochs,
        "history": history,
        "sources": [dict(source) for source in sources],
        "split": split_by_corpus(songs),
        "sequences": {name: len(group) for name, group in songs.items()},
        "torch_threads": torch.get_num_threads(),
    }


def split_by_corpus(songs: dict[str, list[EncodedSong]]) -> dict[str, dict[str, list[str]]]:
    """The stems of each split, per corpus: ``{'rock': {'train': [...], ...}, 'pop909': ...}``."""
    corpora = sorted({song.corpus for group in songs.values() for song in group})
    return {
        corpus: {name: sorted({s.stem for s in group if s.corpus == corpus}) for name, group in songs.items()}
        for corpus in corpora
    }


def _command(
    sources: Sequence[str | os.PathLike | Source],
    out: str | Path,
    preset: str,
    max_epochs: int | None,
    max_minutes: float | None,
) -> str:
    """The ``melgen train`` line of a run: every source, then the settings."""
    words = ["melgen", "train"]
    for source in sources:
        if isinstance(source, Source):
            words += ["--scores" if source.corpus == "scores" else "--corpus", str(source.folder)]
        else:
            words += ["--corpus", str(source)]
    words += ["--out", str(out), "--preset", preset]
    if max_epochs is not None:
        words += ["--epochs", str(max_epochs)]
    if max_minutes is not None:
        words += ["--max-minutes", f"{max_minutes:g}"]
    return " ".join(words)


def train(
    corpus: str | os.PathLike | Source | Sequence[str | os.PathLike | Source],
    out: str | Path,
    *,
    preset: str | TrainingPreset = "default",
    max_epochs: int | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
    command: str | None = None,
    stems: set[str] | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> TrainingResult:
    """Train ``preset`` on one song source or several; write the checkpoint to ``out``.

    ``corpus``: a folder (Rock Corpus, POP909 or scores, told by what it
    holds), a :class:`~music21_melgen.training.sources.Source`, or a list of
    them. ``stems`` and ``limit`` keep a few songs of each source (tests).
    """
    chosen = preset if isinstance(preset, TrainingPreset) else get_preset(preset)
    kind = kind_of(chosen.kind)
    if max_epochs is not None and max_epochs < 1:
        raise ModelError(f"--epochs must be at least 1, got {max_epochs}")
    if max_minutes is not None and not max_minutes > 0:
        raise ModelError(f"--max-minutes must be positive, got {max_minutes}")
    sources = [corpus] if isinstance(corpus, (str, os.PathLike, Source)) else list(corpus)
    if not sources:
        raise ModelError("no training data: give at least one --corpus DIR or --scores DIR")
    representation = kind.representation(chosen.grid)
    data = load_corpus(sources, representation, stems=stems, limit=limit, log=log)
    if command is None:
        command = _command(sources, out, chosen.name, max_epochs, max_minutes)
    trainer = kind.train_function()
    # Trainers that record their sources take them (the melgen2019 trainer does not yet).
    extra = {"sources": data.sources} if "sources" in inspect.signature(trainer).parameters else {}
    return trainer(
        chosen,
        data.by_split(),
        Path(out),
        data_hash=data.data_hash,
        command=command,
        representation=representation,
        max_epochs=max_epochs,
        max_minutes=max_minutes,
        progress=progress,
        log=log,
        **extra,
    )
