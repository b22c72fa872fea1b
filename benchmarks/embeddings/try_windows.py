"""Experiment: does pooling the colour-gradient descriptor over sub-windows of the training images find
harder near-copies (strong crops, rotations, colour jitter)?

The same planted set as ``bench_planted.py`` (64 px images, seed 7). Each training image is described whole
and, for the windowed variants, also over sub-windows (resized back to 64 px); a validation item's similarity
to a training item is the best over that item's windows. The reference distribution (leave-one-out, the
calibration of the real scanner) is built the same way: each training image whole against every *other*
training image's windows, so the threshold stays calibrated. Scored at the scanner's defaults (z >= 5,
cosine >= 0.5). Prints a Markdown table: recall per transform, false pairs, seconds to describe.

A second experiment (``--parts``) keeps one vector per image but calibrates the descriptor's parts separately
(whole vector, gradient-orientation histograms only, colour histograms only, each whitened and calibrated on
its own) and flags a pair when any part is extreme: colour jitter leaves the orientation part nearly unchanged,
a crop or a rotation leaves the colour part nearly unchanged.

    python benchmarks/embeddings/try_windows.py [--images 2000] [--parts]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth_data import TRANSFORMS, make_image_set

from splitcheck.embed.base import Whitener
from splitcheck.embed.calibration import calibrate
from splitcheck.embed.images import ColourGradientEmbedder

SIZE = 64


def windows(spec: str) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) fractions of the image: the whole image first."""
    out = [(0.0, 0.0, 1.0, 1.0)]
    if spec == "none":
        return out
    side = float(spec.split(":")[1])
    grid = (0.0, 0.5, 1.0) if spec.startswith("grid9") else (0.0, 1.0)
    for gx in grid:
        for gy in grid:
            x0, y0 = gx * (1 - side), gy * (1 - side)
            out.append((x0, y0, x0 + side, y0 + side))
    if spec.startswith("corners5"):
        c = (1 - side) / 2
        out.append((c, c, c + side, c + side))
    return out


def describe(images: list[Image.Image], boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    """(n, len(boxes), dim) raw descriptors."""
    emb = ColourGradientEmbedder()
    out = []
    for box in boxes:
        crops = np.stack([np.asarray(im.convert("RGB").resize(
            (SIZE, SIZE), Image.Resampling.LANCZOS, box=tuple(v * im.width for v in box))) for im in images])
        out.append(emb.embed(crops))
    return np.stack(out, axis=1)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def run(ds, spec: str) -> str:  # type: ignore[no-untyped-def]
    boxes = windows(spec)
    t0 = time.perf_counter()
    train_raw = describe(ds.train, boxes)
    val_raw = describe(ds.val, boxes[:1])[:, 0]
    seconds = time.perf_counter() - t0
    whitener = Whitener(128).fit(train_raw[:, 0])
    n, w, d = train_raw.shape
    train = unit(whitener.transform(train_raw.reshape(n * w, d))).reshape(n, w, -1)
    val = unit(whitener.transform(val_raw))
    flat = train.reshape(n * w, -1)
    owner = np.repeat(np.arange(n), w)
    # val -> best window of each train item
    sims = (val @ flat.T).reshape(len(val), n, w).max(axis=2)
    nn = sims.argmax(axis=1)
    best = sims[np.arange(len(val)), nn]
    # leave-one-out reference: each train image whole against other train items' windows
    ref = (train[:, 0] @ flat.T)
    ref[np.arange(n)[:, None] == owner[None, :]] = -np.inf
    ref = ref.reshape(n, n, w).max(axis=2).max(axis=1)
    cal = calibrate(ref, z_threshold=5.0, min_similarity=0.5)
    flagged = best >= cal.threshold
    truth = ds.pairs
    hits = {v for v in np.flatnonzero(flagged) if truth.get(int(v)) == int(nn[v])}
    false = int(flagged.sum()) - len(hits)
    per = []
    for kind in TRANSFORMS:
        members = [v for v, k in ds.kinds.items() if k == kind]
        per.append(f"{np.mean([v in hits for v in members]):.2f}")
    recall = len(hits) / len(truth)
    return (f"| {spec} ({len(boxes)} per train image) | {recall:.2f} | " + " | ".join(per)
            + f" | {false} | {cal.threshold:.3f} | {seconds:.1f} |")


#: Columns of the raw colour-gradient vector (default settings): 9 orientations x (1 + 4 + 16) cells, then colour.
PARTS = {"all": slice(None), "orientation": slice(0, 189), "colour": slice(189, None)}


def run_parts(ds, z_threshold: float) -> list[str]:  # type: ignore[no-untyped-def]
    train_raw = describe(ds.train, windows("none"))[:, 0]
    val_raw = describe(ds.val, windows("none"))[:, 0]
    flagged = {}
    for name, columns in PARTS.items():
        whitener = Whitener(128).fit(train_raw[:, columns])
        train, val = unit(whitener.transform(train_raw[:, columns])), unit(whitener.transform(val_raw[:, columns]))
        ref = train @ train.T
        np.fill_diagonal(ref, -np.inf)
        cal = calibrate(ref.max(axis=1), z_threshold=z_threshold, min_similarity=0.5)
        sims = val @ train.T
        nn = sims.argmax(axis=1)
        best = sims[np.arange(len(val)), nn]
        flagged[name] = {(int(i), int(nn[i])) for i in np.flatnonzero(best >= cal.threshold)}
    truth = set(ds.pairs.items())
    rows = []
    for combo in (("all",), ("all", "orientation"), ("orientation", "colour"), ("all", "orientation", "colour")):
        found = set().union(*(flagged[c] for c in combo))
        hits = found & truth
        per = [f"{np.mean([(v, ds.pairs[v]) in hits for v, k in ds.kinds.items() if k == kind]):.2f}"
               for kind in TRANSFORMS]
        rows.append(f"| any of {' / '.join(combo)} at z >= {z_threshold:g} | {len(hits) / len(truth):.2f} | "
                    + " | ".join(per) + f" | {len(found - truth)} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--specs", default="none,corners5:0.7,corners5:0.6,grid9:0.7")
    ap.add_argument("--parts", action="store_true")
    args = ap.parse_args()
    n = args.images
    ds = make_image_set(n, n // 4, max(2, n // 200), size=SIZE, seed=args.seed)
    if args.parts:
        print("| parts calibrated separately | recall | " + " | ".join(TRANSFORMS) + " | false pairs |")
        print("|---|---|" + "---|" * len(TRANSFORMS) + "---|")
        for z in (5.0, 6.0, 7.0):
            print("\n".join(run_parts(ds, z)), flush=True)
        return
    print(f"{n} + {n // 4} images, {len(ds.pairs)} planted ({', '.join(TRANSFORMS)}); z >= 5, cosine >= 0.5\n")
    print("| windows | recall | " + " | ".join(TRANSFORMS) + " | false pairs | cosine threshold | describe s |")
    print("|---|---|" + "---|" * len(TRANSFORMS) + "---|---|---|")
    for spec in args.specs.split(","):
        print(run(ds, spec), flush=True)


if __name__ == "__main__":
    main()
