"""Reference workloads run by ``run.py`` as child processes, on the same files as splitcheck.

``decode-floor``
    PIL open + ``draft("L", (64, 64))`` for JPEG + ``convert("L")`` for every file, across ``--jobs``
    processes (multiprocessing Pool). No hashing, no search: the least work any pixel-based scan must do,
    so splitcheck's wall time is compared with it.
``imagehash-loop``
    The loop a user writes in 30 lines: ``imagehash.phash(Image.open(path))`` for every file, in ONE
    process (imagehash has no batch or parallel mode), then a faiss ``IndexBinaryFlat`` range search of the
    validation hashes against the training hashes, Hamming distance <= ``--threshold`` (default 10).

Both write ``--out`` as JSON: ``{"n_images": ..., "pairs": [[val_id, train_id, distance], ...], "seconds":
{...}}`` (the decode floor has no pairs). Ids are paths relative to each split root.

Usage::

    python baselines.py decode-floor --train DIR/train --val DIR/val --jobs 2 --out floor.json
    python baselines.py imagehash-loop --train DIR/train --val DIR/val --out loop.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

from PIL import Image

#: The image extensions splitcheck's folder loader lists (lower case).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)


def list_images(root: Path) -> list[str]:
    """Sorted relative POSIX paths of the image files below ``root`` (hidden entries skipped)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(found)


def decode_small(path: str) -> tuple[int, int]:
    """Decode ``path`` to grayscale at the smallest JPEG draft scale that keeps 64x64; returns the size."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft("L", (64, 64))
        gray = img.convert("L")
        return gray.size


def decode_floor(train: Path, val: Path, jobs: int) -> dict[str, object]:
    paths = [str(train / p) for p in list_images(train)] + [str(val / p) for p in list_images(val)]
    t0 = time.perf_counter()
    with Pool(jobs) as pool:
        sizes = pool.map(decode_small, paths, chunksize=max(1, min(256, len(paths) // (jobs * 16) or 1)))
    elapsed = time.perf_counter() - t0
    return {"n_images": len(paths), "jobs": jobs, "pairs": [],
            "mean_decoded_pixels": sum(w * h for w, h in sizes) / max(1, len(sizes)), "seconds": {"decode": elapsed}}


def imagehash_loop(train: Path, val: Path, threshold: int) -> dict[str, object]:
    import faiss
    import imagehash
    import numpy as np

    def hashes(root: Path, ids: list[str]) -> np.ndarray:
        codes = np.zeros((len(ids), 8), dtype=np.uint8)
        for k, rel in enumerate(ids):
            with Image.open(root / rel) as img:
                codes[k] = np.packbits(imagehash.phash(img).hash.ravel())
        return codes

    train_ids, val_ids = list_images(train), list_images(val)
    t0 = time.perf_counter()
    train_codes, val_codes = hashes(train, train_ids), hashes(val, val_ids)
    t1 = time.perf_counter()
    index = faiss.IndexBinaryFlat(64)
    index.add(train_codes)
    pairs: list[list[object]] = []
    if len(val_ids) and len(train_ids):
        lims, dist, found = index.range_search(val_codes, threshold + 1)  # faiss keeps distances < radius
        for q in range(len(val_ids)):
            for k in range(lims[q], lims[q + 1]):
                pairs.append([val_ids[q], train_ids[int(found[k])], int(dist[k])])
    t2 = time.perf_counter()
    return {"n_images": len(train_ids) + len(val_ids), "jobs": 1, "threshold": threshold, "pairs": pairs,
            "seconds": {"hash": t1 - t0, "search": t2 - t1}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reference workloads for the image-leakage benchmark.")
    parser.add_argument("workload", choices=["decode-floor", "imagehash-loop"])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (decode-floor only)")
    parser.add_argument("--threshold", type=int, default=10, help="Hamming distance threshold (imagehash-loop)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.workload == "decode-floor":
        result = decode_floor(args.train, args.val, args.jobs)
    else:
        result = imagehash_loop(args.train, args.val, args.threshold)
    args.out.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
