"""Near-duplicate images: perceptual-hash neighbours across splits (leakage) and inside one split."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.index.hamming import hamming_distances, hamming_pairs
from splitcheck.scanners.base import Param, Rule, Scanner, in_range, register
from splitcheck.signatures.decode import VARIANT_NAMES, DecodeSettings
from splitcheck.signatures.images import ImageSignatures
from splitcheck.splits import Split

if TYPE_CHECKING:
    from splitcheck.config import Config

HASHES = ("phash", "dhash", "ahash", "whash")


def _hash_list(value: object) -> str | None:
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(v in HASHES for v in value)):
        return f"must be a non-empty list of distinct hash names from {', '.join(HASHES)}"
    return None


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _power_of_two(value: object) -> str | None:
    problem = in_range(4, 32, integer=True)(value)
    if problem is None and value & (value - 1):  # type: ignore[operator]
        return "must be a power of two between 4 and 32"
    return problem


@register
class NearDuplicateScanner(Scanner):
    """Finds images of one split that are transformed copies of images of another, by perceptual hashes.

    What it finds: pairs whose perceptual hashes (pHash and dHash by default, 64 bits each) differ in
    at most ``threshold`` bits in all and in at most ``max-hash-distance`` bits in any one hash; a
    horizontally mirrored copy is matched through the hashes of the mirrored image, and cropped or
    slightly rotated copies through the hashes of crops and ±4° rotations of each earlier split's image. Such pairs are
    re-encoded, resized, slightly cropped, recoloured, noisy, flipped or slightly rotated copies.
    Exact copies (LK101) are not repeated here. The search is a faiss binary index, not a pairwise loop.
    Why it matters: a transformed copy of a training image in validation is scored on memorised content,
    so the validation loss is too low, just as with an exact copy.
    """

    name = "near_duplicates"
    rules = {
        "LK102": Rule("cross-split-near-duplicate", Severity.ERROR,
                      "An image of one split is a transformed copy (perceptual-hash neighbour) of an image of another."),
        "DQ202": Rule("within-split-near-duplicate", Severity.INFO,
                      "Groups of near-identical images inside one split (they inflate it; they are not leakage)."),
    }
    modalities = frozenset({"image"})
    params = {
        "hashes": Param(["phash", "dhash"], "Perceptual hashes combined into one code (phash, dhash, ahash, whash).",
                        _hash_list),
        "hash_size": Param(8, "Hash side in cells: each hash has hash-size² bits (8 gives 64-bit hashes).",
                           _power_of_two),
        "threshold": Param(14, "Largest summed Hamming distance (in bits, over all the hashes) of a near-copy pair.",
                           in_range(0, 4096, integer=True)),
        "max_hash_distance": Param(12, "Largest Hamming distance (in bits) allowed in any single hash of a pair.",
                                   in_range(0, 1024, integer=True)),
        "mirror": Param(True, "Also match horizontally mirrored copies.", _boolean),
        "variants": Param(True, "Also match each image's crops (7.5% off the sides, 9 offsets) and ±4° rotations, "
                                "so cropped and slightly rotated copies are found.", _boolean),
        "within_split": Param(True, "Also report near-duplicate groups inside each split (DQ202, info).", _boolean),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        findings: list[Finding] = []
        for later, earlier in context.split_pairs():
            finding = self._cross(context, later, earlier)
            if finding is not None:
                findings.append(finding)
        if self.settings["within_split"]:
            for split in context.splits:
                finding = self._within(context, split)
                if finding is not None:
                    findings.append(finding)
        return findings

    # ------------------------------------------------------------------------------------------ search
    def _matches(self, sa: ImageSignatures, sb: ImageSignatures | None) -> pd.DataFrame:
        """Pairs (indices into the splits) within the thresholds, in their best orientation and variant.

        The hashes are concatenated and searched as one code, so the distance searched is the sum of the
        hashes' distances (``threshold``); each hash must also stay within ``max-hash-distance``. Queries are
        the images of ``sa`` (and their mirror images); the base holds each image of ``sb`` (``sa`` itself
        when None) and, with ``variants``, its crop and rotation variants.
        """
        names = list(self.settings["hashes"])
        t, cap = self.settings["threshold"], self.settings["max_hash_distance"]
        base_sig = sb if sb is not None else sa
        va, vb = np.flatnonzero(sa.valid), np.flatnonzero(base_sig.valid)
        base, owner, kind = _base_codes(base_sig, names, vb, self.settings["variants"])
        widths = [sa.hashes[h].shape[1] for h in names]
        bounds = np.cumsum([0, *widths])
        frames = []
        for suffix in [""] + (["_mirror"] if self.settings["mirror"] else []):
            queries = np.concatenate([sa.hashes[h + suffix][va] for h in names], axis=1)
            qi, bi, dist = hamming_pairs(queries, base, t)
            ia, ib, kinds = va[qi], owner[bi], kind[bi]
            per_hash = [hamming_distances(queries[qi, lo:hi], base[bi, lo:hi]) for lo, hi in zip(bounds, bounds[1:])]
            keep = np.all(np.stack(per_hash) <= cap, axis=0) if len(qi) else np.zeros(0, bool)
            if sb is None:  # inside one split: never an item with itself; each unordered pair once
                keep &= ia != ib
            frame = pd.DataFrame({"a": ia, "b": ib, "distance": dist.astype(np.int64),
                                  "method": "+".join(names) + ("-mirror" if suffix else ""),
                                  "variant": np.array(("original", *VARIANT_NAMES), dtype=object)[kinds]})
            for h, d in zip(names, per_hash):
                frame[f"distance_{h}"] = d.astype(np.int64)
            frame["mirrored"] = bool(suffix)
            frames.append(frame[keep])
        pairs = pd.concat(frames, ignore_index=True)
        if pairs.empty:
            return pairs
        if sb is None:
            lo, hi = np.minimum(pairs["a"], pairs["b"]), np.maximum(pairs["a"], pairs["b"])
            pairs = pairs.assign(a=lo, b=hi)
        pairs = pairs.assign(_original=pairs["variant"] != "original")
        pairs = pairs.sort_values(["a", "b", "distance", "mirrored", "_original"], kind="stable")
        return pairs.drop_duplicates(["a", "b"], keep="first").drop(columns="_original").reset_index(drop=True)

    # ------------------------------------------------------------------------------------------ cross
    def _cross(self, context: ScanContext, a: Split, b: Split) -> Finding | None:
        sa, sb = context.image_signatures(a), context.image_signatures(b)
        pairs = self._matches(sa, sb)
        if pairs.empty:
            return None
        exact = _exact_pairs(context, a, b)
        pairs = pairs[sa.pixel[pairs["a"]] != sb.pixel[pairs["b"]]]
        if exact:
            keys = list(zip(a.ids[pairs["a"]], b.ids[pairs["b"]]))
            pairs = pairs[[k not in exact for k in keys]]
        if pairs.empty:
            return None
        pairs = pairs.sort_values(["distance", "a", "b"], kind="stable").reset_index(drop=True)
        ia, ib = pairs["a"].to_numpy(), pairs["b"].to_numpy()
        copies = pd.Series(ib).map(pd.Series(ib).value_counts()).to_numpy()
        evidence = pd.DataFrame({
            "a_split": a.name, "a_id": a.ids[ia], "b_split": b.name, "b_id": b.ids[ib],
            "method": pairs["method"].to_numpy(), "distance": pairs["distance"].to_numpy(),
        })
        for column in pairs.columns:
            if column.startswith("distance_"):
                evidence[column] = pairs[column].to_numpy()
        evidence["variant"] = pairs["variant"].to_numpy()
        evidence["transform"] = _guess_transforms(sa, sb, ia, ib, pairs["mirrored"].to_numpy(),
                                                  pairs["variant"].to_numpy())
        evidence["a_label"] = _labels(a)[ia] if a.has_labels else None
        evidence["b_label"] = _labels(b)[ib] if b.has_labels else None
        evidence["b_copies"] = copies
        n_affected = int(np.unique(ia).size)
        ratio = n_affected / len(a)
        shares = _class_shares(a, np.unique(ia))
        worst = max(copies)
        detail = ", ".join(f"{k} {v:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])[:3] if v > 0)
        message = (f"{n_affected} of {len(a)} {a.name} items ({ratio:.1%}) are near-copies of {b.name} items "
                   f"({len(evidence)} pairs, {'+'.join(self.settings['hashes'])} Hamming distance <= "
                   f"{self.settings['threshold']} of {len(self.settings['hashes']) * self.settings['hash_size'] ** 2}"
                   " bits)")
        if detail:
            message += f"; most affected classes: {detail}"
        if worst > 1:
            message += f"; one {b.name} image has {worst} copies"
        metrics = {"n_pairs": float(len(evidence)), "n_affected": float(n_affected), "ratio_affected": ratio,
                   "threshold": float(self.settings["threshold"]), "max_copies_of_one_item": float(worst),
                   **{f"n_pairs_{t.replace('/', '_').replace('-', '_')}": float(n)
                      for t, n in evidence["transform"].value_counts().items()},
                   **{f"class_share_affected:{k}": v for k, v in shares.items()}}
        return self.finding(
            context, "LK102",
            title=f"{a.name} images that are near-copies of {b.name} images",
            message=message, splits=(a.name, b.name), metrics=metrics, evidence=evidence,
            remediation=(f"Look at a few pairs (the html report shows them side by side); remove the {n_affected} "
                         f"copied items from {a.name} or move them to {b.name}; deduplicate near-copies before "
                         "splitting (e.g. split by cluster)."),
        )

    # ------------------------------------------------------------------------------------------ within
    def _within(self, context: ScanContext, split: Split) -> Finding | None:
        sig = context.image_signatures(split)
        pairs = self._matches(sig, None)
        if pairs.empty:
            return None
        pairs = pairs[sig.pixel[pairs["a"]] != sig.pixel[pairs["b"]]]  # identical pixels are DQ201's
        if pairs.empty:
            return None
        n = len(split)
        graph = coo_matrix((np.ones(len(pairs)), (pairs["a"].to_numpy(), pairs["b"].to_numpy())), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        members = np.unique(np.concatenate([pairs["a"].to_numpy(), pairs["b"].to_numpy()]))
        frame = pd.DataFrame({"i": members, "component": component[members]})
        first = frame.groupby("component")["i"].transform("min")
        size = frame.groupby("component")["i"].transform("size")
        frame = frame.assign(first=first, size=size).sort_values(["first", "i"], kind="stable")
        evidence = pd.DataFrame({
            "split": split.name, "id": split.ids[frame["i"].to_numpy()],
            "cluster": split.ids[frame["first"].to_numpy()], "cluster_size": frame["size"].to_numpy().astype(int),
        })
        n_clusters = int(frame["component"].nunique())
        n_extra = len(frame) - n_clusters
        return self.finding(
            context, "DQ202",
            title=f"near-identical images inside {split.name}",
            message=(f"{len(frame)} {split.name} images fall in {n_clusters} groups of near-copies "
                     f"({n_extra} redundant, {n_extra / n:.1%} of the split)"),
            splits=(split.name,),
            metrics={"n_clusters": float(n_clusters), "n_items": float(len(frame)), "n_redundant": float(n_extra),
                     "ratio_redundant": n_extra / n, "threshold": float(self.settings["threshold"])},
            evidence=evidence,
            remediation="Keep one image per group, or keep each group inside one split when splitting.",
        )


def image_settings(config: Config) -> DecodeSettings:
    """What the image decoder must compute for the configured near-duplicate search."""
    settings = {key: p.default for key, p in NearDuplicateScanner.params.items()}
    settings.update(config.scanners.get(NearDuplicateScanner.name, {}))
    hashes = list(settings["hashes"])
    for default in ("phash", "dhash"):  # cheap, and a cache hit for scans with other settings
        if default not in hashes:
            hashes.append(default)
    return DecodeSettings(hashes=tuple(hashes), hash_size=settings["hash_size"], mirror=settings["mirror"],
                          variants=settings["variants"])


def _base_codes(sig: ImageSignatures, names: list[str], idx: np.ndarray,
                variants: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated codes of the images ``idx`` (and of their variants): (codes, owner index, variant kind)."""
    original = np.concatenate([sig.hashes[h][idx] for h in names], axis=1)
    if not variants or not sig.variants:
        return original, idx, np.zeros(len(idx), dtype=np.int64)
    extra = np.concatenate([sig.variants[h][idx] for h in names], axis=2)  # (m, V, width)
    codes = np.concatenate([original[:, None, :], extra], axis=1)
    per = codes.shape[1]
    return (codes.reshape(-1, codes.shape[2]), np.repeat(idx, per), np.tile(np.arange(per), len(idx)))


