"""A process-pool map that keeps order, falls back to one process, and reports progress."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

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


def parallel_map(
    func: Callable[[T], R],
    args: Sequence[T],
    *,
    jobs: int = 1,
    chunksize: int | None = None,
    progress: Callable[[int], None] | None = None,
    progress_of: Callable[[R], int] | None = None,
    min_items: int = MIN_ITEMS_FOR_POOL,
) -> list[R]:
    """``[func(a) for a in args]``, across ``jobs`` processes when worth it.

    ``progress(k)`` is called after each result with ``k = progress_of(result)`` (1 by default), so a task
    that is a chunk of items can count its items. Fewer than ``min_items`` tasks run in this process.
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
    out = []
    with ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint) as pool:
        for result in pool.map(func, args, chunksize=chunksize):
            out.append(result)
            if progress:
                progress(progress_of(result) if progress_of else 1)
    return out
