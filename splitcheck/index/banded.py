"""Exact Hamming range search by a banded join: no process needs every hash, memory stays bounded.

Each code of ``n_bits`` bits is cut into ``n_bands`` contiguous bands. If two codes differ in at most
``t`` bits and ``t < n_bands``, some band holds none of the differing bits (pigeonhole), so the two codes
agree exactly on that band. The candidates are therefore the pairs that share a *(band index, band value)*
key: a plain equi-join, which pandas, numpy or a Dask dataframe shuffle can do without ever holding all
codes in one place. Every candidate is then verified on its full code, so the result is exact: the same
pairs, with the same distances, as :func:`splitcheck.index.hamming.hamming_pairs` (which compares
everything with everything in one faiss index).

A pair that agrees on several bands is met once per such band; it is kept only in the first band where
it agrees (checked on the codes themselves), so no global de-duplication is needed and the join can run
bucket by bucket, chunk by chunk, or partition by partition on a cluster.

Cost: for random codes a band of ``w`` bits holds about ``n / 2**w`` items per value, so the candidates
per band are about ``n**2 / 2**(w + 1)``. The join is cheap while the bands are wider than ``log2(n)``
bits, i.e. for ``t < n_bits / log2(n)`` (128-bit codes at 10M items: ``t <= 4``); at larger thresholds
the candidates approach all pairs and a sharded brute-force search (faiss flat) is the better tool.
Clustered codes (many near-identical images) raise the candidate count for the same reason they raise
the result count.

On Dask (:func:`banded_pairs_dask`) the join can also probe: with ``flips`` each query row is repeated once per
pattern of at most ``flips`` flipped bits of its band value, which is multi-index hashing
(:mod:`splitcheck.index.multihash`) written as an equi-join: exact when ``n_bands * (flips + 1) > t``, so wider
bands serve larger thresholds (``t = 7`` of 64 bits: 4 bands of 16 bits and 1 flip, 17 probe rows per band,
instead of 8 bands of 8 bits). A pair is then kept only from the first band where it is within ``flips`` bits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

#: Widest band (bits): a band's value must fit in 64 bits after gathering at most 8 whole bytes.
MAX_BAND_BITS = 57
#: Candidate pairs verified per step (bounds the temporary arrays: about 40 bytes per candidate
#: plus two copies of the codes).
CANDIDATE_BUDGET = 2_000_000
#: Cost model of the join on Dask (nanoseconds, measured on this 2-core machine with a 2-worker LocalCluster):
#: one join row made, shuffled and sorted (~1 µs in one process, ~4 µs on the cluster), one candidate verified.
JOIN_ROW_NS = 2000.0
JOIN_CANDIDATE_NS = 50.0

_POPCOUNT = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def default_bands(n_bits: int, max_distance: int) -> int:
    """The fewest bands (so the widest, most selective ones) that make the join exact for ``max_distance``."""
    return max(int(max_distance) + 1, math.ceil(n_bits / MAX_BAND_BITS))


def band_layout(n_bits: int, n_bands: int) -> list[tuple[int, int]]:
    """Bit ranges ``[start, stop)`` of ``n_bands`` contiguous bands of near-equal width covering the code."""
    if not 1 <= n_bands <= n_bits:
        raise ValueError(f"n_bands must be between 1 and the number of bits ({n_bits}); got {n_bands}")
    edges = [round(k * n_bits / n_bands) for k in range(n_bands + 1)]
    layout = list(itertools.pairwise(edges))
    widest = max(stop - start for start, stop in layout)
    if widest > MAX_BAND_BITS:
        raise ValueError(f"bands of {widest} bits are wider than {MAX_BAND_BITS}; use at least "
                         f"{math.ceil(n_bits / MAX_BAND_BITS)} bands for {n_bits}-bit codes")
    return layout


def band_values(codes: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The value of bits ``[start, stop)`` of each packed code (``numpy.packbits`` order), as uint64."""
    first, last = start // 8, (stop - 1) // 8
    value = np.zeros(len(codes), dtype=np.uint64)
    for byte in range(first, last + 1):
        value = (value << np.uint64(8)) | codes[:, byte].astype(np.uint64)
    value >>= np.uint64(8 * (last + 1) - stop)
    return value & np.uint64((1 << (stop - start)) - 1)


