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
  task raises gets ``on_error(item, exc)``;
- with ``limit=SECONDS``, an item that runs longer gets ``on_error(item, TimedOut(limit))``
  and the others go on: it is interrupted by SIGALRM in the main thread of a pool
  worker or of this process (``jobs=1``), and a pool worker stuck in native code
  is killed by the parent (see :mod:`audiometrics.lifecycle`). On a foreign
  executor the item is reported once over time, but a thread cannot be killed: a
  task stuck in native code keeps its thread until it returns. In this process,
  native code that never returns to the interpreter cannot be interrupted.

Pool workers ignore SIGINT, exit quietly on SIGTERM and die with their parent
(:func:`audiometrics.lifecycle.worker_setup`). An exception while waiting (a
stop signal: :class:`~audiometrics.lifecycle.Interrupted`, ``KeyboardInterrupt``)
or closing the generator early stops the workers of a pool started here and
cancels the tasks of an executor not started yet.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from audiometrics import lifecycle

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_CHUNK_ITEMS",
    "TimedOut",
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


class TimedOut(RuntimeError):
    """An item ran longer than its time limit: it was stopped and skipped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g} s")
        self.seconds = seconds

    def __reduce__(self) -> tuple:
        return TimedOut, (self.seconds,)


class _Failed:
    """The outcome of an item that failed around ``func`` (its time limit, its worker's death)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _run_chunk(func: Callable[[T], R], items: list[T], indices: Sequence[int] | None = None, limit: float | None = None) -> list:
    """The task a worker runs: ``func`` over one chunk, each item within ``limit`` seconds.

    ``indices`` are the items' positions in the whole input (a pool's parent reads
    them on the worker's :class:`~audiometrics.lifecycle.Board`). An item stopped by
    its limit gives a :class:`_Failed` holding :class:`TimedOut`.
    """
    board = lifecycle.worker_board()
    results: list = []
    for at, item in enumerate(items):
        clock = lifecycle.ItemClock(limit, indices[at] if indices is not None else at, board)
        value: Any = None
        try:
            with clock:
                value = func(item)
        except lifecycle.Overtime:
            clock.expired = True
        finally:
            clock.__exit__(None, None, None)  # idempotent: disarmed even if the alarm rang on the way out
        results.append(_Failed(TimedOut(clock.limit or 0)) if clock.expired else value)
    return results


def _settle(value: Any, item: Any, on_error: Callable | None) -> Any:
    """``value``, or for a :class:`_Failed` the result ``on_error`` gives (without it, the error is raised)."""
    if isinstance(value, _Failed):
        if on_error is None:
            raise value.error
        return on_error(item, value.error)
    return value


def _run_here(func: Callable, items: list, on_error: Callable | None, limit: float | None) -> Iterator:
    """``func`` over ``items`` in this process, each item within ``limit`` seconds (SIGALRM, main thread only)."""
    for index, item in enumerate(items):
        lifecycle.checkpoint()
        yield _settle(_run_chunk(func, [item], [index], limit)[0], item, on_error)


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


def _process_pool(workers: int, preload: Sequence[str]) -> tuple[cf.ProcessPoolExecutor, lifecycle.Board]:
    """A pool of ``workers`` processes that die with this one, and the board they report their items on."""
    context = _mp_context()
    if context.get_start_method() == "forkserver" and preload:
        context.set_forkserver_preload(list(preload))
    board = lifecycle.Board(context, workers)
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=lifecycle.worker_setup, initargs=(os.getpid(), board)
    )
    return pool, board


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
    limit: float | None = None,
) -> Iterator[R]:
    """Yield ``func(item)`` for each of ``items``, in input order.

    ``jobs``: worker processes to start (``None``: one per CPU; ``1``: run here).
    Ignored when ``executor`` (a ``concurrent.futures.Executor`` or a
    ``distributed.Client``, left running) is given. ``sizes``: the items' sizes
    in bytes, to keep big items out of shared chunks. ``on_error(item, exc)``:
    the result for an item whose task failed around ``func`` (see the module
    docs); without it such errors propagate. ``max_pending``: chunks submitted
    and not yet collected (default ``2 × workers``). ``preload``: modules a
    ``forkserver`` imports once for all workers. ``limit``: seconds one item may
    take (``None`` or 0: no limit); an item over it gets
    ``on_error(item, TimedOut(limit))`` (see :mod:`audiometrics.lifecycle` for how
    it is stopped: SIGALRM in the main thread; a pool worker stuck in native code
    is killed by the parent).

    An exception or a signal while waiting (:class:`~audiometrics.lifecycle.Interrupted`),
    or closing the generator early, stops the work: the workers of a pool started
    here are killed, the tasks of an executor cancelled.
    """
    items = list(items)
    limit = limit if limit is not None and limit > 0 else None
    if executor is None:
        jobs = default_jobs() if jobs is None else jobs
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        if jobs == 1 or len(items) <= 1:
            yield from _run_here(func, items, on_error, limit)
            return
        workers = min(jobs, len(items))
    else:
        workers = executor_workers(executor)
    chunks = plan_chunks(len(items), workers, sizes)
    if executor is not None:
        runner: _Runner = _ForeignRunner(as_executor(executor), func, items, on_error, limit)
    else:
        try:
            runner = _PoolRunner(min(workers, len(chunks)), preload, func, items, on_error, limit)
        except (OSError, ImportError, NotImplementedError) as exc:  # no /dev/shm, no sem_open (some sandboxes)
            warnings.warn(f"cannot start worker processes ({exc}); running in this process", RuntimeWarning, stacklevel=2)
            yield from _run_here(func, items, on_error, limit)
            return
    pending = max(1, max_pending if max_pending is not None else 2 * workers)
    try:
        yield from runner.run(chunks, pending)
        runner.close(stop=False)
    except BaseException:  # an error, a signal (Interrupted, KeyboardInterrupt), or closed early
        runner.close(stop=True)
        raise


