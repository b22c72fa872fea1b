"""Thread limits for the small fits of the statistics.

On small inputs, starting OpenMP/BLAS threads costs more than it saves, and on a busy machine their
spin-waiting makes a fit several times slower; below :data:`SINGLE_THREAD_BELOW` items the statistics
therefore run their scikit-learn calls on one thread.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from threadpoolctl import threadpool_limits

#: Below this many items, fits, predictions and neighbour searches run on one thread.
SINGLE_THREAD_BELOW = 10_000


def limited_threads(n_items: int) -> AbstractContextManager[Any]:
    """One thread for inputs of fewer than :data:`SINGLE_THREAD_BELOW` items, else the libraries' default."""
    return threadpool_limits(limits=1) if n_items < SINGLE_THREAD_BELOW else nullcontext()
