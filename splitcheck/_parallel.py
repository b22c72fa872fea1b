"""A process-pool map that keeps order, falls back to one process, and reports progress."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from splitcheck._prefetch import wait_for_imports

T = TypeVar("T")
R = TypeVar("R")

#: Below this many items the work runs in the calling process (a pool costs more than it saves).
MIN_ITEMS_FOR_POOL = 64


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which stops the pool and exits cleanly (no hang, no traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> bool:
    return True


class WorkerPool:
    """A process pool started on first use and kept for every later map of the scan (one start, not one per split).

    ``on_start`` runs once, in this process, right after the workers exist. With the ``fork`` start method
    every worker is forked at that moment, so ``on_start`` may start threads (e.g. importing modules in the
    background) without any worker inheriting a half-held lock.
    """

    def __init__(self, jobs: int, on_start: Callable[[], None] | None = None) -> None:
        self.jobs = jobs
        self.on_start = on_start
        self._pool: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        if self._pool is None:
            wait_for_imports()
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_ignore_sigint)
            self._pool.submit(_ready).result()  # with fork, this launches (forks) every worker at once
            if self.on_start is not None:
                self.on_start()
        return self._pool

    def close(self) -> None:
        """Stop the idle workers; the pool starts again if used later."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def abort(self) -> None:
        """Stop the workers without waiting for their queued work (after Ctrl-C or an error in a map).

        Queued work is cancelled and the running chunks finish (seconds at most); workers write nothing, the
        cache is written by this process. A graceful shutdown with futures just cancelled can hang on Python
        3.11 (CPython issues 94440, 125451): if the executor's manager thread has not ended after 20 s, the
        workers are terminated, which always ends it (it may then print the error it met).
        """
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((pool._processes or {}).values())
        manager = pool._executor_manager_thread
        pool.shutdown(wait=False, cancel_futures=True)
        if manager is not None:
            manager.join(timeout=20)
            if manager.is_alive():
                for process in processes:
                    process.terminate()
                manager.join(timeout=20)


def parallel_map(
    func: Callable[[T], R],
    args: Sequence[T],
    *,
    jobs: int = 1,
    chunksize: int | None = None,
    progress: Callable[[int], None] | None = None,
    progress_of: Callable[[R], int] | None = None,
    min_items: int = MIN_ITEMS_FOR_POOL,
    pool: WorkerPool | None = None,
) -> list[R]:
    """``[func(a) for a in args]``, across ``jobs`` processes when worth it.

    ``progress(k)`` is called after each result with ``k = progress_of(result)`` (1 by default), so a task
    that is a chunk of items can count its items. Fewer than ``min_items`` tasks run in this process.
    ``pool``, when given, is used (and left running) instead of a pool started and stopped for this call.
    """
    n = len(args)
    if jobs <= 1 or n < max(2, min_items):
        out: list[Any] = []
        for a in args:
            result = func(a)
            out.append(result)
            if progress:
                progress(progress_of(result) if progress_of else 1)
        return out
    chunksize = chunksize or max(1, min(256, n // (jobs * 8) or 1))
    if pool is not None:
        try:
            return _collect(pool.get().map(func, args, chunksize=chunksize), progress, progress_of)
        except BaseException:  # Ctrl-C or an error while collecting: do not wait for the rest of the work
            pool.abort()
            raise
    wait_for_imports()  # never fork while a background import holds a lock
    with ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint) as own:
        return _collect(own.map(func, args, chunksize=chunksize), progress, progress_of)


def _collect(results: Any, progress: Callable[[int], None] | None,
             progress_of: Callable[[Any], int] | None) -> list[Any]:
    out = []
    for result in results:
        out.append(result)
        if progress:
            progress(progress_of(result) if progress_of else 1)
    return out
