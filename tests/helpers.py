"""Small helpers shared by the tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def random_image(rng: np.random.Generator, size: int = 24) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def blocky(rng: np.random.Generator) -> Image.Image:
    """A 32 px image of 8 x 8 colour blocks (stable perceptual hashes under mild transforms)."""
    return Image.fromarray(np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((4, 4, 1))).astype(np.uint8))


def transformed(image: Image.Image, k: int, rng: np.random.Generator) -> Image.Image:
    """A near-copy of a :func:`blocky` image: brighter, mirrored, noisy or lower contrast (by ``k % 4``)."""
    kind = k % 4
    if kind == 0:
        return ImageEnhance.Brightness(image).enhance(1.12)
    if kind == 1:
        return ImageOps.mirror(image)
    if kind == 2:
        noisy = np.asarray(image, dtype=np.int16) + rng.integers(-6, 7, (32, 32, 3))
        return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return ImageEnhance.Contrast(image).enhance(0.9)


def tree_digest(root: Path) -> str:
    """A digest of every file's path and bytes under ``root`` (to prove nothing was written)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()
