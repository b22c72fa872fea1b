"""The searches on a Dask cluster, from the signature shards of a run: the client holds no hashes.

Every answer equals :class:`~splitcheck.search.local.LocalSearch`'s on the same signatures:

- exact copies: a distributed join (``equal_pairs``) or group-by (``repeated``) on the shards' pixel digest.
  The shards hold the provisional pixel digest; the client's confirmed digests (see
  :meth:`splitcheck.context.ScanContext.digests`) are equal only where the provisional ones are, so the client
  checks the few joined pairs on its confirmed digests and gets exactly the local join's pairs;
- near-copy candidates: per hash and orientation, multi-index hashing as a Dask shuffle join
  (:func:`splitcheck.index.banded.banded_pairs_dask` with ``flips``: the bands and flips that
  :func:`splitcheck.index.banded.choose_join_bands` estimates cheapest, e.g. 4 bands of 16 bits probed with
  up to 1 flipped bit at the default radius 7; exact by pigeonhole) between the query split's hashes and the
  base split's hashes with their variants; the union over the hashes is the local multi-index hashing search's
  candidate set;
- the candidates' codes: read on the workers from the shards (only those items' rows come back);
- nearest other image: a map over the base split's shards, each searching the few broadcast query codes
  against its own items (faiss flat), the minimum taken over shards.

Inputs without shards (text, tables, or signatures assembled without a shard folder) fall back to the local
search, which needs their digests or hashes in memory.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.errors import ConfigError
from splitcheck.search import Candidates, HammingRequest, HashCodes
from splitcheck.search.local import LocalSearch
from splitcheck.search.shard_tasks import (
    NO_OTHER,
    code_width,
    shard_codes,
    shard_keys,
    shard_nearest_other,
    shard_rows,
)
from splitcheck.signatures.digests import Digests
from splitcheck.signatures.images import ImageSignatures

#: The shards' digest column that the exact-copy join runs on (the canonical digest of an image split).
CANONICAL_COLUMN = "pixel"
#: Join rows (one per band, flip pattern and code) per shuffle output partition: each partition costs a fixed
#: scheduling and transfer overhead (at 18k images, 72 partitions took 7.4 s where 4 took 2.8 s).
ROWS_PER_PARTITION = 2_000_000


class ClusterSearch(LocalSearch):
    """Every search on the cluster of ``client``, reading the shards named by the signatures."""

    name = "cluster"
    needs_hashes = False

    def __init__(self, client: Any) -> None:
        self.client = client
        # every join is a shuffle; the scheduler logs each one's end as a warning on this process's stderr
        logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)

    # ---------------------------------------------------------------------------------------- exact
    def equal_pairs(self, a: Digests, b: Digests) -> tuple[np.ndarray, np.ndarray]:
        if a.shards is None or b.shards is None:
            return super().equal_pairs(a, b)
        joined = self._compute(key_frame(a.shards, "a").merge(key_frame(b.shards, "b"), on="key")[["a", "b"]])
        ia, ib = joined["a"].to_numpy(dtype=np.int64), joined["b"].to_numpy(dtype=np.int64)
        keep = a.valid[ia] & b.valid[ib] & (a.canonical[ia] == b.canonical[ib])
        ia, ib = ia[keep], ib[keep]
        order = np.lexsort((ib, ia))
        return ia[order], ib[order]

    def repeated(self, digests: Digests) -> np.ndarray:
        if digests.shards is None:
            return super().repeated(digests)
        rows = key_frame(digests.shards, "i")
        counts = rows.groupby("key")["i"].count()
        shared = self._compute(rows.merge(counts[counts > 1].to_frame("n"), left_on="key", right_index=True))
        items = np.sort(shared["i"].to_numpy(dtype=np.int64))
        items = items[digests.valid[items]]
        keys = pd.Series(digests.canonical[items])
        return items[keys.map(keys.value_counts()).to_numpy() > 1]

    # ---------------------------------------------------------------------------------------- near
    def hamming_candidates(self, queries: ImageSignatures, base: ImageSignatures | None,
                           request: HammingRequest) -> list[Candidates]:
        q_shards, b_shards = _shards(queries), _shards(base if base is not None else queries)
        if q_shards is None or b_shards is None:
            return super().hamming_candidates(queries, base, request)
        from splitcheck.index.banded import band_layout, banded_pairs_dask, choose_join_bands, n_patterns

        n_bytes = code_width(q_shards, f"hash:{request.names[0]}")
        if request.radius >= 8 * n_bytes:
            raise ConfigError(f"the search on the cluster needs a per-hash radius below the hash length "
                              f"({8 * n_bytes} bits); got {request.radius}: lower the near-duplicates threshold or "
                              "max-hash-distance, or search locally")
        n_kinds = request.n_kinds if request.variants and base is not None else 1
        n_base = int((base if base is not None else queries).valid.sum()) * n_kinds
        n_queries = int(queries.valid.sum())
        n_bands, flips = choose_join_bands(8 * n_bytes, request.radius, n_queries, n_base)
        probes = sum(n_patterns(stop - start, flips) for start, stop in band_layout(8 * n_bytes, n_bands))
        rows = n_queries * probes + (n_base if base is not None or flips else 0) * n_bands
        n_parts = max(len(self.client.scheduler_info(n_workers=-1).get("workers", {})), 1,
                      -(-rows // ROWS_PER_PARTITION))
        joins = []
        for suffix in request.suffixes:
            self_search = base is None and not suffix
            for h in request.names:
                found = code_frame(q_shards, f"hash:{h}{suffix}")
                against = None if self_search else code_frame(
                    b_shards, f"hash:{h}", f"variants:{h}" if n_kinds > 1 else None, n_kinds)
                joins.append(banded_pairs_dask(found, against, request.radius, n_bytes=n_bytes, n_bands=n_bands,
                                               flips=flips, npartitions=n_parts))
        frames = self._compute(joins)
        out = []
        for k in range(len(request.suffixes)):
            part = frames[k * len(request.names):(k + 1) * len(request.names)]
            pairs = np.concatenate([np.stack([f["a"].to_numpy(np.int64), f["b"].to_numpy(np.int64)], axis=1)
                                    for f in part]) if part else np.zeros((0, 2), np.int64)
            pairs = np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)
            out.append(Candidates(pairs[:, 0], pairs[:, 1] // n_kinds, pairs[:, 1] % n_kinds))
        return out

    def hash_codes(self, signatures: ImageSignatures, items: np.ndarray, names: list[str],
                   variants: bool = False) -> HashCodes:
        shards = _shards(signatures)
        if shards is None:
            return super().hash_codes(signatures, items, names, variants)
        items = np.unique(np.asarray(items, dtype=np.int64))
        if not len(items):
            empty = np.zeros((0, 0), np.uint8)
            return HashCodes(items, dict.fromkeys(names, empty))
        columns = [f"hash:{h}" for h in names] + ([f"variants:{h}" for h in names] if variants else [])
        wanted = self.client.scatter(items, broadcast=True)
        parts = self.client.gather(self.client.map(shard_rows, shards, items=wanted, columns=columns, pure=False))
        parts = [p for p in parts if len(p["item"])]
        found = np.concatenate([p["item"] for p in parts])
        order = np.argsort(found)
        if not np.array_equal(found[order], items):
            raise RuntimeError(f"the signature shards hold {len(found)} of the {len(items)} items asked for")
        stacked = {c: np.concatenate([p[c] for p in parts])[order] for c in columns}
        codes = {h: stacked[f"hash:{h}"] for h in names}
        return HashCodes(items, codes, {h: stacked[f"variants:{h}"].reshape(len(items), -1, codes[h].shape[1])
                                        for h in names if variants})

    def nearest_other(self, base: ImageSignatures, names: list[str], queries: np.ndarray,
                      partners: np.ndarray) -> np.ndarray:
        shards = _shards(base)
        if shards is None:
            return super().nearest_other(base, names, queries, partners)
        q = self.client.scatter(np.ascontiguousarray(queries, dtype=np.uint8), broadcast=True)
        p = self.client.scatter(np.asarray(partners, dtype=np.int64), broadcast=True)
        per_shard = self.client.gather(self.client.map(shard_nearest_other, shards, columns=[f"hash:{h}" for h in names],
                                                       queries=q, partners=p, pure=False))
        return np.min(np.stack(per_shard), axis=0) if per_shard else np.full(len(queries), NO_OTHER, np.int32)

    # ---------------------------------------------------------------------------------------- helpers
    def _compute(self, collections: Any) -> Any:
        return self.client.compute(collections, sync=True)



def _shards(signatures: ImageSignatures) -> list[str] | None:
    return getattr(signatures, "shards", None)


def key_frame(shards: list[str], name: str, column: str = CANONICAL_COLUMN) -> Any:
    """A Dask DataFrame of ``(name, key)``: the readable items of ``shards`` and their digest ``column``."""
    import dask.dataframe as dd

    meta = pd.DataFrame({name: np.empty(0, np.int64), "key": np.empty(0, np.uint64)})
    return dd.from_map(shard_keys, shards, column=column, name=name, meta=meta, enforce_metadata=False)


def code_frame(shards: list[str], column: str, variants: str | None = None, n_kinds: int = 1) -> Any:
    """A Dask DataFrame of one hash of ``shards`` (with the variants as extra rows) for the banded join."""
    import dask.dataframe as dd

    from splitcheck.index.banded import codes_to_frame

    meta = codes_to_frame(np.zeros((0, code_width(shards, column)), np.uint8))
    return dd.from_map(shard_codes, shards, column=column, variants=variants, n_kinds=n_kinds, meta=meta,
                       enforce_metadata=False)
