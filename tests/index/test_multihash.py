"""Multi-index hashing returns exactly the pairs of faiss flat search, and the near-duplicate scanner's
multihash path exactly the pairs of its flat path."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import splitcheck.index.multihash as mh
from splitcheck.index.hamming import hamming_pairs
from splitcheck.index.multihash import MultiHashIndex, choose_bands, flat_is_cheaper, multihash_pairs, n_patterns
from splitcheck.scanners.near_duplicates import NearDuplicateScanner


def flip_bits(codes: np.ndarray, n_flips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = codes.copy()
    bits = np.argsort(rng.random((len(codes), codes.shape[1] * 8)), axis=1)
    for f in range(int(n_flips.max(initial=0))):
        rows = np.flatnonzero(n_flips > f)
        b = bits[rows, f]
        out[rows, b // 8] ^= (1 << (7 - b % 8)).astype(np.uint8)
    return out


def codes_with_neighbours(rng: np.random.Generator, n_base: int, n_queries: int, n_bytes: int,
                          max_flips: int) -> tuple[np.ndarray, np.ndarray]:
    """Random base codes (a fifth repeated: exact duplicates) and queries, half near some base code."""
    base = rng.integers(0, 256, (n_base, n_bytes), dtype=np.uint8)
    base[: n_base // 5] = base[n_base - n_base // 5:]
    queries = rng.integers(0, 256, (n_queries, n_bytes), dtype=np.uint8)
    near = n_queries // 2
    queries[:near] = flip_bits(base[rng.integers(0, n_base, near)], rng.integers(0, max_flips + 1, near), rng)
    return base, queries


def same(a: tuple, b: tuple) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("n_bytes, t", [(8, 0), (8, 3), (8, 7), (8, 12), (16, 14), (2, 5), (3, 9)])
def test_equals_flat_search_cross_and_self(n_bytes: int, t: int):
    rng = np.random.default_rng(n_bytes * 100 + t)
    base, queries = codes_with_neighbours(rng, 1500, 600, n_bytes, t + 2)
    flat = hamming_pairs(queries, base, t)
    assert len(flat[0]) > 100  # the planted neighbours within t, and the duplicates' twins
    lowest = -(-n_bytes * 8 // mh.MAX_TABLE_BITS)
    options = {None, max(lowest, t // 2 + 1), max(lowest, min(n_bytes * 8, t + 1))}
    if n_patterns(-(-n_bytes * 8 // lowest), t // lowest) < 10_000:  # the widest bands, with the most flips
        options.add(lowest)
    for bands in sorted(options, key=str):
        assert same(multihash_pairs(queries, base, t, n_bands=bands), flat), bands
        assert same(multihash_pairs(base, None, t, n_bands=bands), hamming_pairs(base, None, t)), bands


def test_one_index_serves_several_query_sets_and_tiny_budgets_change_nothing(monkeypatch):
    rng = np.random.default_rng(7)
    base, queries = codes_with_neighbours(rng, 2000, 800, 8, 9)
    index = MultiHashIndex(base, 7)
    first, second = index.pairs(queries[:400]), index.pairs(queries[400:])
    assert same(first, hamming_pairs(queries[:400], base, 7))
    assert same(second, hamming_pairs(queries[400:], base, 7))
    monkeypatch.setattr(mh, "PROBE_BUDGET", 50)
    monkeypatch.setattr(mh, "CANDIDATE_BUDGET", 3)
    assert same(index.pairs(queries[:400]), first)
    chunks = list(index.iter_pairs(queries[:400]))
    assert len(chunks) > 10
    pairs = np.concatenate([np.stack([q, b], axis=1) for q, b, _ in chunks])
    assert len(np.unique(pairs, axis=0)) == len(pairs) == len(first[0])  # each pair exactly once


def test_empty_inputs_and_refusals():
    codes = np.zeros((0, 8), np.uint8)
    some = np.ones((3, 8), np.uint8)
    assert all(len(x) == 0 for x in multihash_pairs(codes, some, 3))
    assert all(len(x) == 0 for x in multihash_pairs(some, codes, 3))
    with pytest.raises(ValueError, match="max_distance must be between 0 and the code length"):
        MultiHashIndex(some, 64)
    with pytest.raises(ValueError, match="bands of 64 bits are wider than 57"):
        MultiHashIndex(some, 0, n_bands=1)
    with pytest.raises(ValueError, match="queries must be 2-D with 8 bytes per code"):
        MultiHashIndex(some, 3).pairs(np.ones((2, 4), np.uint8))


def test_cost_model_picks_wide_bands_for_small_radii_and_flat_for_large_ones():
    assert n_patterns(16, 1) == 17 and n_patterns(21, 2) == 232
    # the scanner's default: 64-bit hashes searched at radius 14 // 2 = 7 each
    assert [choose_bands(64, 7, n) for n in (10_000, 1_000_000, 100_000_000)] == [4, 4, 3]
    assert not flat_is_cheaper(64, 7, 10_000) and not flat_is_cheaper(64, 7, 100_000_000)
    # radius 12 on one 64-bit hash: candidates approach a flat scan's
    assert flat_is_cheaper(64, 12, 100_000) and flat_is_cheaper(64, 12, 1_000_000)


# ------------------------------------------------------------------------------------------- scanner
def signatures(rng: np.random.Generator, count: int, variants: bool) -> SimpleNamespace:
    hashes, var = {}, {}
    for h in ("phash", "dhash"):
        hashes[h] = rng.integers(0, 256, (count, 8), dtype=np.uint8)
        hashes[h + "_mirror"] = rng.integers(0, 256, (count, 8), dtype=np.uint8)
        if variants:
            rep = np.repeat(hashes[h], 11, axis=0)
            var[h] = flip_bits(rep, rng.integers(2, 15, len(rep)), rng).reshape(count, 11, 8)
    valid = np.ones(count, bool)
    valid[::97] = False  # unreadable items are never searched
    return SimpleNamespace(hashes=hashes, variants=var, valid=valid)


@pytest.fixture(scope="module")
def planted() -> tuple[SimpleNamespace, SimpleNamespace]:
    """3,000 training and 1,000 validation images' hashes; copies planted at summed distances 0 to 16."""
    rng = np.random.default_rng(11)
    train, val = signatures(rng, 3000, True), signatures(rng, 1000, True)
    rows, source = np.arange(300), rng.integers(0, 3000, 300)
    total = rng.integers(0, 17, 300)
    on_p = np.minimum(rng.integers(0, total + 1), 13)
    val.hashes["phash"][rows] = flip_bits(train.hashes["phash"][source], on_p, rng)
    val.hashes["dhash"][rows] = flip_bits(train.hashes["dhash"][source], total - on_p, rng)
    mirrored = np.arange(300, 400)  # mirror-image copies, found through the mirrored hashes
    for h in ("phash", "dhash"):
        val.hashes[h + "_mirror"][mirrored] = flip_bits(train.hashes[h][source[:100]], np.full(100, 3), rng)
    inside = rng.integers(0, 3000, 200)  # near-copies inside training
    for h in ("phash", "dhash"):
        train.hashes[h][inside[:100]] = flip_bits(train.hashes[h][inside[100:]], np.full(100, 4), rng)
    return val, train


