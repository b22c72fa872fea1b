"""Thread limits for the fits of the statistics.

The statistics fit small models: at most ``max-items`` (20,000 by default) items per split, a few dozen
features. Starting OpenMP/BLAS threads for them costs more than it saves, and on a busy machine their
spin-waiting makes a fit many times slower (measured: adversarial validation of 8,000 + 2,000 images took
0.3 s on one thread and 25-80 s with the default two threads while other work ran). So every scikit-learn
call of the statistics runs on one thread.

threadpoolctl only limits libraries already loaded, and scikit-learn is imported where it is used: the
OpenMP runtime it brings is loaded first, or a limit set before the first fit would not apply to it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from threadpoolctl import threadpool_limits


def limited_threads(n_items: int = 0) -> AbstractContextManager[Any]:
    """One thread for the fits, predictions and neighbour searches of the statistics (``n_items`` is kept for
    the callers' sake: the limit no longer depends on it)."""
    import sklearn.utils._openmp_helpers  # noqa: F401  (loads the OpenMP runtime the fits use, so it is limited)

    return threadpool_limits(limits=1)
