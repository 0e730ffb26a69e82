"""How processes start, stop and give up: signals, workers that die with their parent, time limits per item.

Three concerns that :mod:`audiometrics.parallel` and the command line share:

- **Stopping.** :func:`interruptible` turns SIGINT and SIGTERM into an
  :class:`Interrupted` exception in the main thread; whoever catches it stops the
  work (the pools here kill their workers), says what was done and exits with
  ``128 + signal`` (130, 143). Worker processes ignore SIGINT (the parent
  decides) and die quietly on SIGTERM (see :func:`worker_setup`).
- **No orphans.** A worker asks the kernel to kill it when its parent dies
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux), and a watchdog thread exits
  it when its parent or the process that owns the pool is gone (elsewhere, or when
  the parent dies while the worker runs Python code).
- **Time limits.** :class:`ItemClock` arms a per-item wall-clock limit in the
  thread running the item: SIGALRM in the main thread (a process-pool worker, or
  ``jobs=1`` in this process), which interrupts Python code. Native code that
  never returns to the interpreter cannot be interrupted from inside: a pool's
  parent reads each worker's :class:`Board` slot (which item, since when) and
  kills a worker that overruns the limit by :func:`grace` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "Board",
    "Interrupted",
    "ItemClock",
    "Overtime",
    "checkpoint",
    "die_with_parent",
    "grace",
    "interruptible",
    "stop_processes",
    "stop_signals_blocked",
    "worker_board",
    "worker_setup",
]

#: The signals that stop a run: SIGINT (Ctrl-C) and SIGTERM.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds between two checks of the watchdog that a worker's parent is alive.
WATCHDOG_S = 0.5
#: ``prctl`` option: signal sent to this process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


class Interrupted(BaseException):
    """The run was stopped by a signal (SIGINT or SIGTERM); ``exit_status`` is ``128 + signum``.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that ``except Exception``
    blocks let it through.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class Overtime(BaseException):
    """Raised in the thread running an item whose time limit has passed (not an ``Exception``,
    so that the item's own ``except Exception`` handlers do not swallow it)."""


# --------------------------------------------------------------------------- the parent


#: The stop signal received under :func:`interruptible` and not handled yet.
_PENDING: int | None = None


#: Loggers silenced once a run is stopped: tearing down a Dask connection mid-run makes them
#: report every cancelled task and lost result, which says nothing to the person who stopped it.
QUIET_AFTER_STOP = ("distributed", "tornado", "asyncio")


def _raise_interrupted(signum: int, frame: Any) -> None:
    global _PENDING
    _PENDING = signum
    _quiet(QUIET_AFTER_STOP)
    raise Interrupted(signum)


def _quiet(prefixes: tuple[str, ...]) -> None:
    """Silence the loggers named ``prefixes`` and those below them (some set their own levels)."""
    names = [name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] in prefixes]
    for name in {*prefixes, *names}:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def checkpoint() -> None:
    """Raise :class:`Interrupted` again for a stop signal whose exception was swallowed.

    A signal's exception is raised wherever the main thread happens to be, which
    may be a ``__del__`` method or a callback whose exceptions are only printed
    (Dask's futures have one); the loops of :mod:`audiometrics.parallel` call this
    between items, so that the stop still happens.
    """
    if _PENDING is not None:
        raise Interrupted(_PENDING)