def n_patterns(width: int, flips: int) -> int:
    """Flip patterns of at most ``flips`` bits in a ``width``-bit band."""
    return sum(math.comb(width, i) for i in range(min(flips, width) + 1))


def choose_join_bands(n_bits: int, max_distance: int, n_queries: int, n_base: int) -> tuple[int, int]:
    """The bands and flips of the cheapest exact join of ``n_queries`` codes against ``n_base`` random codes.

    Each option ``m`` bands with ``max_distance // m`` flips costs its rows (queries times flip patterns, base
    codes once per band) at :data:`JOIN_ROW_NS` and its candidates (probe rows times base codes per band value)
    at :data:`JOIN_CANDIDATE_NS`. Rows dominate a shuffle, so it takes fewer flips than the in-memory
    multi-index hashing would (:func:`splitcheck.index.multihash.choose_bands`).
    """
    def cost(m: int) -> float:
        flips = int(max_distance) // m
        layout = band_layout(n_bits, m)
        probes = [n_patterns(stop - start, flips) for start, stop in layout]
        rows = n_queries * sum(probes) + n_base * m
        candidates = sum(n_queries * p * n_base / 2.0 ** (stop - start) for p, (start, stop) in zip(probes, layout))
        return rows * JOIN_ROW_NS + candidates * JOIN_CANDIDATE_NS

    fewest = math.ceil(n_bits / MAX_BAND_BITS)
    n_bands = min(range(fewest, max(fewest, min(n_bits, int(max_distance) + 1)) + 1), key=lambda m: (cost(m), m))
    return n_bands, int(max_distance) // n_bands


def flip_masks(width: int, flips: int) -> np.ndarray:
    """Every pattern of at most ``flips`` set bits in a ``width``-bit value (0 first), as uint64."""
    masks = [0]
    for k in range(1, min(flips, width) + 1):
        masks.extend(sum(1 << p for p in combo) for combo in itertools.combinations(range(width), k))
    return np.array(masks, dtype=np.uint64)


def _within_flips(a: np.ndarray, b: np.ndarray, flips: int) -> np.ndarray:
    """Whether two arrays of band values differ in at most ``flips`` bits."""
    if flips == 0:
        return a == b
    xor = np.bitwise_xor(a, b)
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(xor) <= flips
    return _POPCOUNT[xor.view(np.uint8).reshape(-1, 8)].sum(axis=1) <= flips  # pragma: no cover - numpy 1.x


