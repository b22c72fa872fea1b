"""Recall and precision of embedding-neighbour leakage (LK103) on planted semantic near-copies.

Runs the real scanner (splitcheck.scanners.embedding_neighbours) on data built by ``synth_data.py``:

- images (64x64 PNG): strong crops (35-55 % of the area), colour jitter + downscale, re-shot scenes,
  mirrored JPEGs, rotations; compared with a 64-bit pHash (imagehash) at its best Hamming threshold;
- text: real docstring sentences, paraphrase-like edits (synonyms, dropped word, swapped words, typo);
- tables: 20-column rows with 3 numbers scaled by 0.97-1.03, one rounded, one category changed.

The scanner runs at each z threshold of the grid (k=1, its other settings at their defaults: image sub-windows
and the orientation part calibrated at that z too), reusing one context's vectors and indexes; the tuned fixed
cosine column comes from a run with thresholds opened on the whole vectors. A reported pair is a true positive
when it is the planted (val, train) pair. Prints Markdown tables.

    python benchmarks/embeddings/bench_planted.py [--images 2000] [--text 5000] [--tables 5000]
        [--embedders colour-gradient,learned] [--text-embedders tfidf,minilm]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth_data import TRANSFORMS, make_doc_text_set, make_image_set, make_table_set

from splitcheck.context import ScanContext
from splitcheck.embed.context import configure
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

Z_GRID = (3.0, 4.0, 5.0, 6.0, 7.0, 8.0)


def neighbours(train, val, embedder=None, jobs: int = 2) -> tuple[pd.DataFrame, dict, float, dict]:  # type: ignore[no-untyped-def]
    """Every val item's nearest train item with similarity and z-score (thresholds opened, whole vectors only),
    and the pairs the scanner flags at each z of ``Z_GRID`` with its other settings at their defaults (image
    sub-windows and the orientation part calibrated at the same z): ``{z: evidence}``."""
    context = ScanContext([load_split("train", train), load_split("val", val)], jobs=jobs)
    if embedder:
        configure(context, embedder=embedder)
    t0 = time.perf_counter()
    scanner = EmbeddingNeighbourScanner(k=1, z_threshold=Z_GRID[0], part_z_threshold=Z_GRID[0], within_split=False)
    graded = {Z_GRID[0]: _lk103(scanner.run(context))}
    seconds = time.perf_counter() - t0  # one scan at the defaults' cost; the other z reuse its vectors and indexes
    for z in Z_GRID[1:]:
        graded[z] = _lk103(EmbeddingNeighbourScanner(k=1, z_threshold=z, part_z_threshold=z,
                                                     within_split=False).run(context))
    opened = EmbeddingNeighbourScanner(k=1, z_threshold=0.0, min_similarity=-1.0, within_split=False, windows=False,
                                       parts=False)
    (lk103,) = [f for f in opened.run(context) if f.code == "LK103"]
    return lk103.evidence, lk103.metrics, seconds, graded


def _lk103(findings) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    found = [f.evidence for f in findings if f.code == "LK103"]
    return found[0] if found else pd.DataFrame({"a_id": [], "b_id": [], "similarity": []})


def score(evidence: pd.DataFrame, truth: set[tuple[str, str]], keep: np.ndarray) -> tuple[float, float, int]:
    found = set(zip(evidence["a_id"][keep], evidence["b_id"][keep]))
    tp = len(found & truth)
    precision = tp / len(found) if found else float("nan")
    return tp / len(truth), precision, len(found) - tp


def report(name: str, evidence: pd.DataFrame, truth: set[tuple[str, str]], metrics: dict, seconds: float,
           graded: dict[float, pd.DataFrame], kinds: dict[tuple[str, str], str] | None = None) -> None:
    s = evidence["similarity"].to_numpy()
    cells = []
    for zt in Z_GRID:
        flagged = graded[zt]
        r, p, fp = score(flagged, truth, np.ones(len(flagged), bool))
        cells.append(f"{r:.2f} / {p:.2f} ({fp})")
    # best-F1 similarity threshold for comparison with a tuned fixed threshold
    order = np.argsort(-s)
    hits = np.array([(a, b) in truth for a, b in zip(evidence["a_id"], evidence["b_id"])])[order]
    prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    rec = np.cumsum(hits) / len(truth)
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-9)
    best = int(np.argmax(f1))
    print(f"| {name} | {seconds:.1f} | " + " | ".join(cells)
          + f" | {f1[best]:.2f} (cos {s[order][best]:.3f}) | {metrics['reference_median_similarity']:.3f} |")
    if kinds:
        found = set(zip(graded[5.0]["a_id"], graded[5.0]["b_id"]))
        per = {k: np.mean([pair in found for pair, kk in kinds.items() if kk == k]) for k in sorted(set(kinds.values()))}
        print("|  recall by transform at z=5 | " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()) + " |")


def header() -> None:
    print("| data / embedder | seconds | " + " | ".join(f"z>={z:g}: recall / precision (false)" for z in Z_GRID)
          + " | best F1 of a tuned fixed cosine | reference median cos |")
    print("|---|---|" + "---|" * len(Z_GRID) + "---|---|")


def phash_baseline(ds) -> str:  # type: ignore[no-untyped-def]
    import imagehash

    def bits(images):  # type: ignore[no-untyped-def]
        return np.stack([imagehash.phash(im).hash.flatten() for im in images]).astype(np.uint8)

    a, b = bits(ds.train), bits(ds.val)
    dist = (b[:, None, :] != a[None, :, :]).sum(axis=2)
    nn = dist.argmin(axis=1)
    d = dist[np.arange(len(b)), nn]
    truth = set(ds.pairs.items())
    best = (0.0, 0, 0.0, 0.0)
    for t in range(0, 33):
        found = {(i, int(nn[i])) for i in np.flatnonzero(d <= t)}
        tp = len(found & truth)
        if not found:
            continue
        p, r = tp / len(found), tp / len(truth)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[0]:
            best = (f1, t, r, p)
    return f"pHash 64-bit, best Hamming threshold {best[1]}: recall {best[2]:.2f}, precision {best[3]:.2f}, F1 {best[0]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--text", type=int, default=5000)
    ap.add_argument("--tables", type=int, default=5000)
    ap.add_argument("--embedders", default="colour-gradient")
    ap.add_argument("--text-embedders", default="tfidf")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    header()
    if args.images:
        n = args.images
        per_kind = max(2, n // 200)
        ds = make_image_set(n, n // 4, per_kind, size=64, seed=args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for split, images in (("train", ds.train), ("val", ds.val)):
                (root / split).mkdir()
                for i, im in enumerate(images):
                    im.save(root / split / f"{i:06d}.png")
            truth = {(f"{v:06d}.png", f"{t:06d}.png") for v, t in ds.pairs.items()}
            kinds = {(f"{v:06d}.png", f"{t:06d}.png"): ds.kinds[v] for v, t in ds.pairs.items()}
            for embedder in args.embedders.split(","):
                ev, metrics, sec, graded = neighbours(root / "train", root / "val", embedder)
                report(f"images {n}+{n // 4} ({len(truth)} planted: {', '.join(TRANSFORMS)}) / {embedder}",
                       ev, truth, metrics, sec, graded, kinds=kinds)
        print(f"|  baseline | {phash_baseline(ds)} |")
    if args.text:
        ts = make_doc_text_set(args.text, args.text // 5, max(10, args.text // 50), seed=args.seed)
        truth = {(str(v), str(t)) for v, t in ts.pairs.items()}
        for embedder in args.text_embedders.split(","):
            ev, metrics, sec, graded = neighbours(pd.DataFrame({"text": ts.train}), pd.DataFrame({"text": ts.val}), embedder)
            report(f"text {args.text}+{args.text // 5} ({len(truth)} paraphrases) / {embedder}", ev, truth, metrics, sec,
                   graded)
    if args.tables:
        train, val, pairs = make_table_set(args.tables, args.tables // 5, max(10, args.tables // 50), seed=args.seed)
        truth = {(str(v), str(t)) for v, t in pairs.items()}
        ev, metrics, sec, graded = neighbours(train, val)
        report(f"tables {args.tables}+{args.tables // 5} ({len(truth)} perturbed rows) / table", ev, truth, metrics,
               sec, graded)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
