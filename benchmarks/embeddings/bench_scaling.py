"""Scaling of the cosine kNN search (splitcheck.index.knn): wall time, peak RSS, recall against exact search.

Synthetic vectors with cluster structure (like real embeddings): ``n / 50`` centres in ``dim`` dimensions,
each vector a centre plus noise, and 1 % of the queries planted as near-copies of base vectors.
The workload is the scanner's: a training base of ``n`` vectors, ``n / 4`` validation queries (k = 5),
plus the leave-one-out reference over a 20,000-item sample of the base, both on one index built once
(as the scanner does). Each size runs in its own process so that peak RSS is that size's alone.

    python benchmarks/embeddings/bench_scaling.py --sizes 10000,100000 --dims 128,512 --methods flat,ivf,hnsw
    python benchmarks/embeddings/bench_scaling.py --sizes 1000000 --dims 256 --methods ivf,ivfpq   # once: ~minutes

Recall is measured on 2,000 queries: share whose approximate nearest neighbour is the exact nearest
(flat search of those queries against the whole base), and share of planted near-copies found at rank 1.
CPU seconds (user + system of the process, all threads) are printed beside the wall seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def make(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 50), dim)).astype(np.float32)
    base = centres[rng.integers(0, len(centres), n)]
    base += 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    nq = max(1, n // 4)
    queries = centres[rng.integers(0, len(centres), nq)] + 0.6 * rng.standard_normal((nq, dim)).astype(np.float32)
    planted = rng.choice(n, max(1, nq // 100), replace=False)
    queries[: len(planted)] = base[planted] + 0.1 * rng.standard_normal((len(planted), dim)).astype(np.float32)
    return base, queries, planted


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one(n: int, dim: int, method: str) -> dict:
    from splitcheck.index.knn import KnnIndex, knn_search

    base, queries, planted = make(n, dim)
    c0 = cpu_s()
    t0 = time.perf_counter()
    index = KnnIndex(base, method)
    index.search(base[:1], 1)  # builds (trains and fills) the index
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = index.search(queries, 5)
    t_cross = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(n, min(n, 20_000), replace=False))
    t0 = time.perf_counter()
    index.search(base[sample], 1, self_indices=sample)
    t_ref = time.perf_counter() - t0
    cpu = cpu_s() - c0
    probe = np.arange(min(2000, len(queries)))
    exact = knn_search(queries[probe], base, k=1, method="flat")
    recall = float(np.mean(result.similarities[probe, 0] >= exact.similarities[:, 0] - 1e-5))
    planted_found = float(np.mean(result.indices[: len(planted), 0] == planted))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "dim": dim, "method": result.method, "queries": len(queries), "build_s": round(t_build, 2),
            "cross_s": round(t_cross, 2),
            "reference_s": round(t_ref, 2), "cpu_s": round(cpu, 2), "recall_at_1": round(recall, 4), "planted_found": round(planted_found, 4),
            "peak_rss_mib": round(rss)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dims", default="128,512")
    ap.add_argument("--methods", default="flat,ivf,hnsw")
    ap.add_argument("--one", nargs=3, metavar=("N", "DIM", "METHOD"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), int(args.one[1]), args.one[2])))
        return
    print("| vectors | dim | index | queries (k=5) | build s | cross-split s | reference s | total s | CPU s "
          "| peak RSS MiB | recall@1 vs exact | planted found |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in (int(v) for v in args.sizes.split(",")):
        for dim in (int(v) for v in args.dims.split(",")):
            for method in args.methods.split(","):
                out = subprocess.run([sys.executable, __file__, "--one", str(n), str(dim), method],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                total = round(r["build_s"] + r["cross_s"] + r["reference_s"], 2)
                print(f"| {r['n']:,} | {r['dim']} | {r['method']} | {r['queries']:,} | {r['build_s']} | {r['cross_s']} "
                      f"| {r['reference_s']} | {total} | {r['cpu_s']} "
                      f"| {r['peak_rss_mib']} | {r['recall_at_1']} | {r['planted_found']} |", flush=True)


if __name__ == "__main__":
    main()
