"""The searches in this process, on signatures held in memory: what the leakage scanners always did.

Exact copies are a pandas hash join on the canonical digests. Near-copy candidates come from a faiss flat
range search on the first hash (radius ``flat_radius``) or from multi-index hashing on every hash (radius
``radius``, :class:`~splitcheck.index.multihash.MultiHashIndex`), chosen by ``index`` (``auto``: multi-index
hashing above ``multihash_above`` base codes); after the scanner's checks on every hash both give the same
pairs. The nearest other image is a faiss flat k-NN search.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from splitcheck.index.hamming import hamming_pairs, nearest_distances
from splitcheck.index.multihash import MultiHashIndex
from splitcheck.search import Candidates, HammingRequest, HashCodes
from splitcheck.signatures.digests import Digests
from splitcheck.signatures.images import ImageSignatures

BaseCodes = tuple[np.ndarray, np.ndarray, np.ndarray]
QuerySearch = Callable[[dict[str, np.ndarray], bool], tuple[np.ndarray, np.ndarray]]


class LocalSearch:
    """Every search in this process, on the signatures' own arrays (the client holds every hash)."""

    name = "local"
    needs_hashes = True

    def equal_pairs(self, a: Digests, b: Digests) -> tuple[np.ndarray, np.ndarray]:
        """(items of ``a``, items of ``b``) of every pair of valid items with the same canonical digest,
        sorted by the item of ``a``, then of ``b``."""
        left = pd.DataFrame({"a": np.flatnonzero(a.valid)})
        left["key"] = a.canonical[left["a"]]
        right = pd.DataFrame({"b": np.flatnonzero(b.valid)})
        right["key"] = b.canonical[right["b"]]
        pairs = left.merge(right, on="key", how="inner").sort_values(["a", "b"], kind="stable")
        return pairs["a"].to_numpy(dtype=np.int64), pairs["b"].to_numpy(dtype=np.int64)

    def repeated(self, digests: Digests) -> np.ndarray:
        """The valid items whose canonical digest another valid item shares, ascending."""
        frame = pd.DataFrame({"i": np.flatnonzero(digests.valid)})
        frame["key"] = digests.canonical[frame["i"]]
        sizes = frame.groupby("key")["i"].transform("size")
        return frame["i"][sizes > 1].to_numpy(dtype=np.int64)

    def hamming_candidates(self, queries: ImageSignatures, base: ImageSignatures | None,
                           request: HammingRequest) -> list[Candidates]:
        """Per query orientation, the candidate (query item, base item, kind) pairs.

        The base is ``base``'s images (with their variants when ``request.variants``); with ``base`` None,
        the queries' own images, each unordered pair once in the unmirrored search.
        """
        names = list(request.names)
        base_sig = base if base is not None else queries
        va, vb = np.flatnonzero(queries.valid), np.flatnonzero(base_sig.valid)
        bases = {h: base_codes(base_sig, h, vb, request.variants) for h in names}
        _, owner, kind = bases[names[0]]
        search = _query_search(bases, request)
        found = []
        for suffix in request.suffixes:
            qi, bi = search({h: queries.hashes[h + suffix][va] for h in names}, base is None and not suffix)
            found.append(Candidates(va[qi], owner[bi], kind[bi]))
        return found

    def hash_codes(self, signatures: ImageSignatures, items: np.ndarray, names: list[str],
                   variants: bool = False) -> HashCodes:
        """The hashes ``names`` (and their variants, if asked and computed) of ``items``."""
        items = np.unique(np.asarray(items, dtype=np.int64))
        return HashCodes(items, {h: signatures.hashes[h][items] for h in names},
                         {h: signatures.variants[h][items] for h in names if variants and h in signatures.variants})

    def nearest_other(self, base: ImageSignatures, names: list[str], queries: np.ndarray,
                      partners: np.ndarray) -> np.ndarray:
        """Per query (hashes ``names`` side by side), the distance to the nearest valid image of ``base``
        other than its partner (int32 max when there is none)."""
        valid = np.flatnonzero(base.valid)
        codes = np.concatenate([base.hashes[h][valid] for h in names], axis=1)
        dist, idx = nearest_distances(queries, codes, 3)  # the image itself and its partner may be among them
        other = valid[np.maximum(idx, 0)]
        return np.where((other == partners[:, None]) | (idx < 0), np.iinfo(np.int32).max, dist).min(axis=1)


def base_codes(sig: ImageSignatures, name: str, idx: np.ndarray, variants: bool) -> BaseCodes:
    """Hashes ``name`` of the images ``idx`` (and of their variants): (codes, owner index, variant kind)."""
    original = sig.hashes[name][idx]
    if not variants or not sig.variants:
        return original, idx, np.zeros(len(idx), dtype=np.int64)
    codes = np.concatenate([original[:, None, :], sig.variants[name][idx]], axis=1)
    per = codes.shape[1]
    return codes.reshape(-1, codes.shape[2]), np.repeat(idx, per), np.tile(np.arange(per), len(idx))


def _query_search(bases: dict[str, BaseCodes], request: HammingRequest) -> QuerySearch:
    """A function of the query hashes (and self-search flag) giving candidate (query, base) rows.

    flat: one faiss search on the first hash with radius ``flat_radius``. multihash: each hash searched with
    ``radius`` in its bucket tables, the union is the candidate set. The pairs the scanner keeps after its
    checks on every hash are the same either way.
    """
    names = list(bases)
    n_base = len(bases[names[0]][0])
    method = request.index
    if method == "auto":
        method = "multihash" if n_base > request.multihash_above else "flat"
    n_bits = bases[names[0]][0].shape[1] * 8
    if method == "flat" or request.radius >= n_bits or n_base == 0:
        def flat(queries: dict[str, np.ndarray], self_search: bool) -> tuple[np.ndarray, np.ndarray]:
            first = names[0]
            qi, bi, _ = hamming_pairs(queries[first], None if self_search else bases[first][0], request.flat_radius)
            return qi, bi
        return flat
    indexes = {h: MultiHashIndex(bases[h][0], request.radius) for h in names}

    def multihash(queries: dict[str, np.ndarray], self_search: bool) -> tuple[np.ndarray, np.ndarray]:
        found = [indexes[h].pairs(None if self_search else queries[h], jobs=request.jobs)[:2] for h in names]
        key = np.unique(np.concatenate([qi * n_base + bi for qi, bi in found]))
        return key // n_base, key % n_base
    return multihash
