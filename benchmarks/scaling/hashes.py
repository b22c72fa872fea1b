"""Scaling of the Hamming range search on perceptual-hash codes: banded join against faiss flat.

Workload (the near-duplicate scanner's cross-split search at scale): ``n`` items of 128-bit codes (pHash +
dHash), 90% a training base and 10% validation queries; a tenth of the queries are planted copies of base
codes with 0 to ``t`` bits flipped, the rest random. Every method must return exactly the same pairs
(checked: pair count and every planted pair). Data are generated in chunks of 1M base codes from fixed
seeds, so all methods (and the Dask workers, which generate their own chunks) see identical codes.

Methods:

- ``banded``: :func:`splitcheck.index.banded.banded_pairs`, one process, ``t + 1`` bands (t=4: 5 bands of
  25-26 bits);
- ``flat``: :func:`splitcheck.index.hamming.hamming_pairs` (faiss ``IndexBinaryFlat``, all pairs by SIMD
  popcount), one process;
- ``dask``: :func:`splitcheck.index.banded.banded_pairs_dask` on a ``LocalCluster`` of 2 worker processes,
  each worker generating its own chunks (no process holds all codes).

Each (method, size) runs in its own process, so peak RSS is that case alone (for ``dask``, the client
and the largest worker are reported apart)::

    python benchmarks/scaling/hashes.py --sizes 10k,100k --methods banded,flat,dask
    python benchmarks/scaling/hashes.py --sizes 1M,10M --methods banded --flat-max 1M   # once each, late
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, append, label, machine, markdown, parse_size, peak_rss_mb, run_child

N_BYTES = 16
CHUNK = 1_000_000  # base codes per generated chunk


def chunk_sizes(n: int) -> list[tuple[int, int]]:
    """(base, queries) per chunk for ``n`` items: 90% base, 10% queries, chunks of at most CHUNK base codes."""
    n_base, n_queries = n - n // 10, n // 10
    chunks = max(1, -(-n_base // CHUNK))
    bases = [n_base // chunks + (k < n_base % chunks) for k in range(chunks)]
    queries = [n_queries // chunks + (k < n_queries % chunks) for k in range(chunks)]
    return list(zip(bases, queries))


def make_chunk(k: int, n_base: int, n_queries: int, t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray, np.ndarray]:
    """Chunk ``k``: base codes, query codes, and the planted (query row, base row) of this chunk."""
    rng = np.random.default_rng([seed, k])
    base = rng.integers(0, 256, (n_base, N_BYTES), dtype=np.uint8)
    queries = rng.integers(0, 256, (n_queries, N_BYTES), dtype=np.uint8)
    n_planted = n_queries // 10
    rows = rng.choice(n_queries, n_planted, replace=False)
    source = rng.integers(0, n_base, n_planted)
    copies = base[source].copy()
    flips = rng.integers(0, t + 1, n_planted)
    bits = np.argsort(rng.random((n_planted, N_BYTES * 8)), axis=1)[:, :t]  # t distinct bits per copy
    for f in range(t):
        chosen = flips > f
        b = bits[chosen, f]
        copies[np.flatnonzero(chosen), b // 8] ^= (1 << (7 - b % 8)).astype(np.uint8)
    queries[rows] = copies
    return base, queries, rows, source


def generate(n: int, t: int) -> tuple[np.ndarray, np.ndarray, set[tuple[int, int]]]:
    bases, queries, planted = [], [], set()
    b_off = q_off = 0
    for k, (nb, nq) in enumerate(chunk_sizes(n)):
        base, query, rows, source = make_chunk(k, nb, nq, t)
        bases.append(base)
        queries.append(query)
        planted.update(zip((rows + q_off).tolist(), (source + b_off).tolist()))
        b_off += nb
        q_off += nq
    return np.concatenate(queries), np.concatenate(bases), planted


def child(method: str, n: int, t: int) -> dict:
    from splitcheck.index.banded import banded_pairs
    from splitcheck.index.hamming import hamming_pairs

    row: dict = {"method": method, "n": n, "t": t, "bits": N_BYTES * 8}
    if method == "dask":
        return _child_dask(row, n, t)
    t0 = time.perf_counter()
    queries, base, planted = generate(n, t)
    row["gen_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    if method == "banded":
        q, b, _ = banded_pairs(queries, base, t)
    else:
        q, b, _ = hamming_pairs(queries, base, t)
    row["search_s"] = round(time.perf_counter() - t0, 3)
    found = set(zip(q.tolist(), b.tolist()))
    row.update(pairs=len(q), planted=len(planted), planted_found=len(planted & found),
               peak_rss_mb=round(peak_rss_mb(), 1), us_per_item=round(1e6 * row["search_s"] / n, 3))
    return row


def _dask_chunk(k: int, sizes: list[tuple[int, int]], t: int, side: str):  # type: ignore[no-untyped-def]
    from splitcheck.index.banded import codes_to_frame

    base, queries, _, _ = make_chunk(k, *sizes[k], t)
    offset = sum(s[0 if side == "base" else 1] for s in sizes[:k])
    codes = base if side == "base" else queries
    return codes_to_frame(codes, np.arange(offset, offset + len(codes)))


def _child_dask(row: dict, n: int, t: int) -> dict:
    import resource

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from splitcheck.index.banded import banded_pairs_dask, codes_to_frame

    sizes = chunk_sizes(n)
    meta = codes_to_frame(np.zeros((0, N_BYTES), np.uint8))
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        row["cluster_start_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        # several partitions per chunk so the shuffle has work for both workers
        base = dd.from_map(_dask_chunk, range(len(sizes)), sizes=sizes, t=t, side="base", meta=meta)
        queries = dd.from_map(_dask_chunk, range(len(sizes)), sizes=sizes, t=t, side="queries", meta=meta)
        pairs = banded_pairs_dask(queries, base, t, n_bytes=N_BYTES,
                                  npartitions=max(4, 4 * len(sizes))).compute()
        row["search_s"] = round(time.perf_counter() - t0, 3)
        workers = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    planted = set()
    b_off = q_off = 0
    for k, (nb, nq) in enumerate(sizes):
        _, _, rows, source = make_chunk(k, nb, nq, t)
        planted.update(zip((rows + q_off).tolist(), (source + b_off).tolist()))
        b_off += nb
        q_off += nq
    found = set(zip(pairs["a"].tolist(), pairs["b"].tolist()))
    row.update(pairs=len(pairs), planted=len(planted), planted_found=len(planted & found),
               peak_rss_mb=round(peak_rss_mb(), 1), worker_peak_rss_mb=round(max(workers.values()), 1),
               us_per_item=round(1e6 * row["search_s"] / n, 3))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--methods", default="banded,flat,dask")
    parser.add_argument("--t", type=int, default=4, help="Hamming radius (bits of 128); bands = t + 1")
    parser.add_argument("--flat-max", default="1M", help="largest size run with faiss flat (quadratic)")
    parser.add_argument("--dask-max", default="1M", help="largest size run on the local Dask cluster")
    parser.add_argument("--out", type=Path, default=RESULTS / "hashes.jsonl")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "N", "T"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return
    limits = {"flat": parse_size(args.flat_max), "dask": parse_size(args.dask_max)}
    rows = []
    for n in (parse_size(s) for s in args.sizes.split(",")):
        for method in args.methods.split(","):
            if n > limits.get(method, n):
                continue
            row = run_child(Path(__file__), ["--child", method, str(n), str(args.t)])
            row["machine"] = machine()
            append(args.out, row)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    for row in rows:
        row["size"] = label(row.get("n", 0))
    print(markdown(rows, [("method", "method"), ("size", "items"), ("t", "t"), ("search_s", "search s"),
                          ("us_per_item", "µs/item"), ("peak_rss_mb", "peak RSS MB"),
                          ("worker_peak_rss_mb", "worker RSS MB"), ("pairs", "pairs"),
                          ("planted_found", "planted found"), ("planted", "planted"),
                          ("process_wall_s", "process s")]))


if __name__ == "__main__":
    main()
