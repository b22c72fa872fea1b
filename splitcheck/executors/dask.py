"""The Dask executor: signatures computed as a map over partitions of items on a Dask cluster.

The flow mirrors the local one (:mod:`splitcheck.signatures.images`), with the pool replaced by a cluster:

1. On this machine (the client): ``stat`` every path and look it up in the signature cache, as the local
   executor does; an unchanged dataset is not sent to the cluster at all.
2. The remaining paths are cut into partitions; each partition is one task on a worker, which reads the
   files, digests them, looks the digests up in the cache file if it can see one (a renamed file is still
   a hit), decodes and hashes the misses with the same code as the local path (and, when the scan embeds
   images with the default descriptor, describes them in that decode), and writes one Parquet shard
   (:mod:`splitcheck.executors.shards`; the descriptors travel in its ``descriptor`` column). With ``shard_dir`` (a folder or URI every worker and the
   client can reach) the worker writes the shard there and returns only its name; without it the
   worker returns the shard's bytes.
3. The client reads the shards as they finish, stores their signatures in the cache, and assembles the
   :class:`~splitcheck.signatures.images.ImageSignatures` exactly as the local path does, so scanners see
   identical signatures whichever executor ran (:mod:`splitcheck.executors.assembly`). When the search runs on
   the cluster (below) it reads only each shard's digest and property columns: the signatures hold no hashes.

The workers must be able to read the image paths (a shared filesystem, or paths valid on every worker)
and have splitcheck installed. With no ``address`` a ``LocalCluster`` is started for the run and closed by
:meth:`DaskExecutor.close`. With a ``shard_dir`` and a scan of more than ``search_above`` images
(``cluster-search-above``), :meth:`DaskExecutor.search_for` gives the scanners a
:class:`~splitcheck.search.cluster.ClusterSearch`: the cross-item searches run on the cluster from the kept
shards (a join on the pixel digest, a banded Hamming join per hash, reads of the candidates' codes). Two
building blocks are also public: :func:`digest_pairs` (exact copies between two shard folders, a join on the
content digest) and :func:`shard_codes` (one hash of a shard folder, for
:func:`splitcheck.index.banded.banded_pairs_dask`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from typing import Self

from distributed import Client, LocalCluster, as_completed

from splitcheck._parallel import default_jobs
from splitcheck.errors import ConfigError
from splitcheck.executors.assembly import ShardAssembly
from splitcheck.executors.shards import SHARD_SUFFIX, compute_shard, list_shards, shard_table, write_shard
from splitcheck.search import CLUSTER_SEARCH_ABOVE, Search
from splitcheck.search.local import LocalSearch
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings, ImageRecord
from splitcheck.signatures.images import ImageSignatures, _from_cache, _stat, algo_key

#: Largest number of images per task; smaller when needed to give every worker about 4 tasks.
PARTITION_SIZE = 512
#: Smallest number of images per task (a task costs a few milliseconds of scheduling).
MIN_PARTITION_SIZE = 16
#: Seconds to wait for the scheduler at ``address`` before giving up.
CONNECT_TIMEOUT = 30


class DaskExecutor:
    """Compute signatures on the Dask cluster at ``address``, or on a ``LocalCluster`` started for the run.

    ``n_workers``, ``threads_per_worker`` and ``processes`` shape the local cluster (ignored with an
    ``address``). ``partition_size`` is the most images per task. ``shard_dir`` is where workers write
    their shards (a folder or a URI reachable by the workers and this machine); the shards are kept there,
    and :func:`~splitcheck.executors.shards.import_shards` can load them into any cache later. Without it
    shards travel back to the client as bytes and are not kept. With a ``shard_dir`` and a scan of more than
    ``search_above`` images the leakage searches run on the cluster from the shards
    (:class:`~splitcheck.search.cluster.ClusterSearch`) and the client keeps no hashes.
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, n_workers: int | None = None, threads_per_worker: int = 1,
                 processes: bool = True, partition_size: int = PARTITION_SIZE, shard_dir: str | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT, search_above: int = CLUSTER_SEARCH_ABOVE) -> None:
        if partition_size < 1:
            raise ConfigError(f"dask partition size must be a positive integer; got {partition_size!r}")
        if n_workers is not None and n_workers < 1:
            raise ConfigError(f"dask workers must be a positive integer; got {n_workers!r}")
        if isinstance(search_above, bool) or not isinstance(search_above, int) or search_above < 0:
            raise ConfigError(f"cluster-search-above must be a non-negative integer; got {search_above!r}")
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.partition_size = partition_size
        self.shard_dir = str(shard_dir) if shard_dir is not None else None
        self.connect_timeout = connect_timeout
        self.search_above = search_above
        #: The shards written by the last call (locations under ``shard_dir``; empty without one).
        self.last_shards: list[str] = []
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None

    # ------------------------------------------------------------------------------------- cluster
    @property
    def client(self) -> Client:
        """The Dask client, connecting (or starting the local cluster) on first use."""
        if self._client is None:
            if self.address is None:
                self._cluster = LocalCluster(n_workers=self.n_workers or default_jobs(),
                                             threads_per_worker=self.threads_per_worker, processes=self.processes,
                                             dashboard_address=":0")  # a free port: never clash with another cluster
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(self.address, timeout=self.connect_timeout)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise ConfigError(f"cannot reach the Dask scheduler at {self.address!r} ({exc}); "
                                      "check --dask-address") from None
        return self._client

    def n_workers_running(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started one."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- search
    def search_for(self, n_items: int) -> Search:
        """On the cluster from the shards when this executor writes them and the scan has more than
        ``search_above`` images; else in this process."""
        if self.shard_dir is not None and n_items > self.search_above:
            from splitcheck.search.cluster import ClusterSearch

            return ClusterSearch(self.client)
        return LocalSearch()

    # ------------------------------------------------------------------------------------- signatures
    def image_signatures(self, paths: Sequence[str], settings: DecodeSettings, cache: SignatureCache | None = None,
                         progress: Callable[[int], None] | None = None, *,
                         hashes: bool = True) -> ImageSignatures:
        """The signatures of ``paths``: identical to the local executor's on the same files.

        With a shard folder they are :class:`~splitcheck.executors.shards.ShardedSignatures` naming the
        shards; with ``hashes`` False (which needs the shard folder) they hold no perceptual hashes: of each
        shard only the digest and property columns are read (:class:`~splitcheck.executors.assembly.ShardAssembly`).
        """
        if not hashes and self.shard_dir is None:
            raise ConfigError("signatures without hashes need a shard folder to search (dask-shard-dir)")
        n = len(paths)
        key = algo_key(settings)
        entries: list[ImageRecord | str | None] = [None] * n
        hits = 0
        storing = cache is not None and cache.enabled
        if storing:
            hits = _cached_by_stat(paths, settings, cache, key, entries)  # type: ignore[arg-type]
            if progress and hits:
                progress(hits)
        todo = [i for i in range(n) if entries[i] is None]
        self.last_shards = []
        run = uuid.uuid4().hex[:12]
        if hits and self.shard_dir is not None:  # the shard folder holds every item of the run, cached or not
            done = [i for i in range(n) if entries[i] is not None]
            destination = f"{self.shard_dir.rstrip('/')}/{run}-cached{SHARD_SUFFIX}"
            write_shard(shard_table(done, [paths[i] for i in done], [entries[i] for i in done],  # type: ignore[misc]
                                    [_stat(paths[i]) for i in done], [True] * len(done), key), destination)
            self.last_shards.append(destination)
        assembly = ShardAssembly(entries, settings, hits=hits, hashes=hashes, cache=cache)
        shards = self.last_shards if self.shard_dir is not None else None
        if not todo:
            return assembly.signatures(shards)
        client = self.client
        per_worker = math.ceil(len(todo) / (4 * self.n_workers_running()))
        size = max(MIN_PARTITION_SIZE, min(self.partition_size, per_worker))
        cache_path = str(cache.path) if storing and cache.path else None  # type: ignore[union-attr]
        futures = []
        for part, start in enumerate(range(0, len(todo), size)):
            items = todo[start:start + size]
            destination = (f"{self.shard_dir.rstrip('/')}/{run}-{part:06d}{SHARD_SUFFIX}"
                           if self.shard_dir is not None else None)
            futures.append(client.submit(compute_shard, items, [paths[i] for i in items], settings, key, cache_path,
                                         destination, key=f"splitcheck-signatures-{run}-{part}", pure=False))
        for future in as_completed(futures):
            result = future.result()
            assembly.take(result["data"] if result["data"] is not None else result["destination"])
            if result["destination"] is not None:
                self.last_shards.append(result["destination"])
            if progress:
                progress(result["n"])
            future.release()
        self.last_shards.sort()
        return assembly.signatures(shards)


def _cached_by_stat(paths: Sequence[str], settings: DecodeSettings, cache: SignatureCache, key: str,
                    entries: list[ImageRecord | str | None]) -> int:
    """Fill ``entries`` from the cache for files unchanged since cached (by stat); returns how many."""
    stats = [_stat(p) for p in paths]
    known = cache.lookup_files([s for s in stats if s is not None])
    digests: list[bytes | None] = [None] * len(paths)
    it = iter(known)
    for i, s in enumerate(stats):
        if s is not None:
            digests[i] = next(it)
    wanted = [d for d in digests if d is not None]
    payloads = cache.get(wanted, key) if wanted else {}
    hits = 0
    for i, d in enumerate(digests):
        if d is not None and d in payloads:
            entries[i] = _from_cache(d, payloads[d], settings)
            hits += entries[i] is not None
    return hits


# ----------------------------------------------------------------------------------------- search
def shard_codes(folder: str, hash_name: str):  # type: ignore[no-untyped-def]
    """A Dask DataFrame of one hash from the shards in ``folder``, in the layout of
    :func:`splitcheck.index.banded.codes_to_frame` (``item`` and ``w*`` words), readable rows only.
    One partition per shard, read by the workers."""
    from splitcheck.search.cluster import code_frame

    return code_frame(list_shards(folder), f"hash:{hash_name}")


def digest_pairs(folder_a: str, folder_b: str):  # type: ignore[no-untyped-def]
    """Exact copies across two runs' shards as a distributed join on the content digest.

    A lazy Dask DataFrame of ``a`` (item of the first run), ``b`` (item of the second) and ``digest``.
    The 64-bit digest is the prefix of the 128-bit content digest: confirm a pair on ``content`` when a
    false match costs more than one lookup (probability about ``n_a * n_b / 2**64``). A scan joins on the
    pixel digest instead (:class:`splitcheck.search.cluster.ClusterSearch`).
    """
    from splitcheck.search.cluster import key_frame

    pairs = key_frame(list_shards(folder_a), "a", "digest").merge(key_frame(list_shards(folder_b), "b", "digest"), on="key")
    return pairs.rename(columns={"key": "digest"})[["a", "b", "digest"]]