def code_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance of two equally shaped packed code arrays (int32)."""
    xor = np.bitwise_xor(a, b)
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(xor).sum(axis=1, dtype=np.int32)
    return _POPCOUNT[xor].sum(axis=1, dtype=np.int32)  # pragma: no cover - numpy 1.x


def banded_pairs(
    queries: np.ndarray,
    base: np.ndarray | None,
    max_distance: int,
    *,
    n_bands: int | None = None,
    n_partitions: int = 1,
    budget: int = CANDIDATE_BUDGET,
) -> Pairs:
    """Every (query, base) pair at Hamming distance <= ``max_distance``, by a banded join.

    Same contract as :func:`splitcheck.index.hamming.hamming_pairs`: with ``base=None`` the queries are
    searched against themselves and each unordered pair is returned once as ``(i, j)`` with ``i < j``;
    returns ``(query_index, base_index, distance)`` sorted by query index, then distance, then base index.
    ``n_bands`` must exceed ``max_distance`` (default :func:`default_bands`). ``n_partitions`` splits each
    band's keys into that many parts joined one after the other, so the working memory is about
    ``1 / n_partitions`` of a band's rows plus ``budget`` candidates.
    """
    chunks = list(iter_banded_pairs(queries, base, max_distance, n_bands=n_bands, n_partitions=n_partitions,
                                    budget=budget))
    if not chunks:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    q = np.concatenate([c[0] for c in chunks])
    b = np.concatenate([c[1] for c in chunks])
    d = np.concatenate([c[2] for c in chunks])
    order = np.lexsort((b, d, q))
    return q[order], b[order], d[order]


def iter_banded_pairs(
    queries: np.ndarray,
    base: np.ndarray | None,
    max_distance: int,
    *,
    n_bands: int | None = None,
    n_partitions: int = 1,
    budget: int = CANDIDATE_BUDGET,
) -> Iterator[Pairs]:
    """The pairs of :func:`banded_pairs` as unordered chunks, each pair exactly once (bounded memory)."""
    queries = np.ascontiguousarray(queries, dtype=np.uint8)
    self_search = base is None
    base_arr = queries if base is None else np.ascontiguousarray(base, dtype=np.uint8)
    if queries.ndim != 2 or base_arr.ndim != 2 or queries.shape[1] != base_arr.shape[1]:
        raise ValueError(f"hash arrays must be 2-D with the same width; got {queries.shape} and {base_arr.shape}")
    n_bits = queries.shape[1] * 8
    t = int(max_distance)
    if t < 0:
        raise ValueError(f"max_distance must be >= 0; got {max_distance}")
    if len(queries) == 0 or len(base_arr) == 0 or n_bits == 0:
        return
    if t >= n_bits:
        raise ValueError(f"a banded join needs max_distance below the code length ({n_bits} bits); got {t}")
    bands = default_bands(n_bits, t) if n_bands is None else int(n_bands)
    if bands <= t:
        raise ValueError(f"a banded join is exact only with more bands than max_distance; got {bands} bands "
                         f"for max_distance {t}")
    if n_partitions < 1 or budget < 1:
        raise ValueError(f"n_partitions and budget must be >= 1; got {n_partitions} and {budget}")
    layout = band_layout(n_bits, bands)
    if self_search:
        codes, item, side = queries, np.arange(len(queries), dtype=np.int64), np.zeros(len(queries), np.int8)
    else:  # one table of rows: the queries, then the base
        codes = np.concatenate([queries, base_arr])
        item = np.concatenate([np.arange(len(queries), dtype=np.int64), np.arange(len(base_arr), dtype=np.int64)])
        side = np.concatenate([np.zeros(len(queries), np.int8), np.ones(len(base_arr), np.int8)])
    for band, (start, stop) in enumerate(layout):
        values = band_values(codes, start, stop)
        if n_partitions == 1:
            yield from join_bucket_rows(_Rows(band, values, side, item, codes), layout, t,
                                        self_search=self_search, budget=budget)
            continue
        part_of = _partition_of(values, n_partitions)
        for part in range(n_partitions):
            sel = np.flatnonzero(part_of == part)
            rows = _Rows(band, values[sel], side[sel], item[sel], codes, code_row=sel)
            yield from join_bucket_rows(rows, layout, t, self_search=self_search, budget=budget)


class _Rows:
    """Join rows: the key (band index, band value), the side (0 query, 1 base), the item, and its code.

    ``band`` is one int when every row is of the same band. Row ``r``'s code is ``codes[code_row[r]]``
    (``codes[r]`` when ``code_row`` is None), so the local join never copies the codes.
    """

    __slots__ = ("band", "code_row", "codes", "item", "side", "value")

    def __init__(self, band: int | np.ndarray, value: np.ndarray, side: np.ndarray, item: np.ndarray,
                 codes: np.ndarray, code_row: np.ndarray | None = None) -> None:
        self.band, self.value, self.side, self.item = band, value, side, item
        self.codes, self.code_row = codes, code_row

    def codes_of(self, rows: np.ndarray) -> np.ndarray:
        return self.codes[rows if self.code_row is None else self.code_row[rows]]


def _partition_of(values: np.ndarray, n_partitions: int) -> np.ndarray:
    """A well-mixed partition number of each band value (multiplicative hashing of the uint64)."""
    mixed = values * np.uint64(0x9E3779B97F4A7C15)
    return ((mixed >> np.uint64(32)) % np.uint64(n_partitions)).astype(np.int64)


def explode_rows(item: np.ndarray, side: np.ndarray, codes: np.ndarray, layout: list[tuple[int, int]]) -> _Rows:
    """The join rows of some items: each item once per band, keyed by (band index, band value)."""
    n = len(item)
    values = [band_values(codes, start, stop) for start, stop in layout]
    return _Rows(np.repeat(np.arange(len(layout), dtype=np.int16), n),
                 np.concatenate(values) if values else np.empty(0, np.uint64),
                 np.tile(side, len(layout)), np.tile(item, len(layout)), codes,
                 code_row=np.tile(np.arange(n, dtype=np.int64), len(layout)))


def _probe_rows(rows: _Rows, layout: list[tuple[int, int]], flips: int) -> _Rows:
    """Each row once per pattern of at most ``flips`` flipped bits of its band value (the row's band's width)."""
    band = np.asarray(rows.band)
    value_parts, order_parts = [], []
    for k, (start, stop) in enumerate(layout):
        sel = np.flatnonzero(band == k)
        masks = flip_masks(stop - start, flips)
        value_parts.append((rows.value[sel, None] ^ masks[None, :]).ravel())
        order_parts.append(np.repeat(sel, len(masks)))
    sel = np.concatenate(order_parts) if order_parts else np.empty(0, np.int64)
    code_row = sel if rows.code_row is None else rows.code_row[sel]
    return _Rows(band[sel], np.concatenate(value_parts) if value_parts else np.empty(0, np.uint64),
                 rows.side[sel], rows.item[sel], rows.codes, code_row=code_row)


def _sort_rows(rows: _Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order of the rows by (band, value, side), each row's group key (band, value) and side, in that order.

    One uint64 sort key when it fits (values have at most 57 bits; up to 63 bands), else a lexsort.
    """
    side = rows.side.astype(np.uint64)
    if isinstance(rows.band, (int, np.integer)):
        key = (rows.value << np.uint64(1)) | side
    elif len(rows.band) == 0 or int(rows.band.max()) < 64:
        key = (rows.band.astype(np.uint64) << np.uint64(58)) | (rows.value << np.uint64(1)) | side
    else:
        order = np.lexsort((rows.side, rows.value, rows.band))
        group = np.unique(np.stack([rows.band[order].astype(np.uint64), rows.value[order]], axis=1), axis=0,
                          return_inverse=True)[1].ravel().astype(np.uint64)
        return order, group, rows.side[order]
    order = np.argsort(key)
    key = key[order]
    return order, key >> np.uint64(1), (key & np.uint64(1)).astype(np.int8)


