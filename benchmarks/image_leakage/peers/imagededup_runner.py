"""imagededup's PHash cross-set workflow, run inside its own venv (benchmarks/_work/venvs/imagededup).

imagededup has no train-versus-validation mode; the documented way is to encode both folders, search the
union (all pairs, ``brute_force_cython``, Hamming distance <= ``--threshold``, its default 10) and keep
the pairs that join the two sets. The peer's stub torchvision (``peers/stubs``) must come first on
``sys.path``; this script puts it there.

Writes ``--out``: ``{"n_images": ..., "pairs": [[val_id, train_id, distance], ...], "seconds": {...}}``.

Usage: ``VENV/bin/python imagededup_runner.py --train DIR/train --val DIR/val --jobs 2 --out pairs.json``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "stubs"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threshold", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from imagededup.methods import PHash

    phash = PHash(verbose=False)
    t0 = time.perf_counter()
    train = phash.encode_images(image_dir=str(args.train), recursive=True, num_enc_workers=args.jobs)
    val = phash.encode_images(image_dir=str(args.val), recursive=True, num_enc_workers=args.jobs)
    t1 = time.perf_counter()
    union = {f"train/{k}": v for k, v in train.items()}
    union.update({f"val/{k}": v for k, v in val.items()})
    found = phash.find_duplicates(encoding_map=union, max_distance_threshold=args.threshold, scores=True,
                                  num_dist_workers=args.jobs)
    t2 = time.perf_counter()
    pairs = set()
    for key, matches in found.items():
        if not key.startswith("val/"):
            continue
        for other, distance in matches:
            if other.startswith("train/"):
                pairs.add((key[4:], other[6:], int(distance)))
    result = {"n_images": len(train) + len(val), "jobs": args.jobs, "threshold": args.threshold,
              "pairs": sorted(pairs), "seconds": {"encode": t1 - t0, "search": t2 - t1}}
    args.out.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
