"""Choose the near-duplicate defaults: per-transform recall and precision over thresholds.

    python benchmarks/image_leakage/calibrate.py benchmarks/_work/cal2k [--hashes phash,dhash] [--no-variants]

Decodes the set once with splitcheck's own pipeline, finds every validation-training pair within a generous
summed distance with the scanner's own search, then prints recall per transform and precision for each
threshold (summed Hamming distance) and per-hash cap. A pair is a true positive when truth.json plants it;
every other pair within the threshold is a false positive (exact copies count: the scanner reports them as
LK101 instead, but the hashes must find them too).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from splitcheck.context import ScanContext
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.near_duplicates import NearDuplicateScanner
from splitcheck.signatures.decode import DecodeSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--hashes", default="phash,dhash")
    parser.add_argument("--hash-size", type=int, default=8)
    parser.add_argument("--no-variants", action="store_true")
    parser.add_argument("--no-mirror", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    truth = json.loads((args.root / "truth.json").read_text())
    planted = {(p["val_id"], p["train_id"]): p["transform"] for p in truth["pairs"]}
    names = args.hashes.split(",")
    splits = [load_split(n, str(args.root / n), LoadOptions()) for n in ("train", "val")]
    settings = DecodeSettings(hashes=tuple(names), hash_size=args.hash_size, variants=not args.no_variants,
                              mirror=not args.no_mirror)
    context = ScanContext(splits, jobs=args.jobs, image_settings=settings)
    train, val = (context.image_signatures(s) for s in splits)
    bits = len(names) * args.hash_size ** 2
    # the search runs on the first hash with radius min(threshold, max-hash-distance): keep it at a quarter of
    # a hash (a wider radius returns a large share of all pairs and runs out of memory on big sets)
    scanner = NearDuplicateScanner(hashes=names, hash_size=args.hash_size, threshold=int(bits * 0.1875),
                                   max_hash_distance=args.hash_size ** 2 // 4, mirror=not args.no_mirror,
                                   variants=not args.no_variants)
    pairs = scanner._matches(context, val, train)
    pairs["key"] = list(zip(splits[1].ids[pairs["a"]], splits[0].ids[pairs["b"]]))
    pairs["max_single"] = pairs[[f"distance_{h}" for h in names]].max(axis=1)
    counts: dict[str, int] = {}
    for t in planted.values():
        counts[t] = counts.get(t, 0) + 1
    print(f"{len(splits[1])} val x {len(splits[0])} train, hashes {'+'.join(names)} ({bits} bits), "
          f"variants={not args.no_variants}; planted {counts}")
    print(f"{'t':>3} {'cap':>3} {'recall':>6} {'prec':>6} {'fp':>4}  " + " ".join(f"{k:>10}" for k in sorted(counts)))
    for cap in sorted({args.hash_size ** 2 // 8, args.hash_size ** 2 * 3 // 16, args.hash_size ** 2 // 4}):
        for t in range(0, int(bits * 0.1875) + 1, 2):
            hit = pairs[(pairs["distance"] <= t) & (pairs["max_single"] <= cap)]
            keys = set(hit["key"])
            tp = {k for k in keys if k in planted}
            recall = {tr: sum(1 for k in tp if planted[k] == tr) / n for tr, n in counts.items()}
            precision = len(tp) / len(keys) if keys else 1.0
            print(f"{t:3d} {cap:3d} {len(tp) / len(planted):6.3f} {precision:6.3f} {len(keys) - len(tp):4d}  "
                  + " ".join(f"{recall[k]:10.2f}" for k in sorted(counts)))
    fp = pairs[[k not in planted for k in pairs["key"]]].sort_values("distance").head(5)
    print("closest false pairs:\n", fp[["key", "distance", "max_single", "variant", "method"]].to_string())
    print("farthest true pairs:\n", pairs[[k in planted for k in pairs["key"]]].assign(
        transform=lambda f: [planted[k] for k in f["key"]]).sort_values("distance").tail(5)[
        ["key", "transform", "distance", "max_single", "variant"]].to_string())


if __name__ == "__main__":
    main()
