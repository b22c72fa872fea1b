"""Signature cache: an embedded SQLite database in the user cache directory.

Two tables:

- ``files``: (path, size, mtime_ns, inode) -> content digest. An unchanged file is recognised by its
  stat alone, so a rescan does not even read it.
- ``signatures``: (content digest, algorithm key) -> payload. Keyed by content, so a renamed or copied
  file is a hit, and a changed file (new digest) is recomputed. The algorithm key carries the version
  of the computation and its settings.

Safe when several scans share the cache: WAL journal, a busy timeout, writes in short transactions.
A corrupt database is moved aside and rebuilt (with a warning), never fatal.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
    digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS signatures (
    digest BLOB NOT NULL, algo TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (digest, algo)) WITHOUT ROWID;
"""
DB_NAME = "signatures-v1.sqlite"
#: Most host parameters per lookup statement (fewer when the SQLite library allows fewer). Reading 16,000
#: signatures took 0.055 s in statements of 10,000 rows against 0.09 s in statements of 500.
_MAX_CHUNK = 10_000


def _chunk(conn: sqlite3.Connection) -> int:
    """Host parameters per statement: ``_MAX_CHUNK``, or the library's own limit (999 before SQLite 3.32)."""
    return max(2, min(_MAX_CHUNK, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)))


