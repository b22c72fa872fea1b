"""Extra views of image embeddings for the embedding scanner: sub-windows and a calibrated part.

The default descriptor (:class:`~splitcheck.embed.images.ColourGradientEmbedder`) is made in the decode pass for
the whole thumbnail and for 5 sub-windows (4 corners and the centre, 44 of 64 px). The whole-image vector is
*the* embedding (``embeddings_for``; used by every scanner); the windows are kept apart here (memo keys under
``embedviews:``, outside ``embed:``, so the statistics scanners' memo does not digest them: they are a function
of the same images). The embedding scanner searches a later split's whole-image vectors against every window of
the earlier split's items, so a strong crop or a rotation of a training image matches the window it came from.

A *part* is a slice of the raw vector (``embedder.parts``: the gradient-orientation histograms) whitened on its
own; the scanner calibrates and searches it separately, which finds colour-jittered copies whose colour
histograms moved.

:func:`grouped_search` turns a search over windows into a search over their owners (items): the best window
of each of the ``k`` nearest distinct owners, leaving a query's own windows out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from splitcheck.embed.base import Whitener

if TYPE_CHECKING:
    from splitcheck.context import ScanContext
    from splitcheck.index.knn import KnnIndex, KnnResult
    from splitcheck.splits import Split

VIEWS_KEY = "embedviews:raw:{split}:{identity}"
#: Window vectors whitened per chunk of this many rows (bounds the float64 temporaries).
TRANSFORM_ROWS = 16_384


def window_count(embedder: Any) -> int:
    return int(getattr(embedder, "windows", 0) or 0) if hasattr(embedder, "embed_views") else 0


def keep_windows(context: ScanContext, split: Split, embedder: Any, raw: np.ndarray) -> np.ndarray:
    """Keep the sub-window columns of ``raw`` (when it has them) for :func:`window_vectors`; return the
    whole-image columns."""
    windows = window_count(embedder)
    dim = int(getattr(embedder, "raw_dim", 0) or 0)
    if not windows or raw.ndim != 2 or raw.shape[1] != dim * (1 + windows):
        return raw
    # kept as float16: the decode pass rounds these vectors to float16 values (splitcheck.embed.decoded.describe),
    # so this halves their memory and loses nothing
    context.memo[VIEWS_KEY.format(split=split.name, identity=embedder.identity)] = raw.astype(np.float16)
    return np.ascontiguousarray(raw[:, :dim])


def window_vectors(context: ScanContext, split: Split) -> np.ndarray | None:
    """``(n, 1 + windows, dim)`` whitened vectors (whole image first) of ``split``, or None without windows."""
    from splitcheck.embed.context import embedder_for, embeddings_for

    embeddings_for(context, context.reference)  # fits the scan's whitener
    embeddings_for(context, split)
    embedder = embedder_for(context)
    raw = context.memo.get(VIEWS_KEY.format(split=split.name, identity=embedder.identity))
    whitener = context.memo.get(f"embed:whitener:{embedder.identity}")
    if raw is None or whitener is None:
        return None
    n, views = len(raw), 1 + window_count(embedder)
    flat = raw.reshape(n * views, -1)
    out = np.empty((n * views, whitener.out_dim or flat.shape[1]), np.float32)
    for start in range(0, len(flat), TRANSFORM_ROWS):  # the transform works in float64: bounded chunks
        out[start:start + TRANSFORM_ROWS] = whitener.transform(flat[start:start + TRANSFORM_ROWS])
    return out.reshape(n, views, -1)


def part_names(context: ScanContext) -> list[str]:
    from splitcheck.embed.context import PRECOMPUTED_KEY, embedder_for

    if PRECOMPUTED_KEY in context.memo:
        return []
    return sorted(getattr(embedder_for(context), "parts", None) or {})


def part_vectors(context: ScanContext, split: Split, part: str) -> np.ndarray:
    """``(n, dim)`` vectors of the columns ``part`` of ``split``'s raw embedding, whitened on the reference split's."""
    from splitcheck.embed.context import _raw, embedder_for

    embedder = embedder_for(context)
    columns = embedder.parts[part]
    key = f"embedviews:part:{part}:{split.name}:{embedder.identity}"
    if key not in context.memo:
        wkey = f"embedviews:part-whitener:{part}:{embedder.identity}"
        if wkey not in context.memo:
            reference = _raw(context, context.reference, embedder)[:, columns]
            context.memo[wkey] = Whitener(int(getattr(embedder, "whiten", 0) or 128)).fit(reference)
        context.memo[key] = context.memo[wkey].transform(_raw(context, split, embedder)[:, columns])
    return context.memo[key]


def grouped_search(index: KnnIndex, owners: np.ndarray, per_owner: int, queries: np.ndarray, k: int, *,
                   self_owners: np.ndarray | None = None) -> KnnResult:
    """The ``k`` nearest distinct owners of each query (similarity of the owner's best window), leaving out the
    query's own windows (``self_owners[i]`` is query ``i``'s owner). Exact for an exact index: the ``k``-th
    distinct owner is among the first ``k * per_owner`` windows (plus ``per_owner`` own windows)."""
    from splitcheck.index.knn import KnnResult

    depth = min(len(index), k * per_owner + (per_owner if self_owners is not None else 0))
    result = index.search(queries, depth)
    found = result.indices >= 0
    own = np.where(found, owners[np.maximum(result.indices, 0)], -1)
    keep = found.copy()
    if self_owners is not None:
        keep &= own != np.asarray(self_owners)[:, None]
    # keep each owner's first (best) window: equal owners are adjacent after a stable sort, best first; dropped
    # entries get distinct negative keys so they never collide
    key = np.where(keep, own, -1 - np.arange(own.shape[1]))
    order = np.argsort(key, axis=1, kind="stable")
    ranked = np.take_along_axis(key, order, axis=1)
    first = np.ones_like(keep)
    first[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    unique = np.zeros_like(keep)
    np.put_along_axis(unique, order, first & (ranked >= 0), axis=1)
    pick = np.argsort(~unique, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(unique, pick, axis=1)
    sims = np.where(valid, np.take_along_axis(result.similarities, pick, axis=1), -np.inf).astype(np.float32)
    idx = np.where(valid, np.take_along_axis(own, pick, axis=1), -1)
    if idx.shape[1] < k:
        pad = k - idx.shape[1]
        sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
    return KnnResult(sims, idx.astype(np.int64), result.method)
