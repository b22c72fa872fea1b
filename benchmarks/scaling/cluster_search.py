"""Client memory of a Dask run: the leakage searches in the client (every hash assembled there) or on the cluster.

Workload: the exact- and near-duplicate scanners at their defaults (pHash + dHash, mirror, 11 crop/rotation
variants; across splits and inside each split) on synthetic signatures of ``n`` images, 90% train and 10% val
(:func:`near_index.synthetic`: random hashes, variants 4-16 bits off their image, a tenth of val planted as
near-copies; plus 1% of val as byte copies of train). The signatures are written first, in another process, as
the Parquet shards a ``DaskExecutor(shard_dir=...)`` run leaves (512 images per shard); then, each case in its
own process:

- ``client``: the client reads the shards as the executor does (:class:`~splitcheck.executors.assembly.ShardAssembly`)
  and assembles every signature, hashes included (``hashes=True``); the searches run in the client
  (:class:`~splitcheck.search.local.LocalSearch`, multi-index hashing above 20k base codes);
- ``cluster``: the client reads only the shards' digest and property columns (``hashes=False``) and the searches
  run on a ``LocalCluster`` of 2 worker processes (:class:`~splitcheck.search.cluster.ClusterSearch`).

Both import Dask and start the cluster (as a Dask run does; the ``client`` case uses it for nothing else), so
the difference in client peak RSS is the signatures and the search. Both must report identical findings
(compared by a digest of every finding's message, metrics and evidence)::

    python benchmarks/scaling/cluster_search.py --sizes 20k,50k
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import label, markdown, parse_size, peak_rss_mb, run_case, run_child

SHARD_ROWS = 512


def prepare(n: int, folder: Path) -> None:
    """Write the synthetic signatures of ``n`` images as shards under ``folder/train`` and ``folder/val``."""
    from near_index import synthetic

    from splitcheck.config import Config
    from splitcheck.executors.shards import shard_table, write_shard
    from splitcheck.scanners.near_duplicates import image_settings
    from splitcheck.signatures.decode import ImageRecord
    from splitcheck.signatures.images import algo_key

    key = algo_key(image_settings(Config()))
    rng = np.random.default_rng(1)
    val, train = synthetic(n)
    contents = {name: rng.integers(0, 256, (len(side.valid), 16), dtype=np.uint8)
                for name, side in (("val", val), ("train", train))}
    copies = rng.choice(len(val.valid), max(1, len(val.valid) // 100), replace=False)
    contents["val"][copies] = contents["train"][rng.integers(0, len(train.valid), len(copies))]
    for name, side in (("val", val), ("train", train)):
        count = len(side.valid)
        pixels = contents[name][:, 8:].copy().view("<u8").ravel()  # byte copies share their pixels too
        numbers = np.column_stack([np.full(count, 64.0), np.full(count, 64.0), np.ones(count),
                                   rng.uniform(40, 200, count), rng.uniform(10, 60, count), rng.uniform(5, 500, count)])
        for start in range(0, count, SHARD_ROWS):
            rows = range(start, min(start + SHARD_ROWS, count))
            records = [ImageRecord(contents[name][i].tobytes(), int(pixels[i]),
                                   {h: v[i] for h, v in side.hashes.items()}, numbers[i], "RGB", "PNG",
                                   {h: v[i] for h, v in side.variants.items()}) for i in rows]
            table = shard_table(list(rows), [f"/synthetic/{name}/{i}.png" for i in rows], records,
                                [None] * len(records), [False] * len(records), key)
            write_shard(table, str(folder / name / f"part-{start // SHARD_ROWS:06d}.parquet"))


def measure(mode: str, folder: Path) -> dict:
    """Run the two scanners on the shards in ``folder`` with the search of ``mode``; the client's figures."""
    import pandas as pd
    import pyarrow.parquet as pq
    from distributed import LocalCluster  # noqa: F401  (both cases import Dask, as a Dask run does)

    from splitcheck.config import Config
    from splitcheck.context import ScanContext
    from splitcheck.executors.assembly import ShardAssembly
    from splitcheck.executors.dask import DaskExecutor
    from splitcheck.executors.shards import list_shards
    from splitcheck.scanners.exact_duplicates import ExactDuplicateScanner
    from splitcheck.scanners.near_duplicates import NearDuplicateScanner, image_settings
    from splitcheck.splits import Split

    class ShardReader(DaskExecutor):
        """The Dask executor's client side on shards already written (no images to decode)."""

        def image_signatures(self, paths, settings, cache=None, progress=None, *, hashes=True):  # type: ignore[no-untyped-def]
            self.last_shards = list_shards(str(folder / Path(paths[0]).parent.name))
            assembly = ShardAssembly([None] * len(paths), settings, hashes=hashes)
            for shard in self.last_shards:
                assembly.take(shard)
            return assembly.signatures(self.last_shards)

    baseline = peak_rss_mb()
    row: dict = {"mode": mode}
    splits = []
    for name in ("train", "val"):
        count = sum(pq.read_metadata(s).num_rows for s in list_shards(str(folder / name)))
        paths = [f"/synthetic/{name}/{i}.png" for i in range(count)]
        items = pd.DataFrame({"id": [f"{i}.png" for i in range(count)], "label": None, "group": None, "time": None})
        splits.append(Split(name, "image", items, paths=paths))
    row["n"] = sum(len(s) for s in splits)
    t0, cpu0 = time.perf_counter(), time.process_time()
    with ShardReader(n_workers=2, shard_dir=str(folder), search_above=0 if mode == "cluster" else 10**12) as executor:
        _ = executor.client  # the cluster is started in both cases
        row["cluster_start_s"] = round(time.perf_counter() - t0, 2)
        row["client_rss_with_dask_mb"] = round(current_rss_mb(), 1)
        context = ScanContext(splits, executor=executor, image_settings=image_settings(Config()))
        t1 = time.perf_counter()
        findings = []
        for scanner in (ExactDuplicateScanner(), NearDuplicateScanner()):
            produced = scanner.run(context)
            context.findings.extend(produced)
            findings.extend(produced)
        row["scan_s"] = round(time.perf_counter() - t1, 2)
        row["search"] = context.search.name
        row["client_hash_bytes"] = sum(a.nbytes for s in splits for sig in [context.computed_image_signatures(s)]
                                       for a in [*sig.hashes.values(), *sig.variants.values()])
    digest = hashlib.blake2b(digest_size=8)
    for f in findings:
        digest.update(f"{f.code}|{f.message}|{sorted(f.metrics.items())}".encode())
        digest.update(f.evidence.to_csv(index=False).encode())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    row.update(wall_s=round(time.perf_counter() - t0, 2), client_cpu_s=round(time.process_time() - cpu0, 2),
               workers_cpu_s=round(children.ru_utime + children.ru_stime, 2),
               worker_peak_rss_mb=round(children.ru_maxrss / 1024, 1), baseline_rss_mb=round(baseline, 1),
               client_peak_rss_mb=round(peak_rss_mb(), 1), findings=[f.code for f in findings],
               n_pairs=int(sum(f.metrics.get("n_pairs", 0) for f in findings if f.code.startswith("LK"))),
               findings_digest=digest.hexdigest())
    return row


