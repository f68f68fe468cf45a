"""Where the work runs: this process, the local pool, or a Dask cluster.

``scheduler="tcp://HOST:PORT"`` (or a ``distributed.Client``) sends the work
to a Dask cluster instead of the local pool; its workers must see the input
and output paths (a shared file system) and have this package installed. A
task whose Dask workers keep dying is recorded as failed, like a song that
kills a pool worker.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from music21_melgen.batch.workers import (
    _dask_task,
    _Finish,
    _one_thread_per_child,
    _Outcome,
    _prepare,
    _run_on_pool,
    _run_task,
    _Task,
)
from music21_melgen.errors import MelgenError

_DASK_CONNECT_TIMEOUT = "20s"  # how long to try reaching a Dask scheduler


def _dispatch(tasks: list[_Task], jobs: int, scheduler: Any, model: str, finish: _Finish) -> None:
    """Run the tasks where the caller asked: Dask, this process, or a pool."""
    if not tasks:
        return
    if scheduler is not None:
        _run_on_dask(scheduler, tasks, finish)
    elif jobs == 1:
        _prepare(model, one_thread=False)
        for task in tasks:
            finish(task, _run_task(task))
    else:
        with _one_thread_per_child():
            _run_on_pool(jobs, model, tasks, finish)


def _run_on_dask(scheduler: Any, tasks: list[_Task], finish: _Finish) -> None:
    """Run tasks on a Dask cluster; a task whose workers keep dying is failed."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise MelgenError(
            "a Dask scheduler needs the optional package 'distributed': "
            "pip install 'music21-melgen[dask]'"
        ) from None
    if isinstance(scheduler, Client):
        client, own = scheduler, False
    else:
        try:
            client, own = Client(str(scheduler), set_as_default=False, timeout=_DASK_CONNECT_TIMEOUT), True
        except (OSError, TimeoutError) as error:
            raise MelgenError(f"cannot reach the Dask scheduler {scheduler}: {error}") from None
    try:
        threads = max(sum(client.nthreads().values()), 1)
        window = 4 * threads
        queue = deque(tasks)
        in_flight: dict[Any, _Task] = {}

        def submit() -> Any:
            task = queue.popleft()
            future = client.submit(_dask_task, task, pure=False)
            in_flight[future] = task
            return future

        running = as_completed([submit() for _ in range(min(window, len(queue)))], loop=client.loop)
        for future in running:
            task = in_flight.pop(future)
            try:
                outcome = future.result()
            except Exception as error:  # KilledWorker and the like: record, go on
                outcome = _Outcome(f"Dask task failed: {type(error).__name__}: {error}", 0.0, None)
            finish(task, outcome)
            future.release()
            if queue:
                running.add(submit())
    finally:
        if own:
            client.close()
