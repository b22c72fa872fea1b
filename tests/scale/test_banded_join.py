"""The banded join returns exactly the pairs of the faiss flat search (hamming_pairs) below its band count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitcheck.index.banded import (
    band_layout,
    band_values,
    banded_pairs,
    banded_pairs_dask,
    choose_join_bands,
    codes_to_frame,
    default_bands,
    explode_rows,
    frame_to_codes,
    iter_banded_pairs,
    join_bucket_rows,
)
from splitcheck.index.hamming import hamming_pairs


def flip_bits(codes: np.ndarray, rng: np.random.Generator, n_flips: int) -> np.ndarray:
    """A copy of ``codes`` with ``n_flips`` distinct random bits flipped in every row."""
    out = codes.copy()
    n_bits = codes.shape[1] * 8
    for row in range(len(out)):
        for bit in rng.choice(n_bits, size=n_flips, replace=False):
            out[row, bit // 8] ^= np.uint8(1 << (7 - bit % 8))
    return out


def planted(rng: np.random.Generator, n_base: int, n_queries: int,
            n_bytes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random base codes (a tenth of them duplicated inside the base), and queries that are copies of base
    codes with 0 to 6 distinct bits flipped: (queries, base, source of each query, bits flipped)."""
    base = rng.integers(0, 256, (n_base, n_bytes), dtype=np.uint8)
    base[: n_base // 10] = base[n_base // 10: 2 * (n_base // 10)]
    source = rng.integers(0, n_base, n_queries)
    flips = np.arange(n_queries) % 7
    queries = np.concatenate([flip_bits(base[source[k::7]], rng, k) for k in range(7)])
    order = np.concatenate([np.arange(n_queries)[k::7] for k in range(7)])
    return queries, base, source[order], flips[order]


def same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
    return all(np.array_equal(x, y) and x.dtype.kind == y.dtype.kind for x, y in zip(a, b))


def test_band_values_read_the_bits_in_packbits_order():
    bits = np.zeros((1, 24), dtype=np.uint8)
    bits[0, [3, 9, 10, 23]] = 1  # bit 3 is in byte 0; bits 9, 10 in byte 1; bit 23 is the last of byte 2
    codes = np.packbits(bits, axis=1)
    assert band_values(codes, 0, 4).tolist() == [0b0001]
    assert band_values(codes, 3, 11).tolist() == [0b10000011]  # crosses the byte boundary at bit 8
    assert band_values(codes, 20, 24).tolist() == [0b0001]
    assert band_values(codes, 0, 24).tolist() == [int("".join(map(str, bits[0])), 2)]


def test_band_layout_covers_every_bit_once():
    layout = band_layout(128, 5)
    assert layout == [(0, 26), (26, 51), (51, 77), (77, 102), (102, 128)]
    assert default_bands(64, 3) == 4
    assert default_bands(128, 0) == 3  # bands stay at most 57 bits wide
    with pytest.raises(ValueError, match="wider than 57"):
        band_layout(128, 2)


@pytest.mark.parametrize("n_bytes", [8, 16, 3])
@pytest.mark.parametrize("t", [0, 1, 2, 4, 7])
def test_cross_search_equals_flat_search(n_bytes: int, t: int):
    rng = np.random.default_rng(10 * n_bytes + t)
    queries, base, source, flips = planted(rng, 1500, 700, n_bytes)
    expected = hamming_pairs(queries, base, t)
    got = banded_pairs(queries, base, t)
    assert same(got, expected)
    found = set(zip(got[0].tolist(), got[1].tolist(), got[2].tolist()))
    wanted = {(i, int(source[i]), int(flips[i])) for i in range(len(queries)) if flips[i] <= t}
    assert len(wanted) == 100 * min(t + 1, 7)
    assert wanted <= found  # every planted copy within the threshold, at its exact distance


@pytest.mark.parametrize("t", [0, 1, 3, 6])
def test_self_search_equals_flat_search(t: int):
    rng = np.random.default_rng(t)
    queries, base, _, _ = planted(rng, 2000, 400, 8)
    codes = np.concatenate([base, queries])
    expected = hamming_pairs(codes, None, t)
    assert len(expected[0]) >= 200  # the identical codes planted in the base
    assert same(banded_pairs(codes, None, t), expected)


def test_partitions_and_tiny_budget_change_nothing():
    rng = np.random.default_rng(5)
    queries, base, _, _ = planted(rng, 800, 300, 8)
    base[:40] = base[0]  # one large bucket: 40 identical codes
    for target in (base, None):
        expected = hamming_pairs(queries if target is not None else base, target, 3)
        for parts, budget in ((4, 7), (1, 1), (3, 1000)):
            got = banded_pairs(queries if target is not None else base, target, 3, n_partitions=parts,
                               budget=budget)
            assert same(got, expected), (parts, budget)


def test_chunks_hold_each_pair_once():
    rng = np.random.default_rng(6)
    queries, base, _, _ = planted(rng, 600, 300, 8)
    chunks = list(iter_banded_pairs(queries, base, 5, budget=50))
    pairs = [(int(q), int(b)) for c in chunks for q, b in zip(c[0], c[1])]
    assert len(chunks) > 3
    assert len(pairs) == len(set(pairs)) == len(hamming_pairs(queries, base, 5)[0])


def test_more_bands_than_needed_still_exact():
    rng = np.random.default_rng(7)
    queries, base, _, _ = planted(rng, 500, 200, 8)
    assert same(banded_pairs(queries, base, 2, n_bands=16), hamming_pairs(queries, base, 2))


@pytest.mark.parametrize("n_bands", [9, 70])  # 70 bands: the (band, value) key no longer fits one sort word
def test_exploded_rows_of_many_bands_join_exactly(n_bands: int):
    rng = np.random.default_rng(n_bands)
    queries, base, _, _ = planted(rng, 300, 140, 9)
    layout = band_layout(72, n_bands)
    codes = np.concatenate([queries, base])
    item = np.concatenate([np.arange(len(queries)), np.arange(len(base))])
    side = np.concatenate([np.zeros(len(queries), np.int8), np.ones(len(base), np.int8)])
    rows = explode_rows(item, side, codes, layout)
    chunks = list(join_bucket_rows(rows, layout, 6, self_search=False, budget=100 if n_bands < 64 else 100_000))
    got = {(int(a), int(b), int(d)) for c in chunks for a, b, d in zip(*c)}
    q, b, d = hamming_pairs(queries, base, 6)
    assert sum(len(c[0]) for c in chunks) == len(got) == len(q) >= 100
    assert got == set(zip(q.tolist(), b.tolist(), d.tolist()))


def test_refuses_too_few_bands_and_bad_shapes():
    codes = np.zeros((4, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="more bands than max_distance"):
        banded_pairs(codes, codes, 4, n_bands=4)
    with pytest.raises(ValueError, match="below the code length"):
        banded_pairs(codes, codes, 64)
    with pytest.raises(ValueError, match="same width"):
        banded_pairs(codes, np.zeros((4, 16), dtype=np.uint8), 2)
    empty = banded_pairs(codes[:0], codes, 2)
    assert [len(x) for x in empty] == [0, 0, 0]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), m=st.integers(0, 60), n_bytes=st.integers(1, 9),
       t=st.integers(0, 12), extra_bands=st.integers(0, 3), self_search=st.booleans())