def _exact_pairs(context: ScanContext, a: Split, b: Split) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for finding in context.findings:
        if finding.code == "LK101" and finding.evidence is not None and finding.splits == (a.name, b.name):
            out.update(zip(finding.evidence["a_id"].astype(str), finding.evidence["b_id"].astype(str)))
    return out


def _labels(split: Split) -> np.ndarray:
    return split.items["label"].astype(object).to_numpy()


def _class_shares(split: Split, affected: np.ndarray) -> dict[str, float]:
    if not split.has_labels:
        return {}
    labels = _labels(split)
    total = pd.Series(labels).astype(str).value_counts()
    hit = pd.Series(labels[affected]).astype(str).value_counts()
    return {str(k): float(hit.get(k, 0) / v) for k, v in total.items()}


def _guess_transforms(sa: ImageSignatures, sb: ImageSignatures, ia: np.ndarray, ib: np.ndarray,
                      mirrored: np.ndarray, variant: np.ndarray) -> list[str]:
    """A cheap guess from the images' properties: flip, crop, resize, brightness/contrast, re-encode or other."""
    pa = sa.properties.iloc[ia].reset_index(drop=True)
    pb = sb.properties.iloc[ib].reset_index(drop=True)
    aspect_a = pa["width"] / pa["height"]
    aspect_b = pb["width"] / pb["height"]
    out = []
    for k in range(len(ia)):
        if mirrored[k]:
            out.append("flip")
        elif variant[k].startswith("rot"):
            out.append("rotation")
        elif variant[k].startswith("crop"):
            out.append("crop")
        elif abs(aspect_a[k] / aspect_b[k] - 1) > 0.02:
            out.append("crop")
        elif pa["width"][k] != pb["width"][k]:
            out.append("resize")
        elif abs(pa["brightness"][k] - pb["brightness"][k]) > 6 or (
                abs(pa["contrast"][k] - pb["contrast"][k]) > 0.08 * max(pb["contrast"][k], 1.0)):
            out.append("brightness/contrast")
        elif pa["format"][k] != pb["format"][k] or pa["sharpness"][k] < pb["sharpness"][k] * 0.98:
            out.append("re-encode/blur")
        else:
            out.append("other")
    return out
