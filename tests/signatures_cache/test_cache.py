from __future__ import annotations

import sqlite3
import threading
import warnings

import pytest

from splitcheck.signatures.cache import CacheWarning, SignatureCache


def test_round_trip_and_stat_keys(tmp_path):
    with SignatureCache(tmp_path) as cache:
        cache.store_files([("/d/a.png", 10, 111, 5, b"digA"), ("/d/b.png", 20, 222, 6, b"digB")])
        assert cache.lookup_files([("/d/a.png", 10, 111, 5), ("/d/b.png", 20, 999, 6), ("/d/c.png", 1, 1, 1)]) == [
            b"digA", None, None]  # b changed (mtime), c unknown
        cache.put([(b"digA", "phash-v1", b"payload-a")])
        assert cache.get([b"digA", b"digB"], "phash-v1") == {b"digA": b"payload-a"}
        assert cache.get([b"digA"], "other-algo") == {}
        assert (cache.hits, cache.misses) == (1, 2)
        info = cache.info()
        assert info["files"] == 2 and info["signatures"] == 1
        assert cache.clear() > 0
    assert not (tmp_path / "signatures-v1.sqlite").exists()


def test_lookups_larger_than_the_sqlite_parameter_limit(tmp_path):
    """Lookups go in statements of at most the library's host-parameter limit (999 before SQLite 3.32)."""
    with SignatureCache(tmp_path) as cache:
        files = [(f"/d/{i}.png", i, 100 + i, 7 + i, f"dig{i}".encode()) for i in range(50)]
        cache.store_files(files)
        cache.put([(f"dig{i}".encode(), "a", f"p{i}".encode()) for i in range(0, 50, 2)])
        cache._connect().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)
        stats = [f[:4] for f in files]
        assert cache.lookup_files(stats) == [f[4] for f in files]
        assert cache.get([f[4] for f in files], "a") == {f"dig{i}".encode(): f"p{i}".encode() for i in range(0, 50, 2)}


def test_disabled_cache_stores_nothing():
    cache = SignatureCache(None)
    cache.put([(b"x", "a", b"y")])
    assert cache.get([b"x"], "a") == {} and not cache.enabled


def test_corrupt_database_is_rebuilt_with_a_warning(tmp_path):
    (tmp_path / "signatures-v1.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.warns(CacheWarning, match="is corrupt"):
        cache = SignatureCache(tmp_path)
        cache.put([(b"d", "a", b"p")])
    assert cache.get([b"d"], "a") == {b"d": b"p"}
    assert len(list(tmp_path.glob("signatures-v1.sqlite.corrupt-*"))) == 1
    cache.close()


def test_two_writers_at_once(tmp_path):
    errors = []

    def writer(k: int) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with SignatureCache(tmp_path) as cache:
                    for i in range(20):
                        cache.put([(f"{k}-{i}-{j}".encode(), "a", b"p") for j in range(50)])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with SignatureCache(tmp_path) as cache:
        assert cache.info()["signatures"] == 3 * 20 * 50
