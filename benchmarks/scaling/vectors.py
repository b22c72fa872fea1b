"""Scaling of the dense search for huge sets: IVF-PQ trained on a sample, queried shard by shard.

Workload: ``n`` synthetic embeddings (``dim`` = 64, clustered like real embeddings: ``n / 50`` centres,
each vector a centre plus noise), 90% a training base and 10% validation queries; 1% of the queries are
planted near-copies of base vectors. The base is generated in shards of 1M vectors from fixed seeds and
never held whole: each shard is generated, encoded into a copy of the trained index, searched by every
query, and dropped (:class:`splitcheck.index.ivfpq.ShardedIvfPq`); the per-shard top-10 lists are merged.

Inverted lists: base / ``LIST_SIZE`` (``--list-size`` to compare others; ``--lists-per-sqrt`` for the
former 2 x sqrt(base)), the queries' lists assigned once for all shards. Reported per size: training
(sample size, lists, wall and CPU seconds), search wall and CPU seconds (encode + search + exact re-ranking
of 4 x k candidates per shard), peak RSS of the process, cost per item (wall and CPU), the share of
planted copies found at rank 1, and recall@10 against an exact (flat) search of 1,000 queries over the
whole base (streamed shard by shard as well). Each size runs in its own process::

    python benchmarks/scaling/vectors.py --sizes 10k,100k
    python benchmarks/scaling/vectors.py --sizes 1M,10M     # once each, late: minutes
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, append, label, machine, markdown, parse_size, peak_rss_mb, run_child

DIM = 64  # --dim overrides it
SHARD = 1_000_000
K = 10
EXACT_QUERIES = 1_000


class Data:
    """The synthetic set of ``n`` items, generated shard by shard from fixed seeds."""

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n_base, self.n_queries = n - n // 10, n // 10
        rng = np.random.default_rng([seed, 999])
        self.centres = rng.standard_normal((max(1, n // 50), DIM)).astype(np.float32)
        self.seed = seed
        n_shards = max(1, -(-self.n_base // SHARD))
        self.sizes = [self.n_base // n_shards + (k < self.n_base % n_shards) for k in range(n_shards)]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])

    def shard(self, k: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, k])
        x = self.centres[rng.integers(0, len(self.centres), self.sizes[k])]
        return x + 0.6 * rng.standard_normal(x.shape, dtype=np.float32)

    def shards(self):  # type: ignore[no-untyped-def]
        for k in range(len(self.sizes)):
            yield np.arange(self.offsets[k], self.offsets[k + 1]), self.shard(k)

    def queries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Queries, the rows that are planted copies, and the base id each copies."""
        rng = np.random.default_rng([self.seed, 1000])
        q = self.centres[rng.integers(0, len(self.centres), self.n_queries)]
        q = q + 0.6 * rng.standard_normal(q.shape, dtype=np.float32)
        n_planted = max(1, self.n_queries // 100)
        rows = rng.choice(self.n_queries, n_planted, replace=False)
        source = np.sort(rng.choice(self.n_base, n_planted, replace=False))
        for k in range(len(self.sizes)):
            inside = (source >= self.offsets[k]) & (source < self.offsets[k + 1])
            if inside.any():
                base = self.shard(k)
                q[rows[inside]] = base[source[inside] - self.offsets[k]] + 0.05 * rng.standard_normal(
                    (int(inside.sum()), DIM), dtype=np.float32)
        return q, rows, source


def set_dim(dim: int) -> None:
    global DIM
    DIM = dim


def cpu_s() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def lists_for(n_base: int, list_size: float, lists_per_sqrt: float, max_lists: int = 0) -> int:
    from splitcheck.index import ivfpq

    if max_lists > 0:
        ivfpq.MAX_LISTS = max_lists
    if lists_per_sqrt > 0:  # the former rule, for comparison
        return int(min(65_536, max(16, round(lists_per_sqrt * n_base ** 0.5))))
    ivfpq.LIST_SIZE = list_size
    return ivfpq.default_lists(n_base)


def child(n: int, n_probe: int, list_size: float, lists_per_sqrt: float, max_lists: int = 0) -> dict:
    from splitcheck.index import ivfpq
    from splitcheck.index.ivfpq import (
        IvfPqSettings,
        ShardedIvfPq,
        merge_topk,
        recall_at_k,
        training_size,
    )

    row: dict = {"n": n, "dim": DIM, "k": K, "n_probe": n_probe, "list_size": list_size,
                 "lists_per_sqrt": lists_per_sqrt, "hnsw_quantiser_above": ivfpq.HNSW_QUANTIZER_LISTS,
                 "ef_add": ivfpq.EF_ADD, "train_per_list": ivfpq.TRAIN_PER_LIST}
    data = Data(n)
    t0 = time.perf_counter()
    queries, rows, source = data.queries()
    row["gen_queries_s"] = round(time.perf_counter() - t0, 2)
    n_lists = lists_for(data.n_base, list_size, lists_per_sqrt, max_lists)
    row["max_lists"] = ivfpq.MAX_LISTS
    n_train = min(data.n_base, training_size(n_lists))
    t0, c0 = time.perf_counter(), cpu_s()
    sample = data.shard(0)[:n_train] if n_train <= data.sizes[0] else np.concatenate(
        [data.shard(k) for k in range(-(-n_train // SHARD))])[:n_train]
    index = ShardedIvfPq(DIM, IvfPqSettings(n_lists=n_lists, n_probe=n_probe)).train(sample)
    del sample
    row.update(n_lists=n_lists, n_train=n_train, train_s=round(time.perf_counter() - t0, 2),
               train_cpu_s=round(cpu_s() - c0, 2))
    t0, c0 = time.perf_counter(), cpu_s()
    _, ids = index.search(queries, data.shards(), K)
    row.update(search_s=round(time.perf_counter() - t0, 2), search_cpu_s=round(cpu_s() - c0, 2))
    row["planted_top1"] = round(float(np.mean(ids[rows, 0] == source)), 4)
    row["peak_rss_mb"] = round(peak_rss_mb(), 1)  # of the method; the exact reference below is extra
    # exact reference for a sample of queries, streamed over the same shards (flat inner product)
    t0 = time.perf_counter()
    probe = np.random.default_rng(7).choice(len(queries), min(EXACT_QUERIES, len(queries)), replace=False)
    qn = queries[probe] / np.linalg.norm(queries[probe], axis=1, keepdims=True)
    best_s = np.full((len(probe), K), -np.inf, np.float32)
    best_i = np.full((len(probe), K), -1, np.int64)
    for shard_ids, x in data.shards():
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        for start in range(0, len(x), 10_000):  # bounded similarity blocks
            sims = qn @ x[start:start + 10_000].T
            top = np.argpartition(-sims, min(K, sims.shape[1] - 1), axis=1)[:, :K]
            best_s, best_i = merge_topk(best_s, best_i, np.take_along_axis(sims, top, 1),
                                        shard_ids[start:start + 10_000][top], K, True)
    row["exact_s"] = round(time.perf_counter() - t0, 2)
    row["recall_at_10"] = round(recall_at_k(ids[probe], best_i), 4)
    row["top1_exact"] = round(float(np.mean(ids[probe, 0] == best_i[:, 0])), 4)
    row["us_per_item"] = round(1e6 * (row["train_s"] + row["search_s"]) / n, 3)
    row["cpu_us_per_item"] = round(1e6 * (row["train_cpu_s"] + row["search_cpu_s"]) / n, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--n-probe", type=int, default=16)
    parser.add_argument("--list-size", type=float, default=None,
                        help="mean vectors per inverted list (default: splitcheck's LIST_SIZE)")
    parser.add_argument("--lists-per-sqrt", type=float, default=0.0,
                        help="instead, the former rule: this many lists x sqrt(base size)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--max-lists", type=int, default=0, help="cap on the lists (default: splitcheck's MAX_LISTS)")
    parser.add_argument("--out", type=Path, default=RESULTS / "vectors.jsonl")
    parser.add_argument("--child", nargs=5, metavar=("N", "NPROBE", "LIST_SIZE", "LISTS_PER_SQRT", "MAX_LISTS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    set_dim(args.dim)
    if args.child:
        n, n_probe, size, per_sqrt, cap = args.child
        print(json.dumps(child(int(n), int(n_probe), float(size), float(per_sqrt), int(cap))))
        return
    if args.list_size is None:
        from splitcheck.index.ivfpq import LIST_SIZE

        args.list_size = LIST_SIZE
    rows = []
    for n in (parse_size(s) for s in args.sizes.split(",")):
        row = run_child(Path(__file__), ["--dim", str(args.dim), "--child", str(n), str(args.n_probe),
                                         str(args.list_size), str(args.lists_per_sqrt), str(args.max_lists)])
        row["machine"] = machine()
        append(args.out, row)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    for row in rows:
        row["size"] = label(row.get("n", 0))
    print(markdown(rows, [("size", "items"), ("n_probe", "n_probe"), ("n_lists", "lists"), ("n_train", "train n"),
                          ("train_s", "train s"), ("train_cpu_s", "train CPU s"), ("search_s", "search s"),
                          ("search_cpu_s", "search CPU s"), ("us_per_item", "µs/item"),
                          ("cpu_us_per_item", "CPU µs/item"), ("peak_rss_mb", "peak RSS MB"),
                          ("planted_top1", "planted @1"), ("recall_at_10", "recall@10"),
                          ("top1_exact", "top-1 = exact"), ("process_wall_s", "process s")]))


if __name__ == "__main__":
    main()
