"""Small synthetic data with planted near-copies for the embedding tests (built in memory, no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def scene(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """A smooth two-colour gradient background with 3-5 random coloured ellipses and rectangles."""
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    t = np.clip((np.cos(angle) * xx + np.sin(angle) * yy + 1) / 2, 0, 1)[..., None]
    image = Image.fromarray((c0 * (1 - t) + c1 * t).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 6))):
        x, y = rng.uniform(0, size, 2)
        w, h = rng.uniform(size * 0.1, size * 0.35, 2)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = [x - w, y - h, x + w, y + h]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    noise = rng.normal(0, 4, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=float) + noise, 0, 255).astype(np.uint8))


def write_train_scenes(root: Path, rng: np.random.Generator, n: int, digits: int) -> list[Image.Image]:
    """Make ``root/train`` (with ``n`` scenes saved as ``t00.png``... with ``digits`` digits) and an empty
    ``root/val``."""
    (root / "train").mkdir()
    (root / "val").mkdir()
    train = [scene(rng) for _ in range(n)]
    for i, image in enumerate(train):
        image.save(root / "train" / f"t{i:0{digits}d}.png")
    return train


def strong_crop(image: Image.Image, rng: np.random.Generator, keep: float = 0.7) -> Image.Image:
    """Crop a ``keep`` x ``keep`` window (49 % of the area at 0.7) and resize it back."""
    size = image.width
    side = int(round(size * keep))
    x, y = (int(v) for v in rng.integers(0, size - side + 1, 2))
    return image.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BICUBIC)


def write_image_splits(root: Path, n_train: int, n_val: int, planted: int, seed: int = 0,
                       ) -> tuple[Path, Path, set[tuple[str, str]]]:
    """``root/train`` and ``root/val`` PNG folders; the first ``planted`` val images are strong crops of
    train images. Returns the folders and the planted (val id, train id) pairs."""
    rng = np.random.default_rng(seed)
    train_dir, val_dir = root / "train", root / "val"
    train_dir.mkdir(parents=True)
    val_dir.mkdir(parents=True)
    train = [scene(rng) for _ in range(n_train)]
    for i, image in enumerate(train):
        image.save(train_dir / f"t{i:04d}.png")
    sources = rng.choice(n_train, planted, replace=False)
    pairs = set()
    for j in range(n_val):
        if j < planted:
            image = strong_crop(train[sources[j]], rng)
            pairs.add((f"v{j:04d}.png", f"t{sources[j]:04d}.png"))
        else:
            image = scene(rng)
        image.save(val_dir / f"v{j:04d}.png")
    return train_dir, val_dir, pairs