def current_rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20k,50k")
    parser.add_argument("--modes", default="client,cluster")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        if spec["step"] == "prepare":
            prepare(spec["n"], Path(spec["folder"]))
            print(json.dumps({"prepared": spec["n"]}))
        else:
            print(json.dumps(measure(spec["mode"], Path(spec["folder"]))))
        return
    rows = []
    for n in (parse_size(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="splitcheck-cluster-search-") as folder:
            prepared = run_child(Path(__file__), ["--child", json.dumps({"step": "prepare", "n": n, "folder": folder})])
            if "error" in prepared:
                raise SystemExit(f"preparing {label(n)}: {prepared['error']}")
            for mode in args.modes.split(","):
                row = run_case(Path(__file__), {"step": "measure", "mode": mode, "folder": folder}, "cluster_search")
                rows.append(row)
                print(f"{label(n)} {mode}: client peak {row.get('client_peak_rss_mb')} MB, wall {row.get('wall_s')} s, "
                      f"client CPU {row.get('client_cpu_s')} s, workers CPU {row.get('workers_cpu_s')} s, "
                      f"findings {row.get('findings_digest')} {row.get('error', '')}", flush=True)
    print(markdown(rows, [("n", "images"), ("search", "search"), ("client_peak_rss_mb", "client peak RSS MB"),
                          ("client_rss_with_dask_mb", "client RSS after start MB"),
                          ("client_hash_bytes", "hash bytes in client"), ("scan_s", "scan s"), ("wall_s", "wall s"),
                          ("client_cpu_s", "client CPU s"), ("workers_cpu_s", "workers CPU s"),
                          ("worker_peak_rss_mb", "worker peak RSS MB"), ("n_pairs", "LK pairs"),
                          ("findings_digest", "findings digest")]))


if __name__ == "__main__":
    main()
