"""fastdup's train-versus-test run, inside its own venv (benchmarks/_work/venvs/fastdup).

``fastdup.run(input_dir=train, test_dir=val, work_dir=...)`` embeds every image with the bundled ONNX
model (offline) and writes ``similarity.csv`` in the work dir: pairs of a test (validation) image and a
training image whose cosine similarity is at least ``--threshold`` (fastdup's default 0.9). Those pairs
are the prediction. Set ``SENTRY_OPT_OUT=1`` (run.py does) so that it reports nothing anywhere.
fastdup is under a non-commercial licence: a benchmark peer only, never a dependency.

Writes ``--out``: ``{"n_images": ..., "pairs": [[val_id, train_id, similarity], ...], "seconds": {...}}``.

Usage: ``VENV/bin/python fastdup_runner.py --train DIR/train --val DIR/val --work W --jobs 2 --out pairs.json``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path


def _relative(path: str, roots: dict[str, Path]) -> tuple[str, str] | None:
    p = Path(path).resolve()
    for name, root in roots.items():
        try:
            return name, p.relative_to(root).as_posix()
        except ValueError:
            continue
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="fastdup's work dir (created, must be empty)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("SENTRY_OPT_OUT", "1")

    import fastdup

    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    status = fastdup.run(input_dir=str(args.train.resolve()), test_dir=str(args.val.resolve()),
                         work_dir=str(args.work.resolve()), num_threads=args.jobs, threshold=args.threshold)
    t1 = time.perf_counter()
    if status not in (0, None):
        print(f"fastdup_runner: fastdup.run returned {status}", file=sys.stderr)
        return 1
    roots = {"train": args.train.resolve(), "val": args.val.resolve()}
    pairs = set()
    n_rows = 0
    with open(args.work / "similarity.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            n_rows += 1
            a, b = _relative(row["from"], roots), _relative(row["to"], roots)
            if a is None or b is None or a[0] == b[0]:
                continue
            val_id, train_id = (a[1], b[1]) if a[0] == "val" else (b[1], a[1])
            pairs.add((val_id, train_id, round(float(row["distance"]), 4)))
    # similarity.csv may hold both directions of a pair: keep one row per (val, train), the most similar
    best: dict[tuple[str, str], float] = {}
    for val_id, train_id, sim in pairs:
        best[(val_id, train_id)] = max(sim, best.get((val_id, train_id), -1.0))
    n_images = sum(1 for _ in args.train.rglob("*") if _.is_file()) + sum(1 for _ in args.val.rglob("*") if _.is_file())
    result = {"n_images": n_images, "jobs": args.jobs, "threshold": args.threshold,
              "pairs": sorted([v, t, s] for (v, t), s in best.items()), "similarity_rows": n_rows,
              "seconds": {"run": t1 - t0, "read": time.perf_counter() - t1}}
    args.out.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