def _quiet_unraisable(previous: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An unraisable hook that drops our own stop (raised inside a ``__del__``, say), others to ``previous``.

    Python prints such exceptions with a traceback ("Exception ignored in …"); the stop
    is not lost, since :func:`checkpoint` raises it again between items.
    """

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Interrupted):
            return
        previous(unraisable)

    return hook


@contextlib.contextmanager
def interruptible(on_interrupt: Callable[[Interrupted], None]) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted`; it is handled by
    calling ``on_interrupt(exc)`` (say what was done) and exiting with ``exc.exit_status``.

    Further stop signals are ignored while ``on_interrupt`` runs, so a second Ctrl-C
    cannot turn a clean stop into a traceback. The previous handlers are restored
    at the end. Outside the main thread this does nothing but run the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _PENDING
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(previous_hook)
    _PENDING = None
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, _raise_interrupted)
        try:
            yield
            checkpoint()
        except Interrupted as exc:
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            _PENDING = None
            on_interrupt(exc)
            raise SystemExit(exc.exit_status) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread (they are delivered at the end of the block).

    Processes forked meanwhile start with them blocked, so a worker cannot get a
    Ctrl-C before :func:`worker_setup` has set its own handlers.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --------------------------------------------------------------------------- the workers


def worker_setup(owner: int, board: Board | None = None) -> None:
    """Initializer of a pool worker process started by process ``owner``.

    Ignores SIGINT (the parent decides what a Ctrl-C does), exits quietly on SIGTERM
    (see :func:`_stop_worker`), dies with its parent (see :func:`die_with_parent`)
    and claims a slot of ``board`` for its time limits.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    _guard_results()
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    die_with_parent(owner)
    if board is not None:
        board.claim()
    global _BOARD
    _BOARD = board


#: True while this worker writes a result to its pool (set by the wrapper of :func:`_guard_results`).
_SENDING = False
#: A SIGTERM came while a result was being written: exit once it is written.
_STOP_AFTER_SEND = False


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: exit at once, quietly, unless a result is being written.

    A worker that dies half-way through writing a result leaves a partial message
    in the pool's result pipe, and the pool's manager thread (in the parent) then
    waits for the rest forever, so the parent could not exit. Such a worker
    exits right after the write instead.
    """
    global _STOP_AFTER_SEND
    if _SENDING:
        _STOP_AFTER_SEND = True
    else:
        os._exit(128 + signum)


def _guard_results() -> None:
    """Mark the time a ``concurrent.futures`` worker spends writing a result (see :func:`_stop_worker`)."""
    import concurrent.futures.process as cf_process

    original = getattr(cf_process, "_sendback_result", None)
    if original is None or getattr(original, "guarded", False):
        return

    def sendback(*args: Any, **kwargs: Any) -> Any:
        global _SENDING
        _SENDING = True
        try:
            return original(*args, **kwargs)
        finally:
            _SENDING = False
            if _STOP_AFTER_SEND:
                os._exit(128 + signal.SIGTERM)

    sendback.guarded = True  # type: ignore[attr-defined]
    cf_process._sendback_result = sendback


def stop_processes(processes: dict[int, Any], others: Iterable[int] = (), patience: float = 1.0) -> None:
    """Stop worker processes: SIGTERM (they exit at a safe point, see :func:`_stop_worker`), then,
    after ``patience`` seconds, SIGKILL for those still running (stuck in native code).

    ``processes``: pid -> ``multiprocessing.Process`` (their sentinels tell when they
    end); ``others``: more pids, sent SIGTERM only.
    """
    for pid in {*processes, *others}:
        if pid != os.getpid():
            _signal(pid, signal.SIGTERM)
    waiting: dict[Any, int] = {}
    for pid, process in processes.items():
        try:
            waiting[process.sentinel] = pid
        except (AttributeError, ValueError):  # closed already
            continue
    deadline = time.monotonic() + patience
    while waiting and time.monotonic() < deadline:
        try:
            ended = multiprocessing.connection.wait(list(waiting), timeout=max(0.0, deadline - time.monotonic()))
        except (OSError, ValueError):
            break
        for sentinel in ended:
            waiting.pop(sentinel, None)
    for pid in waiting.values():
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent(owner: int) -> None:
    """Make this process exit when its parent, or process ``owner`` (which started the pool), dies.

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``);
    everywhere a daemon thread checks every :data:`WATCHDOG_S` seconds (it needs
    the interpreter, so it is the fallback). The parent differs from ``owner`` under
    the ``forkserver`` start method (the fork server, which exits with ``owner``).
    """
    parent = os.getppid()
    _set_parent_death_signal(signal.SIGKILL)
    if not _parent_alive(parent, owner):  # died before the death signal was set
        os._exit(1)
    watchdog = threading.Thread(target=_watch_parent, args=(parent, owner), name="audiometrics-watchdog", daemon=True)
    watchdog.start()


def _set_parent_death_signal(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - no libc, no prctl
        return False


def _pid_alive(pid: int) -> bool:
    """Process ``pid`` exists and has not ended (a zombie that its parent has not reaped yet has ended)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # PermissionError: the pid was reused by another user
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):  # no /proc (not Linux)
        return True
    return state not in (b"Z", b"X")