#: Seconds between two looks at the pool's board while waiting for a chunk with a time limit.
POLL_S = 0.1
#: Time limits a task of a foreign executor may wait in its queue before it counts as over time.
QUEUED_LIMITS = 10
#: Seconds a stopped worker gets to exit before it is killed (and the pool's manager thread to end).
STOP_S = 1.0


class _Task:
    """A chunk in flight: the positions of its items, those sent with ``future``, and ``future``."""

    __slots__ = ("indices", "sent", "future")

    def __init__(self, indices: list[int], future: Any) -> None:
        self.indices = indices
        self.sent = indices
        self.future = future


class _Runner:
    def __init__(self, func: Callable, items: list, on_error: Callable | None, limit: float | None) -> None:
        self.func = func
        self.items = items
        self.on_error = on_error
        self.limit = limit
        self.failed: dict[int, BaseException] = {}  # items never run again, and why
        self.queue: deque[_Task] = deque()

    def submit(self, indices: list[int]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self, stop: bool) -> None:
        """Release what was started here; ``stop``: abandon the work in flight."""

    def collect(self, queue: deque[_Task]) -> list:
        """The raw results of the head of ``queue``, in the order of its ``sent`` items."""
        return queue[0].future.result()

    def run(self, chunks: list[range], max_pending: int) -> Iterator:
        queue = self.queue
        feed = iter(chunks)

        def fill() -> None:
            while len(queue) < max_pending:
                chunk = next(feed, None)
                if chunk is None:
                    return
                indices = list(chunk)
                queue.append(_Task(indices, self.submit(indices)))

        fill()
        while queue:
            results = self.collect(queue)  # may re-run the chunk: its `sent` is read after
            got = dict(zip(queue[0].sent, results))
            task = queue.popleft()
            fill()  # keep the workers busy while the results are consumed
            for index in task.indices:
                lifecycle.checkpoint()  # a stop signal whose exception was swallowed stops here
                value = got[index] if index in got else _Failed(self.failed[index])
                yield _settle(value, self.items[index], self.on_error)


class _ForeignRunner(_Runner):
    """Chunks on an executor the caller owns (never shut down here; its tasks in flight are cancelled on a stop).

    With a time limit, the chunk at the head of the queue gets ``limit`` seconds per
    item, and one ``limit`` more for waiting its turn; then it is run again one item per
    task, and an item over its time fails with :class:`TimedOut`. A task that a time
    limit cannot interrupt (native code in a thread) keeps its executor's thread
    until it ends: an executor cannot kill it.
    """

    def __init__(self, executor: Any, func: Callable, items: list, on_error: Callable | None, limit: float | None) -> None:
        super().__init__(func, items, on_error, limit)
        self.executor = executor
        # the futures of Dask's executor say "running" only once done
        self.says_start = not type(executor).__module__.startswith("distributed")

    def submit(self, indices: list[int]) -> Any:
        return self.executor.submit(_run_chunk, self.func, [self.items[i] for i in indices], indices, self.limit)

    def close(self, stop: bool) -> None:
        if stop:
            for task in self.queue:
                self.cancel(task.future)

    def cancel(self, future: Any) -> None:
        """Cancel a task not started yet (not Dask's: cancelling its executor's futures makes its
        event loop log an error; the client lets the tasks go when their futures are dropped)."""
        if self.says_start:
            future.cancel()

    def wait(self, future: Any, count: int) -> list:
        """The result of a task of ``count`` items, or :class:`TimedOut` once it overran.

        A task that says when it starts (``future.running()``, as thread and process
        pools do) gets ``limit × count`` from then on, after up to :data:`QUEUED_LIMITS`
        limits in the queue (threads held by stuck tasks must not fail the items
        waiting for them); otherwise ``limit × (count + 1)`` from now.
        """
        if self.limit is None:
            return future.result()
        began = time.monotonic()
        started: float | None = None
        while True:
            try:
                return future.result(timeout=POLL_S)
            except cf.TimeoutError:
                now = time.monotonic()
                if started is None and future.running():
                    started = now
                if started is not None:
                    late = now - started > self.limit * count
                else:
                    late = now - began > self.limit * (QUEUED_LIMITS if self.says_start else count + 1)
                if late:
                    self.cancel(future)
                    raise TimedOut(self.limit) from None

    def collect(self, queue: deque[_Task]) -> list:
        task = queue[0]
        try:
            return self.wait(task.future, len(task.sent))
        except cf.CancelledError:
            raise
        except Exception:
            if self.on_error is None and self.limit is None:
                raise
        # the chunk's task failed or overran: one task per item, so that only the culprit fails
        results: list = []
        for index in task.sent:
            try:
                results.extend(self.wait(self.submit([index]), 1))
            except cf.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported as that item's failure
                results.append(_Failed(exc))
        return results


