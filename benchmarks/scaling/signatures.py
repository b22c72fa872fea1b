"""Scaling of the signature computation (read, digest, decode, hash) on real image files: local vs Dask.

Runs :class:`splitcheck.executors.local.LocalExecutor` (2 processes) and
:class:`splitcheck.executors.dask.DaskExecutor` (a ``LocalCluster`` of 2 worker processes) on the same
files with the cache off, and checks that both give identical signatures. Sets are the image-leakage
benchmark's generated sets (``benchmarks/image_leakage/generate.py``: 256-410 px PNG and JPEG scenes with
planted transformed copies), e.g. ``benchmarks/_work/set2k`` (2,000 images) and ``benchmarks/_work/cal20k``
(20,000 images). Per set it reports wall seconds, images per second, milliseconds of wall per image, and peak
RSS of the client and of the largest worker process.

With ``--codes`` it also measures, on the local run's pHash + dHash codes (128 bits), what the banded join
meets on real hashes: the candidate count of the val-to-train join against the count
expected for uniformly random codes at t = 4, 7 and 10 (real hashes are not uniform, so buckets are fuller),
and, from the set's ``truth.json``, the share of planted copies within 4, 7, 10 and 14 bits (best of the image and its
mirror), per transform::

    python benchmarks/scaling/signatures.py benchmarks/_work/set2k benchmarks/_work/cal20k --codes
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

from common import RESULTS, append, machine, markdown, peak_rss_mb, run_child


def image_paths(folder: Path) -> tuple[list[str], list[str]]:
    def listing(split: str) -> list[str]:
        return sorted(str(p) for p in (folder / split).rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})

    return listing("train"), listing("val")


def child(method: str, folder: Path, codes: bool) -> dict:
    from splitcheck.executors import make_executor
    from splitcheck.signatures.decode import DecodeSettings

    train, val = image_paths(folder)
    settings = DecodeSettings()
    row: dict = {"method": method, "set": folder.name, "n": len(train) + len(val)}
    options = {"processes": True} if method == "dask" else {}
    t0 = time.perf_counter()
    executor = make_executor(method, jobs=2, **options)
    with executor:
        if method == "dask":
            executor.n_workers_running()  # start the cluster and import the code before the clock starts
            executor.client.run(lambda: __import__("splitcheck.executors.shards"))
            row["cluster_start_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        sig_train = executor.image_signatures(train, settings)
        sig_val = executor.image_signatures(val, settings)
        row["wall_s"] = round(time.perf_counter() - t0, 2)
        if method == "dask":
            workers = executor.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            row["worker_peak_rss_mb"] = round(max(workers.values()), 1)
    if method == "local":
        row["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    row.update(peak_rss_mb=round(peak_rss_mb(), 1), images_per_s=round(row["n"] / row["wall_s"], 1),
               ms_per_image=round(1000 * row["wall_s"] / row["n"], 3),
               valid=int(sig_train.valid.sum() + sig_val.valid.sum()))
    digest = np.concatenate([sig_train.digest, sig_val.digest, *(np.concatenate([sig_train.hashes[h],
                             sig_val.hashes[h]]).ravel() for h in sorted(sig_train.hashes))])
    row["checksum"] = int(np.bitwise_xor.reduce(digest.view(np.uint64))) if len(digest) % 8 == 0 else \
        int(digest.sum())
    if codes and method == "local":
        row.update(_codes_report(folder, train, val, sig_train, sig_val))
    return row


def _codes_report(folder: Path, train: list[str], val: list[str],  # type: ignore[no-untyped-def]
                  sig_train, sig_val) -> dict:
    from splitcheck.index.banded import band_layout, band_values
    from splitcheck.index.hamming import hamming_distances

    def code(sig, mirror: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
        suffix = "_mirror" if mirror else ""
        return np.concatenate([sig.hashes["phash" + suffix], sig.hashes["dhash" + suffix]], axis=1)

    tv, vv = np.flatnonzero(sig_train.valid), np.flatnonzero(sig_val.valid)
    ct, cv = code(sig_train)[tv], code(sig_val)[vv]
    out: dict = {}
    for t in (4, 7, 10):
        layout = band_layout(128, t + 1)
        candidates = 0
        for start, stop in layout:
            a, b = band_values(cv, start, stop), band_values(ct, start, stop)
            values, counts_a = np.unique(a, return_counts=True)
            counts_b = dict(zip(*np.unique(b, return_counts=True)))
            candidates += int(sum(int(c) * int(counts_b.get(v, 0)) for v, c in zip(values, counts_a)))
        expected = len(cv) * len(ct) * sum(2.0 ** -(stop - start) for start, stop in layout)
        out[f"candidates_t{t}"] = candidates
        out[f"candidates_random_t{t}"] = round(expected, 1)
    truth_path = folder / "truth.json"
    if truth_path.exists():
        truth = json.loads(truth_path.read_text())
        index_t = {str(Path(p).relative_to(folder / "train")): i for i, p in enumerate(train)}
        index_v = {str(Path(p).relative_to(folder / "val")): i for i, p in enumerate(val)}
        full_t, full_v, mirror_v = code(sig_train), code(sig_val), code(sig_val, mirror=True)
        variants_t = np.concatenate([sig_train.variants["phash"], sig_train.variants["dhash"]], axis=2) \
            if sig_train.variants else np.zeros((len(train), 0, 16), np.uint8)
        plain: dict[str, list[int]] = {}
        scanner: dict[str, list[int]] = {}  # as the scanner compares: mirror, and the train image's variants
        for pair in truth["pairs"]:
            i, j = index_v.get(pair["val_id"]), index_t.get(pair["train_id"])
            if i is None or j is None or not (sig_val.valid[i] and sig_train.valid[j]):
                continue
            targets = np.concatenate([full_t[j][None], variants_t[j]])
            d_plain = int(hamming_distances(full_v[i], full_t[j]))
            d_best = int(min(hamming_distances(np.broadcast_to(v, targets.shape), targets).min()
                             for v in (full_v[i], mirror_v[i])))
            plain.setdefault(pair["transform"], []).append(d_plain)
            scanner.setdefault(pair["transform"], []).append(d_best)
        for name, table in (("truth_within", scanner), ("truth_within_plain", plain)):
            out[name] = {key: {f"<={t}": round(float(np.mean(np.array(ds) <= t)), 3) for t in (4, 7, 10, 14)}
                         for key, ds in sorted(table.items())}
            every = np.concatenate([np.array(ds) for ds in table.values()])
            out[name]["all"] = {f"<={t}": round(float(np.mean(every <= t)), 3) for t in (4, 7, 10, 14)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--methods", default="local,dask")
    parser.add_argument("--codes", action="store_true", help="also measure hash buckets and planted distances")
    parser.add_argument("--out", type=Path, default=RESULTS / "signatures.jsonl")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "SET", "CODES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.child[2] == "1")))
        return
    rows = []
    for folder in args.sets:
        for method in args.methods.split(","):
            row = run_child(Path(__file__), ["--child", method, str(folder.resolve()), str(int(args.codes))])
            row["machine"] = machine()
            append(args.out, row)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(markdown(rows, [("method", "executor"), ("set", "set"), ("n", "images"), ("wall_s", "wall s"),
                          ("images_per_s", "img/s"), ("ms_per_image", "ms/img"), ("peak_rss_mb", "client RSS MB"),
                          ("worker_peak_rss_mb", "worker RSS MB"), ("cluster_start_s", "cluster start s"),
                          ("checksum", "checksum")]))


if __name__ == "__main__":
    main()
