"""Work in a worker: get a process ready, generate one song, and the local process pool.

``jobs=1`` works in the calling process. ``jobs=N`` runs a pool of ``N``
processes (the ``spawn`` start method: torch and ``fork`` do not mix). Each
worker imports the package (which registers the converters: the registry is
per process), runs torch and numpy's BLAS on one thread (``N``
single-threaded workers share ``N`` cores without contention) and loads the
model once. A worker that dies (killed, out of memory) breaks the pool: the
pool is restarted, the songs it was working on are retried one at a time, and
a song that kills its worker even alone is recorded as failed.

A song is written by :func:`music21_melgen.engine.generate_file` (through
:func:`music21_melgen.files.write_score`, whose bytes are already
deterministic) into a private folder beside its output, then renamed into
place; nothing is rewritten afterwards.

The environment variable ``MELGEN_BATCH_KILL_TOKEN`` is a test hook: when it
names a file, the first worker task that manages to delete that file kills its
own process with ``SIGKILL``, as the kernel's OOM killer would.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from music21_melgen.batch.manifest import _scratch_folder
from music21_melgen.errors import MelgenError

_KILL_TOKEN_VARIABLE = "MELGEN_BATCH_KILL_TOKEN"
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): a signal for this process when its parent dies
_WATCHDOG_SECONDS = 1.0  # how often a pool worker checks that its coordinator is alive
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class _Task:
    """What a worker needs for one input (plain values: it crosses processes)."""

    source: str
    output: str
    seed: int
    model: str
    model_hash: str  # the weights the batch was planned with; a worker checks it has them
    controls: dict[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class _Outcome:
    """What a worker reports back for one input."""

    error: str | None
    seconds: float
    peak_rss_mb: float | None
    worker: str | None = None  # 'HOST:PID'
    cpu_seconds: float | None = None  # CPU time of the worker process on this input
    echoes: str = ""  # passages that echoed earlier ones, "5-8<1-4;13-16<9-12" (measure numbers)


_worker_error: str | None = None  # why this process could not get ready to generate
_in_worker = False  # True in pool and Dask workers (the kill hook works only there)


def _init_worker(model: str) -> None:
    """Get a pool or Dask worker ready: package imported, one torch thread, model loaded."""
    global _in_worker
    _in_worker = True
    _prepare(model, one_thread=True)


def _init_pool_worker(model: str, coordinator: int) -> None:
    """Get a local pool worker ready, bound to die with its ``coordinator`` process."""
    _exit_with_parent(coordinator)
    _init_worker(model)


def _exit_with_parent(coordinator: int) -> None:
    """End this process when ``coordinator`` (its parent) dies, however it dies.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl
    PR_SET_PDEATHSIG``); a daemon thread polling ``os.getppid()`` covers the
    other systems and a parent that died before this ran. A killed batch
    leaves no worker behind (nor the resource tracker, which ends when the
    last process holding it does).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    if os.getppid() != coordinator:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == coordinator:
            time.sleep(_WATCHDOG_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="melgen-parent-watchdog", daemon=True).start()


def _prepare(model: str, *, one_thread: bool) -> None:
    """Register the converters and load the model (cached per process); note any failure.

    A worker that cannot load the model reports it as each task's error
    rather than dying, so the batch records why instead of retrying forever.
    """
    global _worker_error
    try:
        import music21_melgen
        from music21_melgen import engine

        music21_melgen.register()
        if one_thread:
            import torch

            torch.set_num_threads(1)
        engine.load_model(model)
        _worker_error = None
    except MelgenError as error:
        _worker_error = str(error)
    except Exception as error:
        _worker_error = f"{type(error).__name__}: {error}"


def _run_task(task: _Task) -> _Outcome:
    """Generate one output, written to a temporary file and renamed into place."""
    started, cpu_started = time.perf_counter(), time.process_time()
    error, echoes = _worker_error, ""
    if error is None:
        _maybe_die_for_test()
        error, echoes = _generate(task)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return _Outcome(
        error,
        time.perf_counter() - started,
        round(peak, 1),
        f"{socket.gethostname()}:{os.getpid()}",
        time.process_time() - cpu_started,
        echoes,
    )


MAX_ECHOES_TEXT = 1000  # characters of the echoes a manifest line keeps (lines stay under PIPE_BUF)


def _echo_text(echoes: tuple[tuple[int, int, int, int], ...]) -> str:
    """``((5, 8, 1, 4),)`` as ``"5-8<1-4"``, cut to :data:`MAX_ECHOES_TEXT` characters."""
    text = ";".join(f"{a}-{b}<{c}-{d}" for a, b, c, d in echoes)
    return text if len(text) <= MAX_ECHOES_TEXT else text[: MAX_ECHOES_TEXT - 3].rsplit(";", 1)[0] + ";…"


