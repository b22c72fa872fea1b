"""Hamming-distance search over packed binary hashes with faiss (no all-pairs Python loop).

Hashes are ``uint8`` arrays of shape ``(n, n_bytes)`` (bit order as ``numpy.packbits``); faiss binary
indexes take exactly that layout. Search is exact: ``IndexBinaryFlat`` compares every query against
every base row with SIMD popcounts, in query batches so that memory stays proportional to the items,
not to the pairs.
"""

from __future__ import annotations

import numpy as np

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

#: Queries searched per faiss call (bounds the temporary result buffers).
QUERY_BATCH = 16_384


def hamming_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance between two equally shaped packed hash arrays."""
    xor = np.bitwise_xor(a, b)
    return _POPCOUNT[xor].sum(axis=-1, dtype=np.int32)


def hamming_pairs(
    queries: np.ndarray,
    base: np.ndarray | None,
    max_distance: int,
    *,
    query_batch: int = QUERY_BATCH,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query, base) pair at Hamming distance <= ``max_distance``.

    With ``base=None`` the queries are searched against themselves and each unordered pair is
    returned once, as ``(i, j)`` with ``i < j``. Returns ``(query_index, base_index, distance)``
    sorted by query index, then distance, then base index.
    """
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.uint8)
    self_search = base is None
    base_arr = queries if base is None else np.ascontiguousarray(base, dtype=np.uint8)
    if queries.ndim != 2 or base_arr.ndim != 2 or queries.shape[1] != base_arr.shape[1]:
        raise ValueError(f"hash arrays must be 2-D with the same width; got {queries.shape} and {base_arr.shape}")
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32))
    if len(queries) == 0 or len(base_arr) == 0:
        return empty
    index = faiss.IndexBinaryFlat(base_arr.shape[1] * 8)
    index.add(base_arr)
    q_parts, b_parts, d_parts = [], [], []
    for start in range(0, len(queries), query_batch):
        chunk = queries[start:start + query_batch]
        lims, dist, ids = index.range_search(chunk, int(max_distance) + 1)  # faiss keeps distance < radius
        counts = np.diff(lims).astype(np.int64)
        q = np.repeat(np.arange(start, start + len(chunk), dtype=np.int64), counts)
        ids = ids.astype(np.int64)
        if self_search:
            keep = ids > q
            q, ids, dist = q[keep], ids[keep], dist[keep]
        q_parts.append(q)
        b_parts.append(ids)
        d_parts.append(dist.astype(np.int32))
    if not q_parts:
        return empty
    q, b, d = np.concatenate(q_parts), np.concatenate(b_parts), np.concatenate(d_parts)
    order = np.lexsort((b, d, q))
    return q[order], b[order], d[order]


def nearest_distances(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest base rows of each query: (distances, base indices), each ``(n_queries, k)``, nearest first.

    Exact (faiss ``IndexBinaryFlat`` k-NN); rows beyond the base size hold distance ``n_bits + 1`` and index -1.
    """
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.uint8)
    base = np.ascontiguousarray(base, dtype=np.uint8)
    n_bits = base.shape[1] * 8
    if len(queries) == 0 or len(base) == 0 or k < 1:
        return np.full((len(queries), max(k, 0)), n_bits + 1, np.int32), np.full((len(queries), max(k, 0)), -1, np.int64)
    index = faiss.IndexBinaryFlat(n_bits)
    index.add(base)
    distances, ids = index.search(queries, k)
    distances = np.where(ids < 0, n_bits + 1, distances).astype(np.int32)
    return distances, ids.astype(np.int64)
