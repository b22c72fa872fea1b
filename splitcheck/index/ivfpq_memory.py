"""IVF-PQ over a base held in memory: the embedding scanner's approximate index for large splits.

The same trained index as :mod:`splitcheck.index.ivfpq` (its :func:`~splitcheck.index.ivfpq.default_lists`,
trained on a sample), encoded once with the whole base as one shard and searched many times. Candidates are
re-ranked on the base's own (normalised) vectors, so every returned similarity is exact; which neighbours are
found is approximate (recall@10 against exact search on the benchmark's clustered vectors: 0.92 at 1M, 0.61 at
10M; 99.6-100% of planted near-copies at rank 1; `benchmarks/scaling/README.md`). Memory beyond the base:
the codes (``n_subquantizers`` bytes per vector), ids and the lists' centroids.
"""

from __future__ import annotations

import numpy as np

from splitcheck.index.ivfpq import (
    IvfPqSettings,
    ShardedIvfPq,
    assign_in,
    encode,
    search_encoded,
    training_size,
)

#: Fewest base vectors worth an IVF-PQ index (its product quantiser has 256 centroids per sub-vector).
MIN_ITEMS = 1024


class MemoryIvfPq:
    """An IVF-PQ index over ``base`` (L2-normalised float32 rows, kept by reference, not copied)."""

    def __init__(self, base: np.ndarray, *, n_probe: int = 16, seed: int = 0) -> None:
        if len(base) < MIN_ITEMS:
            raise ValueError(f"an IVF-PQ index needs at least {MIN_ITEMS} base vectors; got {len(base)}")
        self.base = base
        self.settings = IvfPqSettings(n_probe=n_probe, metric="cosine", seed=seed)
        self._trainer = ShardedIvfPq(base.shape[1], self.settings, expected_base=len(base))
        n_train = min(len(base), training_size(self._trainer.n_lists))
        rng = np.random.default_rng(seed)
        sample = base if n_train >= len(base) else base[np.sort(rng.choice(len(base), n_train, replace=False))]
        self._trainer.train(sample)
        self._index = encode(self._trainer.trained, base, self.settings)
        self._ids = np.arange(len(base), dtype=np.int64)

    @property
    def n_lists(self) -> int:
        return self._trainer.n_lists

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(similarities, indices)`` of the ``k`` nearest base vectors of each normalised query row."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        assignment = assign_in(self._index, q, self.settings.n_probe)
        return search_encoded(self._index, self._ids, self.base, q, k, self.settings, assignment)