def _parent_alive(parent: int, owner: int) -> bool:
    if os.getppid() != parent:
        return False
    return owner == parent or _pid_alive(owner)


def _watch_parent(parent: int, owner: int) -> None:
    while _parent_alive(parent, owner):
        time.sleep(WATCHDOG_S)
    os._exit(1)


# --------------------------------------------------------------------------- time limits


def grace(limit: float) -> float:
    """Seconds a pool worker may overrun ``limit`` before its parent kills it:
    a tenth of the limit, between 1 and 10 s (the worker normally stops itself)."""
    return min(10.0, max(1.0, limit / 10))


class Board:
    """Shared memory where each pool worker says which item it runs and since when.

    Four numbers per slot: process id, item index, start (``time.monotonic()``,
    0 when idle) and a spare. Created by the parent before the pool (it travels
    to the workers as an initializer argument); read by the parent without a lock
    (a slot is re-read to skip one that changed meanwhile).
    """

    FIELDS = 4

    def __init__(self, context: Any, slots: int) -> None:
        self.slots = slots
        self.values = context.Array("d", slots * self.FIELDS, lock=False)
        self.count = context.Value("i", 0)
        self.mine: int | None = None  # the slot this worker claimed (in a worker)

    def claim(self) -> None:
        with self.count.get_lock():
            slot = self.count.value
            self.count.value = slot + 1
        if slot < self.slots:
            self.mine = slot
            self.values[slot * self.FIELDS] = os.getpid()

    def start(self, index: int) -> None:
        if self.mine is not None:
            base = self.mine * self.FIELDS
            self.values[base + 2] = 0.0
            self.values[base + 1] = index
            self.values[base + 2] = time.monotonic()

    def stop(self) -> None:
        if self.mine is not None:
            self.values[self.mine * self.FIELDS + 2] = 0.0

    def running(self) -> list[tuple[int, int, float]]:
        """``(pid, item index, seconds running)`` of each worker now running an item."""
        now = time.monotonic()
        found = []
        for slot in range(self.slots):
            base = slot * self.FIELDS
            started = self.values[base + 2]
            pid, index = int(self.values[base]), int(self.values[base + 1])
            if started > 0 and pid > 0 and self.values[base + 2] == started:
                found.append((pid, index, now - started))
        return found

    def pids(self) -> list[int]:
        return [int(self.values[slot * self.FIELDS]) for slot in range(self.slots) if self.values[slot * self.FIELDS] > 0]


#: The board of this worker process (set by :func:`worker_setup`; None elsewhere).
_BOARD: Board | None = None


def worker_board() -> Board | None:
    """The :class:`Board` this pool worker reports on, None outside a pool worker."""
    return _BOARD


class ItemClock:
    """The time limit of one item, in the thread that runs it.

    ``with ItemClock(limit, index, board) as clock: func(item)``: :class:`Overtime`
    is raised in the block once ``limit`` seconds have passed (and again every
    second, should something swallow it); ``clock.expired`` tells afterwards
    whether the limit was reached, even by a block that returned normally.
    Without a usable SIGALRM (not the main thread, no ``setitimer``, or a handler
    someone else installed) only ``board`` sees the item: a pool's parent enforces the
    limit from outside.
    """

    def __init__(self, limit: float | None, index: int = 0, board: Board | None = None) -> None:
        self.limit = limit if limit and limit > 0 else None
        self.index = index
        self.board = board
        self.expired = False
        self._previous: Any = None
        self._armed = False

    def __enter__(self) -> ItemClock:
        if self.board is not None:
            self.board.start(self.index)
        if self.limit is not None and _can_alarm():
            self._previous = signal.signal(signal.SIGALRM, self._ring)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.limit, 1.0)
        return self

    def _ring(self, signum: int, frame: Any) -> None:
        if self._armed:
            self.expired = True
            raise Overtime(self.limit)

    def __exit__(self, *exc: object) -> None:
        if self._armed:
            self._armed = False  # first: a ring from now on raises nothing
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
        if self.board is not None:
            self.board.stop()


def _can_alarm() -> bool:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    return signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
