"""Image embeddings in the signature cache, keyed by content digest and embedder identity.

A rescan of unchanged images with the same embedder computes nothing: each item's vector is found by the
first 8 bytes of its content digest (from :meth:`ScanContext.image_signatures`, itself answered from the
cache by the file's stat) under the algorithm key ``emb-v1|<cache identity>``. A changed file has a new
digest and is embedded again; a renamed or copied file is a hit. Raw vectors (before whitening, which is
fitted per scan on the reference split) are stored as little-endian float32, except the decode-pass descriptor
(whole image + 5 sub-windows, 3,534 values), which is stored as float16 under ``emb-f16|<identity>`` (7 KB per
image): the decode pass rounds it to float16 itself, so a first scan and a rescan see the same vectors.

Which embedders are cached (:func:`cache_identity`):

- the default ``colour-gradient`` descriptor, computed in the signature decode pass
  (:mod:`splitcheck.embed.decoded`) under :data:`~splitcheck.embed.decoded.DECODED_IDENTITY`;
- any embedder with a ``cache_identity`` attribute that is not None: other colour-gradient settings, TorchScript
  files (keyed by a digest of the file), named torchvision/timm/open_clip models (keyed by a digest of the
  weight file), the learned CNN (keyed by its settings and a digest of the training data, and stored only when
  its training ran to completion, which is deterministic), and callables or torch modules given an explicit
  ``identity=``. Plain callables and modules without one are never cached: nothing would tell a changed
  model from the old one.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from splitcheck.embed.base import check_output
from splitcheck.embed.decoded import DECODED_IDENTITY, computed_in_decode, decode_descriptors
from splitcheck.errors import InputError

if TYPE_CHECKING:
    from splitcheck.context import ScanContext
    from splitcheck.splits import Split

#: Prefix of the cache's algorithm key for embeddings (bump when the stored format changes).
ALGO_PREFIX = "emb-v1|"
#: Prefix of the decode-pass descriptor's algorithm key (stored as float16; see the module docstring).
HALF_PREFIX = "emb-f16|"
#: How the pixels of embedders other than the decode-pass descriptor are made (splitcheck.embed.pixels).
PIXELS_SOURCE = "src=pixels-v1"
#: ``context.memo`` key of the per-split counts: {"decoded": made in the signature pass, "cached": read from
#: the cache, "computed": embedded now, "stored": written to the cache}. Deliberately not under ``embed:``:
#: the statistics scanners' memo digests every ``embed:`` entry, and these counts differ on a rescan.
STATS_KEY = "embedding-store:{split}"


def cache_identity(embedder: Any) -> str | None:
    """The identity image vectors of ``embedder`` are cached under, or None when they must not be cached."""
    if computed_in_decode(embedder):
        return DECODED_IDENTITY
    declared = getattr(embedder, "cache_identity", None)
    return f"{declared}|{PIXELS_SOURCE}" if declared else None


def uses_store(context: ScanContext, embedder: Any) -> bool:
    """Whether image vectors go through :func:`image_embeddings` (the decode pass, or a cacheable embedder)."""
    if computed_in_decode(embedder):
        return True
    return cache_identity(embedder) is not None and context.cache is not None and context.cache.enabled


def image_embeddings(context: ScanContext, split: Split, embedder: Any) -> np.ndarray:
    """Raw ``(len(split), dim)`` vectors of an image split: from the decode pass, the cache, or computed now.

    Unreadable items are zero rows. Vectors made now are written to the cache (when it is on).
    """
    identity = cache_identity(embedder)
    assert identity is not None and split.paths is not None
    signatures = context.image_signatures(split)
    n = len(split)
    keys = [struct.pack("<Q", int(d)) for d in signatures.digest]
    vectors: list[np.ndarray | None] = [None] * n
    fresh: list[int] = []
    stats = {"decoded": 0, "cached": 0, "computed": 0, "stored": 0}
    decoded = identity == DECODED_IDENTITY
    if decoded and signatures.described is not None and signatures.descriptors is not None:
        for i in np.flatnonzero(signatures.described & signatures.valid):
            vectors[i] = signatures.descriptors[i]
            fresh.append(int(i))
        stats["decoded"] = len(fresh)
    cache = context.cache if context.cache is not None and context.cache.enabled else None
    algo, dtype = (HALF_PREFIX + identity, "<f2") if decoded else (ALGO_PREFIX + identity, "<f4")
    width = np.dtype(dtype).itemsize
    readable = np.flatnonzero(signatures.valid)
    wanted = [int(i) for i in readable if vectors[i] is None]
    if cache is not None and wanted:
        found = cache.get([keys[i] for i in wanted], algo)
        for i in wanted:
            payload = found.get(keys[i])
            if payload and len(payload) % width == 0:
                vectors[i] = np.frombuffer(payload, dtype=dtype).astype(np.float32)
                stats["cached"] += 1
    missing = [int(i) for i in readable if vectors[i] is None]
    if missing:
        computed, ok = _compute(context, split, embedder, missing, decoded)
        for row, i in enumerate(missing):
            if ok[row]:
                vectors[i] = computed[row]
                fresh.append(i)
        stats["computed"] = int(ok.sum())
    dims = {len(v) for v in vectors if v is not None}
    if len(dims) > 1:  # a damaged or foreign cache entry: embed the whole split again, trusting nothing stored
        computed, ok = _compute(context, split, embedder, [int(i) for i in readable], decoded)
        vectors = [None] * n
        for row, i in enumerate(readable):
            vectors[i] = computed[row] if ok[row] else None
        fresh = [int(i) for row, i in enumerate(readable) if ok[row]]
        dims = {computed.shape[1]}
    dim = dims.pop() if dims else max(1, int(getattr(embedder, "dim", 0) or 1))
    out = np.zeros((n, dim), dtype=np.float32)
    for i, vector in enumerate(vectors):
        if vector is not None:
            out[i] = vector
    del vectors
    if decoded:  # the decode pass's copy is no longer needed (with sub-windows: 14 KB per image)
        signatures.descriptors = signatures.described = None
    if cache is not None and fresh and cache_identity(embedder) == identity:  # e.g. a learned CNN cut short: not stored
        cache.put([(keys[i], algo, out[i].astype(dtype).tobytes()) for i in fresh])
        stats["stored"] = len(fresh)
    context.memo[STATS_KEY.format(split=split.name)] = stats
    return out


def _compute(context: ScanContext, split: Split, embedder: Any, rows: list[int],
             decoded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of items ``rows`` of ``split`` and which of them could be read."""
    assert split.paths is not None
    paths = [split.paths[i] for i in rows]
    tick = context.progress(f"embed {split.name}", len(paths)) if context.progress else None
    if decoded:
        return decode_descriptors(paths, context.image_settings, jobs=context.jobs, progress=tick)
    from splitcheck.embed.pixels import DEFAULT_MAX_PIXELS, iter_pixels

    name = getattr(embedder, "name", "embedder")
    parts, valids = [], []
    for pixels, valid in iter_pixels(paths, int(embedder.input_size), jobs=context.jobs,
                                     chunk=256 if context.jobs <= 1 else 64,
                                     max_pixels=context.max_image_pixels or DEFAULT_MAX_PIXELS):
        out = check_output(embedder.embed(pixels), len(pixels), None, name)
        out[~valid] = 0.0
        parts.append(out)
        valids.append(valid)
        if tick:
            tick(len(pixels))
    if not parts:
        return np.zeros((0, 1), np.float32), np.zeros(0, bool)
    if len({p.shape[1] for p in parts}) > 1:
        raise InputError(f"embedder {name} returned vectors of different dimensions across batches")
    return np.concatenate(parts), np.concatenate(valids)
