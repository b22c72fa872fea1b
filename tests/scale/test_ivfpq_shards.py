"""IVF-PQ trained on a sample, searched shard by shard: merged top-k, exact scores, measured recall."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from splitcheck.index import ivfpq
from splitcheck.index.ivfpq import (
    IvfPqSettings,
    ShardedIvfPq,
    assign_lists,
    default_lists,
    exact_topk,
    merge_topk,
    prepare,
    recall_at_k,
    search_shard,
)

DIM = 32


def clustered(rng: np.random.Generator, n: int, n_clusters: int = 200) -> np.ndarray:
    centers = rng.normal(size=(n_clusters, DIM)).astype(np.float32)
    return (centers[rng.integers(0, n_clusters, n)] + 0.6 * rng.normal(size=(n, DIM))).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """20,000 clustered base vectors; 500 queries, each a slightly perturbed copy of a known base vector."""
    rng = np.random.default_rng(0)
    base = clustered(rng, 20_000)
    source = rng.choice(len(base), 500, replace=False)
    queries = base[source] + 0.01 * rng.normal(size=(500, DIM)).astype(np.float32)
    return base, queries, source


@pytest.fixture(scope="module")
def trained(data) -> dict[str, ShardedIvfPq]:
    """One index per metric, 64 lists, trained once on every other base vector (10,000: enough for the
    256-centroid product quantiser)."""
    base = data[0]
    return {metric: ShardedIvfPq(DIM, IvfPqSettings(n_lists=64, metric=metric)).train(base[::2])
            for metric in ("cosine", "l2")}


def searcher(trained: ShardedIvfPq, **search: object) -> ShardedIvfPq:
    """The trained index with other search-time settings (n_probe, refine)."""
    index = ShardedIvfPq(DIM, replace(trained.settings, **search))
    index.trained = trained.trained
    return index


def shards_of(base: np.ndarray, size: int):  # type: ignore[no-untyped-def]
    return [(np.arange(s, min(s + size, len(base))), base[s:s + size]) for s in range(0, len(base), size)]


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_sharded_search_finds_planted_copies_with_exact_scores(data, trained, metric: str):
    base, queries, source = data
    index = searcher(trained[metric], n_probe=8)
    scores, ids = index.search(queries, shards_of(base, 6_000), k=10)
    assert ids.shape == scores.shape == (500, 10)
    assert (ids[:, 0] == source).all()  # every planted copy is its query's nearest neighbour
    # refined scores are exact: recompute them from the vectors
    x, q = base[ids], queries[:, None, :]
    if metric == "cosine":
        exact = (x / np.linalg.norm(x, axis=2, keepdims=True) * (q / np.linalg.norm(q, axis=2, keepdims=True))).sum(2)
        assert (scores[:, 0] > 0.999).all()
        assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    else:
        exact = ((x - q) ** 2).sum(2)
        assert (np.diff(scores, axis=1) >= -1e-5).all()
    np.testing.assert_allclose(scores, exact, rtol=1e-4, atol=1e-4)
    _, truth = exact_topk(queries, base, 10, metric)
    assert recall_at_k(ids, truth) >= 0.95


def test_sharding_does_not_change_pq_results(data, trained):
    base, queries, _ = data
    index = searcher(trained["cosine"], refine=0, n_probe=8)
    one_s, one_i = index.search(queries, [base], k=5)
    many_s, many_i = index.search(queries, (base[s:s + 3_000] for s in range(0, len(base), 3_000)), k=5)
    # without refinement a vector's PQ score does not depend on the shard it is in
    np.testing.assert_allclose(np.sort(one_s, axis=1), np.sort(many_s, axis=1), rtol=1e-5, atol=1e-5)
    same = np.mean([set(a) == set(b) for a, b in zip(one_i.tolist(), many_i.tolist())])
    assert same >= 0.99  # (ties between equal PQ codes may order differently)


def test_search_shard_is_a_pure_function_of_trained_bytes(data, trained):
    base, queries, _ = data
    index = trained["cosine"]
    assert isinstance(index.trained, bytes)
    ids = np.arange(100_000, 100_000 + 5_000)
    s1, i1 = search_shard(index.trained, ids, base[:5_000], queries, 3, index.settings)
    s2, i2 = search_shard(index.trained, ids, base[:5_000], queries, 3, index.settings)
    assert np.array_equal(i1, i2) and np.array_equal(s1, s2)
    assert ((i1 >= 100_000) & (i1 < 105_000)).all()


def test_fewer_base_vectors_than_k_pad_with_minus_one(data, trained):
    base, queries, _ = data
    index = searcher(trained["cosine"], n_probe=64)  # every list, so the 4 base vectors are all reachable
    scores, ids = index.search(queries[:3], [base[:2], base[2:4]], k=6)
    assert (ids[:, :4] >= 0).all() and (ids[:, 4:] == -1).all()
    assert np.isneginf(scores[:, 4:]).all()
    assert {tuple(sorted(r)) for r in ids[:, :4].tolist()} == {(0, 1, 2, 3)}


def test_merge_topk_keeps_the_best_and_breaks_ties_by_id():
    sa, ia = np.array([[0.9, 0.5, -np.inf]], np.float32), np.array([[4, 7, -1]])
    sb, ib = np.array([[0.8, 0.5, 0.1]], np.float32), np.array([[2, 3, 9]])
    s, i = merge_topk(sa, ia, sb, ib, 4, higher_is_closer=True)
    assert i.tolist() == [[4, 2, 3, 7]] and s.tolist()[0][:2] == pytest.approx([0.9, 0.8])
    s, i = merge_topk(sa, ia, sb, ib, 3, higher_is_closer=False)
    assert i.tolist() == [[9, 3, 7]]  # lower is closer; the missing (-1) entry comes last


def test_settings_and_errors():
    # lists of ~64 vectors up to 16,384 lists, then 2 x sqrt(n) (a flat quantiser: exact assignment)
    assert default_lists(10_000) == 156 and default_lists(4) == 16 and default_lists(1_048_576) == 16_384
    assert default_lists(1_100_000) == 2_098 and default_lists(10_000_000) == 6_325
    index = ShardedIvfPq(64, expected_base=1_000_000)
    assert index.n_lists == 15_625 and index.n_subquantizers == 16
    with pytest.raises(ValueError, match="not trained"):
        index.search(np.zeros((1, 64), np.float32), [], 1)
    with pytest.raises(ValueError, match="must divide the dimension"):
        ShardedIvfPq(30, IvfPqSettings(n_subquantizers=7))
    with pytest.raises(ValueError, match="metric must be one of cosine, l2"):
        ShardedIvfPq(8, IvfPqSettings(metric="hamming"))
    with pytest.raises(ValueError, match="training needs at least"):
        ShardedIvfPq(8, IvfPqSettings(n_lists=16)).train(np.ones((100, 8), np.float32))
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        ShardedIvfPq(8, IvfPqSettings(n_lists=16)).train(np.ones((400, 9), np.float32))


def test_assignment_computed_once_gives_the_per_shard_results(data, trained):
    base, queries, _ = data
    index = trained["cosine"]
    q = prepare(queries, "cosine", DIM)
    once = assign_lists(index.trained, q, index.settings)
    assert once[0].shape == (500, index.settings.n_probe)
    ids = np.arange(5_000)
    with_once = search_shard(index.trained, ids, base[:5_000], q, 5, index.settings, prepared=True, assignment=once)
    per_shard = search_shard(index.trained, ids, base[:5_000], q, 5, index.settings, prepared=True)
    assert np.array_equal(with_once[1], per_shard[1]) and np.array_equal(with_once[0], per_shard[0])


def test_hnsw_coarse_quantiser_above_the_list_threshold(data, monkeypatch):
    base, queries, source = data
    monkeypatch.setattr(ivfpq, "HNSW_QUANTIZER_LISTS", 32)  # 64 lists: an HNSW graph assigns them,
    monkeypatch.setattr(ivfpq, "TWO_LEVEL_LISTS", 32)  # trained by two-level k-means
    index = ShardedIvfPq(DIM, IvfPqSettings(n_lists=64, n_probe=8)).train(base[::2])
    import faiss

    whole = faiss.deserialize_index(np.frombuffer(index.trained, np.uint8))
    assert isinstance(faiss.downcast_index(faiss.extract_index_ivf(whole).quantizer), faiss.IndexHNSWFlat)
    scores, ids = index.search(queries, shards_of(base, 6_000), k=10)
    assert (ids[:, 0] == source).all() and (scores[:, 0] > 0.999).all()
    _, truth = exact_topk(queries, base, 10, "cosine")
    assert recall_at_k(ids, truth) >= 0.95
