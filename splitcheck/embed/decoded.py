"""The default image descriptor computed from the signature decode: no image is decoded a second time.

When :class:`~splitcheck.signatures.decode.DecodeSettings` has ``descriptor=True``, the worker that decodes an
image for its hashes also makes a 64 x 64 RGB thumbnail of it (:func:`rgb_thumbnail`: transparency composited
on white, the same draft / box reduction as the gray hash input, then LANCZOS) and, per batch, the
``colour-gradient`` descriptor of those thumbnails and of their sub-windows (:func:`describe`). The raw (unwhitened) vectors reach the
scan through :class:`~splitcheck.signatures.images.ImageSignatures` and are stored in the signature cache under
:data:`DECODED_IDENTITY` (see :mod:`splitcheck.embed.store`). Items whose signatures came from the cache
without a descriptor (a cache filled by a scan that did not embed) are decoded once more here
(:func:`decode_descriptors`), the same way, and stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Side of the thumbnail the decode-pass descriptor is computed from.
THUMBNAIL = 64
#: Bumped whenever the thumbnail or the descriptor computed from it changes (part of the cache key).
DECODED_VERSION = 3


def default_descriptor() -> Any:
    from splitcheck.embed.images import ColourGradientEmbedder

    return ColourGradientEmbedder()


#: What vectors made in the decode pass are stored under: the default descriptor and how its pixels were made.
DECODED_IDENTITY = f"{default_descriptor().identity}|src=decode-v{DECODED_VERSION}"


def computed_in_decode(embedder: Any) -> bool:
    """True when ``embedder`` is the default colour-gradient descriptor, which the decode pass can compute."""
    from splitcheck.embed.images import ColourGradientEmbedder

    return (isinstance(embedder, ColourGradientEmbedder) and embedder.input_size == THUMBNAIL
            and embedder.identity == default_descriptor().identity)


def rgb_thumbnail(image: Any, settings: Any, drafted: bool) -> np.ndarray:
    """``(64, 64, 3)`` uint8 RGB of an opened (oriented) PIL image, reduced as the gray hash input is."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    rgb = image.convert("RGB")
    if settings.draft and not drafted and min(rgb.size) >= 2 * settings.draft_size:
        rgb = rgb.reduce(min(rgb.size) // settings.draft_size)
    if rgb.size != (THUMBNAIL, THUMBNAIL):
        rgb = rgb.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8)


_DESCRIPTOR: Any = None


def describe(thumbnails: np.ndarray) -> np.ndarray:
    """Raw colour-gradient vectors of a batch of thumbnails ``(n, 64, 64, 3)``: float32 ``(n, (1 + windows) *
    raw_dim)``, the whole thumbnail's vector then its sub-windows' (``ColourGradientEmbedder.embed_views``),
    rounded to float16 values: what the signature cache stores, so a rescan sees the same vectors."""
    global _DESCRIPTOR
    if _DESCRIPTOR is None:
        _DESCRIPTOR = default_descriptor()
    return _DESCRIPTOR.embed_views(thumbnails).astype(np.float16).astype(np.float32)


def describe_records(records: Sequence[Any]) -> None:
    """Set ``descriptor`` of freshly decoded records from their ``rgb`` thumbnails (one batch), then drop them."""
    todo = [r for r in records if getattr(r, "rgb", None) is not None]
    if todo:
        vectors = describe(np.stack([r.rgb for r in todo]))
        for record, vector in zip(todo, vectors):
            record.descriptor = vector
    for record in records:
        record.rgb = None


def _decode_chunk(task: tuple[list[str], Any]) -> tuple[np.ndarray, np.ndarray]:
    from threadpoolctl import threadpool_limits

    from splitcheck.signatures.decode import open_image
    from splitcheck.signatures.images import _read

    paths, settings = task
    thumbs = np.zeros((len(paths), THUMBNAIL, THUMBNAIL, 3), np.uint8)
    ok = np.zeros(len(paths), bool)
    for i, path in enumerate(paths):
        data = _read(path)
        opened = open_image(data, settings) if isinstance(data, bytes) else data
        if isinstance(opened, str):
            continue
        try:
            thumbs[i] = rgb_thumbnail(opened[0], settings, opened[5])
        except (OSError, ValueError):
            continue
        ok[i] = True
    with threadpool_limits(1):
        vectors = describe(thumbs)
    vectors[~ok] = 0.0
    return vectors, ok


def decode_descriptors(paths: Sequence[str], settings: Any, *, jobs: int = 1, chunk: int = 64,
                       progress: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``paths`` as the signature pass does and describe them: ``(vectors, readable)``."""
    from splitcheck._parallel import parallel_map

    tasks = [(list(paths[s:s + chunk]), settings) for s in range(0, len(paths), chunk)]
    parts = parallel_map(_decode_chunk, tasks, jobs=jobs, chunksize=1, progress=progress,
                         progress_of=lambda r: len(r[1]), min_items=2 if len(paths) >= 48 else len(tasks) + 1)
    if not parts:
        descriptor = default_descriptor()
        return np.zeros((0, descriptor.raw_dim * (1 + descriptor.windows)), np.float32), np.zeros(0, bool)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
