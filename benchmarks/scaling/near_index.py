"""The near-duplicate scanner's search, faiss flat against multi-index hashing: where does each win?

Workload: the scanner's own cross-split search (``NearDuplicateScanner._search``) at its defaults (pHash +
dHash, 64 bits each, summed distance <= 14, each <= 12, mirror on, crop and rotation variants on: 12 base
codes per earlier-split image, 2 query codes per later-split image). ``n`` images, 90% train (the base) and
10% val (the queries).

- ``synthetic``: random hashes; each variant code is its image's code with 4-16 bits flipped; a tenth of
  the val images are planted copies of train images with 0-14 bits flipped over both hashes (each <= 12).
- ``real``: the hashes of a real image folder pair (``--real TRAIN VAL``), e.g. the generated ``cal20k``.

Methods: ``flat`` (one faiss ``IndexBinaryFlat`` range search on pHash at radius 12, then dHash checked) and
``multihash`` (bucket tables on bands of each hash, radius 14 // 2 = 7 per hash, union verified). Both must
return identical pair lists (checked by a digest of the pairs). Each case runs in its own process so peak
RSS is that case alone::

    python benchmarks/scaling/near_index.py --sizes 2k,10k,30k,100k,300k --methods flat,multihash
    python benchmarks/scaling/near_index.py --sizes 1M --methods multihash
    python benchmarks/scaling/near_index.py --real benchmarks/_work/small20k/train benchmarks/_work/small20k/val \
        --sizes 1k,2k,5k,10k,20k
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, append, label, machine, markdown, parse_size, peak_rss_mb, run_child

N_VARIANTS = 11


def _flip(codes: np.ndarray, n_flips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``codes`` with ``n_flips[i]`` distinct random bits of row ``i`` flipped."""
    if len(codes) > 500_000:  # bounded memory: the bit order below is 512 bytes per row
        return np.concatenate([_flip(codes[k:k + 500_000], n_flips[k:k + 500_000], rng)
                               for k in range(0, len(codes), 500_000)])
    out = codes.copy()
    bits = np.argsort(rng.random((len(codes), codes.shape[1] * 8)), axis=1)
    for f in range(int(n_flips.max(initial=0))):
        rows = np.flatnonzero(n_flips > f)
        b = bits[rows, f]
        out[rows, b // 8] ^= (1 << (7 - b % 8)).astype(np.uint8)
    return out


def synthetic(n: int, seed: int = 0) -> tuple[SimpleNamespace, SimpleNamespace]:
    """(val, train) signatures in the shape the scanner reads: hashes, mirror hashes, variants, valid."""
    rng = np.random.default_rng(seed)
    n_train, n_val = n - n // 10, n // 10

    def side(count: int) -> SimpleNamespace:
        hashes, variants = {}, {}
        for h in ("phash", "dhash"):
            hashes[h] = rng.integers(0, 256, (count, 8), dtype=np.uint8)
            hashes[h + "_mirror"] = rng.integers(0, 256, (count, 8), dtype=np.uint8)
            rep = np.repeat(hashes[h], N_VARIANTS, axis=0)
            variants[h] = _flip(rep, rng.integers(4, 17, len(rep)), rng).reshape(count, N_VARIANTS, 8)
        return SimpleNamespace(hashes=hashes, variants=variants, valid=np.ones(count, bool))

    train, val = side(n_train), side(n_val)
    planted = rng.choice(n_val, n_val // 10, replace=False)
    source = rng.integers(0, n_train, len(planted))
    total = rng.integers(0, 15, len(planted))
    on_p = np.minimum(rng.integers(0, total + 1), 12)
    on_d = np.minimum(total - on_p, 12)
    val.hashes["phash"][planted] = _flip(train.hashes["phash"][source], on_p, rng)
    val.hashes["dhash"][planted] = _flip(train.hashes["dhash"][source], on_d, rng)
    return val, train


def real(train: str, val: str, n: int = 0) -> tuple[SimpleNamespace, SimpleNamespace]:
    """The folders' signatures; with ``n``, the first 75% / 25% of ``n`` images of train / val."""
    from splitcheck.config import Config
    from splitcheck.loaders import LoadOptions, load_split
    from splitcheck.scanners.near_duplicates import image_settings
    from splitcheck.signatures.images import compute_image_signatures

    settings = image_settings(Config())
    out = []
    for name, folder in (("val", val), ("train", train)):
        split = load_split(name, folder, LoadOptions())
        paths = split.paths[: (n // 4 if name == "val" else n - n // 4)] if n else split.paths
        sig = compute_image_signatures(paths, settings, jobs=2)
        out.append(SimpleNamespace(hashes=sig.hashes, variants=sig.variants, valid=sig.valid))
    return out[0], out[1]


def child(method: str, n: int, real_dirs: list[str] | None) -> dict:
    from splitcheck.scanners.near_duplicates import NearDuplicateScanner

    row: dict = {"method": method, "n": n, "codes": "real" if real_dirs else "synthetic"}
    t0 = time.perf_counter()
    sa, sb = real(*real_dirs, n) if real_dirs else synthetic(n)
    row["gen_s"] = round(time.perf_counter() - t0, 2)
    row["n"] = n = int(sa.valid.sum() + sb.valid.sum())
    row["base_codes"] = int(sb.valid.sum()) * (1 + N_VARIANTS)
    row["query_codes"] = 2 * int(sa.valid.sum())
    import faiss  # noqa: F401  (imported before timing: a scan has it loaded already)

    scanner = NearDuplicateScanner(index=method)
    t0 = time.perf_counter()
    raw = scanner._search(sa, sb, True)
    row["search_s"] = round(time.perf_counter() - t0, 3)
    digest = hashlib.blake2b(digest_size=8)
    for key in ("a", "b", "distance", "kind", "mirrored"):
        digest.update(np.ascontiguousarray(raw[key]).tobytes())
    row.update(pairs=len(raw["a"]), pairs_digest=digest.hexdigest(), peak_rss_mb=round(peak_rss_mb(), 1),
               us_per_image=round(1e6 * row["search_s"] / n, 2),
               us_per_query_code=round(1e6 * row["search_s"] / max(row["query_codes"], 1), 2))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="images per case (default 2k,10k,30k; with --real: all of them)")
    parser.add_argument("--methods", default="flat,multihash")
    parser.add_argument("--real", nargs=2, metavar=("TRAIN", "VAL"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sizes is None and not args.real:
        args.sizes = "2k,10k,30k"
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(child(spec["method"], spec["n"], spec.get("real"))))
        return
    rows = []
    sizes = [parse_size(s) for s in args.sizes.split(",")] if args.sizes else [0]
    for n in sizes:
        for method in args.methods.split(","):
            spec = {"method": method, "n": n, "real": args.real}
            row = run_child(Path(__file__), ["--child", json.dumps(spec)])
            row["machine"] = machine()
            append(RESULTS / "near_index.jsonl", row)
            rows.append(row)
            print(f"{row.get('codes')} {label(row.get('n', n))} {method}: {row.get('search_s')} s, "
                  f"{row.get('pairs')} pairs ({row.get('pairs_digest')}), {row.get('peak_rss_mb')} MB "
                  f"{row.get('error', '')}", flush=True)
    print(markdown(rows, [("codes", "codes"), ("n", "images"), ("base_codes", "base codes"), ("method", "method"),
                          ("search_s", "search s"), ("us_per_image", "µs / image"), ("peak_rss_mb", "peak RSS MB"),
                          ("pairs", "pairs"), ("pairs_digest", "pairs digest")]))


if __name__ == "__main__":
    main()
