from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitcheck.index.knn import choose_method, ivf_lists, knn_search, normalize, recall_at_1


def brute(q: np.ndarray, b: np.ndarray) -> np.ndarray:
    return normalize(q) @ normalize(b).T


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), m=st.integers(1, 30), k=st.integers(1, 4))
def test_flat_matches_brute_force(seed: int, n: int, m: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((m, 6)).astype(np.float32)
    queries = rng.standard_normal((n, 6)).astype(np.float32)
    result = knn_search(queries, base, k=k, method="flat", query_batch=7)
    sims = brute(queries, base)
    expected = -np.sort(-sims, axis=1)[:, :k]
    width = min(k, m)
    np.testing.assert_allclose(result.similarities[:, :width], expected[:, :width], atol=1e-5)
    # the returned indices really have the returned similarities
    got = np.take_along_axis(sims, result.indices[:, :width], axis=1)
    np.testing.assert_allclose(got, result.similarities[:, :width], atol=1e-5)
    assert (result.indices[:, width:] == -1).all()
    assert np.isneginf(result.similarities[:, width:]).all()
    assert result.method == "flat"


def test_leave_one_out_never_returns_the_item_itself_even_with_exact_copies() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 8)).astype(np.float32)
    x[10] = x[3]  # an exact copy: ties with the item itself
    x[11] = x[3]
    result = knn_search(x, None, k=2, method="flat")
    assert (result.indices != np.arange(50)[:, None]).all()
    assert set(result.indices[3]) == {10, 11}
    np.testing.assert_allclose(result.similarities[3], [1.0, 1.0], atol=1e-5)
    sims = brute(x, x)
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_allclose(result.similarities[:, 0], sims.max(axis=1), atol=1e-5)


def test_self_indices_leave_out_a_subset_of_the_base() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    subset = np.array([0, 7, 39])
    result = knn_search(x[subset], x, k=1, self_indices=subset, method="flat")
    sims = brute(x, x)
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_array_equal(result.indices[:, 0], sims[subset].argmax(axis=1))


def test_zero_and_non_finite_rows_match_nothing() -> None:
    base = np.array([[1, 0], [0, 0], [np.nan, 1]], dtype=np.float32)
    result = knn_search(np.array([[0, 0], [2, 0]], np.float32), base, k=1, method="flat")
    assert result.similarities[0, 0] == pytest.approx(0.0)
    assert result.indices[1, 0] == 0 and result.similarities[1, 0] == pytest.approx(1.0)


def test_inputs_are_not_modified() -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    before = x.copy()
    knn_search(x, x, k=2)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("method", ["ivf", "ivfpq", "hnsw"])
def test_approximate_indexes_find_planted_copies_and_agree_with_exact(method: str) -> None:
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((60, 32)).astype(np.float32)
    base = centres[rng.integers(0, 60, 6000)] + 0.5 * rng.standard_normal((6000, 32)).astype(np.float32)
    planted = rng.choice(6000, 100, replace=False)
    queries = base[planted] + 0.05 * rng.standard_normal((100, 32)).astype(np.float32)
    approx = knn_search(queries, base, k=1, method=method)
    assert approx.method == method
    np.testing.assert_array_equal(approx.indices[:, 0], planted)
    others = base[:2000]
    exact = knn_search(others, base, k=1, self_indices=np.arange(2000), method="flat")
    found = knn_search(others, base, k=1, self_indices=np.arange(2000), method=method)
    assert recall_at_1(found, exact) >= 0.97


def test_automatic_choice_by_size() -> None:
    assert choose_method(1000) == "flat" and choose_method(50_000) == "flat"
    assert choose_method(50_001) == "ivf" and choose_method(1_000_000) == "ivf"
    assert choose_method(1_000_001) == "ivfpq" and choose_method(10_000_000) == "ivfpq"
    assert choose_method(5000, flat_max=100, ivfpq_above=4999) == "ivfpq"
    assert choose_method(5000, flat_max=100, ivfpq_above=5000) == "ivf"
    assert choose_method(10, "hnsw") == "hnsw"
    with pytest.raises(ValueError, match="index method must be one of"):
        choose_method(10, "lsh")
    assert ivf_lists(1_000_000) == 3906


def test_rejects_mismatched_dimensions() -> None:
    with pytest.raises(ValueError, match="dimension 3 but the base has 4"):
        knn_search(np.ones((2, 3)), np.ones((2, 4)))


def test_ivfpq_similarities_are_exact_and_small_bases_fall_back_to_flat() -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((3000, 16)).astype(np.float32)
    queries = rng.standard_normal((50, 16)).astype(np.float32)
    found = knn_search(queries, base, k=3, method="ivfpq")
    assert found.method == "ivfpq"
    sims = brute(queries, base)
    got = np.take_along_axis(sims, found.indices, axis=1)  # each returned score is the pair's true cosine
    np.testing.assert_allclose(found.similarities, got, atol=1e-5)
    assert (np.diff(found.similarities, axis=1) <= 1e-6).all()
    small = knn_search(queries, base[:500], k=1, method="ivfpq")  # too few vectors to train a quantiser
    assert small.method == "flat"
    np.testing.assert_array_equal(small.indices[:, 0], sims[:, :500].argmax(axis=1))