def _generate(task: _Task) -> tuple[str | None, str]:
    """Write one output through a private temporary folder beside it; the error (if any) and the echoes."""
    from music21_melgen import engine

    output = Path(task.output)
    scratch = _scratch_folder(output.parent)
    try:
        model = engine.load_model(task.model)  # cached; read again if its files were replaced
        found = getattr(model, "content_hash", "") or task.model_hash
        if found != task.model_hash:
            return (
                f"the model's weights changed during the batch (sha256 {found[:12]}..., planned with "
                f"{task.model_hash[:12]}...); run the batch again to use the new model throughout"
            ), ""
        scratch.mkdir(parents=True)
        temporary = scratch / output.name  # same name: an .mxl names its inner file after it
        result = engine.generate_file(task.source, temporary, seed=task.seed, model=model, **task.controls)
        os.replace(temporary, output)
    except MelgenError as error:
        return str(error), ""
    except OSError as error:
        return f"{output}: cannot write: {error.strerror or error}", ""
    except Exception as error:  # a library bug on one song must not end the batch
        return f"{type(error).__name__}: {error}", ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return None, _echo_text(result.echoes)


def _maybe_die_for_test() -> None:
    """The test hook of the module docstring: die once, as if OOM-killed."""
    token = os.environ.get(_KILL_TOKEN_VARIABLE)
    if not token or not _in_worker:
        return
    try:
        os.unlink(token)
    except OSError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _dask_task(task: _Task) -> _Outcome:
    """A Dask task: get this worker process ready if needed, then run."""
    _init_worker(task.model)
    return _run_task(task)


_Finish = Callable[[_Task, _Outcome], None]


def _run_on_pool(jobs: int, model: str, tasks: list[_Task], finish: _Finish) -> None:
    """Run tasks on a pool of ``jobs`` processes, restarting it if a worker dies.

    At most ``jobs`` tasks are in flight, so when the pool breaks, the tasks in
    flight are the ones that may have killed it: each is retried alone, and
    one that breaks the pool alone is recorded as failed. A pool that breaks
    again and again with nothing done in between (workers that cannot even
    start) fails what is left.
    """
    pending = deque(tasks)
    suspects: deque[_Task] = deque()
    in_flight: dict[Future[_Outcome], _Task] = {}
    alone = False  # the one task in flight is a suspect, run alone
    fruitless_restarts = 0
    pool = _new_pool(jobs, model)
    try:
        while pending or suspects or in_flight:
            broken = False
            try:
                if suspects and not in_flight:
                    future = pool.submit(_run_task, suspects[0])  # raises if broken: keep the task
                    in_flight[future] = suspects.popleft()
                    alone = True
                while pending and not alone and not suspects and len(in_flight) < jobs:
                    future = pool.submit(_run_task, pending[0])
                    in_flight[future] = pending.popleft()
            except BrokenProcessPool:
                broken = True
            if not broken:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken = True
                    else:
                        finish(in_flight.pop(future), _outcome_of(future))
                        fruitless_restarts = 0
                if not in_flight:
                    alone = False
            if not broken:
                continue
            wait(in_flight)
            for future, task in in_flight.items():
                if not isinstance(future.exception(), BrokenProcessPool):
                    finish(task, _outcome_of(future))
                elif alone:
                    finish(task, _Outcome("the worker process died (killed or out of memory)", 0.0, None))
                else:
                    suspects.append(task)
            in_flight.clear()
            alone = False
            pool.shutdown(wait=True, cancel_futures=True)
            fruitless_restarts += 1
            if fruitless_restarts > 3:
                for task in [*suspects, *pending]:
                    finish(task, _Outcome("the worker processes keep dying before any work is done", 0.0, None))
                suspects.clear()
                pending.clear()
                break
            pool = _new_pool(jobs, model)
    except BaseException:  # Ctrl-C, SIGTERM (see commands/batch.py): stop the workers now
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's workers at once (an interrupted batch does not wait for their songs).

    A song cut short leaves only its private folder (removed by the next run);
    outputs are renamed into place whole, and the manifest has only whole lines.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor keeps no public list
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)


def _outcome_of(future: Future[_Outcome]) -> _Outcome:
    """The outcome a finished future holds, or a failure saying why it holds none."""
    error = future.exception()
    if error is None:
        return future.result()
    return _Outcome(f"the task could not run: {type(error).__name__}: {error}", 0.0, None)


@contextmanager
def _one_thread_per_child() -> Iterator[None]:
    """While open, child processes start with one BLAS/OpenMP thread (unless the user chose).

    numpy's BLAS reads these variables once, when a process loads it, and a
    pool worker has loaded numpy before its initializer runs; so they are set
    in this process's environment, which spawned workers inherit, and put back
    afterwards. ``N`` workers with several BLAS threads each would fight over
    ``N`` cores.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _new_pool(jobs: int, model: str) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_pool_worker,
        initargs=(model, os.getpid()),
    )
