"""Cost and false pairs of image embeddings in a whole scan, against the hash-only scan.

Runs ``splitcheck scan TRAIN VAL --format json -j JOBS --no-cache`` with and without ``--embedder
colour-gradient`` (interleaved, ``--rounds`` times each), and prints wall and CPU seconds (user + system of the
scan and its worker processes) per run, then the LK103 pairs of the last run with embeddings classified against
the set's ``truth.json`` (from ``benchmarks/image_leakage/generate.py``): planted copies, the set's distractors
(a scene re-rendered with shapes moved), other pairs. Without a ``truth.json`` (e.g. the bundled fixtures) every
LK103 pair is listed.

    python benchmarks/embeddings/scan_cost.py benchmarks/_work/set2k [--rounds 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(train: Path, val: Path, jobs: int, embedder: str | None, extra: list[str]) -> tuple[float, float, dict]:
    cmd = [sys.executable, "-m", "splitcheck", "scan", str(train), str(val), "--format", "json", "-j", str(jobs),
           "--no-cache", "--exit-zero", *extra]
    if embedder:
        cmd += ["--embedder", embedder]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        subprocess.run(cmd, stdout=out, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        report = json.load(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, report


def lk103_pairs(report: dict) -> list[tuple[str, str, str]]:
    pairs = []
    for finding in report["findings"]:
        if finding["code"] == "LK103":
            columns = finding["evidence"]["columns"]
            for row in finding["evidence"]["rows"]:
                values = dict(zip(columns, row))
                pairs.append((values["a_id"], values["b_id"], values["method"]))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path, help="folder with train/ and val/ (and truth.json)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--embedder", default="colour-gradient")
    args = ap.parse_args()
    train, val = args.root / "train", args.root / "val"
    rows = []
    report = None
    for r in range(args.rounds):
        for embedder in (None, args.embedder):
            wall, cpu, rep = run(train, val, args.jobs, embedder, [])
            rows.append((embedder or "hashes only", r, wall, cpu))
            print(f"| {embedder or 'hashes only'} | round {r + 1} | {wall:.1f} | {cpu:.1f} |", flush=True)
            if embedder:
                report = rep
    for name in ("hashes only", args.embedder):
        cpus = sorted(c for n, _, _, c in rows if n == name)
        print(f"median CPU s {name}: {cpus[len(cpus) // 2]:.1f}")
    assert report is not None
    pairs = lk103_pairs(report)
    truth_file = args.root / "truth.json"
    if truth_file.exists():
        truth = json.loads(truth_file.read_text())
        planted = {(p["val_id"], p["train_id"]) for p in truth["pairs"]}
        distractors = {(p["val_id"], p["train_id"]) for p in truth["distractors"]}
        kinds = {"planted copy": 0, "distractor": 0, "other": 0}
        for a, b, _ in pairs:
            kinds["planted copy" if (a, b) in planted else "distractor" if (a, b) in distractors else "other"] += 1
        print(f"LK103 pairs: {len(pairs)} ({', '.join(f'{k} {v}' for k, v in kinds.items())})")
        by_method: dict[str, int] = {}
        for a, b, method in pairs:
            if (a, b) not in planted:
                by_method[method] = by_method.get(method, 0) + 1
        print(f"non-planted pairs by method: {by_method}")
    else:
        print(f"LK103 pairs: {len(pairs)}")
        for a, b, method in pairs:
            print(f"  {a} ~ {b} ({method})")


if __name__ == "__main__":
    main()
