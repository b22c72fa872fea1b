"""Where the cross-item searches of the leakage scanners run: in this process, or on the Dask cluster.

The exact- and near-duplicate scanners ask a :class:`Search` (``context.search``, provided by the executor)
five questions, and then describe the pairs themselves; both implementations give exactly the same answers:

======================  ======================================================================================
method                  answer
======================  ======================================================================================
``equal_pairs``         the pairs of items of two splits with the same canonical digest (exact copies)
``repeated``            the items of one split whose canonical digest another item of it shares
``hamming_candidates``  (query item, base item, variant kind) pairs within a per-hash radius on some hash,
                        the superset of near-copies that the scanner then verifies on every hash
``hash_codes``          the hashes (and crop/rotation variants) of a few items, to verify and describe pairs
``nearest_other``       the distance from each of a few codes to the nearest item of a split other than a
                        given partner (the near-duplicate scanner's isolation test)
======================  ======================================================================================

- :class:`~splitcheck.search.local.LocalSearch` (``local``): what the scanners always did, on the signatures
  held in this process (a pandas join on digests; faiss flat or multi-index hashing on the hashes).
- :class:`~splitcheck.search.cluster.ClusterSearch` (``cluster``): on the Dask cluster, from the signature
  shards of a run with a shard folder (``DaskExecutor(shard_dir=...)``): a distributed join on the pixel
  digest, a banded Hamming join per hash and orientation, probing flipped bits where that is cheaper
  (:func:`splitcheck.index.banded.banded_pairs_dask`, exact), reads of the few candidate items' codes, and a
  map over the shards against the small set of isolation queries. The client then never holds every item's
  hashes (its :class:`~splitcheck.signatures.images.ImageSignatures` carry no hash columns); the per-item
  digests and properties stay in the client (two 8-byte digests, six numbers, mode and format per image).

The Dask executor chooses the cluster search when it writes shards (``dask-shard-dir``) and the scan has more
than ``cluster-search-above`` images (:data:`CLUSTER_SEARCH_ABOVE` by default); otherwise the search is local.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from splitcheck.signatures.digests import Digests
    from splitcheck.signatures.images import ImageSignatures

#: Images in a scan above which the Dask executor with a shard folder searches on the cluster (config
#: ``cluster-search-above``): below, the hashes and the local index fit the client (4.7 KB per image at 100k
#: images) and a local search avoids the shuffles, ~30x faster on a 2-worker LocalCluster at 20k-100k images
#: (benchmarks/scaling/cluster_search.py). A judgement, not a measured crossover: a 1M-image cluster run was
#: not made on this 2-core machine.
CLUSTER_SEARCH_ABOVE = 1_000_000


@dataclass(frozen=True)
class HammingRequest:
    """What the near-duplicate scanner looks for, and how a local search should look.

    ``names``: the hashes; ``suffixes``: the query orientations (``""`` and ``"_mirror"``); ``variants``:
    the base holds each image's crop and rotation variants too (``n_kinds`` codes per image, kind 0 the
    image itself); ``radius``: every wanted pair is within it on at least one hash (pigeonhole). Local
    only: ``flat_radius`` (the radius of a flat search on the first hash), ``index`` (flat, multihash or
    auto), ``multihash_above`` and ``jobs``.
    """

    names: tuple[str, ...]
    suffixes: tuple[str, ...]
    variants: bool
    radius: int
    n_kinds: int = 1
    flat_radius: int = 0
    index: str = "auto"
    multihash_above: int = 0
    jobs: int = 1


@dataclass
class Candidates:
    """Candidate pairs of one query orientation: query item, base item, base code kind (0 = the image)."""

    a: np.ndarray
    b: np.ndarray
    kind: np.ndarray


@dataclass
class HashCodes:
    """The hashes of some items (ascending ``items``): name -> (m, n_bytes); variants name -> (m, k, n_bytes)."""

    items: np.ndarray
    hashes: dict[str, np.ndarray]
    variants: dict[str, np.ndarray] = field(default_factory=dict)

    def rows(self, items: np.ndarray) -> np.ndarray:
        """Positions of ``items`` (each must be among ``self.items``)."""
        return np.searchsorted(self.items, items)

    def code(self, name: str, items: np.ndarray, kinds: np.ndarray | None = None) -> np.ndarray:
        """Hash ``name`` of each item, or of its variant ``kinds - 1`` where the kind is not 0."""
        rows = self.rows(items)
        out = self.hashes[name][rows]
        if kinds is not None and name in self.variants and (kinds > 0).any():
            varied = np.flatnonzero(kinds > 0)
            out[varied] = self.variants[name][rows[varied], kinds[varied] - 1]
        return out


class Search(Protocol):
    """The cross-item searches of the leakage scanners (see the module docstring)."""

    name: str
    #: Whether the client must hold every item's hashes (the local search reads them from the signatures).
    needs_hashes: bool

    def equal_pairs(self, a: Digests, b: Digests) -> tuple[np.ndarray, np.ndarray]: ...

    def repeated(self, digests: Digests) -> np.ndarray: ...

    def hamming_candidates(self, queries: ImageSignatures, base: ImageSignatures | None,
                           request: HammingRequest) -> list[Candidates]: ...

    def hash_codes(self, signatures: ImageSignatures, items: np.ndarray, names: list[str],
                   variants: bool = False) -> HashCodes: ...

    def nearest_other(self, base: ImageSignatures, names: list[str], queries: np.ndarray,
                      partners: np.ndarray) -> np.ndarray: ...


__all__ = ["CLUSTER_SEARCH_ABOVE", "Candidates", "HammingRequest", "HashCodes", "Search"]
