"""Benchmark: how fast a melody is generated, and why (hand cell vs nn.LSTM per step).

Prints, for one 32-bar 4/4 progression (512 sixteenth steps):

1. wall time of ``generate_melody`` (sampling included) for each entry of
   ``GENERATORS`` — the bundled ``default`` model with 1 and 4 candidates; the
   melgen2019 model adds its own entry (its windowed generation) to compare
   side by side in the same run;
2. per-step time of the LSTM arithmetic: the hand-written float64 numpy cell
   used by sampling vs ``nn.LSTM`` + output layer called one step at a time,
   at the default model's size and at 256 units;
3. stateful vs windowed at equal model size (1 layer of 256 units): a
   default-architecture LSTM sampled statefully beside the bundled ``seed``
   model's MelGen-style windowed sampling (64 LSTM steps re-run for every
   step), both for the same 512 steps, and their ratio (goal: at least 20x).

Wall and CPU time are both printed: on a shared 2-core machine the wall time
swings with the load, so the load average is printed too. No environment
variable is needed: the sampling loops hold numpy's BLAS to one thread
themselves (``threadpoolctl``), and the hand-cell timing below does the same.
Run from the repository root::

    python -m benchmarks.generation_speed [--model default] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from fractions import Fraction
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from music21_melgen.checkpoint import load_model
from music21_melgen.encoding import ChordGridRepresentation
from music21_melgen.lstm_network import MelodyLSTM
from music21_melgen.model import LstmMelodyModel, MelodyLSTMConfig
from music21_melgen.sampling import SamplingControls, generate_melody, one_blas_thread
from music21_melgen.timeline import ChordSpan, ChordTimeline, MeasureSpan

__all__ = ["progression", "GENERATORS", "time_it", "per_step_times", "windowed_vs_stateful", "main"]

BARS = 32


def progression(bars: int = BARS) -> ChordTimeline:
    """I–V–vi–IV in C, one chord a bar, 4/4."""
    chords = [(0, {0, 4, 7}, "I"), (7, {7, 11, 2}, "V"), (9, {9, 0, 4}, "vi"), (5, {5, 9, 0}, "IV")]
    measures = tuple(MeasureSpan(i + 1, Fraction(4 * i), Fraction(4), "4/4", Fraction(1)) for i in range(bars))
    spans = tuple(
        ChordSpan(Fraction(4 * i), Fraction(4), root, frozenset(pcs), 0, "major", i + 1, label)
        for i, (root, pcs, label) in ((i, chords[i % 4]) for i in range(bars))
    )
    return ChordTimeline(spans, measures)


def time_it(function: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``function`` over ``repeats`` runs (after one warm-up)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _default_generators(model_name: str) -> list[tuple[str, Callable[[ChordTimeline], object]]]:
    """The model sampled with its recommended settings, as the engine does, 1 and 4 candidates."""
    model = load_model(model_name)
    one = SamplingControls.for_model(model, seed=1)
    four = SamplingControls.for_model(model, seed=1, candidates=4)
    return [
        (f"{model_name}, 1 candidate", lambda tl: generate_melody(model, tl, one)),
        (f"{model_name}, 4 candidates", lambda tl: generate_melody(model, tl, four)),
    ]


# Extra (label, generate(timeline)) entries timed beside the default model;
# the melgen2019 model appends its windowed generation here.
GENERATORS: list[tuple[str, Callable[[ChordTimeline], object]]] = []


def per_step_times(hidden: int, layers: int, steps: int = 512) -> tuple[float, float]:
    """Seconds per step: (hand numpy cell, nn.LSTM + head called step by step)."""
    torch.manual_seed(0)
    representation = ChordGridRepresentation()
    config = MelodyLSTMConfig(representation.vocab_size, representation.conditioning_size, 32, hidden, layers, 0.0)
    model = LstmMelodyModel(MelodyLSTM(config), representation)
    conditioning = np.random.default_rng(0).random((steps, config.conditioning_size)).astype(np.float32)
    prev = np.zeros(1, dtype=np.int64)

    def hand() -> None:
        with one_blas_thread():  # as sampling runs it, set-up included
            cell = model.step_network()
            cell.start(SimpleNamespace(conditioning=conditioning), 1)  # the LSTM reads only the conditioning
            for t in range(steps):
                cell.step(t, prev)

    network = model.network
    cond = torch.from_numpy(conditioning)[:, None, None, :]  # [T, 1, 1, C]
    prev_t = torch.zeros(1, 1, dtype=torch.long)

    @torch.no_grad()
    def stepwise() -> None:
        state = None
        for t in range(steps):
            x = torch.cat([network.embedding(prev_t), cond[t]], dim=-1)
            out, state = network.lstm(x, state)
            network.head(out)

    return time_it(hand, 3) / steps, time_it(stepwise, 3) / steps


def _wall_and_cpu(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``function`` (after one warm-up)."""
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def windowed_vs_stateful(
    timeline: ChordTimeline, repeats: int
) -> tuple[tuple[float, float], tuple[float, float], int]:
    """(wall, CPU) seconds for one melody, stateful then melgen2019's windowed sampling; and the units.

    The stateful side is a 1-layer default-architecture LSTM as wide as the
    bundled melgen2019 model (random weights: the time does not depend on them).
    The windowed side runs fewer times (it is slow). CPU time is printed too
    because the wall time of a shared 2-core machine swings with its load.
    """
    seed = load_model("melgen2019")
    hidden = seed.network.config.hidden_size
    torch.manual_seed(0)
    representation = ChordGridRepresentation()
    config = MelodyLSTMConfig(representation.vocab_size, representation.conditioning_size, 32, hidden, 1, 0.0)
    stateful = LstmMelodyModel(MelodyLSTM(config), representation)
    controls = SamplingControls(seed=1)
    return (
        _wall_and_cpu(lambda: generate_melody(stateful, timeline, controls), repeats),
        _wall_and_cpu(lambda: generate_melody(seed, timeline, controls), max(1, repeats // 5)),
        hidden,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="bundled model name or checkpoint folder")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per figure (median is printed)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as training does (training/presets.py: 2 threads stall on a busy machine)
    timeline = progression()
    steps = ChordGridRepresentation().grid(timeline).length
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())} (1, 5, 15 min), {os.cpu_count()} CPUs")
    print(f"generation of one {BARS}-bar 4/4 melody ({steps} steps), median of {args.repeats} runs:")
    for label, generate in [*_default_generators(args.model), *GENERATORS]:
        wall, cpu = _wall_and_cpu(lambda: generate(timeline), args.repeats)
        print(
            f"  {label:32s} wall {wall * 1e3:7.1f} ms ({wall / steps * 1e6:5.1f} µs/step), "
            f"CPU {cpu * 1e3:7.1f} ms"
        )
    model = load_model(args.model)
    sizes = sorted({(model.network.config.hidden_size, model.network.config.num_layers), (256, 1)})
    print("LSTM arithmetic per step, hand numpy cell vs nn.LSTM called step by step:")
    for hidden, layers in sizes:
        hand, stepwise = per_step_times(hidden, layers, steps)
        print(
            f"  {layers} x {hidden:3d} units: hand cell {hand * 1e6:6.1f} µs/step, "
            f"nn.LSTM {stepwise * 1e6:6.1f} µs/step ({stepwise / hand:4.1f}x)"
        )
    stateful_times, windowed_times, hidden = windowed_vs_stateful(timeline, args.repeats)
    print(f"stateful vs windowed generation, 1 x {hidden} units, {steps} steps, sampling included:")
    for index, kind in enumerate(("wall", "CPU")):
        stateful, windowed = stateful_times[index], windowed_times[index]
        print(
            f"  {kind:4s} stateful (hand cell) {stateful * 1e3:8.1f} ms, windowed (seed, 64-token window) "
            f"{windowed * 1e3:8.1f} ms: {windowed / stateful:5.1f}x (goal >= 20x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
