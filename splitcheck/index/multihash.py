"""Exact Hamming range search by multi-index hashing: bucket tables on bands of the code, probed with bit flips.

Each code of ``n_bits`` bits is cut into ``m`` contiguous bands. If two codes differ in at most ``t`` bits,
some band holds at most ``s = t // m`` of the differing bits (pigeonhole: ``m * (s + 1) > t``). So every
pair within ``t`` is found by looking up, in each band's bucket table of the base, the query's band value
with every pattern of at most ``s`` flipped bits, then verifying the candidates on the full code. The
result is exact: the same pairs and distances as :func:`splitcheck.index.hamming.hamming_pairs` (faiss
``IndexBinaryFlat``, which compares every query with every base code).

A bucket table is a CSR array over all ``2**w`` values of a ``w``-bit band (``w <= MAX_TABLE_BITS``):
one lookup per probe, no hashing, vectorised over queries and flip patterns. A pair is met in every band
where its band distance is at most ``s``; it is kept only from the first such band (checked on the codes),
so each pair comes out once without a global de-duplication. A band wider than its table
(:func:`table_bits`) is keyed by its low bits: more candidates, all verified, and "met" then means within
``s`` on those bits.

Cost per query: ``sum over bands of patterns * (LOOKUP_NS + n_base / 2**w * CANDIDATE_NS)`` against
``n_base * FLAT_NS`` for faiss flat; :func:`choose_bands` picks the number of bands that minimises it.
Multi-index hashing wins when ``t`` is small against the code length (``t = 7`` of 64 bits: 4 bands of 16
bits probed with up to 1 flipped bit, 3 bands of 21-22 bits with up to 2 above ~10M codes); at ``t = 12`` of
64 bits its candidates approach a flat scan's.
The near-duplicate scanner therefore searches each of its ``h`` hashes at radius ``threshold // h``
(pigeonhole again: a pair whose summed distance is at most the threshold is that close on some hash) and
verifies the union on all hashes. Constants measured in ``benchmarks/scaling/near_index.py``.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator

import numpy as np

from splitcheck.index.banded import _POPCOUNT, band_layout, band_values, flip_masks, n_patterns

#: Widest band with a bucket table (2**24 offsets: 64 MB of int32 at most).
MAX_TABLE_BITS = 24
#: A band's table is indexed by its low ``max(MIN_TABLE_BITS, log2(n_base) + 1)`` bits at most (a superset
#: of the candidates, all verified), so wide bands over few codes do not allocate huge tables.
MIN_TABLE_BITS = 16
#: Cost model (nanoseconds on this 2-core machine, benchmarks/scaling/near_index.py): one probe of a table
#: that fits in the L2 cache (at most 2**CACHED_TABLE_BITS offsets) or not, one candidate verified, one
#: faiss flat comparison.
CACHED_TABLE_BITS = 18
LOOKUP_NS_CACHED = 10.0
LOOKUP_NS = 55.0
CANDIDATE_NS = 50.0
FLAT_NS = 1.1
#: Probes (query x flip pattern) per step, and candidates verified per step (bound the temporary arrays).
PROBE_BUDGET = 4_000_000
CANDIDATE_BUDGET = 2_000_000

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def estimated_ns(n_bits: int, max_distance: int, n_base: int, n_bands: int) -> float:
    """Estimated cost of one query with ``n_bands`` bands (random codes; see the module docstring)."""
    flips = int(max_distance) // n_bands
    total = 0.0
    for start, stop in band_layout(n_bits, n_bands):
        width = stop - start
        bits = min(width, table_bits(n_base))
        lookup = LOOKUP_NS_CACHED if bits <= CACHED_TABLE_BITS else LOOKUP_NS
        total += n_patterns(width, flips) * (lookup + n_base / 2.0 ** bits * CANDIDATE_NS)
    return total


def table_bits(n_base: int) -> int:
    """Bits of a band value that index its bucket table for ``n_base`` codes."""
    return min(MAX_TABLE_BITS, max(MIN_TABLE_BITS, math.ceil(math.log2(max(n_base, 1))) + 1))


def choose_bands(n_bits: int, max_distance: int, n_base: int) -> int:
    """The number of bands (each at most :data:`MAX_TABLE_BITS` wide) with the lowest estimated cost."""
    lowest = math.ceil(n_bits / MAX_TABLE_BITS)
    options = range(lowest, max(lowest, min(n_bits, int(max_distance) + 1)) + 1)
    return min(options, key=lambda m: (estimated_ns(n_bits, max_distance, n_base, m), m))


def flat_is_cheaper(n_bits: int, max_distance: int, n_base: int) -> bool:
    """True when faiss flat search is estimated cheaper per query than the best multi-index layout."""
    m = choose_bands(n_bits, max_distance, n_base)
    return n_base * FLAT_NS <= estimated_ns(n_bits, max_distance, n_base, m)


class MultiHashIndex:
    """Bucket tables over ``base`` codes (packed ``uint8``, ``numpy.packbits`` order) for radius ``max_distance``.

    Built once, searched by several query sets (e.g. images and their mirror images). ``n_bands`` defaults
    to :func:`choose_bands`.
    """

    def __init__(self, base: np.ndarray, max_distance: int, *, n_bands: int | None = None) -> None:
        self.base = np.ascontiguousarray(base, dtype=np.uint8)
        if self.base.ndim != 2:
            raise ValueError(f"hash arrays must be 2-D; got shape {self.base.shape}")
        self.n_bits = self.base.shape[1] * 8
        self.max_distance = int(max_distance)
        if not 0 <= self.max_distance < max(self.n_bits, 1):
            raise ValueError(f"max_distance must be between 0 and the code length ({self.n_bits} bits) minus 1; "
                             f"got {max_distance}")
        self.n_bands = choose_bands(self.n_bits, self.max_distance, len(self.base)) if n_bands is None \
            else int(n_bands)
        self.layout = band_layout(self.n_bits, self.n_bands)  # bands of at most 57 bits
        self.flips = self.max_distance // self.n_bands
        self._keep = [(1 << min(stop - start, table_bits(len(self.base)))) - 1 for start, stop in self.layout]
        self._tables = [self._table(start, stop, keep) for (start, stop), keep in zip(self.layout, self._keep)]
        # flip patterns that differ only above the table's bits probe the same bucket: probe it once
        self._masks = [np.unique(flip_masks(stop - start, self.flips).astype(np.int64) & keep)
                       for (start, stop), keep in zip(self.layout, self._keep)]
        self._words = _words(self.base)

    def _table(self, start: int, stop: int, keep: int) -> tuple[np.ndarray, np.ndarray]:
        """(offsets of each bucket, base rows ordered by bucket); a bucket is the band value's bits ``keep``."""
        values = band_values(self.base, start, stop).astype(np.int64) & keep
        order = _radix_order(values, keep.bit_length())
        counts = np.bincount(values, minlength=keep + 1)
        small = len(self.base) < 2 ** 31 - 1  # int32 offsets halve the table: fewer cache misses per probe
        offsets = np.zeros(len(counts) + 1, dtype=np.int32 if small else np.int64)
        offsets[1:] = np.cumsum(counts)
        return offsets, order.astype(np.int32 if small else np.int64)

    def pairs(self, queries: np.ndarray | None = None, *, jobs: int = 1) -> Pairs:
        """Every (query, base) pair within ``max_distance``, as :func:`splitcheck.index.hamming.hamming_pairs`.

        ``queries=None`` searches the base against itself: each unordered pair once, as ``(i, j)``, ``i < j``.
        With ``jobs > 1`` (and ``fork`` available) the probes are shared by that many forked processes, which
        read the tables and queries this process holds; the result is the same.
        """
        if jobs > 1 and self._worth_forking(queries):
            chunks = self._forked_pairs(queries, jobs)
        else:
            chunks = list(self.iter_pairs(queries))
        if not chunks:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
        q, b, d = (np.concatenate([c[k] for c in chunks]) for k in range(3))
        order = np.lexsort((b, d, q))
        return q[order], b[order], d[order]

    def iter_pairs(self, queries: np.ndarray | None = None) -> Iterator[Pairs]:
        """The pairs of :meth:`pairs` as unordered chunks, each pair exactly once (bounded memory)."""
        prepared = self._prepare(queries)
        if prepared is None:
            return
        for task in prepared.tasks:
            yield from prepared.run(task)

    def _prepare(self, queries: np.ndarray | None, parts: int = 1) -> _Probes | None:
        self_search = queries is None
        q_codes = self.base if self_search else np.ascontiguousarray(queries, dtype=np.uint8)
        if q_codes.ndim != 2 or q_codes.shape[1] * 8 != self.n_bits:
            raise ValueError(f"queries must be 2-D with {self.n_bits // 8} bytes per code; got {q_codes.shape}")
        if len(q_codes) == 0 or len(self.base) == 0:
            return None
        return _Probes(self, q_codes, self._words if self_search else _words(q_codes), self_search, parts)

    def _worth_forking(self, queries: np.ndarray | None) -> bool:
        n_queries = len(self.base) if queries is None else len(queries)
        return n_queries * len(self.base) >= FORK_ABOVE and "fork" in multiprocessing.get_all_start_methods()

    def _forked_pairs(self, queries: np.ndarray | None, jobs: int) -> list[Pairs]:
        global _FORKED
        prepared = self._prepare(queries, parts=4 * jobs)  # tasks of similar size, several per process
        if prepared is None:
            return []
        from splitcheck._parallel import _ignore_sigint
        from splitcheck._prefetch import wait_for_imports

        wait_for_imports()  # never fork while a background import holds a lock
        _FORKED = prepared
        try:
            with multiprocessing.get_context("fork").Pool(jobs, initializer=_ignore_sigint) as pool:
                return [c for c in pool.imap_unordered(_run_forked, prepared.tasks, chunksize=1) if len(c[0])]
        finally:
            _FORKED = None

    def _probe(self, q_codes: np.ndarray, q_words: np.ndarray, values: np.ndarray, first: int, last: int,
               band: int, offsets: np.ndarray, order: np.ndarray, masks: np.ndarray,
               self_search: bool) -> Iterator[Pairs]:
        keys = (values[first:last, None] ^ masks[None, :]).ravel()
        lo = offsets[keys]
        counts = offsets[keys + 1] - lo
        hit = np.flatnonzero(counts)
        if not len(hit):
            return
        query = first + hit // len(masks)
        lo, counts = lo[hit].astype(np.int64), counts[hit].astype(np.int64)
        batch = np.cumsum(counts) // CANDIDATE_BUDGET
        for part in np.split(np.arange(len(hit)), np.flatnonzero(np.diff(batch)) + 1):
            sizes = counts[part]
            total = int(sizes.sum())
            qi = np.repeat(query[part], sizes)
            offset = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            bi = order[np.repeat(lo[part], sizes) + offset].astype(np.int64)
            if self_search:
                keep = bi > qi
                qi, bi = qi[keep], bi[keep]
            yield from self._verify(q_codes, q_words, qi, bi, band)

    def _verify(self, q_codes: np.ndarray, q_words: np.ndarray, qi: np.ndarray, bi: np.ndarray,
                band: int) -> Iterator[Pairs]:
        d = _word_distances(q_words[qi], self._words[bi])
        keep = d <= self.max_distance
        if not keep.any():
            return
        qi, bi, d = qi[keep], bi[keep], d[keep]
        first = np.ones(len(qi), dtype=bool)
        if band:
            xor = np.bitwise_xor(q_codes[qi], self.base[bi])
            for (start, stop), keep in zip(self.layout[:band], self._keep):  # met there (on its table's bits)?
                first &= _popcount(band_values(xor, start, stop) & np.uint64(keep)) > self.flips
        if first.any():
            yield qi[first].astype(np.int64), bi[first].astype(np.int64), d[first].astype(np.int32)