def default_cache_dir() -> Path:
    """``$SPLITCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/splitcheck``, else ``~/.cache/splitcheck``."""
    if os.environ.get("SPLITCHECK_CACHE_DIR"):
        return Path(os.environ["SPLITCHECK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "splitcheck"


def _is_busy(exc: Exception) -> bool:
    """A lock held by another connection (wait or skip), as opposed to a corrupt database (rebuild)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _is_corrupt(exc: Exception) -> bool:
    """The file is not (or no longer) a usable signature database: rebuild it.

    Other errors (disk full, read-only folder, I/O error) say nothing about the file's content: the cache is
    then turned off for the run and the file is left as it is.
    """
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    if not isinstance(exc, sqlite3.OperationalError):
        return True  # "file is not a database", "database disk image is malformed"
    text = str(exc)
    return any(s in text for s in ("no such table", "no such column", "malformed", "not a database"))


def _path_key(path: str) -> str:
    """A path as SQLite text: bytes of a file name that are not valid UTF-8 become ``\\xNN`` escapes.

    (Two names that differ only that way share a key, but not their inode, so neither is taken for the other.)
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


class CacheWarning(UserWarning):
    """The cache could not be used as it was (rebuilt, or turned off for this run)."""


_FILES_SQL = "INSERT OR REPLACE INTO files (path, size, mtime_ns, inode, digest) VALUES (?,?,?,?,?)"
_SIGNATURES_SQL = "INSERT OR REPLACE INTO signatures (digest, algo, payload) VALUES (?,?,?)"


class SignatureCache:
    """A handle on the cache database; ``SignatureCache(None)`` is a disabled cache that stores nothing."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.path = self.directory / DB_NAME if self.directory is not None else None
        self._conn: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self.path is None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._open_retrying()
        except sqlite3.DatabaseError as exc:
            if _is_corrupt(exc):
                self._rebuild(exc)
            else:
                self._disable(exc, "busy" if _is_busy(exc) else "unusable")
        except OSError as exc:
            self._disable(exc, "unusable")
        return self._conn

    def _disable(self, exc: Exception, state: str) -> None:
        """Turn the cache off for the rest of this run (the file is left as it is)."""
        warnings.warn(f"signature cache {self.path} {state} ({exc}); running without cache", CacheWarning,
                      stacklevel=4)
        self.close()
        self.path = None

    def _open_retrying(self, attempts: int = 8) -> sqlite3.Connection:
        """Open, waiting out another process that holds a lock while it creates the database."""
        for attempt in range(attempts):
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * 2 ** attempt)
        raise AssertionError("unreachable")

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SCHEMA)
        # reads the schema and one page, so a file that is not a database fails here; not count(*), which
        # would read the whole table on every open (the cache is shared by every dataset the user scans)
        conn.execute("SELECT 1 FROM signatures LIMIT 1").fetchone()
        return conn

    def _rebuild(self, exc: Exception) -> None:
        assert self.path is not None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        warnings.warn(f"signature cache {self.path} is corrupt ({exc}); moved to {aside.name} and rebuilt",
                      CacheWarning, stacklevel=4)
        try:
            for suffix in ("", "-wal", "-shm"):
                try:
                    Path(str(self.path) + suffix).replace(Path(str(aside) + suffix))
                except FileNotFoundError:  # absent, or another scan moved it first
                    pass
            self._conn = self._open_retrying()
        except (OSError, sqlite3.DatabaseError) as err:
            self._disable(err, "unusable")

    def _run(self, fn):  # type: ignore[no-untyped-def]
        """Run ``fn(conn)``; on corruption discovered mid-run, rebuild once and retry.

        A lock held too long by another scan skips this read or write; any other database error turns the
        cache off for the rest of the run (with a warning) without touching the file.
        """
        conn = self._connect()
        if conn is None:
            return None
        try:
            return fn(conn)
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                warnings.warn(f"signature cache busy ({exc}); results not cached this time", CacheWarning,
                              stacklevel=3)
                return None
            if not _is_corrupt(exc):
                self._disable(exc, "unusable")
                return None
            self.close()
            self._rebuild(exc)
            return fn(self._conn) if self._conn is not None else None

    # --- files: stat -> digest -------------------------------------------------------------------
    def lookup_files(self, stats: Sequence[tuple[str, int, int, int]]) -> list[bytes | None]:
        """Content digests of files whose (path, size, mtime_ns, inode) are unchanged since stored."""
        def query(conn: sqlite3.Connection) -> list[bytes | None]:
            found: dict[str, tuple[int, int, int, bytes]] = {}
            paths = [_path_key(s[0]) for s in stats]
            step = _chunk(conn)
            for start in range(0, len(paths), step):
                chunk = paths[start:start + step]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(f"SELECT path, size, mtime_ns, inode, digest FROM files WHERE path IN ({marks})",
                                        chunk):
                    found[row[0]] = row[1:]
            out: list[bytes | None] = []
            for key, (_, size, mtime, inode) in zip(paths, stats):
                hit = found.get(key)
                out.append(hit[3] if hit is not None and hit[:3] == (size, mtime, inode) else None)
            return out

        result = self._run(query)
        return result if result is not None else [None] * len(stats)

    def store_files(self, rows: Iterable[tuple[str, int, int, int, bytes]]) -> None:
        self.store(rows, [])

    # --- signatures: (digest, algo) -> payload ------------------------------------------------------
    def get(self, digests: Sequence[bytes], algo: str) -> dict[bytes, bytes]:
        def query(conn: sqlite3.Connection) -> dict[bytes, bytes]:
            out: dict[bytes, bytes] = {}
            unique = list(dict.fromkeys(digests))
            step = _chunk(conn) - 1  # one host parameter is the algo
            for start in range(0, len(unique), step):
                chunk = unique[start:start + step]
                marks = ",".join("?" * len(chunk))
                out.update(conn.execute(
                    f"SELECT digest, payload FROM signatures WHERE algo = ? AND digest IN ({marks})", [algo, *chunk]))
            return out

        result = self._run(query) or {}
        self.hits += sum(1 for d in digests if d in result)
        self.misses += sum(1 for d in digests if d not in result)
        return result

    def put(self, rows: Iterable[tuple[bytes, str, bytes]]) -> None:
        self.store([], rows)

    def store(self, files: Iterable[tuple[str, int, int, int, bytes]],
              signatures: Iterable[tuple[bytes, str, bytes]]) -> None:
        """Store file rows (as :meth:`store_files`) and signature rows (as :meth:`put`) in one transaction."""
        writes = [(_FILES_SQL, [(_path_key(r[0]), *r[1:]) for r in files]), (_SIGNATURES_SQL, list(signatures))]
        self._write([(sql, rows) for sql, rows in writes if rows])

    def _write(self, writes: list[tuple[str, list[tuple]]]) -> None:
        """Run each ``(sql, rows)`` with executemany, in transactions of at most 5,000 rows of each."""
        if not writes:
            return

        def write(conn: sqlite3.Connection) -> None:
            for start in range(0, max(len(rows) for _, rows in writes), 5000):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for sql, rows in writes:
                        if rows[start:start + 5000]:
                            conn.executemany(sql, rows[start:start + 5000])
                    conn.execute("COMMIT")
                except BaseException:
                    # an interrupt (Ctrl-C) can land after COMMIT or before the transaction began: roll back
                    # only what is open, so that the interrupt itself propagates and the cache stays as it is
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise

        self._run(write)

    # --- maintenance ------------------------------------------------------------------------------
    def info(self) -> dict[str, object]:
        if self.path is None:
            return {"path": None, "enabled": False}
        if not self.path.exists():
            return {"path": str(self.path), "enabled": True, "size_bytes": 0, "files": 0, "signatures": 0}
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file()) \
            if self.path.exists() else 0
        counts = self._run(lambda c: (c.execute("SELECT count(*) FROM files").fetchone()[0],
                                      c.execute("SELECT count(*) FROM signatures").fetchone()[0])) or (0, 0)
        return {"path": str(self.path), "enabled": True, "size_bytes": size, "files": counts[0],
                "signatures": counts[1]}

    def clear(self) -> int:
        """Delete the cache database; returns the bytes freed."""
        self.close()
        if self.path is None:
            return 0
        freed = 0
        for p in self.path.parent.glob(self.path.name + "*"):
            if p.is_file():
                freed += p.stat().st_size
                p.unlink()
        return freed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SignatureCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
