"""Cosine k-nearest-neighbour search over dense vectors with faiss (no all-pairs Python loop).

Vectors are L2-normalised, so the inner product is the cosine similarity (all-zero rows stay zero and
match nothing). The index is chosen by the number of base vectors:

- ``flat`` (exact, ``IndexFlatIP``) up to :data:`FLAT_MAX_ITEMS` base vectors;
- ``ivf`` above it: an inverted file whose lists hold about :data:`IVF_LIST_SIZE` vectors each (k-means
  trained on at most :data:`IVF_TRAIN_MAX` vectors), with an HNSW coarse quantiser above
  :data:`HNSW_QUANTIZER_LISTS` lists, so the cost per query stays about constant and the total grows
  close to linearly with the number of items (``nprobe`` lists searched per query);
- ``ivfpq`` above :data:`IVFPQ_ABOVE` base vectors: an inverted file over product-quantised codes
  (:mod:`splitcheck.index.ivfpq_memory`: 16-64 bytes per vector instead of a second float copy of the
  base), candidates re-ranked on the base vectors so similarities stay exact (measured in
  ``benchmarks/scaling/README.md``: recall@10 0.92 at 1M, 0.61 at 10M, 99.6-100% of planted copies);
- ``hnsw`` on request (``IndexHNSWFlat``): a graph index, no training, more memory.

``method`` overrides the automatic choice. Queries are searched in batches so that the temporary
buffers stay proportional to the batch, not to the pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Base sizes up to this use exact flat search (measured in benchmarks/embeddings/bench_scaling.py).
FLAT_MAX_ITEMS = 50_000
#: Base sizes above this use IVF-PQ (codes instead of a float copy of the base in the index).
IVFPQ_ABOVE = 1_000_000
#: Target number of vectors per inverted list of the IVF index.
IVF_LIST_SIZE = 256
#: k-means iterations, and the most vectors sampled to train the inverted file (caps its cost).
IVF_TRAIN_ITERATIONS = 10
IVF_TRAIN_MAX = 100_000
#: Above this many lists the coarse quantiser is an HNSW graph (logarithmic assignment cost).
HNSW_QUANTIZER_LISTS = 4096
#: Inverted lists probed per query by default.
IVF_NPROBE = 16
#: Neighbours per node of the HNSW graph, and the search breadth.
HNSW_M = 32
HNSW_EF_SEARCH = 128
#: Queries searched per faiss call.
QUERY_BATCH = 8_192
METHODS = ("auto", "flat", "ivf", "ivfpq", "hnsw")


@dataclass
class KnnResult:
    """``similarities[i, j]`` is the cosine similarity of query ``i`` to its ``j``-th nearest base vector
    ``indices[i, j]`` (``-1`` and ``-inf`` where fewer than ``k`` neighbours exist); ``method`` is the
    index that answered."""

    similarities: np.ndarray
    indices: np.ndarray
    method: str


def normalize(vectors: np.ndarray) -> np.ndarray:
    """A float32 C-contiguous copy with unit-length rows; rows of norm 0 (or not finite) become zero."""
    x = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if x.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array; got shape {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    x[bad] = 0.0
    norms = np.linalg.norm(x, axis=1)
    ok = norms > 0
    x[ok] /= norms[ok, None]
    return x


def choose_method(n_base: int, method: str = "auto", *, flat_max: int = FLAT_MAX_ITEMS,
                  ivfpq_above: int = IVFPQ_ABOVE) -> str:
    """The index used for ``n_base`` vectors: ``method`` unless it is ``auto``, then ``flat`` up to
    ``flat_max`` base vectors, ``ivfpq`` above ``ivfpq_above`` and ``ivf`` between."""
    if method not in METHODS:
        raise ValueError(f"index method must be one of {', '.join(METHODS)}; got {method!r}")
    if method != "auto":
        return method
    if n_base <= flat_max:
        return "flat"
    return "ivfpq" if n_base > ivfpq_above else "ivf"


def ivf_lists(n_base: int) -> int:
    """Number of inverted lists for ``n_base`` vectors (about :data:`IVF_LIST_SIZE` per list)."""
    return int(min(262_144, max(16, round(n_base / IVF_LIST_SIZE))))


def build_index(base: np.ndarray, method: str = "auto", *, nprobe: int = IVF_NPROBE,
                ef_search: int = HNSW_EF_SEARCH, seed: int = 0, flat_max: int = FLAT_MAX_ITEMS,
                ivfpq_above: int = IVFPQ_ABOVE):  # type: ignore[no-untyped-def]
    """A faiss index (or one with its ``search``) over normalised ``base`` vectors (already normalised
    float32) and its method name."""
    import faiss

    from splitcheck.index.ivfpq_memory import MIN_ITEMS, MemoryIvfPq

    n, dim = base.shape
    chosen = choose_method(n, method, flat_max=flat_max, ivfpq_above=ivfpq_above)
    if (chosen == "ivf" and n < 4 * 16) or (chosen == "ivfpq" and n < MIN_ITEMS):
        chosen = "flat"  # too few vectors to train an inverted file or a product quantiser
    if chosen == "ivfpq":
        return MemoryIvfPq(base, n_probe=nprobe, seed=seed), chosen
    if chosen == "flat":
        index = faiss.IndexFlatIP(dim)
    elif chosen == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = max(ef_search, 1)
    else:
        nlist = min(ivf_lists(n), max(1, n // 39))
        quantizer = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT) if nlist > HNSW_QUANTIZER_LISTS \
            else faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.cp.niter = IVF_TRAIN_ITERATIONS
        index.cp.min_points_per_centroid = 1  # no faiss warning when sampling is sparse
        index.cp.max_points_per_centroid = 1 << 30  # faiss must not subsample again
        train_n = min(n, IVF_TRAIN_MAX, max(32 * nlist, 10_000))
        rng = np.random.default_rng(seed)
        sample = base if train_n >= n else base[np.sort(rng.choice(n, train_n, replace=False))]
        index.train(sample)
        index.nprobe = min(nlist, max(1, nprobe))
        if nlist > HNSW_QUANTIZER_LISTS:
            quantizer.hnsw.efSearch = max(64, 2 * index.nprobe)
        index.parallel_mode = 0
    index.add(base)
    return index, chosen


class KnnIndex:
    """A cosine index over ``base`` built once and searched many times (see :func:`knn_search`)."""

    def __init__(self, base: np.ndarray, method: str = "auto", *, nprobe: int = IVF_NPROBE,
                 ef_search: int = HNSW_EF_SEARCH, seed: int = 0, flat_max: int = FLAT_MAX_ITEMS,
                 ivfpq_above: int = IVFPQ_ABOVE) -> None:
        self.base = normalize(base)
        self.requested = method
        self.method = choose_method(len(self.base), method, flat_max=flat_max, ivfpq_above=ivfpq_above)
        self._index = None
        self._options = {"nprobe": nprobe, "ef_search": ef_search, "seed": seed, "flat_max": flat_max,
                         "ivfpq_above": ivfpq_above}

    def __len__(self) -> int:
        return len(self.base)

    def search(self, queries: np.ndarray, k: int = 1, *, self_indices: np.ndarray | None = None,
               query_batch: int = QUERY_BATCH, normalized: bool = False) -> KnnResult:
        if k < 1:
            raise ValueError(f"k must be >= 1; got {k}")
        q = queries if normalized else normalize(queries)
        if self_indices is not None and len(self_indices) != len(q):
            raise ValueError(f"self_indices has {len(self_indices)} entries for {len(q)} queries")
        if q.shape[1] != self.base.shape[1]:
            raise ValueError(f"queries have dimension {q.shape[1]} but the base has {self.base.shape[1]}")
        nq, nb = len(q), len(self.base)
        sims = np.full((nq, k), -np.inf, dtype=np.float32)
        idx = np.full((nq, k), -1, dtype=np.int64)
        leave_out = self_indices is not None
        if nq == 0 or nb == 0 or (leave_out and nb < 2):
            return KnnResult(sims, idx, self.method)
        if self._index is None:
            self._index, self.method = build_index(self.base, self.requested, **self._options)
        kk = min(k + (1 if leave_out else 0), nb)
        for start in range(0, nq, query_batch):
            chunk = q[start:start + query_batch]
            d, i = self._index.search(chunk, kk)
            if leave_out:
                d, i = _drop_self(d, i, np.asarray(self_indices[start:start + len(chunk)], dtype=np.int64))
            width = min(k, d.shape[1])
            sims[start:start + len(chunk), :width] = d[:, :width]
            idx[start:start + len(chunk), :width] = i[:, :width]
        sims[idx < 0] = -np.inf
        return KnnResult(sims, idx, self.method)


def knn_search(
    queries: np.ndarray,
    base: np.ndarray | None = None,
    k: int = 1,
    *,
    self_indices: np.ndarray | None = None,
    method: str = "auto",
    nprobe: int = IVF_NPROBE,
    ef_search: int = HNSW_EF_SEARCH,
    query_batch: int = QUERY_BATCH,
    seed: int = 0,
) -> KnnResult:
    """The ``k`` most cosine-similar base vectors of every query.

    With ``base=None`` the queries are searched against themselves leaving each query out
    (leave-one-out): the item itself is never its own neighbour, even when exact copies tie with it.
    ``self_indices`` does the same when the queries are a subset of ``base``: query ``i`` is base item
    ``self_indices[i]`` and is left out of its own results. Inputs need not be normalised; they are not
    modified. To search one base several times, build a :class:`KnnIndex` once.
    """
    if base is None:
        self_indices = np.arange(len(queries))
        index = KnnIndex(queries, method, nprobe=nprobe, ef_search=ef_search, seed=seed)
        return index.search(index.base, k, self_indices=self_indices, query_batch=query_batch, normalized=True)
    index = KnnIndex(base, method, nprobe=nprobe, ef_search=ef_search, seed=seed)
    return index.search(queries, k, self_indices=self_indices, query_batch=query_batch)


def _drop_self(d: np.ndarray, i: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index from its results (or the last column when it is not among them)."""
    is_self = i == own[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    keep = ~is_self
    # every row keeps exactly kk-1 entries, in order
    d2 = d[keep].reshape(len(d), -1)
    i2 = i[keep].reshape(len(i), -1)
    return d2, i2


def recall_at_1(approx: KnnResult, exact: KnnResult) -> float:
    """Share of queries whose approximate nearest neighbour has the exact nearest similarity
    (ties count as found)."""
    if len(exact.similarities) == 0:
        return math.nan
    found = approx.similarities[:, 0] >= exact.similarities[:, 0] - 1e-6
    return float(found.mean())
