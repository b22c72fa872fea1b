"""The Embedder contract: a name, a dimension, an identity for caching, and ``embed(batch) -> float32``.

An embedder turns a batch of items of one modality into an ``(n, dim)`` float32 array whose rows are
compared by cosine similarity. What a batch holds depends on ``modality``:

- ``image``: a uint8 array ``(n, input_size, input_size, 3)`` of RGB pixels (decoded, EXIF-oriented,
  resized to ``input_size`` by :mod:`splitcheck.embed.context`);
- ``text``: a list of strings;
- ``table``: a DataFrame of feature columns;
- ``vector``: a 2-D numeric array.

Embedders whose output depends on the data (TF-IDF vocabulary, table scaling, a network trained on the
training split) also have ``fit(splits)``; it is called once, before any ``embed``, with every split
(the reference split first), and their ``identity`` then includes a fingerprint of what they were fit on.
``identity`` changes whenever the vectors would: it keys the per-scan memo. Image vectors are also kept in the
signature cache when the embedder has a ``cache_identity`` that is not None (a string naming the model and a
digest of its weights, see :mod:`splitcheck.embed.store`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from threadpoolctl import threadpool_limits

from splitcheck.errors import InputError

if TYPE_CHECKING:
    from splitcheck.splits import Split


@runtime_checkable
class Embedder(Protocol):
    """Anything with these attributes and ``embed`` is an embedder."""

    name: str
    modality: str
    dim: int

    @property
    def identity(self) -> str:
        """A string that changes whenever the vectors this embedder produces would change."""
        ...

    def embed(self, batch: Any) -> np.ndarray:
        """``(len(batch), dim)`` float32 vectors."""
        ...


@runtime_checkable
class FittedEmbedder(Embedder, Protocol):
    """An embedder that learns from the splits before embedding (called once, reference split first)."""

    def fit(self, splits: list[Split]) -> None: ...


def fingerprint(*parts: Any) -> str:
    """A short hex digest of ``parts`` (arrays by their bytes, other values by ``repr``)."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str(part.dtype).encode() + str(part.shape).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def file_digest(path: Any) -> str:
    """A short hex digest of a whole file's bytes (weights, TorchScript): what caches its embeddings."""
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def check_output(vectors: Any, n: int, dim: int | None, who: str) -> np.ndarray:
    """Validate what an embedder returned: ``n`` finite rows of ``dim`` numbers, as float32."""
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"embedder {who} returned something that is not a numeric array ({exc})") from None
    if array.ndim > 2:
        array = array.reshape(len(array), -1)
    if array.ndim != 2 or len(array) != n:
        raise InputError(f"embedder {who} returned shape {array.shape} for a batch of {n} items; "
                         f"expected ({n}, dim)")
    if dim is not None and array.shape[1] != dim:
        raise InputError(f"embedder {who} returned vectors of dimension {array.shape[1]}, not {dim}")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise InputError(f"embedder {who} returned NaN or inf in {int(bad.sum())} of {n} rows "
                         f"(first: batch row {int(np.flatnonzero(bad)[0])})")
    return np.ascontiguousarray(array)


class Whitener:
    """Centres vectors on the reference split's mean and, when there are enough reference items, projects
    them on its top principal axes scaled to unit variance (PCA whitening).

    Descriptors made of non-negative histograms all point the same way, so their raw cosine
    similarities crowd near 1; centring spreads them, and whitening stops a few high-variance directions
    from dominating. Components with variance below ``floor`` times the largest are damped. Above
    ``max_fit_items`` readable reference rows, the axes are fitted on a seeded sample of that many.
    """

    def __init__(self, dim: int, *, floor: float = 1e-3, min_items_per_dim: int = 4,
                 max_fit_items: int = 50_000) -> None:
        self.dim = dim
        self.max_fit_items = max_fit_items
        self.floor = floor
        self.min_items_per_dim = min_items_per_dim
        self.mean_: np.ndarray | None = None
        self.projection_: np.ndarray | None = None

    def fit(self, reference: np.ndarray) -> Whitener:
        x = np.asarray(reference, dtype=np.float64)
        x = x[np.linalg.norm(x, axis=1) > 0]  # unreadable items are zero rows
        if len(x) == 0:
            raise InputError("no readable item in the reference split to fit the embedding on")
        if len(x) > self.max_fit_items:  # the principal axes are well estimated from a sample
            x = x[np.sort(np.random.default_rng(0).choice(len(x), self.max_fit_items, replace=False))]
        self.mean_ = x.mean(axis=0)
        k = min(self.dim, x.shape[1], len(x) // self.min_items_per_dim)
        if k >= 8:
            centred = x - self.mean_
            # eigenvectors of the (dim x dim) covariance, one BLAS thread: an SVD of the (n x dim) matrix with
            # every thread took 3-11 s for 1,600 x 589 on a busy 2-core machine, this takes 0.15 s
            with threadpool_limits(1):
                variance, axes = np.linalg.eigh(centred.T @ centred / len(x))
            order = np.argsort(variance)[::-1][:k]
            scale = np.sqrt(np.maximum(variance[order], 0.0))
            scale = np.maximum(scale, self.floor * scale[0])
            self.projection_ = (axes[:, order] / scale).astype(np.float64)
        return self

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("Whitener.transform before fit")
        x = np.asarray(vectors, dtype=np.float64)
        zero = np.linalg.norm(x, axis=1) == 0
        out = x - self.mean_
        if self.projection_ is not None:
            out = out @ self.projection_
        out[zero] = 0.0  # unreadable items stay zero (they match nothing)
        return out.astype(np.float32)

    @property
    def out_dim(self) -> int | None:
        if self.mean_ is None:
            return None
        return self.projection_.shape[1] if self.projection_ is not None else len(self.mean_)
