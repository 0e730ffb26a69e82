"""Writing outputs safely: one file atomically, or a run's outputs as one consistent set.

* :func:`atomic_writer` / :func:`write_atomic` write one file: readers see the old
  file or the new one, never half of one.
* :class:`OutputSet` writes a run's outputs (the CSV, the documents, ``plots/``, the
  errors CSV) as one set: everything is written into a hidden staging folder inside
  the output folder (``.audiometrics-tmp-*``, same filesystem), and only when all of
  it is written and flushed are the files renamed into place, under a lock on the
  output folder. A journal (``.audiometrics-journal.json``) written just before the
  renames lets the next run finish a commit that a kill interrupted; staging left by
  a killed run is removed by the next run into the same folder. A manifest
  (``.audiometrics-manifest.json``) lists the files the tool wrote there, so that a
  new set removes the previous set's files it does not replace (old plots) and never
  touches anything else.

Destinations (both APIs): ``-`` is standard output; character devices, FIFOs,
sockets, ``/proc/…`` and ``/dev/fd/…`` paths and paths that are this process's own
stdout or stderr (``/dev/stdout``) are opened and written, never renamed onto; a
symbolic link is written through to its target (the link stays). Any ``OSError``
while writing becomes an :class:`OutputError` that names the destination and the
reason, and leaves the previous outputs as they were.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from audiometrics.errors import AudiometricsError

__all__ = [
    "atomic_writer",
    "write_atomic",
    "OutputError",
    "OutputSet",
    "check_destination",
    "describe",
    "is_special",
    "is_stdout",
    "recover",
    "STDOUT",
    "STAGING_PREFIX",
    "JOURNAL_NAME",
    "MANIFEST_NAME",
]

#: The destination name meaning standard output.
STDOUT = "-"
STAGING_PREFIX = ".audiometrics-tmp-"
JOURNAL_NAME = ".audiometrics-journal.json"
MANIFEST_NAME = ".audiometrics-manifest.json"


class OutputError(AudiometricsError):
    """An output that cannot be written: names the destination and the reason (``path``, ``reason``)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple:
        return (type(self), (self.path, self.reason))


def describe(path: str | os.PathLike[str]) -> str:
    """``path`` as messages name it (``standard output`` for ``-``)."""
    text = os.fspath(path)
    return "standard output" if text == STDOUT else text


def _reason(exc: OSError) -> str:
    if exc.errno:
        text = os.strerror(exc.errno)
        return text[:1].lower() + text[1:]
    return str(exc) or type(exc).__name__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- destinations


def _std_fd(path: str) -> int | None:
    """1 or 2 when ``path`` is this process's stdout or stderr (``-``, ``/dev/stdout``, the file it redirects to)."""
    if path == STDOUT:
        return 1
    try:
        st = os.stat(path)
    except OSError:
        return None
    for fd in (1, 2):
        try:
            if os.path.samestat(st, os.fstat(fd)):
                return fd
        except OSError:
            continue
    return None


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    """Whether writing ``path`` writes this process's standard output."""
    return path is not None and _std_fd(os.fspath(path)) == 1