@pytest.mark.parametrize("within", [False, True])
def test_scanner_multihash_path_gives_the_flat_paths_pairs(planted, within: bool):
    val, train = planted
    sa, sb = (train, None) if within else (val, train)
    flat = NearDuplicateScanner(index="flat")._search(sa, sb, not within)
    fast = NearDuplicateScanner(index="multihash")._search(sa, sb, not within)
    auto = NearDuplicateScanner(multihash_above=0)._search(sa, sb, not within)
    assert set(flat) == set(fast) == {"a", "b", "distance", "per_hash", "kind", "mirrored", "isolated", "verified"}
    for key in flat:
        assert np.array_equal(flat[key], fast[key]) and np.array_equal(flat[key], auto[key]), key
    assert (flat["per_hash"] <= 12).all()
    # above the threshold only isolated pairs, up to isolated-threshold, with a hash within 14 // 2
    assert (flat["distance"][~flat["isolated"]] <= 14).all() and (flat["distance"] <= 18).all()
    assert (flat["per_hash"][flat["isolated"]].min(axis=1) <= 7).all()
    assert flat["isolated"].any() == (not within)
    assert len(flat["a"]) > (90 if within else 300)
    if not within:
        assert flat["mirrored"].sum() >= 95 and (flat["kind"] > 0).any()


def test_wide_bands_over_few_codes_use_small_tables():
    rng = np.random.default_rng(3)
    base, queries = codes_with_neighbours(rng, 800, 300, 32, 9)  # 256-bit codes: 11 bands of 23-24 bits
    index = MultiHashIndex(base, 7)
    assert index.n_bands == 11 and index.flips == 0
    assert all(len(offsets) == 2 ** mh.MIN_TABLE_BITS + 1 for offsets, _ in index._tables)
    assert same(index.pairs(queries), hamming_pairs(queries, base, 7))
    narrow = MultiHashIndex(base, 10, n_bands=5)  # 51-52-bit bands probed with 2 flips, keyed by 16 bits
    assert same(narrow.pairs(queries), hamming_pairs(queries, base, 10))


@pytest.mark.parametrize("self_search", [False, True])
def test_forked_probes_give_the_same_pairs(monkeypatch, self_search: bool):
    rng = np.random.default_rng(21)
    base, queries = codes_with_neighbours(rng, 3000, 1200, 8, 9)
    index = MultiHashIndex(base, 7)
    one = index.pairs(None if self_search else queries)
    monkeypatch.setattr(mh, "FORK_ABOVE", 0)
    monkeypatch.setattr(mh, "PROBE_BUDGET", 2_000)  # many small tasks, spread over both processes
    two = index.pairs(None if self_search else queries, jobs=2)
    assert len(one[0]) > 300 and same(one, two)
    assert mh._FORKED is None  # nothing left behind for a later fork
