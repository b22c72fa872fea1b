"""Near-duplicate images: perceptual-hash neighbours across splits (leakage) and inside one split."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.index.hamming import hamming_distances
from splitcheck.scanners.base import Param, Rule, Scanner, cluster_evidence, in_range, register
from splitcheck.search import HammingRequest, HashCodes, Search
from splitcheck.search.local import LocalSearch
from splitcheck.signatures.decode import TEXTURE, VARIANT_CROPS, DecodeSettings, variant_names
from splitcheck.signatures.images import ImageSignatures
from splitcheck.signatures.texture import texture_similarity
from splitcheck.splits import Split

if TYPE_CHECKING:
    from splitcheck.config import Config

HASHES = ("phash", "dhash", "ahash", "whash")
#: Bumped when the pair search changes (invalidates memoised pair lists in the signature cache).
PAIRS_VERSION = "pairs-5"
INDEXES = ("auto", "flat", "multihash")
#: Base codes above which ``index = auto`` searches by multi-index hashing (crossover measured on this machine).
MULTIHASH_ABOVE = 20_000


def _hash_list(value: object) -> str | None:
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(v in HASHES for v in value)):
        return f"must be a non-empty list of distinct hash names from {', '.join(HASHES)}"
    return None


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _crop_sizes(value: object) -> str | None:
    if (not isinstance(value, list) or not 1 <= len(value) <= 3 or len(set(value)) != len(value)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0.01 <= v <= 0.3 for v in value)):
        return "must be a list of 1 to 3 distinct shares between 0.01 and 0.3 (e.g. [0.075] or [0.05, 0.1])"
    return None


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
    slightly rotated copies through the hashes of crops and ±4° rotations of each earlier split's image.
    Such pairs are re-encoded, resized, slightly cropped, recoloured, noisy, flipped or slightly rotated copies.
    Exact copies (LK101) are not repeated here. The search is a faiss binary index or multi-index hashing in
    this process, or a banded join on the Dask cluster from the signature shards at scale
    (``context.search``, :mod:`splitcheck.search`); never a pairwise loop, and the same pairs either way.
    Why it matters: a transformed copy of a training image in validation is scored on memorised content,
    so the validation loss is too low, just as with an exact copy.
    """

    name = "near_duplicates"
    imports = ("faiss", "scipy.sparse.csgraph")
    memoise = True
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
        "isolated_threshold": Param(18, "Largest summed distance of a pair above threshold that is still reported "
                                    "when both images are isolated (see isolation); equal to threshold turns "
                                    "this off.", in_range(0, 4096, integer=True)),
        "isolation": Param(16, "A pair between threshold and isolated-threshold is reported when no other image of "
                           "the earlier split is within its distance plus this many bits of either image (a "
                           "distinctive image and its only close match: a crop or rotation the variants almost "
                           "caught).", in_range(0, 4096, integer=True)),
        "distinct_from": Param(9, "Pairs at this summed distance or more are reported only when distinct (see "
                               "distinct-margin).", in_range(0, 4096, integer=True)),
        "distinct_margin": Param(8, "A pair at distinct-from bits or more is reported only when no other image of the "
                                 "earlier split is within its distance plus this many bits of the later image "
                                 "(images that look like many others, such as pages of text, otherwise match by "
                                 "chance in large sets); 0 turns this off.", in_range(0, 4096, integer=True)),
        "copy_radius": Param(8, "With distinct-margin: images of the earlier split within this summed distance of the "
                             "pair's partner are its copies and no rivals of it.", in_range(0, 4096, integer=True)),
        "verify_radius": Param(8, "Pairs of the two splits whose first hash is within this many bits (as they are or "
                               "mirrored) are also compared by texture (a 32 x 32 band-pass thumbnail) and reported "
                               "when it matches (see verify-similarity), whatever the other hashes and rules say; "
                               "0 turns this off. Up to 32: the candidates grow fast with the radius (a 64-bit "
                               "hash puts half of all pairs within 32 bits).", in_range(0, 32, integer=True)),
        "verify_similarity": Param(0.7, "Texture correlation (-1 to 1) at or above which such a pair is a near-copy "
                                   "(on the 100k benchmark set: brightness/contrast copies 0.78-1.0, unrelated "
                                   "pairs at most 0.60).", in_range(-1.0, 1.0)),
        "mirror": Param(True, "Also match horizontally mirrored copies.", _boolean),
        "variants": Param(True, "Also match each image's crops (crop-sizes off the sides, 9 offsets each) and ±4° "
                                "rotations, so cropped and slightly rotated copies are found.", _boolean),
        "crop_sizes": Param(list(VARIANT_CROPS), "Share of each side removed by the crop variants, one per size "
                            "(9 offsets each). [0.05, 0.1] finds more 5-10% crops (0.985 instead of 0.969 at 100k) "
                            "for a larger search (21 codes per image instead of 12) and a few more look-alike "
                            "pairs.", _crop_sizes),
        "within_split": Param(True, "Also report near-duplicate groups inside each split (DQ202, info).", _boolean),
        "index": Param("auto", "Hamming search: flat (faiss, every query against every code), multihash (bucket "
                       "tables on bands of each hash, exact, far fewer comparisons at scale) or auto (multihash "
                       "above multihash-above codes searched); both return exactly the same pairs.",
                       lambda v: None if v in INDEXES else f"must be one of {', '.join(INDEXES)}"),
        "multihash_above": Param(MULTIHASH_ABOVE, "With index = auto, searches over more base codes than this (images "
                                 "of the earlier split times 12 with variants) use multi-index hashing; measured "
                                 "crossover in benchmarks/scaling/near_index.py.", in_range(0, None, integer=True)),
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
    def _matches(self, context: ScanContext, sa: ImageSignatures, sb: ImageSignatures | None) -> pd.DataFrame:
        """Pairs (indices into the splits) within the thresholds, in their best orientation and variant.

        A pair's distance is the sum of its hashes' Hamming distances (at most ``threshold``), and each
        hash must stay within ``max-hash-distance``: the faiss search runs on the first hash with radius
        ``min(threshold, max-hash-distance)`` and the others are checked on the candidates, which gives
        exactly the pairs of a search on the concatenated hashes, at half the cost. Queries are the images of
        ``sa`` and their mirror images; the base holds each image of ``sb`` and, with ``variants`` (across
        splits only), its crop and rotation variants. Inside one split (``sb`` None) only the images
        themselves are compared. Results are memoised in the signature cache by the content of both sides.
        """
        variants = self.settings["variants"] and sb is not None
        key = self._memo_key(sa, sb, variants)
        cached = (context.cache.get([key], "near-pairs") or {}) if context.cache is not None else {}
        raw = _unpack_pairs(cached[key]) if key in cached else None
        if raw is None:
            raw = self._search(sa, sb, variants, jobs=context.jobs, search=context.search)
            if context.cache is not None:
                context.cache.put([(key, "near-pairs", _pack_pairs(raw))])
        names = list(self.settings["hashes"])
        frame = pd.DataFrame({
            "a": raw["a"], "b": raw["b"], "distance": raw["distance"],
            "method": np.where(raw["mirrored"], "+".join(names) + "-mirror", "+".join(names)),
            "variant": np.array(("original", *self._variant_names()), dtype=object)[raw["kind"]],
        })
        for k, h in enumerate(names):
            frame[f"distance_{h}"] = raw["per_hash"][:, k]
        frame["mirrored"] = raw["mirrored"].astype(bool)
        frame["isolated"] = raw["isolated"].astype(bool) if "isolated" in raw else False
        frame["verified"] = raw["verified"].astype(bool) if "verified" in raw else False
        return frame

    def _variant_names(self) -> tuple[str, ...]:
        return variant_names(tuple(float(c) for c in self.settings["crop_sizes"]))

    def _memo_key(self, sa: ImageSignatures, sb: ImageSignatures | None, variants: bool) -> bytes:
        h = hashlib.blake2b(digest_size=16)
        params = {k: self.settings[k] for k in ("hashes", "hash_size", "threshold", "max_hash_distance", "mirror",
                                                "isolated_threshold", "isolation", "distinct_from", "distinct_margin",
                                                "copy_radius", "verify_radius", "verify_similarity", "crop_sizes")}
        h.update(f"{PAIRS_VERSION}|{sorted(params.items())}|v={int(variants)}|self={int(sb is None)}".encode())
        for sig in (sa, sb) if sb is not None else (sa,):
            h.update(np.where(sig.valid, sig.digest, 0).tobytes())
        return h.digest()

    def _search(self, sa: ImageSignatures, sb: ImageSignatures | None, variants: bool,
                jobs: int = 1, search: Search | None = None) -> dict[str, np.ndarray]:
        """The pairs within the thresholds, each in its best orientation and variant (see :meth:`_matches`).

        ``search`` finds the candidates and reads the codes of the candidate items (:class:`LocalSearch`,
        in this process, by default; the executor's cluster search at scale); every check is made here,
        on those codes, so both give the same pairs.
        """
        search = search or LocalSearch()
        names = list(self.settings["hashes"])
        t, cap = self.settings["threshold"], self.settings["max_hash_distance"]
        # across splits, pairs up to isolated-threshold are candidates; those above threshold must be isolated
        t_wide = max(t, self.settings["isolated_threshold"]) if sb is not None else t
        request = self._request(names, variants, jobs)
        found = search.hamming_candidates(sa, sb, request)
        base_sig = sb if sb is not None else sa
        query_codes = search.hash_codes(sa, np.concatenate([c.a for c in found]),
                                        [h + suffix for h in names for suffix in request.suffixes])
        base_codes = search.hash_codes(base_sig, np.concatenate([c.b for c in found]), names, variants)
        parts: list[dict[str, np.ndarray]] = []
        for suffix, cand in zip(request.suffixes, found):
            ia, ib, kind = cand.a, cand.b, cand.kind
            per = _per_hash(query_codes, base_codes, names, suffix, ia, ib, kind)
            total = per.sum(axis=1)
            # above threshold only pairs with some hash within threshold / n_hashes (the pairs any index finds
            # with the search radius of threshold): flat and multihash search give the same pairs
            keep = ((total <= t) | ((total <= t_wide) & (per.min(axis=1) <= t // len(names)))) \
                & np.all(per <= cap, axis=1)
            if sb is None:  # inside one split: never an item with itself; each unordered pair once
                keep &= ia != ib
                ia, ib = np.minimum(ia, ib), np.maximum(ia, ib)
            parts.append({"a": ia[keep], "b": ib[keep], "distance": total[keep], "per_hash": per[keep],
                          "kind": kind[keep], "mirrored": np.full(int(keep.sum()), bool(suffix))})
        raw = _best_per_pair({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
        raw["isolated"] = raw["distance"] > t
        if raw["isolated"].any():
            assert sb is not None
            kept = ~raw["isolated"] | _isolated(search, sa, sb, names, request.suffixes, raw["a"], raw["b"],
                                                  raw["distance"], self.settings["isolation"], raw["isolated"])
            raw = {k: v[kept] for k, v in raw.items()}
        tested = raw["distance"] >= self.settings["distinct_from"]
        if sb is not None and self.settings["distinct_margin"] > 0 and tested.any():
            kept = ~tested | _distinct(search, sa, sb, names, request.suffixes, raw["a"], raw["b"], raw["distance"],
                                       self.settings["distinct_margin"], self.settings["copy_radius"], tested)
            raw = {k: v[kept] for k, v in raw.items()}
        raw["verified"] = np.zeros(len(raw["a"]), dtype=bool)
        # texture codes are read where the search reads codes (a cluster search: from the shards, not the client)
        textured = sb is not None and (not search.needs_hashes or (TEXTURE in sa.hashes and TEXTURE in sb.hashes))
        if textured and self.settings["verify_radius"] > 0:
            raw = _with_verified(raw, search, sa, sb, names, request, self.settings["verify_radius"],
                                 self.settings["verify_similarity"])
        return raw

    def _request(self, names: list[str], variants: bool, jobs: int) -> HammingRequest:
        """The candidate search: each hash within ``min(max-hash-distance, threshold // n_hashes)`` (a pair whose
        summed distance is at most the threshold is that close on some hash: pigeonhole); a local flat search
        looks on the first hash only, with radius ``min(max(threshold, isolated-threshold), max-hash-distance)``.
        """
        t, cap = self.settings["threshold"], self.settings["max_hash_distance"]
        return HammingRequest(
            names=tuple(names), suffixes=("", "_mirror") if self.settings["mirror"] else ("",), variants=variants,
            radius=min(cap, t // len(names) if len(names) > 1 else t), n_kinds=1 + len(self._variant_names()),
            flat_radius=min(max(t, self.settings["isolated_threshold"]), cap), index=self.settings["index"],
            multihash_above=self.settings["multihash_above"], jobs=jobs)

    # ------------------------------------------------------------------------------------------ cross
    def _cross(self, context: ScanContext, a: Split, b: Split) -> Finding | None:
        sa, sb = context.image_signatures(a), context.image_signatures(b)
        pairs = self._matches(context, sa, sb)
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
        evidence["isolated"] = pairs["isolated"].to_numpy()  # above threshold, kept as an isolated pair
        evidence["verified"] = pairs["verified"].to_numpy()  # beyond the hash rules, confirmed by texture
        n_affected = int(np.unique(ia).size)
        ratio = n_affected / len(a)
        shares = _class_shares(a, np.unique(ia))
        worst = max(copies)
        detail = ", ".join(f"{k} {v:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])[:3] if v > 0)
        message = (f"{n_affected} of {len(a)} {a.name} items ({ratio:.1%}) are near-copies of {b.name} items "
                   f"({len(evidence)} pairs, {'+'.join(self.settings['hashes'])} Hamming distance <= "
                   f"{self.settings['threshold']} of {len(self.settings['hashes']) * self.settings['hash_size'] ** 2}"
                   " bits")
        n_isolated = int(pairs["isolated"].sum())
        if n_isolated:
            message += (f", {n_isolated} of them at {self.settings['threshold'] + 1}-"
                        f"{self.settings['isolated_threshold']} between images with no other match that close")
        n_verified = int(pairs["verified"].sum())
        if n_verified:
            message += (f", {n_verified} of them further apart but within {self.settings['verify_radius']} "
                        f"{self.settings['hashes'][0]} bits with the same texture")
        message += ")"
        if detail:
            message += f"; most affected classes: {detail}"
        if worst > 1:
            message += f"; one {b.name} image has {worst} copies"
        metrics = {"n_pairs": float(len(evidence)), "n_affected": float(n_affected), "ratio_affected": ratio,
                   "threshold": float(self.settings["threshold"]), "max_copies_of_one_item": float(worst),
                   "n_pairs_isolated": float(n_isolated), "n_pairs_verified": float(n_verified),
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
        pairs = self._matches(context, sig, None)
        if pairs.empty:
            return None
        pairs = pairs[sig.pixel[pairs["a"]] != sig.pixel[pairs["b"]]]  # identical pixels are DQ201's
        if pairs.empty:
            return None
        n = len(split)
        from scipy.sparse import coo_matrix  # imported where used (start-up time of every scan)
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(len(pairs)), (pairs["a"].to_numpy(), pairs["b"].to_numpy())), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        members = np.unique(np.concatenate([pairs["a"].to_numpy(), pairs["b"].to_numpy()]))
        evidence, n_clusters = cluster_evidence(split, members, component[members])
        n_extra = len(evidence) - n_clusters
        return self.finding(
            context, "DQ202",
            title=f"near-identical images inside {split.name}",
            message=(f"{len(evidence)} {split.name} images fall in {n_clusters} groups of near-copies "
                     f"({n_extra} redundant, {n_extra / n:.1%} of the split)"),
            splits=(split.name,),
            metrics={"n_clusters": float(n_clusters), "n_items": float(len(evidence)), "n_redundant": float(n_extra),
                     "ratio_redundant": n_extra / n, "threshold": float(self.settings["threshold"])},
            evidence=evidence,
            remediation="Keep one image per group, or keep each group inside one split when splitting.",
        )


def image_settings(config: Config) -> DecodeSettings:
    """What the image decoder must compute for the configured near-duplicate search."""
    settings = {key: p.default for key, p in NearDuplicateScanner.params.items()}
    settings.update(config.scanners.get(NearDuplicateScanner.name, {}))
    from splitcheck.scanners.embedding_neighbours import decodes_descriptor  # lazily: keeps the registry order

    return DecodeSettings(hashes=tuple(settings["hashes"]), hash_size=settings["hash_size"],
                          mirror=settings["mirror"], variants=settings["variants"],
                          crops=tuple(float(c) for c in settings["crop_sizes"]),
                          descriptor=decodes_descriptor(config), texture=settings["verify_radius"] > 0)


def _isolated(search: Search, sa: ImageSignatures, sb: ImageSignatures, names: list[str],
              suffixes: tuple[str, ...], a: np.ndarray, b: np.ndarray, distance: np.ndarray, isolation: int,
              rows: np.ndarray) -> np.ndarray:
    """For the pairs ``rows`` (a of ``sa``, b of ``sb``), whether both images are isolated at their distance.

    Isolated: no image of ``sb`` other than ``b`` is within ``distance + isolation`` of ``a`` (as it is or
    mirrored), and no other image of ``sb`` is within that of ``b``; distances are summed over ``names`` on
    the images themselves (no variants). On the benchmark sets (2k to 20k images) this kept pairs at summed
    distances 15-18 that were planted crops and rotations, and no unrelated pair. Returns a bool per pair
    (False outside ``rows``).
    """
    out = np.zeros(len(a), dtype=bool)
    ia, ib = a[rows], b[rows]
    hashes = [h + suffix for h in names for suffix in suffixes]
    sides = [(search.hash_codes(sig, items, hashes), items) for sig, items in ((sa, ia), (sb, ib))]
    queries = np.concatenate([_joined(codes, items, names, suffix) for codes, items in sides for suffix in suffixes])
    partners = np.tile(ib, 2 * len(suffixes))
    # neither the pair's own partner nor (on the earlier side) the image itself counts as another match
    dist = search.nearest_other(sb, names, queries, partners)
    out[rows] = dist.reshape(2 * len(suffixes), -1).min(axis=0) >= distance[rows] + isolation
    return out


def _distinct(search: Search, sa: ImageSignatures, sb: ImageSignatures, names: list[str],
              suffixes: tuple[str, ...], a: np.ndarray, b: np.ndarray, distance: np.ndarray, margin: int,
              copy_radius: int, rows: np.ndarray) -> np.ndarray:
    """For the pairs ``rows``: whether ``b`` is the only close match of ``a`` in ``sb`` (True outside ``rows``).

    Distinct: no image of ``sb`` other than ``b`` is within ``distance + margin`` of ``a`` (as it is or mirrored;
    summed over ``names`` on the images themselves), or ``b`` has a copy of its own in ``sb`` (within
    ``copy_radius``: then that copy may be the closer one). A transformed copy is much closer to its original
    than to anything else; an image that merely looks like many (a form, a page of text, a texture) has
    rivals at about the same distance, and in a large set some of them fall within the threshold by chance.
    On the 100k benchmark set (256-410 px) the rule removed 174 of 218 such pairs (all documents), for 3 of
    5,958 planted copies (margin 8, pairs at 9 bits or more).
    """
    out = np.ones(len(a), dtype=bool)
    ia, ib = a[rows], b[rows]
    a_codes = search.hash_codes(sa, ia, [h + suffix for h in names for suffix in suffixes])
    b_codes = search.hash_codes(sb, ib, names)
    queries = np.concatenate([_joined(a_codes, ia, names, suffix) for suffix in suffixes]
                             + [_joined(b_codes, ib, names, "")])
    # the partner never counts; for b's own query that is b itself, so its nearest other is its closest copy
    nearest = search.nearest_other(sb, names, queries, np.tile(ib, len(suffixes) + 1)).reshape(len(suffixes) + 1, -1)
    rival, own_copy = nearest[:-1].min(axis=0), nearest[-1]
    out[rows] = (rival >= distance[rows] + margin) | (own_copy <= copy_radius)
    return out


def _with_verified(raw: dict[str, np.ndarray], search: Search, sa: ImageSignatures, sb: ImageSignatures,
                   names: list[str], request: HammingRequest, radius: int, similarity: float) -> dict[str, np.ndarray]:
    """``raw`` plus the pairs it lacks whose first hash is within ``radius`` (``a`` as it is or mirrored) and whose
    texture codes correlate at ``similarity`` or more (:mod:`splitcheck.signatures.texture`), marked ``verified``.

    The hashes threshold the lowest frequencies; a brightness or contrast change that saturates a flat area moves
    them (a brightened page whose paper turns white: dHash 13-20 bits away, pHash 2-8) while the texture, the
    middle frequencies, stays. On the 100k benchmark set the texture correlation was at least 0.78 for every
    planted brightness/contrast copy within 8 pHash bits and at most 0.60 for the 7,147 unrelated pairs as close.
    """
    wide = HammingRequest(names=tuple(names[:1]), suffixes=request.suffixes, variants=False, radius=radius,
                          flat_radius=radius, index=request.index, multihash_above=request.multihash_above,
                          jobs=request.jobs)
    found = search.hamming_candidates(sa, sb, wide)
    n_base = len(sb.valid)
    known = raw["a"].astype(np.int64) * n_base + raw["b"]
    fresh = []
    for suffix, cand in zip(wide.suffixes, found):
        new = ~np.isin(cand.a.astype(np.int64) * n_base + cand.b, known)
        fresh.append((suffix, cand.a[new], cand.b[new]))
    ia_all = np.concatenate([a for _, a, _ in fresh])
    if not len(ia_all):
        return raw
    ib_all = np.concatenate([b for _, _, b in fresh])
    a_codes = search.hash_codes(sa, ia_all, [TEXTURE] + [h + suffix for h in names for suffix in wide.suffixes])
    b_codes = search.hash_codes(sb, ib_all, [TEXTURE, *names])
    parts = [raw]
    for suffix, ia, ib in fresh:
        score = texture_similarity(a_codes.code(TEXTURE, ia), b_codes.code(TEXTURE, ib), mirror_a=bool(suffix))
        keep = score >= similarity
        ia, ib = ia[keep], ib[keep]
        per = _per_hash(a_codes, b_codes, names, suffix, ia, ib)
        n = len(ia)
        parts.append({"a": ia, "b": ib, "distance": per.sum(axis=1), "per_hash": per,
                      "kind": np.zeros(n, dtype=raw["kind"].dtype), "mirrored": np.full(n, bool(suffix)),
                      "isolated": np.zeros(n, dtype=bool), "verified": np.ones(n, dtype=bool)})
    # a pair found in both orientations keeps its better one, as the other pairs do
    return _best_per_pair({k: np.concatenate([p[k].astype(raw[k].dtype) for p in parts]) for k in raw})


def _per_hash(query_codes: HashCodes, base_codes: HashCodes, names: list[str], suffix: str, ia: np.ndarray,
              ib: np.ndarray, kinds: np.ndarray | None = None) -> np.ndarray:
    """(m, n_hashes) int64 Hamming distances of each hash between the queries ``ia`` (``suffix``: as they are or
    mirrored) and the base items ``ib`` (or their variants ``kinds``)."""
    if not len(ia):
        return np.zeros((0, len(names)), np.int64)
    return np.stack([hamming_distances(query_codes.code(h + suffix, ia), base_codes.code(h, ib, kinds))
                     .astype(np.int64) for h in names], axis=1)


def _best_per_pair(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per (a, b) pair, ordered by a then b: its best, i.e. smallest distance, unmirrored, the image
    before its variants; the remaining keys only make the choice among equally good rows independent of the
    order in which a search found them."""
    order = np.lexsort((*raw["per_hash"].T[::-1], raw["kind"], raw["kind"] != 0, raw["mirrored"],
                        raw["distance"], raw["b"], raw["a"]))
    raw = {k: v[order] for k, v in raw.items()}
    first_of_pair = np.ones(len(order), dtype=bool)
    first_of_pair[1:] = (raw["a"][1:] != raw["a"][:-1]) | (raw["b"][1:] != raw["b"][:-1])
    return {k: v[first_of_pair] for k, v in raw.items()}


def _joined(codes: HashCodes, items: np.ndarray, names: list[str], suffix: str) -> np.ndarray:
    """The hashes ``names`` (+ ``suffix``) of ``items`` side by side: the codes whose distance is the summed one."""
    return np.concatenate([codes.code(h + suffix, items) for h in names], axis=1)


def _pack_pairs(raw: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **raw)
    return buffer.getvalue()


def _unpack_pairs(payload: bytes) -> dict[str, np.ndarray] | None:
    """The memoised pair list, or None when the stored blob is damaged (then the search runs again)."""
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as data:
            raw = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    return raw if set(raw) == {"a", "b", "distance", "per_hash", "kind", "mirrored", "isolated", "verified"} else None


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
    if not len(ia):
        return []
    pa, pb = sa.properties, sb.properties

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        return pa[name].to_numpy()[ia], pb[name].to_numpy()[ib]

    (wa, wb), (ha, hb) = column("width"), column("height")
    (ba, bb), (ca, cb), (sha, shb) = column("brightness"), column("contrast"), column("sharpness")
    fa, fb = column("format")
    rotated = np.array([str(v).startswith("rot") for v in variant], dtype=bool)
    cropped = np.array([str(v).startswith("crop") for v in variant], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.abs((wa / ha) / (wb / hb) - 1) > 0.02
        recoloured = (np.abs(ba - bb) > 6) | (np.abs(ca - cb) > 0.08 * np.maximum(cb, 1.0))
        reencoded = (fa != fb) | (sha < shb * 0.98)
    # the first rule that holds names the pair (as the conditions are ordered here)
    rules = [(mirrored.astype(bool), "flip"), (rotated, "rotation"), (cropped, "crop"), (aspect, "crop"),
             (wa != wb, "resize"), (recoloured, "brightness/contrast"), (reencoded, "re-encode/blur")]
    return np.select([c for c, _ in rules], [n for _, n in rules], default="other").tolist()
