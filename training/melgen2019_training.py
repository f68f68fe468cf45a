"""Training the ``melgen2019`` preset MelGen's way: one example per 64-token window.

MelGen (``../shared/seed/ALGORITHM.md``) trained on the ``_dt`` analyses only,
all songs' token streams joined with 64 ``/`` between them, one training
example per position (the 64 tokens before it → the token there), sparse
categorical cross-entropy, Adam at 0.001, batches of 64, 50 epochs: more than
24 hours. This trainer does the same on the training split
(``training/split.py``, the default model's split) with two differences:

* **a budget**: an epoch of every window (about 215,000 here) takes 10 min or
  more on this 2-core CPU, so training runs in *rounds* of
  :data:`WINDOWS_PER_ROUND` windows drawn at random without replacement (a
  new draw each round, like Keras' shuffle), and stops after ``max_epochs``
  rounds or ``max_minutes``. The checkpoint records how many MelGen epochs
  that is (``metrics.melgen_epochs``; MelGen ran 50);
* **a held-out check**: after each round the loss on the validation songs
  picks the best weights so far (kept in the output folder); ``patience``
  rounds without a better one stop training early. MelGen kept its last.

Each song's stream is ``64 × /``, its tokens, ``64 × /`` (so a window never
sees another song, and the separators after a song are targets, as in
MelGen's joined stream). The vocabulary is the tokens of the training songs
(MelGen's 99). Losses are reported in bits per token over the songs' own
tokens, separators excluded.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from music21_melgen.checkpoint import save_checkpoint
from music21_melgen.errors import ModelError
from music21_melgen.melgen2019_encoding import SEPARATOR_ID, MelgenTokenRepresentation
from music21_melgen.melgen2019_model import MelGen2019Model, WindowNetworkConfig
from music21_melgen.training.dataset import EncodedSong
from music21_melgen.training.presets import TrainingPreset
from music21_melgen.training.train import TrainingResult
from music21_melgen.window_network import WindowLSTM

__all__ = [
    "WINDOWS_PER_ROUND",
    "MELGEN_EPOCHS",
    "ANALYST",
    "TokenStreams",
    "stream_bits",
    "train_melgen2019",
]

WINDOWS_PER_ROUND = 32768  # windows drawn for one round of training (512 batches of 64)
MELGEN_EPOCHS = 50  # epochs MelGen trained for
ANALYST = "dt"  # MelGen used the _dt harmonic analyses only
LN2 = math.log(2)


class TokenStreams:
    """Songs' token streams joined in one array, with the positions that are targets.

    ``flat`` holds every stream (``window`` separators, the song, ``window``
    separators); ``targets`` the index in ``flat`` of every token predicted
    from the ``window`` tokens before it; ``song_targets`` only the songs'
    own tokens (what the losses are reported over).
    """

    def __init__(self, songs: Sequence[np.ndarray], window: int) -> None:
        pad = np.full(window, SEPARATOR_ID, dtype=np.int64)
        pieces, targets, song_targets, start = [], [], [], 0
        for tokens in songs:
            pieces.extend([pad, tokens.astype(np.int64), pad])
            first, song_end, end = start + window, start + window + len(tokens), start + 2 * window + len(tokens)
            targets.append(np.arange(first, end))
            song_targets.append(np.arange(first, song_end))
            start = end
        self.window = window
        self.flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        self.targets = np.concatenate(targets) if targets else np.zeros(0, dtype=np.int64)
        self.song_targets = np.concatenate(song_targets) if song_targets else np.zeros(0, dtype=np.int64)

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """``(windows int64 [B, W], targets int64 [B])`` for target positions in ``flat``."""
        windows = self.flat[positions[:, None] + np.arange(-self.window, 0)[None, :]]
        return torch.from_numpy(windows), torch.from_numpy(self.flat[positions])


@torch.no_grad()
def stream_bits(network: WindowLSTM, streams: TokenStreams, batch_size: int = 1024) -> float:
    """Mean loss in bits per token over the songs' own tokens (separators excluded)."""
    positions = streams.song_targets
    if len(positions) == 0:
        return float("nan")
    was_training = network.training
    network.eval()
    total = 0.0
    for start in range(0, len(positions), batch_size):
        windows, targets = streams.batch(positions[start : start + batch_size])
        logits, _ = network(windows)
        total += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
    network.train(was_training)
    return total / len(positions) / LN2