def test_equals_flat_search_on_random_codes(seed, n, m, n_bytes, t, extra_bands, self_search):
    rng = np.random.default_rng(seed)
    n_bits = 8 * n_bytes
    t = min(t, n_bits - 1)
    bands = min(n_bits, max(default_bands(n_bits, t), t + 1 + extra_bands))
    base = rng.integers(0, 256, (m, n_bytes), dtype=np.uint8)
    queries = rng.integers(0, 256, (n, n_bytes), dtype=np.uint8)
    if n and m:  # near copies, so small thresholds find something
        k = min(n, m) // 2
        queries[:k] = base[:k] ^ rng.choice([0, 1, 2, 4, 8], size=(k, n_bytes)).astype(np.uint8)
    target = None if self_search else base
    expected = hamming_pairs(queries, target, t)
    assert same(banded_pairs(queries, target, t, n_bands=bands, budget=int(rng.integers(1, 50))), expected)


def test_frame_layout_round_trips_codes():
    rng = np.random.default_rng(8)
    for n_bytes in (1, 8, 9, 16):
        codes = rng.integers(0, 256, (37, n_bytes), dtype=np.uint8)
        frame = codes_to_frame(codes, np.arange(100, 137))
        assert list(frame.columns) == ["item", *(f"w{k}" for k in range(-(-n_bytes // 8)))]
        assert frame["item"].tolist() == list(range(100, 137))
        assert np.array_equal(frame_to_codes(frame, n_bytes), codes)


def test_dask_join_equals_flat_search():
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(9)
    queries, base, _, _ = planted(rng, 1200, 350, 16)
    queries_frame = dd.from_pandas(codes_to_frame(queries, np.arange(len(queries)) + 5000), npartitions=3)
    base_frame = dd.from_pandas(codes_to_frame(base), npartitions=4)
    for t in (0, 3):
        for target, frame in ((base, base_frame), (None, None)):
            expected = hamming_pairs(queries if target is not None else base, target, t)
            source = queries_frame if target is not None else base_frame
            got = banded_pairs_dask(source, frame, t, n_bytes=16, npartitions=5).compute(scheduler="threads")
            got = got.sort_values(["a", "distance", "b"])
            shift = 5000 if target is not None else 0
            assert np.array_equal(got["a"].to_numpy() - shift, expected[0])
            assert np.array_equal(got["b"].to_numpy(), expected[1])
            assert np.array_equal(got["distance"].to_numpy(), expected[2])


@pytest.mark.parametrize(("t", "n_bands", "flips"), [(7, 4, 1), (5, 3, 1), (8, 3, 2), (3, 4, 0)])
def test_dask_join_with_flipped_probes_equals_flat_search(t: int, n_bands: int, flips: int):
    """Multi-index hashing as a join: query rows probe every band value within ``flips`` bits; each pair once,
    in the first band that meets it, across and inside one set (made as a cross search, pairs a < b)."""
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(t + 10 * n_bands)
    queries, base, _, _ = planted(rng, 900, 300, 8)
    queries = np.concatenate([queries, flip_bits(queries[:60], rng, t)])  # pairs at exactly the radius too
    queries_frame = dd.from_pandas(codes_to_frame(queries, np.arange(len(queries)) + 5000), npartitions=3)
    base_frame = dd.from_pandas(codes_to_frame(base), npartitions=4)
    for target, frame in ((base, base_frame), (None, None)):
        expected = hamming_pairs(queries if target is not None else base, target, t)
        source = queries_frame if target is not None else base_frame
        got = banded_pairs_dask(source, frame, t, n_bytes=8, n_bands=n_bands, flips=flips,
                                npartitions=5).compute(scheduler="threads")
        got = got.sort_values(["a", "distance", "b"])
        shift = 5000 if target is not None else 0
        assert len(expected[0]) >= len(base) // 10  # the duplicated tenth of the base, at least
        assert np.array_equal(got["a"].to_numpy() - shift, expected[0])
        assert np.array_equal(got["b"].to_numpy(), expected[1])
        assert np.array_equal(got["distance"].to_numpy(), expected[2])
    with pytest.raises(ValueError, match=r"n_bands \* \(flips \+ 1\)"):
        banded_pairs_dask(queries_frame, base_frame, n_bands * (flips + 1), n_bytes=8, n_bands=n_bands, flips=flips)


def test_join_layout_is_exact_and_takes_fewer_rows_than_probing_more():
    """Every layout the join chooses is exact (pigeonhole); small self searches take plain bands, large bases
    probe 4 bands of 16 bits with 1 flip, never 3 bands with 2 flips (254 probe rows per band)."""
    for t in range(20):
        for n_queries, n_base in ((100, 100), (18_000, 18_000), (10_000, 1_080_000), (90_000, 90_000)):
            n_bands, flips = choose_join_bands(64, t, n_queries, n_base)
            assert n_bands * (flips + 1) > t and flips == t // n_bands
    assert choose_join_bands(64, 7, 18_000, 18_000) == (8, 0)
    assert choose_join_bands(64, 7, 10_000, 1_080_000) == (4, 1)
    assert choose_join_bands(64, 7, 9_000_000, 9_000_000) == (4, 1)
