"""A result cache: a notebook whose bytes were extracted before is not read again.

Re-running extraction over an archive after adding a handful of notebooks
should cost the handful. Each file's outcome (its
:class:`~audiometrics.model.NotebookResult`, or the
:class:`~audiometrics.errors.NotebookError` saying why it cannot be read) is
stored in one SQLite database under the user cache directory
(:func:`default_dir`), keyed by

* the file's **content** — a SHA-256 digest of its bytes is the truth (the fastest of
  hashlib's on CPUs with SHA instructions: 1 GB in 0.7 s here, BLAKE2b 2 s); size and
  modification time are the fast check that lets an unchanged file skip hashing;
* the **code** that extracted it — the audiometrics version and a digest of the
  package's own source files, so an upgrade (or an edit in a development
  checkout) never serves a result the current code would not give.

Extraction has no options that change a file's result today (``--strict`` and
the metric choice apply to results afterwards); an option that does must be
added to :func:`code_key`.

What is not cached: time-outs, workers that died and internal errors (they may
not happen again). Entries are written in transactions (WAL journal), so
concurrent runs and ``--jobs`` are safe; a corrupt database is moved aside and
recreated, and an entry this version cannot read is ignored and rewritten. The
store is bounded (:data:`DEFAULT_MAX_BYTES`): the least recently used entries go
first.

Examples
--------
>>> import tempfile, pathlib
>>> from audiometrics.model import NotebookResult
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> nb = folder / "a.ipynb"
>>> _ = nb.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
>>> with ResultCache(folder / "cache") as cache:
...     cache.get(str(nb)) is None
...     cache.put(str(nb), NotebookResult(str(nb)))
...     cache.get(str(nb)).path == str(nb)
True
True
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from audiometrics.errors import NotebookError
from audiometrics.model import NotebookResult
from audiometrics.result_codec import dump, load

__all__ = ["ResultCache", "default_dir", "code_key", "DEFAULT_MAX_BYTES", "CACHE_DIR_ENV"]

#: The store is trimmed back under this many bytes of entries (least recently used first).
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: Overrides the cache folder (for CI, tests, shared machines); ``--cache-dir`` overrides it.
CACHE_DIR_ENV = "AUDIOMETRICS_CACHE_DIR"
_DB_NAME = "results.sqlite3"
_SCHEMA = 3
#: Digests name their algorithm: a path recorded with another one is hashed again.
_DIGEST_PREFIX = "sha256:"
#: Paths looked up, or payloads read, per query (under SQLite's oldest bound of 999 variables).
_BATCH = 500
_CHUNK = 1 << 20
#: How stale an entry's last-use time may get before a hit records it again (seconds): the
#: eviction order is kept to the day, and a warm run over an unchanged archive writes nothing.
_USED_GRAIN = 86400.0

def default_dir() -> Path:
    """The user cache folder: ``$AUDIOMETRICS_CACHE_DIR``, else the platform's cache directory.

    ``$XDG_CACHE_HOME/audiometrics`` (or ``~/.cache/audiometrics``) on Linux,
    ``~/Library/Caches/audiometrics`` on macOS, ``%LOCALAPPDATA%\\audiometrics\\Cache``
    on Windows.
    """
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "audiometrics" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "audiometrics"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "audiometrics"


_CODE_KEY: str | None = None


def code_key() -> str:
    """The version and a digest of the package's source: what produced a cached result.

    >>> code_key().startswith(__import__("audiometrics").__version__ + ":")
    True
    """
    global _CODE_KEY
    if _CODE_KEY is None:
        from audiometrics import __version__

        digest = hashlib.blake2b(digest_size=12)
        digest.update(f"schema {_SCHEMA}".encode())
        package = Path(__file__).resolve().parent
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
        _CODE_KEY = f"{__version__}:{digest.hexdigest()}"
    return _CODE_KEY


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return _DIGEST_PREFIX + hashlib.file_digest(fh, "sha256").hexdigest()[:40]  # type: ignore[attr-defined]
    except AttributeError:  # Python < 3.11
        with open(path, "rb") as fh:
            digest = hashlib.sha256()
            for block in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(block)
        return _DIGEST_PREFIX + digest.hexdigest()[:40]
    except OSError:
        return None


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@dataclass
class _Pending:
    """A file looked up and missed: what it was when looked at, to store its result under."""

    stat: tuple[int, int]
    digest: str


class ResultCache:
    """The result store (see the module docstring). Use as a context manager, or call :meth:`close`.

    ``get(path)`` returns the cached outcome for the file's current bytes or
    ``None``; ``put(path, outcome)`` stores an outcome extracted from the file as
    it was when ``get`` looked (a file changed in between is not stored).
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else default_dir()
        self.max_bytes = max_bytes
        self.key = code_key()
        self.hits = self.misses = self.written = 0
        self._pending: dict[str, _Pending] = {}
        self._found: dict[str, str] = {}  # path -> digest of a stored result, between probe and fetch
        self._used: list[tuple[float, str]] = []
        self._db = self._open()

    # ------------------------------------------------------------------ opening

    def _open(self) -> sqlite3.Connection | None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None  # an unwritable cache is no cache: extraction goes on
        path = self.folder / _DB_NAME
        for attempt in (1, 2):
            try:
                return self._connect(path)
            except sqlite3.DatabaseError:
                if attempt == 2:
                    return None
                self._set_aside(path)
        return None  # pragma: no cover

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, size INT, mtime INT, digest TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS results (digest TEXT, code TEXT, payload BLOB, bytes INT, used REAL,"
                " PRIMARY KEY (digest, code))"
            )
            db.execute("SELECT count(*) FROM results").fetchone()  # a corrupt file fails here
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @staticmethod
    def _set_aside(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.replace(f"{path}{suffix}", f"{path}{suffix}.corrupt")
            except OSError:
                pass

    # ------------------------------------------------------------------ use

    def probe(self, path: str) -> bool:
        """Whether a result for ``path``'s current content is stored (its payload is read by :meth:`fetch`)."""
        return self.probe_many([path])[0]

    def probe_many(self, paths: Sequence[str]) -> list[bool]:
        """:meth:`probe` for each of ``paths``, with one query per :data:`_BATCH` paths."""
        if self._db is None:
            return [False] * len(paths)
        known = self._known(paths)
        return [self._probe_one(path, known.get(path)) for path in paths]

    def _known(self, paths: Sequence[str]) -> dict[str, tuple]:
        """What the store records of each path: size, time, digest, and the stored result's digest and last use."""
        db = self._db
        assert db is not None
        unique = list(dict.fromkeys(path for path in paths if path))
        records: dict[str, tuple] = {}
        for start in range(0, len(unique), _BATCH):
            try:
                names = {os.fsencode(path): path for path in unique[start : start + _BATCH]}
                rows = db.execute(
                    "SELECT f.path, f.size, f.mtime, f.digest, r.digest, r.used FROM files f LEFT JOIN results r"
                    f" ON r.digest = f.digest AND r.code = ? WHERE f.path IN ({','.join('?' * len(names))})",
                    (self.key, *names),
                ).fetchall()
            except (sqlite3.Error, ValueError):  # ValueError: a name SQLite cannot take (looked at one by one)
                continue
            records.update((names[row[0]], row[1:]) for row in rows)
        return records

    def _probe_one(self, path: str, record: tuple | None) -> bool:
        stat = _stat(path) if path else None
        if stat is None:
            return False
        try:
            digest = self._stored(path, stat, record)
        except (sqlite3.Error, ValueError):
            digest = None
        if digest is not None:
            self._found[path] = digest
            return True
        self._found.pop(path, None)
        self.misses += 1
        return False

    def _stored(self, path: str, stat: tuple[int, int], record: tuple | None) -> str | None:
        """The digest of the result stored for ``path`` as it is now (``record``: what :meth:`_known` found)."""
        if record is not None and record[:2] == stat and record[2].startswith(_DIGEST_PREFIX):
            digest, stored, used = record[2:]
            if stored is not None and (used or 0) < time.time() - _USED_GRAIN:
                self._used.append((time.time(), stored))
        else:  # a new or touched file: its bytes say whether it is one seen before
            db = self._db
            assert db is not None
            digest = _digest(path)
            if digest is None:
                return None
            db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (os.fsencode(path), stat[0], stat[1], digest))
            found = db.execute("SELECT 1 FROM results WHERE digest = ? AND code = ?", (digest, self.key)).fetchone()
            stored = digest if found else None
            if found:
                self._used.append((time.time(), digest))
        if stored is None:
            self._pending[path] = _Pending(stat, digest)
        return stored

    def fetch(self, path: str, name: str | None = None) -> NotebookResult | NotebookError | None:
        """The stored outcome :meth:`probe` found for ``path``, named ``name``; ``None`` when unreadable."""
        return self.fetch_many([(path, name)])[0]

    def fetch_many(self, wanted: Sequence[tuple[str, str | None]]) -> list[NotebookResult | NotebookError | None]:
        """:meth:`fetch` for each ``(path, name)``, with one query per :data:`_BATCH` payloads."""
        digests = [self._found.get(path) for path, _ in wanted]
        payloads = self._payloads([digest for digest in dict.fromkeys(digests) if digest is not None])
        with _collector_paused():  # what is decoded holds no cycle: collections meanwhile would free nothing
            return [self._served(path, name, digest, payloads.get(digest)) for (path, name), digest in zip(wanted, digests)]

    def _payloads(self, digests: list[str]) -> dict[str, bytes]:
        if self._db is None:
            return {}
        payloads: dict[str, bytes] = {}
        for start in range(0, len(digests), _BATCH):
            chunk = digests[start : start + _BATCH]
            try:
                payloads.update(
                    self._db.execute(
                        f"SELECT digest, payload FROM results WHERE code = ? AND digest IN ({','.join('?' * len(chunk))})",
                        (self.key, *chunk),
                    ).fetchall()
                )
            except sqlite3.Error:
                continue
        return payloads

    def _served(
        self, path: str, name: str | None, digest: str | None, payload: bytes | None
    ) -> NotebookResult | NotebookError | None:
        if digest is None:
            return None
        outcome = load(payload) if payload is not None else None
        if outcome is None:  # gone or unreadable since the probe: extracted again and rewritten
            stat = _stat(path)
            if stat is not None:
                self._pending[path] = _Pending(stat, digest)
            return None
        self.hits += 1
        return _renamed(outcome, path if name is None else name)

    def get(self, path: str, name: str | None = None) -> NotebookResult | NotebookError | None:
        """The cached outcome for ``path``'s current content (named ``name``), ``None`` when there is none."""
        return self.fetch(path, name) if self.probe(path) else None

    def put(self, path: str, outcome: NotebookResult | NotebookError) -> None:
        """Store ``outcome``, extracted from ``path`` after a :meth:`get` that missed."""
        pending = self._pending.pop(path, None)
        if self._db is None or pending is None or _stat(path) != pending.stat:
            return  # not looked up, or the file changed while it was read
        payload = dump(outcome)
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                (pending.digest, self.key, payload, len(payload), time.time()),
            )
        except sqlite3.Error:
            return
        self.written += 1

    def close(self) -> None:
        """Record which entries were used, trim the store to its bound, and close it."""
        db, self._db = self._db, None
        if db is None:
            return
        try:
            if self._used:
                db.executemany("UPDATE results SET used = ? WHERE digest = ?", self._used)
            if self.written:
                self._trim(db)
        except sqlite3.Error:
            pass
        finally:
            db.close()

    def _trim(self, db: sqlite3.Connection) -> None:
        total = db.execute("SELECT coalesce(sum(bytes), 0) FROM results").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess = total - int(self.max_bytes * 0.9)
        victims, freed = [], 0
        for digest, code, size in db.execute("SELECT digest, code, bytes FROM results ORDER BY used"):
            victims.append((digest, code))
            freed += size
            if freed >= excess:
                break
        db.executemany("DELETE FROM results WHERE digest = ? AND code = ?", victims)
        db.execute("DELETE FROM files WHERE digest NOT IN (SELECT digest FROM results)")

    def __enter__(self) -> "ResultCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a batch of decoding (tuples, strings and frozen records: no
    cycles), back to its state after; about 15 % of a warm re-run was collections that found nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _renamed(outcome: NotebookResult | NotebookError, path: str) -> NotebookResult | NotebookError:
    """A cached outcome under the name it is asked by (the same bytes may live at two paths)."""
    if isinstance(outcome, NotebookError):
        return outcome if outcome.path == path else NotebookError(path, outcome.reason)
    return outcome if outcome.path == path else _rename_result(outcome, path)


def _rename_result(result: NotebookResult, path: str) -> NotebookResult:
    from dataclasses import replace

    runs = tuple(replace(run, notebook=path) for run in result.runs)
    diagnostics = tuple(replace(d, path=path) if d.path == result.path else d for d in result.diagnostics)
    return replace(result, path=path, runs=runs, diagnostics=diagnostics)


def cacheable(outcome: NotebookResult | NotebookError) -> bool:
    """Whether ``outcome`` depends on the file alone (not a time-out, a dead worker or our own bug)."""
    if isinstance(outcome, NotebookResult):
        return True
    reason = outcome.reason
    return not (
        reason.startswith(("internal error", "worker failed", "the worker process"))
        or "took longer than" in reason
    )


def open_cache(cache: bool | str | os.PathLike[str] | ResultCache | None) -> ResultCache | None:
    """``cache`` as a store: ``True`` the default folder, a path that folder, ``False``/``None`` none."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResultCache):
        return cache
    return ResultCache(None if cache is True else cache)