def _radix_order(values: np.ndarray, width: int) -> np.ndarray:
    """A stable sort order of non-negative ``width``-bit values: numpy's radix sort on 16-bit digits, O(n)."""
    order = np.argsort((values & 0xFFFF).astype(np.uint16), kind="stable")
    for shift in range(16, width, 16):
        order = order[np.argsort(((values[order] >> shift) & 0xFFFF).astype(np.uint16), kind="stable")]
    return order


def _words(codes: np.ndarray) -> np.ndarray:
    """Codes as rows of native uint64 words (zero-padded), for fast distances (same distances as the bytes)."""
    n, n_bytes = codes.shape
    padded = np.zeros((n, -(-n_bytes // 8) * 8), dtype=np.uint8)
    padded[:, :n_bytes] = codes
    return padded.view(np.uint64)


def _word_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    xor = np.bitwise_xor(a, b)
    if xor.shape[1] == 1:
        return _popcount(xor[:, 0]).astype(np.int32)
    return _popcount(xor.ravel()).reshape(xor.shape).sum(axis=1, dtype=np.int32)


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(values)
    return _POPCOUNT[values.view(np.uint8).reshape(len(values), 8)].sum(axis=1, dtype=np.int32)  # pragma: no cover


#: Searches of at least this many query x base code comparisons (a flat scan's count; about half a second of
#: probing at the ~0.3 ns per comparison measured on real hashes at 100k images) are shared by forked
#: processes when the caller allows several jobs; smaller ones are not worth starting processes for.
FORK_ABOVE = 2_000_000_000


class _Probes:
    """One query set's probing work against an index, cut into (band, first query, last query) tasks."""

    def __init__(self, index: MultiHashIndex, q_codes: np.ndarray, q_words: np.ndarray, self_search: bool,
                 parts: int = 1) -> None:
        self.index, self.q_codes, self.q_words, self.self_search = index, q_codes, q_words, self_search
        self.values = [band_values(q_codes, start, stop).astype(np.int64) & keep
                       for (start, stop), keep in zip(index.layout, index._keep)]
        # each band's queries in steps of at most PROBE_BUDGET probes, and in at least ``parts`` steps
        self.tasks = [(band, first, min(first + step, len(q_codes)))
                      for band in range(len(index.layout))
                      for step in [max(1, min(PROBE_BUDGET // len(index._masks[band]), -(-len(q_codes) // parts)))]
                      for first in range(0, len(q_codes), step)]

    def run(self, task: tuple[int, int, int]) -> Iterator[Pairs]:
        band, first, last = task
        offsets, order = self.index._tables[band]
        yield from self.index._probe(self.q_codes, self.q_words, self.values[band], first, last, band, offsets,
                                     order, self.index._masks[band], self.self_search)


#: The probing work a forked worker reads (set in the parent just before forking).
_FORKED: _Probes | None = None


def _run_forked(task: tuple[int, int, int]) -> Pairs:
    assert _FORKED is not None
    chunks = list(_FORKED.run(task))
    if not chunks:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    return tuple(np.concatenate([c[k] for c in chunks]) for k in range(3))  # type: ignore[return-value]


def multihash_pairs(queries: np.ndarray, base: np.ndarray | None, max_distance: int, *,
                    n_bands: int | None = None) -> Pairs:
    """Every (query, base) pair within ``max_distance``: same contract and result as ``hamming_pairs``."""
    if base is None:
        return MultiHashIndex(queries, max_distance, n_bands=n_bands).pairs(None)
    return MultiHashIndex(base, max_distance, n_bands=n_bands).pairs(queries)