def join_bucket_rows(rows: _Rows, layout: list[tuple[int, int]], max_distance: int, *, self_search: bool,
                     budget: int = CANDIDATE_BUDGET, flips: int = 0) -> Iterator[Pairs]:
    """Verified pairs among rows that hold *every* row of each (band, value) key they contain.

    This is the per-partition step of the join (locally one band at a time; on a cluster one shuffle
    partition at a time). Cross search pairs side-0 rows with side-1 rows; self search pairs rows with
    each other, returned as ``(min item, max item)``. A pair is yielded only from the first band on which
    its codes are within ``flips`` bits (agree, with no flips), so each pair comes out once overall.
    """
    if len(rows.value) < 2:
        return
    order, group_key, side = _sort_rows(rows)
    n = len(order)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = group_key[1:] != group_key[:-1]
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    ends = np.append(starts[1:], n)
    end = ends[group]
    position = np.arange(n, dtype=np.int64)
    if self_search:
        lo = position + 1
        hi = end
    else:
        # inside a group the queries (side 0) come first; each query meets the group's base rows
        n_queries = np.add.reduceat((side == 0).astype(np.int64), starts)
        lo = starts[group] + n_queries[group]
        hi = np.where(side == 0, end, lo)
    counts = np.maximum(hi - lo, 0)
    todo = np.flatnonzero(counts)
    if not len(todo):
        return
    # split every position's partner range into pieces of at most `budget`, then batch the pieces
    pieces = -(-counts[todo] // budget)
    piece_pos = np.repeat(todo, pieces)
    piece_k = np.arange(len(piece_pos)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_lo = lo[piece_pos] + piece_k * budget
    piece_n = np.minimum(hi[piece_pos] - piece_lo, budget)
    cumulative = np.cumsum(piece_n)
    batch_of = (cumulative - 1) // budget
    boundaries = np.flatnonzero(np.diff(batch_of)) + 1
    for chunk in np.split(np.arange(len(piece_pos)), boundaries):
        sizes = piece_n[chunk]
        total = int(sizes.sum())
        left = np.repeat(piece_pos[chunk], sizes)
        offset = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        right = np.repeat(piece_lo[chunk], sizes) + offset
        row_left, row_right = order[left], order[right]
        bands = np.full(total, rows.band, np.int16) if isinstance(rows.band, (int, np.integer)) \
            else rows.band[row_left]
        yield from _verify(rows, row_left, row_right, bands, layout, max_distance, self_search, flips)


def _verify(rows: _Rows, r1: np.ndarray, r2: np.ndarray, band: np.ndarray, layout: list[tuple[int, int]],
            max_distance: int, self_search: bool, flips: int = 0) -> Iterator[Pairs]:
    """Keep candidates within the distance whose codes meet (within ``flips`` bits) on no band before the
    one that met them."""
    c1, c2 = rows.codes_of(r1), rows.codes_of(r2)
    d = code_distances(c1, c2)
    keep = d <= max_distance
    if not keep.any():
        return
    r1, r2, d, band, c1, c2 = r1[keep], r2[keep], d[keep], band[keep], c1[keep], c2[keep]
    first = np.ones(len(r1), dtype=bool)
    for k in range(int(band.max())):
        earlier = band > k
        if earlier.any():
            start, stop = layout[k]
            met = _within_flips(band_values(c1[earlier], start, stop), band_values(c2[earlier], start, stop), flips)
            first[np.flatnonzero(earlier)[met]] = False
    if not first.any():
        return
    i, j = rows.item[r1[first]].astype(np.int64), rows.item[r2[first]].astype(np.int64)
    if self_search:
        i, j = np.minimum(i, j), np.maximum(i, j)
    yield i, j, d[first].astype(np.int32)


# ---------------------------------------------------------------------------------------------- frames
def codes_to_frame(codes: np.ndarray, item: np.ndarray | None = None) -> pd.DataFrame:
    """Packed codes as a frame of ``item`` (int64) and ``w0 .. w{k-1}`` (uint64 words, zero-padded).

    Numeric columns travel through Parquet and a Dask shuffle unchanged (bytes objects would not).
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    n, n_bytes = codes.shape
    words = -(-n_bytes // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :n_bytes] = codes
    values = padded.view(">u8").astype(np.uint64)
    frame = pd.DataFrame({f"w{k}": values[:, k] for k in range(words)})
    frame.insert(0, "item", np.arange(n, dtype=np.int64) if item is None else np.asarray(item, dtype=np.int64))
    return frame


def frame_to_codes(frame: pd.DataFrame, n_bytes: int) -> np.ndarray:
    """The packed codes (n, n_bytes) uint8 held in a frame's ``w*`` columns (see :func:`codes_to_frame`)."""
    words = -(-n_bytes // 8)
    values = np.stack([frame[f"w{k}"].to_numpy(dtype=np.uint64) for k in range(words)], axis=1) if len(frame) \
        else np.zeros((0, words), dtype=np.uint64)
    return np.ascontiguousarray(values.astype(">u8")).view(np.uint8).reshape(len(frame), words * 8)[:, :n_bytes]


def _explode_frame(frame: pd.DataFrame, layout: list[tuple[int, int]], n_bytes: int, side: int,
                   flips: int = 0) -> pd.DataFrame:
    """The join rows of a partition of codes; with ``flips`` (query side), one row per band and flip pattern."""
    codes = frame_to_codes(frame, n_bytes)
    rows = explode_rows(frame["item"].to_numpy(dtype=np.int64), np.full(len(frame), side, np.int8), codes, layout)
    if flips:
        rows = _probe_rows(rows, layout, flips)
    out = codes_to_frame(rows.codes_of(np.arange(len(rows.item))), rows.item)
    out.insert(0, "side", rows.side)
    out.insert(0, "value", rows.value)
    out.insert(0, "band", rows.band)
    return out


def _join_frame(frame: pd.DataFrame, layout: list[tuple[int, int]], n_bytes: int, max_distance: int,
                self_search: bool, budget: int, flips: int = 0, upper: bool = False) -> pd.DataFrame:
    """Join one shuffle partition; ``upper`` keeps only pairs ``a < b`` (a self search made as a cross search)."""
    rows = _Rows(frame["band"].to_numpy(dtype=np.int16), frame["value"].to_numpy(dtype=np.uint64),
                 frame["side"].to_numpy(dtype=np.int8), frame["item"].to_numpy(dtype=np.int64),
                 frame_to_codes(frame, n_bytes))
    parts = list(join_bucket_rows(rows, layout, max_distance, self_search=self_search, budget=budget, flips=flips))
    if not parts:
        return _pairs_frame(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32))
    a, b, d = (np.concatenate([p[k] for p in parts]) for k in range(3))
    if upper:
        keep = a < b
        a, b, d = a[keep], b[keep], d[keep]
    return _pairs_frame(a, b, d)


def _pairs_frame(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"a": a.astype(np.int64), "b": b.astype(np.int64), "distance": d.astype(np.int32)})


def banded_pairs_dask(queries, base, max_distance: int, *, n_bytes: int,  # type: ignore[no-untyped-def]
                      n_bands: int | None = None, npartitions: int | None = None,
                      budget: int = CANDIDATE_BUDGET, flips: int = 0):
    """The banded join on a Dask cluster: a lazy Dask DataFrame of pairs ``a, b, distance`` (unordered).

    ``queries`` and ``base`` are Dask DataFrames in the layout of :func:`codes_to_frame` (``item`` plus
    ``w*`` words; e.g. read from signature shards); ``base=None`` searches the queries against themselves
    (pairs ``a < b``). Each item becomes one row per band; a shuffle on (band, value) brings every row of a
    key to one partition, which is joined and verified there, so no worker holds more than its partitions.
    Same pairs and distances as :func:`banded_pairs` on the same codes and items.

    With ``flips`` (multi-index hashing as a join) each query row is repeated once per pattern of at most
    ``flips`` flipped bits of its band value, so a pair is met on every band where it differs in at most
    ``flips`` bits; exact when ``n_bands * (flips + 1) > max_distance`` (pigeonhole), with fewer, wider bands
    and far fewer candidates than ``flips = 0`` needs (4 bands of 16 bits with 1 flip instead of 8 bands of 8
    bits at distance 7 of 64 bits). A self search is then made as a cross search of the codes with themselves.
    """
    import dask.dataframe as dd

    n_bits = 8 * n_bytes
    t = int(max_distance)
    bands = default_bands(n_bits, t) if n_bands is None else int(n_bands)
    if not 0 <= t < n_bits or bands * (flips + 1) <= t or flips < 0:
        raise ValueError(f"a banded join needs 0 <= max_distance < n_bands * (flips + 1) and n_bands <= {n_bits} "
                         f"bits; got max_distance {t}, {bands} bands, {flips} flips")
    layout = band_layout(n_bits, bands)
    words = -(-n_bytes // 8)
    row_meta = pd.DataFrame({"band": np.empty(0, np.int16), "value": np.empty(0, np.uint64),
                             "side": np.empty(0, np.int8), "item": np.empty(0, np.int64),
                             **{f"w{k}": np.empty(0, np.uint64) for k in range(words)}})
    upper = base is None and flips > 0
    if upper:
        base = queries
    sides = [(queries, 0)] if base is None else [(queries, 0), (base, 1)]
    rows = dd.concat([frame.map_partitions(_explode_frame, layout, n_bytes, side, flips if side == 0 else 0,
                                           meta=row_meta) for frame, side in sides])
    parts = npartitions or max(1, rows.npartitions)
    rows = rows.shuffle(on=["band", "value"], npartitions=parts)
    pair_meta = _pairs_frame(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32))
    return rows.map_partitions(_join_frame, layout, n_bytes, t, base is None, budget, flips, upper, meta=pair_meta)
