"""How long a user waits for a melody: the README's example and a POP909 song, with a breakdown.

Prints, for each input, the wall time of ``melgen generate INPUT -o OUT.musicxml``
in a fresh process (import included: what a user waits for), then the same
path in this process cut into its steps: parse, chords, model (load, cached
after the first input), sampling, notation, writing. Targets (issue 14): the example
≤ 0.8 s wall, POP909 song 001 → MusicXML ≤ 3 s.

    python benchmarks/output_speed.py [--song ../shared/pop909/001/001.mid] [--repeat 3]

The song defaults to POP909's 001, else the first song of ../shared/pop909.
The wall figure is the best of ``--repeat`` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "music21_melgen" / "examples" / "sixteen_bars_in_f.musicxml"
POP909 = Path(os.environ.get("MELGEN_SHARED", REPO.parent / "shared")) / "pop909"


def default_song() -> Path | None:
    """POP909's song 001 if present, else its first song."""
    first = POP909 / "001" / "001.mid"
    if first.is_file():
        return first
    found = sorted(POP909.glob("*/*.mid"))
    return found[0] if found else None


def wall(source: Path, out: Path) -> float:
    """Seconds of ``melgen generate source -o out`` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "music21_melgen", "generate", str(source), "-o", str(out)],
        check=True, capture_output=True,
    )
    return time.perf_counter() - started


def steps(source: Path, out: Path) -> dict[str, float]:
    """Seconds of each step of ``generate_file`` for ``source``, run in this process."""
    from music21 import stream

    from music21_melgen import engine
    from music21_melgen.atomic import atomic_write
    from music21_melgen.files import musicxml_bytes, write_score
    from music21_melgen.midi_musicxml import parts_musicxml
    from music21_melgen.musicxml_merge import merged_musicxml
    from music21_melgen.notation import melody_part
    from music21_melgen.reading import read_source
    from music21_melgen.sampling import generate_melody
    from music21_melgen.score_harmony import timeline_from_score

    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = now - clock
        clock = now

    score, original, kind = read_source(source)
    lap("parse")
    timeline = timeline_from_score(score)
    lap("chords")
    model = engine.load_model("default")
    lap("model")
    controls = engine._controls(model, 0, {})
    melody = generate_melody(model, timeline, controls, ())
    lap("sampling")
    part = melody_part(melody.notes, timeline, key_signature=engine._score_keys(score, timeline))
    lap("notation")
    if kind == "musicxml":
        atomic_write(out, merged_musicxml(original, musicxml_bytes(stream.Score([part]))))
    elif kind == "midi":
        atomic_write(out, merged_musicxml(parts_musicxml(score), musicxml_bytes(stream.Score([part]))))
    else:
        engine._insert_on_top(score, part)
        write_score(score, out, timeline=timeline)
    lap("writing")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--song", type=Path, default=default_song(), help="a POP909 MIDI file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is shown")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    inputs = [("README example", EXAMPLE, 0.8)]
    if args.song is not None:
        inputs.append((f"POP909 {args.song.stem}", args.song, 3.0))
    else:
        print(f"(no POP909 song: {POP909} is absent)")
    with tempfile.TemporaryDirectory() as folder:
        for label, source, target in inputs:
            out = Path(folder) / f"{source.stem}.musicxml"
            best_wall = min(wall(source, out) for _ in range(args.repeat))
            first = steps(source, out)  # caches (model, chord names) cold, as in a fresh `melgen generate`
            verdict = "ok" if best_wall <= target else "over target"
            print(f"{label}: {best_wall:.2f} s wall for melgen generate (target {target:g} s, {verdict})")
            print("  in process, first run: " + ", ".join(f"{name} {sec:.2f}" for name, sec in first.items()) + " s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
