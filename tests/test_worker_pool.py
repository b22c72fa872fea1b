"""One worker pool per scan, the background imports it starts, and the packed worker results."""

from __future__ import annotations

import os
import sys

import numpy as np
from helpers import random_image

from splitcheck._parallel import WorkerPool, parallel_map
from splitcheck._prefetch import Prefetch
from splitcheck.executors.local import LocalExecutor
from splitcheck.signatures.decode import DecodeSettings
from splitcheck.signatures.images import compute_image_signatures


def _pid(_: int) -> int:
    return os.getpid()


def test_pool_is_started_once_and_serves_every_map() -> None:
    started = []
    pool = WorkerPool(2, on_start=lambda: started.append(len(started)))
    try:
        first = set(parallel_map(_pid, list(range(40)), jobs=2, min_items=2, pool=pool))
        workers = set(pool.get()._processes)
        second = set(parallel_map(_pid, list(range(40)), jobs=2, min_items=2, pool=pool))
    finally:
        pool.close()
    assert started == [0]  # on_start ran once, when the workers were created
    assert len(workers) == 2 and os.getpid() not in workers
    assert first | second <= workers  # the same two worker processes served both maps


def test_small_maps_never_start_the_pool() -> None:
    started = []
    pool = WorkerPool(2, on_start=lambda: started.append(1))
    assert parallel_map(_pid, [1, 2, 3], jobs=2, min_items=10, pool=pool) == [os.getpid()] * 3
    assert started == [] and pool._pool is None


def test_prefetch_imports_in_the_background_and_ignores_failures() -> None:
    sys.modules.pop("colorsys", None)
    prefetch = Prefetch(["no_such_module_for_splitcheck", "colorsys", "colorsys"])
    assert prefetch.modules == ("no_such_module_for_splitcheck", "colorsys")
    prefetch.start()
    prefetch.join()
    assert "colorsys" in sys.modules


def test_a_new_pool_waits_for_the_background_imports_before_forking(monkeypatch) -> None:
    import splitcheck._prefetch as prefetch_module

    order = []
    release = __import__("threading").Event()

    def slow_import(name: str) -> None:
        release.wait(5)
        order.append(f"imported {name}")

    monkeypatch.setattr(prefetch_module.importlib, "import_module", slow_import)
    prefetch = Prefetch(["anything"])
    prefetch.start()
    __import__("threading").Timer(0.2, release.set).start()
    parallel_map(_pid, list(range(8)), jobs=2, min_items=2)
    order.append("forked")
    assert order == ["imported anything", "forked"] and prefetch_module._STARTED == []


def test_two_splits_through_one_executor_equal_separate_runs(tmp_path, rng) -> None:
    """Signatures sent back as cache payloads and decoded in bulk equal those of a one-process run."""
    paths = []
    for k in range(240):  # PNGs and JPEGs, small and drafted sizes
        path = tmp_path / f"{k:03d}.{'jpg' if k % 2 else 'png'}"
        random_image(rng, size=(48, 160, 300)[k % 3]).save(path)
        paths.append(str(path))
    half = len(paths) // 2
    settings = DecodeSettings()
    executor = LocalExecutor(jobs=2)
    try:
        pooled = [executor.image_signatures(paths[:half], settings), executor.image_signatures(paths[half:], settings)]
    finally:
        executor.close()
    for sig, part in zip(pooled, (paths[:half], paths[half:])):
        alone = compute_image_signatures(part, settings, jobs=1)
        assert sig.valid.all() and np.array_equal(sig.digest, alone.digest) and np.array_equal(sig.pixel, alone.pixel)
        for name in alone.hashes:
            assert np.array_equal(sig.hashes[name], alone.hashes[name])
        for name in alone.variants:
            assert np.array_equal(sig.variants[name], alone.variants[name])
        assert sig.properties.equals(alone.properties)