def _tokens_of(
    songs: Sequence[EncodedSong], source: MelgenTokenRepresentation, target: MelgenTokenRepresentation
) -> tuple[list[np.ndarray], int]:
    """Songs' token ids moved from ``source``'s vocabulary to ``target``'s; and how many were not in it."""
    out, missing = [], 0
    for song in songs:
        ids, unknown = target.token_ids([source.vocabulary[i] for i in song.events.tolist()])
        out.append(ids)
        missing += unknown
    return out, missing


def train_melgen2019(
    preset: TrainingPreset,
    songs: dict[str, list[EncodedSong]],
    out: Path,
    *,
    data_hash: str,
    command: str,
    representation: MelgenTokenRepresentation,
    max_epochs: int | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainingResult:
    """Train MelGen's windowed LSTM on the ``_dt`` token streams split into train / validation / test.

    ``songs`` are sequences encoded with ``representation`` (the full
    vocabulary); ``preset.chunk_steps`` is the window, ``batch_size`` the
    windows per batch, ``max_epochs`` the rounds (see the module doc).
    Writes the best checkpoint to ``out`` and returns its figures.
    """
    from tqdm import tqdm

    if not isinstance(representation, MelgenTokenRepresentation):
        raise ModelError(f"preset {preset.name!r}: the melgen2019 trainer needs the melgen_tokens representation")
    torch.set_num_threads(2)
    torch.manual_seed(preset.seed)
    rng = np.random.default_rng(preset.seed)
    window = preset.chunk_steps
    chosen = {name: [s for s in group if s.analyst == ANALYST] for name, group in songs.items()}
    if not chosen.get("train"):
        raise ModelError(f"no training songs with a _{ANALYST} analysis: nothing to learn from")
    found = {representation.vocabulary[i] for song in chosen["train"] for i in song.events.tolist()}
    vocabulary = representation.with_tokens(sorted(found))
    streams: dict[str, TokenStreams] = {}
    substituted: dict[str, int] = {}
    for name in ("train", "validation", "test"):
        tokens, substituted[name] = _tokens_of(chosen.get(name, []), representation, vocabulary)
        streams[name] = TokenStreams(tokens, window)
    network = WindowLSTM(
        WindowNetworkConfig(vocabulary.vocab_size, window=window, hidden_size=preset.hidden_size, dropout=preset.dropout)
    )
    model = MelGen2019Model(network, vocabulary, name=out.name)
    network.train()
    optimizer = torch.optim.Adam(network.parameters(), lr=preset.learning_rate)
    per_epoch = len(streams["train"].targets)  # MelGen's epoch: every window once
    per_round = min(WINDOWS_PER_ROUND, per_epoch)
    rounds = max_epochs or preset.max_epochs
    budget = 60.0 * (max_minutes or preset.max_minutes)
    log(
        f"training {preset.name}: {sum(p.numel() for p in network.parameters())} parameters, "
        f"{vocabulary.vocab_size} tokens, "
        + ", ".join(f"{len(chosen.get(n, []))} {n}" for n in ("train", "validation", "test"))
        + f" songs (_{ANALYST}); {per_epoch} windows an epoch, {per_round} a round"
    )
    started = time.monotonic()
    best_val, best_round, best_state, stale, seen = math.inf, 0, None, 0, 0
    history: list[dict] = []
    done = 0
    for done in range(1, rounds + 1):
        order = rng.choice(streams["train"].targets, size=per_round, replace=False)
        bar = tqdm(
            range(0, per_round, preset.batch_size),
            desc=f"round {done}/{rounds}",
            disable=not progress,
            leave=False,
            file=sys.stderr,
        )
        loss_sum, loss_count, out_of_time = 0.0, 0, False
        for start in bar:
            windows, targets = streams["train"].batch(order[start : start + preset.batch_size])
            _, loss = network(windows, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(targets)
            loss_count += len(targets)
            if loss_count // preset.batch_size % 32 == 0:
                bar.set_postfix(bits=f"{loss_sum / loss_count / LN2:.3f}")
            if time.monotonic() - started > budget:
                out_of_time = True
                break
        bar.close()
        seen += loss_count
        train_bits = loss_sum / max(loss_count, 1) / LN2
        val_bits = stream_bits(network, streams["validation"])
        elapsed = time.monotonic() - started
        history.append(
            {"round": done, "windows": seen, "train_bits": round(train_bits, 4), "val_bits": round(val_bits, 4)}
        )
        improved = val_bits < best_val or math.isnan(val_bits)
        log(
            f"round {done}: {seen} windows ({seen / per_epoch:.2f} MelGen epochs), train {train_bits:.4f} "
            f"bits/token, validation {val_bits:.4f} bits/token, {elapsed:.0f} s{' (best)' if improved else ''}"
        )
        if improved:
            best_val, best_round, stale = val_bits, done, 0
            best_state = copy.deepcopy(network.state_dict())
            save_checkpoint(
                model,
                out,
                metrics={"val_bits_per_step": round(best_val, 4)},
                training=_training_block(preset, data_hash, command, elapsed, done, history, chosen, seen, per_epoch),
                sampling=dict(preset.sampling) or None,
            )
        else:
            stale += 1
        if out_of_time or stale >= preset.patience:
            break
    seconds = time.monotonic() - started
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    model.network = network
    test_bits = stream_bits(network, streams["test"])
    metrics = {
        "val_bits_per_step": round(best_val, 4),
        "test_bits_per_step": round(test_bits, 4),
        "bits_are_per": "token of MelGen's stream (a 1/16-measure step), separators excluded",
        "best_round": best_round,
        "windows_seen": seen,
        "windows_per_melgen_epoch": per_epoch,
        "melgen_epochs": round(seen / per_epoch, 3),
        "share_of_melgen_training": round(seen / per_epoch / MELGEN_EPOCHS, 4),
        "vocabulary_size": vocabulary.vocab_size,
        "tokens_not_in_vocabulary": substituted,
        "parameters": sum(p.numel() for p in network.parameters()),
    }
    path = save_checkpoint(
        model,
        out,
        metrics=metrics,
        training=_training_block(preset, data_hash, command, seconds, done, history, chosen, seen, per_epoch),
        sampling=dict(preset.sampling) or None,
    )
    log(
        f"best round {best_round}: validation {best_val:.4f}, test {test_bits:.4f} bits/token; "
        f"{seconds:.0f} s, {seen / per_epoch:.2f} MelGen epochs (MelGen ran {MELGEN_EPOCHS})"
    )
    return TrainingResult(path, metrics, seconds, done)


def _training_block(
    preset: TrainingPreset,
    data_hash: str,
    command: str,
    seconds: float,
    rounds: int,
    history: list[dict],
    songs: dict[str, list[EncodedSong]],
    seen: int,
    per_epoch: int,
) -> dict:
    return {
        "preset": preset.to_dict(),
        "trainer": "seed: MelGen's windows, Adam, rounds of sampled windows",
        "data_hash": data_hash,
        "command": command,
        "seconds": round(seconds, 1),
        "epochs": rounds,
        "windows_per_round": WINDOWS_PER_ROUND,
        "windows_seen": seen,
        "melgen_epochs": round(seen / per_epoch, 3),
        "history": history,
        "analyst": ANALYST,
        "split": {name: sorted({s.stem for s in group}) for name, group in songs.items()},
        "sequences": {name: len(group) for name, group in songs.items()},
        "torch_threads": torch.get_num_threads(),
    }
