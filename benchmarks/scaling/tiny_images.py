"""Make a large ImageFolder pair of tiny images (CIFAR-sized) fast, for end-to-end scans at 10k-1M images.

The image-leakage generator (``benchmarks/image_leakage/generate.py``) draws real-looking 256 px scenes at a
few milliseconds each: a million of them would take hours on 2 cores and tens of GB. This one writes 32 x 32
PNGs (about 50 microseconds each): every image a smooth random colour field (an 8 x 8 grid of random colours
upsampled, plus noise), so that perceptual hashes differ as they do between real photos; 10 class
folders; and 1% of the validation images are copies of training images (flipped, brightened, resized or
re-encoded as JPEG), listed in ``truth.json`` like the image-leakage sets (val_id, train_id, transform).

    python benchmarks/scaling/tiny_images.py --train 900000 --val 100000 --out benchmarks/_work/tiny1m --jobs 2
"""

from __future__ import annotations

import argparse
import io
import json
import os
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

SIDE = 32
CLASSES = 10
TRANSFORMS = ("flip", "brightness", "resize", "jpeg")


def _pixels(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    field = np.asarray(Image.fromarray(grid).resize((SIDE, SIDE), Image.Resampling.BICUBIC), dtype=np.int16)
    return np.clip(field + rng.integers(-12, 13, field.shape), 0, 255).astype(np.uint8)


def _copy(pixels: np.ndarray, transform: str) -> tuple[bytes, str]:
    image = Image.fromarray(pixels)
    if transform == "flip":
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif transform == "brightness":
        image = ImageEnhance.Brightness(image).enhance(1.15)
    elif transform == "resize":
        image = image.resize((48, 48), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    if transform == "jpeg":
        image.save(buffer, "JPEG", quality=75)
        return buffer.getvalue(), ".jpg"
    image.save(buffer, "PNG")
    return buffer.getvalue(), ".png"


def _write(task: tuple[str, int, int, int, int | None, str | None]) -> None:
    root, split_seed, index, label, source, transform = task
    folder = Path(root) / f"c{label}"
    if source is None:
        buffer = io.BytesIO()
        Image.fromarray(_pixels(split_seed + index)).save(buffer, "PNG")
        data, ext = buffer.getvalue(), ".png"
    else:
        data, ext = _copy(_pixels(source), transform or "flip")
    (folder / f"{index:07d}{ext}").write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, required=True)
    parser.add_argument("--val", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--copy-share", type=float, default=0.01, help="share of validation images that copy a "
                        "training image (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    train_seed, val_seed = args.seed * 10_000_000_000, args.seed * 10_000_000_000 + 5_000_000_000
    for split in ("train", "val"):
        for c in range(CLASSES):
            (args.out / split / f"c{c}").mkdir(parents=True, exist_ok=True)
    train_labels = rng.integers(0, CLASSES, args.train)
    tasks: list[tuple[str, int, int, int, int | None, str | None]] = [
        (str(args.out / "train"), train_seed, i, int(train_labels[i]), None, None) for i in range(args.train)]
    n_copies = int(round(args.val * args.copy_share))
    sources = rng.choice(args.train, size=n_copies, replace=False)
    pairs = []
    for i in range(args.val):
        if i < n_copies:
            source, transform = int(sources[i]), TRANSFORMS[i % len(TRANSFORMS)]
            label = int(train_labels[source])
            tasks.append((str(args.out / "val"), val_seed, i, label, train_seed + source, transform))
            ext = ".jpg" if transform == "jpeg" else ".png"
            pairs.append({"val_id": f"c{label}/{i:07d}{ext}", "train_id": f"c{label}/{source:07d}.png",
                          "transform": transform})
        else:
            tasks.append((str(args.out / "val"), val_seed, i, int(rng.integers(0, CLASSES)), None, None))
    with Pool(args.jobs) as pool:
        for _ in pool.imap_unordered(_write, tasks, chunksize=512):
            pass
    truth = {"version": 1, "generator": {"tiny_images": True, "side": SIDE, "seed": args.seed},
             "n_train": args.train, "n_val": args.val, "transforms": list(TRANSFORMS), "pairs": pairs,
             "distractors": []}
    (args.out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    print(f"{args.out}: {args.train} train, {args.val} val, {n_copies} planted copies")


if __name__ == "__main__":
    main()
