"""Decode images into fixed-size RGB arrays for embedders, in chunks, across processes.

Each image is opened with Pillow (JPEG decoded in draft mode at the smallest scale that still covers the
target size), turned upright by its EXIF orientation, composited on white when it has transparency,
converted to RGB and resized to ``size x size`` (aspect ratio not kept: a copy and its original are
squeezed alike). An unreadable image gives a black array and ``valid=False``; the unreadable-items
scanner reports it, embedders give it a zero vector that matches nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image, ImageOps

#: Images decoded per task sent to a worker process.
CHUNK = 256
DEFAULT_MAX_PIXELS = 178_956_970


def decode_rgb(path: str, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray | None:
    """``(size, size, 3)`` uint8 pixels of the image at ``path``, or None when it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                if image.width * image.height > max_pixels:
                    return None
                if image.format == "JPEG":
                    image.draft("RGB", (size, size))
                image.load()
                image = ImageOps.exif_transpose(image) or image
                if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                    rgba = image.convert("RGBA")
                    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    image = Image.alpha_composite(background, rgba)
                rgb = image.convert("RGB")
                if rgb.size != (size, size):
                    rgb = rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
                return np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError):
        return None


def _decode_chunk(task: tuple[Sequence[str], int, int]) -> tuple[np.ndarray, np.ndarray]:
    paths, size, max_pixels = task
    out = np.zeros((len(paths), size, size, 3), np.uint8)
    valid = np.zeros(len(paths), bool)
    for i, path in enumerate(paths):
        pixels = decode_rgb(path, size, max_pixels)
        if pixels is not None:
            out[i] = pixels
            valid[i] = True
    return out, valid


def iter_pixels(paths: Sequence[str], size: int, *, jobs: int = 1, chunk: int = CHUNK,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(pixels (m, size, size, 3), valid (m,))`` for consecutive chunks of ``paths``, in order."""
    tasks = [(list(paths[s:s + chunk]), size, max_pixels) for s in range(0, len(paths), chunk)]
    if jobs <= 1 or len(tasks) < 2:
        for task in tasks:
            yield _decode_chunk(task)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_decode_chunk, tasks)


def load_pixels(paths: Sequence[str], size: int, *, jobs: int = 1, max_pixels: int = DEFAULT_MAX_PIXELS,
                progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All of ``paths`` decoded at once (for training on a split); see :func:`iter_pixels`."""
    parts, valids = [], []
    for pixels, valid in iter_pixels(paths, size, jobs=jobs, max_pixels=max_pixels):
        parts.append(pixels)
        valids.append(valid)
        if progress:
            progress(len(valid))
    if not parts:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, bool)
    return np.concatenate(parts), np.concatenate(valids)
