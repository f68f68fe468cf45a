"""Benchmark: the whole Rock Corpus through ``melgen batch``, with 1 and with 2 workers.

One analysis per song by default (the 200 ``*_dt.har`` files; ``--analyses
both`` takes all 400), each parsed, given a melody by the bundled model and
written as MusicXML — exactly what ``melgen batch har/ -o OUT --jobs N`` does.
Every worker count writes into a fresh folder (nothing is skipped). Prints,
per worker count: wall time (pool start-up and model loading included), songs
per second, the peak resident memory of each worker process, failures; then
the 1-worker / N-worker ratio and whether the outputs are byte-identical.

Run from the repository root::

    python -m benchmarks.batch_corpus [--corpus ../shared/rock_corpus] [--analyses dt|tdc|both]
                                      [--jobs 1,2] [--model default] [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from music21_melgen.batch import BatchReport, run_batch

__all__ = ["corpus_files", "run", "main"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "rock_corpus"


def corpus_files(corpus: Path, analyses: str, limit: int | None = None) -> list[Path]:
    """The ``.har`` files of the corpus: one analyst's (``dt``, ``tdc``) or ``both``."""
    pattern = "*.har" if analyses == "both" else f"*_{analyses}.har"
    files = sorted((corpus / "har").glob(pattern))
    if not files:
        raise SystemExit(f"no {pattern} files in {corpus / 'har'} (give --corpus)")
    return files[:limit] if limit else files


def _digests(report: BatchReport) -> dict[str, str]:
    return {
        result.output.name: hashlib.sha256(result.output.read_bytes()).hexdigest()
        for result in report.results
        if result.status == "ok"
    }


def run(files: list[Path], jobs: int, out_dir: Path, model: str) -> BatchReport:
    """One batch over ``files`` with ``jobs`` workers; prints its figures and returns the report."""
    report = run_batch(files, out_dir, jobs=jobs, model=model, seed=0, progress=sys.stderr.isatty())
    peaks: dict[str, float] = defaultdict(float)
    for result in report.results:
        if result.worker and result.peak_rss_mb:
            peaks[result.worker] = max(peaks[result.worker], result.peak_rss_mb)
    seconds = [result.seconds for result in report.results if result.status == "ok"]
    cpu = [result.cpu_seconds or 0.0 for result in report.results if result.status == "ok"]
    print(
        f"{jobs} worker(s): {report.seconds:6.1f} s wall, {len(files) / report.seconds:5.2f} songs/s, "
        f"{report.ok} written, {report.failed} failed; per song mean {statistics.mean(seconds):.2f} s wall, "
        f"{statistics.mean(cpu):.2f} s CPU, max {max(seconds):.2f} s wall"
    )
    print(f"  CPU time of all songs: {sum(cpu):.1f} s (over {jobs} worker(s): {sum(cpu) / jobs:.1f} s each)")
    print(
        "  peak RSS per worker: "
        + ", ".join(f"{peak:.0f} MB" for _, peak in sorted(peaks.items()))
        + (" (jobs=1 works in this process)" if jobs == 1 else "")
    )
    for result in report.results:
        if result.status == "failed":
            print(f"  failed: {result.input.name}: {result.error}")
    return report


def _load() -> str:
    """The machine's load average, to judge the figures (others' work shares the cores)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the Rock Corpus folder")
    parser.add_argument("--analyses", choices=("dt", "tdc", "both"), default="dt",
                        help="one analysis per song (dt or tdc, 200 files) or both (400)")
    parser.add_argument("--jobs", default="1,2", help="worker counts to compare, comma-separated (default 1,2)")
    parser.add_argument("--model", default="default", help="bundled model name or checkpoint folder")
    parser.add_argument("--limit", type=int, help="only the first N files (a quick try)")
    args = parser.parse_args(argv)

    files = corpus_files(args.corpus, args.analyses, args.limit)
    worker_counts = [int(part) for part in args.jobs.split(",")]
    print(f"{len(files)} songs ({args.analyses} analyses) from {args.corpus / 'har'}, model {args.model}, MusicXML")
    print(f"before: {_load()}")
    walls: dict[int, float] = {}
    digests: dict[int, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="melgen-batch-bench-") as scratch:
        for jobs in worker_counts:
            report = run(files, jobs, Path(scratch) / f"jobs{jobs}", args.model)
            walls[jobs] = report.seconds
            digests[jobs] = _digests(report)
    print(f"after: {_load()}")
    first = worker_counts[0]
    for jobs in worker_counts[1:]:
        print(f"ratio {first} worker(s) / {jobs} workers: {walls[first] / walls[jobs]:.2f}x")
        same = digests[jobs] == digests[first]
        print(f"outputs with {jobs} workers byte-identical to {first}: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
