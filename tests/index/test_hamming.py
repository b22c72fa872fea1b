from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from splitcheck.index import hamming_distances, hamming_pairs


def brute(q, b, t, self_search=False):
    out = set()
    for i in range(len(q)):
        for j in range(len(b)):
            if self_search and j <= i:
                continue
            d = int(np.unpackbits(q[i] ^ b[j]).sum())
            if d <= t:
                out.add((i, j, d))
    return out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), m=st.integers(0, 40), t=st.integers(0, 64))
def test_matches_brute_force(seed, n, m, t):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (m, 8), dtype=np.uint8)
    queries = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    if n and m:  # plant close pairs so small thresholds have something to find
        queries[: min(n, m) // 2] = base[: min(n, m) // 2] ^ rng.choice([0, 1, 2, 4], size=(min(n, m) // 2, 8)).astype(np.uint8)
    q, b, d = hamming_pairs(queries, base, t, query_batch=7)
    assert set(zip(q.tolist(), b.tolist(), d.tolist())) == brute(queries, base, t)
    assert len(q) == len(set(zip(q.tolist(), b.tolist())))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), t=st.integers(0, 20))
def test_self_search_returns_each_pair_once(seed, n, t):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    if n > 3:
        x[1] = x[0]
        x[3] = x[2] ^ 1
    q, b, d = hamming_pairs(x, None, t)
    assert set(zip(q.tolist(), b.tolist(), d.tolist())) == brute(x, x, t, self_search=True)


def test_found_at_every_larger_threshold():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (200, 8), dtype=np.uint8)
    queries = base[:50] ^ rng.integers(0, 2, (50, 8), dtype=np.uint8)
    previous: set = set()
    for t in range(0, 20):
        q, b, _ = hamming_pairs(queries, base, t)
        found = set(zip(q.tolist(), b.tolist()))
        assert previous <= found
        previous = found


def test_row_distances():
    a = np.array([[0, 0], [255, 1]], dtype=np.uint8)
    b = np.array([[1, 3], [0, 1]], dtype=np.uint8)
    assert hamming_distances(a, b).tolist() == [3, 8]
