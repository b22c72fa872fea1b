"""The client's side of a distributed run: what it keeps of each signature shard as it arrives.

A :class:`ShardAssembly` starts from the rows the client already has (cache hits, one record each) and takes
the workers' shards one by one: it stores them in the signature cache when there is one, then keeps either every
record (hashes included: the search runs in this process) or, when the search runs on the cluster, only the
digests and properties, read column by column from the shard (:func:`read_shard_columns`): the hash columns are
never read and no object is made per image. :meth:`ShardAssembly.signatures` then assembles the split's
:class:`~splitcheck.signatures.images.ImageSignatures` exactly as the local path does.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from splitcheck.executors.shards import ShardedSignatures, read_shard, read_shard_columns, store_shard, without_hashes
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings, ImageRecord
from splitcheck.signatures.images import _FROM_BULK, ImageSignatures, _Arrays, algo_key


class ShardAssembly:
    """One split's signatures gathered from ``entries`` (records or reasons by item; None = still to come,
    ``hits`` of them from the cache) and the shards given to :meth:`take`. With ``hashes`` False nothing of a
    hash is kept. With ``cache`` the shards' signatures are stored in it."""

    def __init__(self, entries: list[ImageRecord | str | None], settings: DecodeSettings, *, hits: int = 0,
                 hashes: bool = True, cache: SignatureCache | None = None) -> None:
        self.entries = entries if hashes else [without_hashes(e) for e in entries]
        self.settings = settings
        self.hits = hits
        self.hashes = hashes
        self.cache = cache if cache is not None and cache.enabled else None
        if not hashes:  # assembled as if no hash had been asked for: no hash array is allocated
            settings = dataclasses.replace(settings, hashes=(), variants=False, texture=False)
        self._arrays = _Arrays(len(entries), settings)  # filled shard by shard with the bulk-read columns
        self._described: list[tuple[int, np.ndarray]] = []

    def take(self, source: str | bytes) -> None:
        """Keep what is needed of one shard (a path, a URI or Parquet bytes)."""
        if self.hashes or self.cache is not None:
            shard = read_shard(source)
            if self.cache is not None:
                store_shard(self.cache, shard, algo_key(self.settings))
            if self.hashes:
                for item, entry, cached in zip(shard.items, shard.entries, shard.cached):
                    self.entries[int(item)] = entry
                    self.hits += bool(cached) and isinstance(entry, ImageRecord)
                return
        columns = read_shard_columns(source)
        for item in columns.ok:
            self.entries[item] = _FROM_BULK
        for item, reason in columns.errors:
            self.entries[item] = reason
        self._arrays.add_bulk(columns.ok, columns.batch, columns.contents)
        self._described.extend(columns.described)
        self.hits += columns.cached

    def signatures(self, shards: list[str] | None = None) -> ImageSignatures:
        """The split's signatures; :class:`ShardedSignatures` naming ``shards`` when they are kept."""
        signatures = self._arrays.finish(self.entries, self.hits, self._described)
        return ShardedSignatures.of(signatures, shards) if shards is not None else signatures
