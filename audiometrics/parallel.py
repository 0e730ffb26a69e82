"""Map a function over many items, in order: in this process, in a process pool, or on any executor.

This is the engine behind ``audiometrics extract --jobs N`` and ``--scheduler``;
it knows nothing about notebooks. :func:`map_ordered` yields ``func(item)`` for
every item in input order, whatever runs it:

- ``jobs=1`` and no executor: a plain loop in this process (no pool, no pickling);
- ``jobs=N``: a :class:`~concurrent.futures.ProcessPoolExecutor` of ``N`` workers
  that it starts and shuts down itself;
- ``executor=``: any :class:`concurrent.futures.Executor` (a thread pool, a
  process pool, ``distributed.Client.get_executor()``...) or a Dask
  ``distributed.Client`` itself, which the caller owns.

Items travel in chunks (at most :data:`MAX_CHUNK_ITEMS` items and about
:data:`MAX_CHUNK_BYTES` of input each) so that per-task overhead stays small, and
at most ``2 × workers`` chunks are submitted and not yet collected at any time:
the parent holds the results of those chunks only, never the whole input.

``func`` must be a module-level function (it is pickled by reference) that does
not raise for a bad item: it should return its failure as a value. What goes
wrong *around* it is handled here, so that one item cannot take the job down:

- a worker process that dies (killed for memory, a crash in a C extension)
  breaks a process pool; the pool is restarted and the chunks that were in
  flight are re-run one item at a time in a fresh pool, so that only the item
  that kills its worker fails (``on_error(item, exc)`` gives its result);
- a task of a foreign executor that raises (Dask's ``KilledWorker`` after its
  retries, say) has its chunk re-run one item per task, and an item whose own
  task raises gets ``on_error(item, exc)``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_CHUNK_ITEMS",
    "WorkerDied",
    "as_executor",
    "default_jobs",
    "executor_workers",
    "map_ordered",
    "plan_chunks",
]

T = TypeVar("T")
R = TypeVar("R")

#: Most items in one task.
MAX_CHUNK_ITEMS = 16
#: A chunk is closed once its items add up to this many bytes (a large item travels alone).
MAX_CHUNK_BYTES = 32 * 1024 * 1024
#: Chunks per worker aimed at, so that the work is spread evenly near the end.
CHUNKS_PER_WORKER = 4

#: Start method of the process pools started here; None chooses (see :func:`_mp_context`).
START_METHOD: str | None = None


class WorkerDied(RuntimeError):
    """The worker process running an item died (out of memory, a crash in native code)."""


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _is_client(obj: Any) -> bool:
    """A ``distributed.Client`` (duck-typed: no import of dask needed)."""
    return callable(getattr(obj, "get_executor", None)) and callable(getattr(obj, "nthreads", None))


def as_executor(executor: Any) -> Any:
    """``executor`` as an object with ``submit(fn, *args) -> future``.

    A Dask ``distributed.Client`` becomes ``client.get_executor(pure=False)``
    (``pure=False``: a file read twice is read twice, never served from Dask's
    cache of an earlier run); any other object with ``submit`` is used as it is.
    """
    if _is_client(executor):
        return executor.get_executor(pure=False)
    if callable(getattr(executor, "submit", None)):
        return executor
    raise TypeError(
        f"executor must be a concurrent.futures.Executor or a distributed.Client, not {type(executor).__name__}"
    )


def executor_workers(executor: Any) -> int:
    """How many tasks ``executor`` runs at once (Dask: the cluster's threads), as far as it can be told."""
    client = executor if _is_client(executor) else getattr(executor, "_client", None)
    if client is not None and callable(getattr(client, "nthreads", None)):
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a cluster with no workers yet, a closed client
            return default_jobs()
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    return default_jobs()


def plan_chunks(count: int, workers: int, sizes: Sequence[int] | None = None) -> list[range]:
    """Split ``range(count)`` into consecutive chunks for ``workers`` workers.

    About :data:`CHUNKS_PER_WORKER` chunks per worker, at most
    :data:`MAX_CHUNK_ITEMS` items each, and a chunk ends once its ``sizes`` reach
    :data:`MAX_CHUNK_BYTES`.
    """
    if count <= 0:
        return []
    per_chunk = max(1, min(MAX_CHUNK_ITEMS, -(-count // (max(1, workers) * CHUNKS_PER_WORKER))))
    chunks: list[range] = []
    start = 0
    total = 0
    for index in range(count):
        total += sizes[index] if sizes is not None else 0
        if index + 1 - start >= per_chunk or total >= MAX_CHUNK_BYTES:
            chunks.append(range(start, index + 1))
            start, total = index + 1, 0
    if start < count:
        chunks.append(range(start, count))
    return chunks


def _run_chunk(func: Callable[[T], R], items: list[T]) -> list[R]:
    """The task a worker runs: ``func`` over one chunk."""
    return [func(item) for item in items]


def _mp_context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux when this process runs no other thread (fast: nothing to import again);
    else ``forkserver`` (forking a threaded process can deadlock), else the platform's default."""
    if START_METHOD is not None:
        return multiprocessing.get_context(START_METHOD)
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context()


def _process_pool(workers: int, preload: Sequence[str]) -> cf.ProcessPoolExecutor:
    context = _mp_context()
    if context.get_start_method() == "forkserver" and preload:
        context.set_forkserver_preload(list(preload))
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)


def map_ordered(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int | None = 1,
    executor: Any = None,
    sizes: Sequence[int] | None = None,
    on_error: Callable[[T, BaseException], R] | None = None,
    max_pending: int | None = None,
    preload: Sequence[str] = (),
) -> Iterator[R]:
    """Yield ``func(item)`` for each of ``items``, in input order.

    ``jobs``: worker processes to start (``None``: one per CPU; ``1``: run here).
    Ignored when ``executor`` (a ``concurrent.futures.Executor`` or a
    ``distributed.Client``, left running) is given. ``sizes``: the items' sizes
    in bytes, to keep big items out of shared chunks. ``on_error(item, exc)``:
    the result for an item whose task failed around ``func`` (see the module
    docs); without it such errors propagate. ``max_pending``: chunks submitted
    and not yet collected (default ``2 × workers``). ``preload``: modules a
    ``forkserver`` imports once for all workers.
    """
    items = list(items)
    if executor is None:
        jobs = default_jobs() if jobs is None else jobs
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        if jobs == 1 or len(items) <= 1:
            for item in items:
                yield func(item)
            return
        workers = min(jobs, len(items))
    else:
        workers = executor_workers(executor)
    chunks = [[items[i] for i in chunk] for chunk in plan_chunks(len(items), workers, sizes)]
    if executor is not None:
        runner: _Runner = _ForeignRunner(as_executor(executor), func, on_error)
    else:
        try:
            runner = _PoolRunner(min(workers, len(chunks)), preload, func, on_error)
        except (OSError, ImportError, NotImplementedError) as exc:  # no /dev/shm, no sem_open (some sandboxes)
            warnings.warn(f"cannot start worker processes ({exc}); running in this process", RuntimeWarning, stacklevel=2)
            for item in items:
                yield func(item)
            return
    pending = max(1, max_pending if max_pending is not None else 2 * workers)
    try:
        yield from runner.run(chunks, pending)
        runner.close(wait=True)
    except GeneratorExit:
        runner.close(wait=True)
        raise
    except BaseException:
        runner.close(wait=False)
        raise


class _Runner:
    def __init__(self, func: Callable, on_error: Callable | None) -> None:
        self.func = func
        self.on_error = on_error

    def submit(self, chunk: list) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self, wait: bool) -> None:
        pass

    def collect(self, queue: deque, chunk: list, future: Any) -> list:
        """The results of the chunk at the head of ``queue``."""
        return future.result()

    def run(self, chunks: list[list], max_pending: int) -> Iterator:
        queue: deque[tuple[list, Any]] = deque()
        feed = iter(chunks)

        def fill() -> None:
            while len(queue) < max_pending:
                chunk = next(feed, None)
                if chunk is None:
                    return
                queue.append((chunk, self.submit(chunk)))

        fill()
        while queue:
            chunk, future = queue[0]
            results = self.collect(queue, chunk, future)
            queue.popleft()
            fill()  # keep the workers busy while the results are consumed
            yield from results


class _ForeignRunner(_Runner):
    """Chunks on an executor the caller owns (never shut down here)."""

    def __init__(self, executor: Any, func: Callable, on_error: Callable | None) -> None:
        super().__init__(func, on_error)
        self.executor = executor

    def submit(self, chunk: list) -> Any:
        return self.executor.submit(_run_chunk, self.func, chunk)

    def collect(self, queue: deque, chunk: list, future: Any) -> list:
        try:
            return future.result()
        except cf.CancelledError:
            raise
        except Exception:
            if self.on_error is None:
                raise
        # the chunk's task failed: one task per item, so that only the culprit fails
        results = []
        for item in chunk:
            try:
                results.extend(self.executor.submit(_run_chunk, self.func, [item]).result())
            except cf.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported as that item's failure
                results.append(self.on_error(item, exc))
        return results


class _PoolRunner(_Runner):
    """Chunks on a process pool started here; a pool broken by a dying worker is restarted."""

    def __init__(self, workers: int, preload: Sequence[str], func: Callable, on_error: Callable | None) -> None:
        super().__init__(func, on_error)
        self.workers = workers
        self.preload = preload
        self.pool = _process_pool(workers, preload)

    def submit(self, chunk: list) -> Any:
        try:
            return self.pool.submit(_run_chunk, self.func, chunk)
        except cf.process.BrokenProcessPool as exc:
            # a worker died since the last chunk was collected: this chunk fails with the
            # pool, and collect() re-runs it like the others that were in flight
            return _Done(exc)

    def close(self, wait: bool) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=True)

    def _restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = _process_pool(self.workers, self.preload)

    def collect(self, queue: deque, chunk: list, future: Any) -> list:
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            if self.on_error is None:
                raise
        # Every chunk in flight failed with the pool. Re-run them one item at a
        # time in a fresh pool, in order, so that the item that kills its worker
        # is the only one to fail; then go on as before.
        self._restart()
        results: list = []
        for index, (waiting, _) in enumerate(list(queue)):
            isolated: list = []
            for item in waiting:
                try:
                    isolated.extend(self.pool.submit(_run_chunk, self.func, [item]).result())
                except cf.process.BrokenProcessPool as exc:
                    died = WorkerDied(f"the worker process died while running it ({exc})")
                    isolated.append(self.on_error(item, died))
                    self._restart()
            if index == 0:
                results = isolated
            else:
                queue[index] = (waiting, _Done(isolated))
        return results


class _Done:
    """A future that is already resolved: its value, or the exception it raises."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value