class _PoolRunner(_Runner):
    """Chunks on a process pool started here; a pool broken by a dying worker is restarted.

    With a time limit, the parent reads the pool's board while it waits and kills
    a worker whose item overran the limit by :func:`~audiometrics.lifecycle.grace`
    seconds (one that did not stop itself: native code). That breaks the pool: the
    overdue item fails with :class:`TimedOut` and the other items in flight run again
    in a fresh pool.
    """

    def __init__(
        self, workers: int, preload: Sequence[str], func: Callable, items: list, on_error: Callable | None, limit: float | None
    ) -> None:
        super().__init__(func, items, on_error, limit)
        self.workers = workers
        self.preload = preload
        self.overdue: set[int] = set()  # items whose worker was killed here for its time
        self.pool, self.board = _process_pool(workers, preload)

    def submit(self, indices: list[int]) -> Any:
        try:
            with lifecycle.stop_signals_blocked():  # workers forked now start with Ctrl-C held back
                return self.pool.submit(_run_chunk, self.func, [self.items[i] for i in indices], indices, self.limit)
        except cf.process.BrokenProcessPool as exc:
            # a worker died since the last chunk was collected: this chunk fails with the
            # pool, and collect() re-runs it like the others that were in flight
            return _Done(exc)

    def close(self, stop: bool) -> None:
        if stop:
            _stop_pool(self.pool, self.board)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _restart(self) -> None:
        _stop_pool(self.pool, self.board)
        self.pool, self.board = _process_pool(self.workers, self.preload)

    def wait(self, future: Any) -> list:
        """``future.result()``; with a time limit, killing the workers that overrun it meanwhile."""
        if self.limit is None:
            return future.result()
        hard = self.limit + lifecycle.grace(self.limit)
        while True:
            try:
                return future.result(timeout=POLL_S)
            except cf.TimeoutError:
                for pid, index, seconds in self.board.running():
                    if seconds > hard and index not in self.overdue:
                        self.overdue.add(index)
                        _kill(pid)

    def collect(self, queue: deque[_Task]) -> list:
        try:
            return self.wait(queue[0].future)
        except cf.process.BrokenProcessPool:
            if self.on_error is None and not self.overdue:
                raise
        self._restart()
        if self.overdue:
            # killed here for its time: the culprits are known, the others in flight run again together
            self.failed.update((index, TimedOut(self.limit or 0)) for index in self.overdue)
            self.overdue.clear()
            for task in queue:
                if not _succeeded(task.future):
                    task.sent = [i for i in task.indices if i not in self.failed]
                    task.future = self.submit(task.sent)
            return self.collect(queue)
        # A worker died on its own, and every chunk in flight failed with the pool. Re-run
        # them one item at a time in a fresh pool, in order, so that the item that kills
        # its worker is the only one to fail; then go on as before.
        for task in queue:
            if not _succeeded(task.future):
                task.sent, task.future = self._isolate(task)
        return self.collect(queue)

    def _isolate(self, task: _Task) -> tuple[list[int], _Done]:
        sent: list[int] = []
        results: list = []
        for index in task.indices:
            if index in self.failed:
                continue
            try:
                results.extend(self.wait(self.submit([index])))
                sent.append(index)
            except cf.process.BrokenProcessPool as exc:
                if index in self.overdue:
                    self.failed[index] = TimedOut(self.limit or 0)
                    self.overdue.discard(index)
                else:
                    self.failed[index] = WorkerDied(f"the worker process died while running it ({exc})")
                self._restart()
        return sent, _Done(results)


def _succeeded(future: Any) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_pool(pool: Any, board: lifecycle.Board) -> None:
    """Stop the workers of ``pool`` (see :func:`~audiometrics.lifecycle.stop_processes`) and the pool,
    waiting for its manager thread, so that nothing is left for the interpreter's exit to wait on."""
    processes = dict(getattr(pool, "_processes", None) or {})
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    lifecycle.stop_processes(processes, board.pids(), patience=STOP_S)
    pool.shutdown(wait=False, cancel_futures=True)
    if isinstance(manager, threading.Thread) and manager is not threading.current_thread():
        manager.join(STOP_S)


class _Done:
    """A future that is already resolved: its value, or the exception it raises."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self, timeout: float | None = None) -> Any:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value

    def done(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return False

    def cancel(self) -> bool:
        return False

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self.value if isinstance(self.value, BaseException) else None