def is_special(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is written through by opening it (never replaced by a rename); see the module doc."""
    text = os.fspath(path)
    if text == STDOUT or os.path.abspath(text).startswith(("/proc/", "/dev/fd/")):
        return True
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) or _std_fd(text) is not None


def _real_target(path: str) -> str:
    """The file a rename must replace: a symbolic link's target (the link stays), else ``path``."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _write_through(path: str, source: IO[bytes]) -> None:
    """Copy ``source`` into the special destination ``path`` (see :func:`is_special`)."""
    fd = _std_fd(path)
    if fd is not None:
        stream = sys.stdout if fd == 1 else sys.stderr
        stream.flush()
        binary = getattr(stream, "buffer", None)
        if binary is None:
            stream.write(source.read().decode("utf-8", "replace"))
        else:
            shutil.copyfileobj(source, binary)
            binary.flush()
        return
    regular = os.path.exists(path) and stat.S_ISREG(os.stat(path).st_mode)
    with open(os.open(path, os.O_WRONLY | (os.O_TRUNC if regular else 0)), "wb", closefd=True) as handle:
        shutil.copyfileobj(source, handle)


def check_destination(path: str | os.PathLike[str], *, directory: bool = False) -> None:
    """Raise :class:`OutputError` now when ``path`` (a file, or with ``directory`` a folder) cannot be written.

    Checks what can be known before any work: a folder that is a file, a file
    that is a folder, a parent that is a file, a read-only or unwritable parent.
    """
    text = os.fspath(path)
    if not directory and is_special(text):
        return
    target = Path(_real_target(text))
    if directory and target.exists() and not target.is_dir():
        raise OutputError(text, "not a directory")
    if not directory and target.is_dir():
        raise OutputError(text, "is a directory")
    ancestor = target if directory else target.parent
    while not os.path.exists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(text, f"{ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        readonly = bool(os.statvfs(ancestor).f_flag & os.ST_RDONLY)
        raise OutputError(text, "read-only file system" if readonly else f"permission denied ({ancestor})")


# --------------------------------------------------------------------------- one file


@contextmanager
def _through(path: str, mode: str) -> Iterator[IO]:
    with tempfile.TemporaryFile("w+b") as spool:
        handle: IO = _text_view(spool) if mode == "w" else spool
        yield handle
        handle.flush()
        spool.seek(0)
        _write_through(path, spool)


def _text_view(binary: IO[bytes]) -> IO[str]:
    """A UTF-8 text view of ``binary`` that keeps ``\\n`` as written and does not close it."""
    import io

    class _Text(io.TextIOWrapper):
        def close(self) -> None:  # the binary file belongs to the caller
            self.flush()

    return _Text(binary, encoding="utf-8", newline="")


@contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path``, on failure it vanishes.

    ``mode`` is ``"w"`` (UTF-8 text, ``\\n`` kept as is) or ``"wb"``. The file gets the usual
    permissions for a new file (``0o666`` less the umask). Special destinations are
    written through and a symbolic link's target is replaced (see the module doc).
    """
    if mode not in {"w", "wb"}:
        raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
    if is_special(path):
        with _through(os.fspath(path), mode) as handle:
            yield handle
        return
    target = Path(_real_target(os.fspath(path)))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


# --------------------------------------------------------------------------- a set of files


def _fsync_dir(path: str | os.PathLike[str]) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: object, scratch: Path) -> None:
    """Write ``data`` as JSON to ``path`` atomically, through a temporary file in ``scratch`` (same filesystem)."""
    text = json.dumps(data, indent=1)
    tmp = scratch / f"{path.name}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _remove_empty_dirs(start: Path, stop: Path) -> None:
    """Remove ``start`` and its parents up to (not including) ``stop`` while they are empty."""
    while start != stop and stop in start.parents:
        try:
            start.rmdir()
        except OSError:
            return
        start = start.parent


def recover(root: str | os.PathLike[str]) -> bool:
    """Finish or discard what a killed run left in ``root``; returns whether a commit was finished.

    A journal means every new file was written: the renames it lists are
    completed and the stale files it lists removed. Staging folders and
    temporary files of the tool are then removed. Call it holding the lock
    (:class:`OutputSet` does).
    """
    base = Path(root)
    journal = base / JOURNAL_NAME
    finished = False
    if journal.exists():
        try:
            data = json.loads(journal.read_text(encoding="utf-8"))
        except ValueError:  # cannot happen (written atomically), but must not block every later run
            data = {}
        for source, destination in data.get("moves", []):
            if os.path.lexists(source):
                Path(destination).parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, destination)
        for stale in data.get("delete", []):
            _unlink_stale(Path(stale), base)
        journal.unlink()
        finished = True
    for child in base.iterdir():
        if child.name.startswith(STAGING_PREFIX) and child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith((f"{JOURNAL_NAME}.", f"{MANIFEST_NAME}.")) and child.name.endswith(".tmp"):
            child.unlink(missing_ok=True)
    _fsync_dir(base)
    return finished


def _unlink_stale(path: Path, root: Path) -> None:
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
    except FileNotFoundError:
        return
    _remove_empty_dirs(path.parent, root)


def _below(name: str) -> bool:
    """Whether a manifest entry is a plain relative name below the folder (a crafted one must reach nothing else)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _read_manifest(root: Path) -> set[str] | None:
    try:
        data = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        return {str(name) for name in data.get("files", []) if _below(str(name))}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError, TypeError):
        return set()  # unreadable: trust nothing in it, delete nothing


@dataclass
class _Entry:
    final: str  # as the caller named it
    staged: Path  # the finished content


class OutputSet:
    """A run's outputs, written into ``root`` (the output folder) as one set.

    ``path(final)`` gives a staging path to write each output into; ``adopt``
    takes a file already written elsewhere in staging; ``commit()`` puts them all
    in place (see the module doc); leaving the ``with`` block without a commit
    discards them. Outputs outside ``root`` (``--csv``/``--errors`` elsewhere)
    join the set: staged in ``root``'s staging, renamed last-minute (copied next to
    their destination first when on another filesystem). With ``root=None``
    (nothing goes into an output folder) staging is a private temporary folder.

    ``replaces(relative_name)`` says which of the previous set's files (from the
    manifest, else ``legacy`` names found there) this set supersedes; those it
    does not rewrite are removed at commit; with ``manifest=False`` (``root`` is
    not a folder the tool owns outputs in, just where a named file goes) there is
    no manifest and nothing is removed. ``on_wait(root)`` is called once when
    another process holds the folder's lock (this one then waits for it).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None,
        *,
        replaces: Callable[[str], bool] | None = None,
        legacy: Iterable[str] = (),
        manifest: bool = True,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else None
        self._manifest = manifest
        self._replaces = replaces or (lambda name: True)
        self._legacy = list(legacy)
        self._on_wait = on_wait
        self._entries: list[_Entry] = []
        self._staging: Path | None = None
        self._lock_fd: int | None = None
        self._created: list[Path] = []
        self._current: str | None = None
        self._journaled = False  # the commit's journal is on disk: from then on it completes, now or next run
        self._done = False

    # ---------------------------------------------------------------- context

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if self._journaled and not self._done and self.root is not None:
                self._finish_interrupted()
            if not self._done:
                self._discard()
        finally:
            self._unlock()
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise OutputError(describe(self._current or self.root or "output"), _reason(error)) from error

    # ---------------------------------------------------------------- staging

    def _start(self) -> Path:
        if self._staging is not None:
            return self._staging
        if self.root is None:
            self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
            return self._staging
        self._current = os.fspath(self.root)
        self._make_root()
        self._lock()
        recover(self.root)
        self._staging = self.root / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self._staging.mkdir()
        return self._staging

    def _make_root(self) -> None:
        missing = []
        folder = self.root
        while not os.path.lexists(folder) and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        self.root.mkdir(parents=True, exist_ok=True)
        self._created = missing

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return
        self._lock_fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if self._on_wait is not None:
                self._on_wait(os.fspath(self.root))
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        except OSError:  # a filesystem without locks (some network mounts): write unlocked
            self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _relative(self, final: str) -> str | None:
        """``final`` relative to the root (posix separators), or ``None`` when it is elsewhere."""
        if self.root is None or final == STDOUT:
            return None
        try:
            relative = Path(os.path.abspath(final)).relative_to(os.path.abspath(self.root))
        except ValueError:
            return None
        return relative.as_posix() if relative.parts and ".." not in relative.parts else None

    def path(self, final: str | os.PathLike[str]) -> Path:
        """A fresh path (its folder exists) to write the output ``final`` into."""
        name = os.fspath(final)
        self._current = name
        staging = self._start()
        self._current = name
        relative = self._relative(name)
        staged = staging / (relative if relative is not None else f"_other/{len(self._entries)}")
        staged.parent.mkdir(parents=True, exist_ok=True)
        self._entries.append(_Entry(name, staged))
        return staged

    def scratch(self, name: str) -> Path:
        """A private folder in staging for a writer that writes several files (then :meth:`adopt` them)."""
        folder = self._start() / f"_scratch-{len(self._entries)}" / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def adopt(self, final: str | os.PathLike[str], staged: str | os.PathLike[str]) -> None:
        """Make the staged file ``staged`` (under :meth:`scratch`) the output ``final``."""
        self._entries.append(_Entry(os.fspath(final), Path(staged)))

    # ---------------------------------------------------------------- commit

    def commit(self) -> None:
        """Put every staged output in place (see the class doc); raises :class:`OutputError` on failure."""
        self._start()
        moves: list[tuple[str, str]] = []
        try:
            stale, manifest = self._plan()
            for entry in self._entries:
                if not is_special(entry.final):
                    moves.append(self._prepare(entry))
            if manifest is not None:
                staged = self._staging / MANIFEST_NAME
                _write_json(staged, {"files": manifest}, self._staging)
                moves.append((os.fspath(staged), os.fspath(self.root / MANIFEST_NAME)))
            for entry in self._entries:
                if is_special(entry.final):
                    self._current = entry.final
                    with open(entry.staged, "rb") as source:
                        _write_through(entry.final, source)
            self._current = os.fspath(self.root) if self.root is not None else None
            journal = (self.root or self._staging) / JOURNAL_NAME
            _write_json(journal, {"moves": moves, "delete": stale}, self._staging)
            self._journaled = True
        except OSError as error:
            raise OutputError(describe(self._current or "output"), _reason(error)) from error
        self._apply(moves, stale, journal)

    def _plan(self) -> tuple[list[str], list[str] | None]:
        """The previous set's files to remove, and the new manifest (``None`` without a root)."""
        if self.root is None or not self._manifest:
            return [], None
        written = {r for r in (self._relative(e.final) for e in self._entries) if r is not None}
        previous = _read_manifest(self.root)
        if previous is None:
            previous = {name for name in self._legacy if (self.root / name).is_file()}
        superseded = {name for name in previous if self._replaces(name)}
        stale = sorted(os.fspath(self.root / name) for name in superseded - written)
        kept = {name for name in previous - superseded if os.path.lexists(self.root / name)}
        return stale, sorted(written | kept)

    def _prepare(self, entry: _Entry) -> tuple[str, str]:
        """Flush ``entry`` to disk beside its destination; returns the rename to do."""
        self._current = entry.final
        target = Path(_real_target(entry.final))
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in target.parent.glob(f".{_glob_escape(target.name)}.*.tmp"):
            leftover.unlink(missing_ok=True)  # a killed run's temporary file
        os.chmod(entry.staged, 0o666 & ~_umask())
        _fsync_file(entry.staged)
        if os.stat(entry.staged).st_dev == os.stat(target.parent).st_dev:
            return os.fspath(entry.staged), os.fspath(target)
        near = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        shutil.copyfile(entry.staged, near)
        _fsync_file(near)
        return os.fspath(near), os.fspath(target)

    def _apply(self, moves: list[tuple[str, str]], stale: list[str], journal: Path) -> None:
        try:
            for source, destination in moves:
                self._current = destination
                os.replace(source, destination)
            for path in stale:
                _unlink_stale(Path(path), self.root)
            journal.unlink()
        except OSError as error:  # the journal stays: the next run into this folder finishes the commit
            raise OutputError(describe(self._current or "output"), _reason(error)) from error
        for folder in {os.path.dirname(d) for _, d in moves}:
            _fsync_dir(folder)
        self._done = True
        self._discard()

    def _finish_interrupted(self) -> None:
        """A commit interrupted after its journal (Ctrl-C, a failed rename): finish it now if possible."""
        try:
            recover(self.root)
        except OSError:
            return  # staging and journal stay for the next run into this folder
        self._done = True
        self._staging = None

    def _discard(self) -> None:
        if self._journaled and not self._done:
            return  # the journal needs the staged files
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if not self._done:
            for folder in self._created:  # deepest first: created for this set, still empty
                try:
                    folder.rmdir()
                except OSError:
                    break


def _glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)
