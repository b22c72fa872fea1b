"""Embedding neighbours: semantic near-copies across splits, found by cosine kNN with calibrated thresholds."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.embed.calibration import Calibration, calibrate
from splitcheck.embed.context import PRECOMPUTED_KEY, SPEC_KEY, embedding_method, embeddings_for
from splitcheck.embed.views import grouped_search, part_names, part_vectors, window_vectors
from splitcheck.findings import Finding, Severity
from splitcheck.index.knn import FLAT_MAX_ITEMS, IVFPQ_ABOVE, METHODS, KnnIndex, KnnResult, choose_method
from splitcheck.scanners.base import Param, Rule, Scanner, in_range, register
from splitcheck.splits import Split

PAIR_COLUMNS = ["a_split", "a_id", "b_split", "b_id", "method", "distance"]


def _choice(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str | None:
        return None if value in options else f"must be one of {', '.join(options)}"
    return check


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


#: Fewer feature columns than this and a row "embedding" is just the values: exact duplicates cover it.
MIN_TABLE_COLUMNS = 3


@register
class EmbeddingNeighbourScanner(Scanner):
    """Finds items of a later split that are semantic near-copies of items of an earlier split.

    What it finds: validation (or test) items whose nearest training item, by cosine similarity of
    embeddings (images: a weights-free colour/gradient descriptor, a learned CNN or your model; text:
    character n-gram TF-IDF + SVD or MiniLM; tables: standardised rows; or precomputed vectors), is far
    closer than training items are to each other: a heavy crop, a colour-jittered resize, a second shot
    of the same object, a paraphrase, a table row with one field changed. The threshold is calibrated per
    dataset and embedder against the training split's leave-one-out nearest-neighbour similarities; each
    pair reports its similarity, rank, calibrated z-score and reference share, and the thresholds used.
    For labelled splits, near-identical items with different labels across splits (LK104); inside one
    split, near-copies (DQ203).
    Why it matters: hashes miss semantic copies, yet a model scores them as if it had seen them, so the
    validation loss is too low on exactly those items.
    """

    name = "embedding_neighbours"
    rules = {
        # a warning, not an error: an embedding neighbour is a candidate to look at (chance look-alikes exist,
        # e.g. two random table rows that agree on most fields), while hash and digest matches are copies
        "LK103": Rule("cross-split-semantic-near-duplicate", Severity.WARNING,
                      "An item of a later split is a semantic near-copy (embedding neighbour) of an earlier split's item."),
        "LK104": Rule("cross-split-label-conflict", Severity.WARNING,
                      "Near-identical items in two splits carry different labels."),
        "DQ203": Rule("within-split-semantic-near-duplicate", Severity.INFO,
                      "Semantic near-copies inside one split (they inflate it; they are not leakage)."),
    }
    params = {
        "images": Param(False, "Embed image splits too with the default embedder (opt-in: computed in the signature "
                        "decode and cached, it still adds about 75% CPU to a scan, and it flags look-alike images "
                        "that are not copies); giving --embedder or --embeddings turns it on as well.",
                        lambda v: None if isinstance(v, bool) else "must be true or false"),
        "embedder": Param("auto", "Embedder name (auto = colour-gradient for images, tfidf for text, table for "
                          "tables, raw for vectors; also learned, minilm, LIBRARY:MODEL[@WEIGHTS] or a "
                          "TorchScript file). The --embedder option and scan(embedder=...) override it.", _text),
        "k": Param(5, "Neighbours searched per item; every neighbour over the threshold is a pair (rank 1..k).",
                   in_range(1, 100, integer=True)),
        "z_threshold": Param(5.0, "Calibrated threshold: how many robust standard deviations (MAD of log cosine "
                             "distances) an item must be closer to its neighbour than training items are to "
                             "their own nearest other training item.", in_range(0.0, None)),
        "min_similarity": Param(0.5, "Absolute floor: cosine similarity a pair needs whatever the calibration says.",
                                in_range(-1.0, 1.0)),
        "max_reference": Param(20_000, "Training items sampled to build the leave-one-out reference distribution "
                               "(searched against the whole split).", in_range(20, None, integer=True)),
        "index": Param("auto", "Search index: auto (exact flat search up to exact-max items, an IVF inverted "
                       "file above, IVF-PQ above ivfpq-above), flat, ivf, ivfpq or hnsw.", _choice(METHODS)),
        "exact_max": Param(FLAT_MAX_ITEMS, "With index = auto, a split of at most this many items is searched "
                           "exactly (faiss flat); a larger one by an approximate inverted file (IVF, exact "
                           "similarities, recall 0.99+ measured against exact search).",
                           in_range(0, None, integer=True)),
        "ivfpq_above": Param(IVFPQ_ABOVE, "With index = auto, a split of more items than this is searched by "
                             "IVF-PQ (16-64 bytes of codes per item instead of a float copy, candidates re-ranked "
                             "so similarities stay exact; recall@10 against exact search 0.92 at 1M and 0.61 at "
                             "10M synthetic vectors; 99.6-100% of planted copies at rank 1).",
                             in_range(0, None, integer=True)),
        "within_split": Param(True, "Also report near-copies inside each split (DQ203).",
                              lambda v: None if isinstance(v, bool) else "must be true or false"),
        "windows": Param(True, "Images (default descriptor): also match each later item against the 4 corner and "
                         "the centre sub-windows (44 of 64 px) of every earlier item, so strong crops and rotations "
                         "are found; the leave-one-out reference is built the same way, so the threshold stays "
                         "calibrated.", lambda v: None if isinstance(v, bool) else "must be true or false"),
        "parts": Param(True, "Images (default descriptor): also search and calibrate the gradient-orientation part "
                       "of the descriptor on its own, which finds colour-jittered copies.",
                       lambda v: None if isinstance(v, bool) else "must be true or false"),
        "part_min_items": Param(500, "Readable items the earlier split needs before the orientation-part search "
                                "runs: on fewer, the part's whitened space is too thin to tell a jittered copy from a "
                                "look-alike.", in_range(20, None, integer=True)),
        "part_z_threshold": Param(5.0, "Calibrated threshold of the orientation-part search (robust standard "
                                  "deviations, as z-threshold, against the part's own leave-one-out reference).",
                                  in_range(0.0, None)),
        "seed": Param(0, "Seed for sampling the reference and training approximate indexes.",
                      in_range(0, None, integer=True)),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        if len(context.splits) < 2:
            return "needs at least two splits"
        # whether faiss is installed, not imported: a skipped scanner (image embeddings are opt-in) and a cached
        # rescan need none of its 0.1 s import
        if importlib.util.find_spec("faiss") is None:
            return "needs faiss: pip install faiss-cpu"
        chosen = (self.settings["embedder"] != "auto" or SPEC_KEY in context.memo or PRECOMPUTED_KEY in context.memo
                  or self.settings["images"])
        if context.splits[0].modality == "table" and PRECOMPUTED_KEY not in context.memo \
                and len(context.table_columns()) < MIN_TABLE_COLUMNS:
            return (f"tables need at least {MIN_TABLE_COLUMNS} feature columns for row embeddings to mean anything "
                    "(exact row copies are LK101's)")
        if context.splits[0].modality == "image" and not chosen:
            return ("image embeddings are opt-in (about 75% more CPU, and look-alike images that are not copies are "
                    "flagged); turn them on with --embedder colour-gradient or images = true")
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        if self.settings["embedder"] != "auto" and SPEC_KEY not in context.memo:
            context.memo[SPEC_KEY] = self.settings["embedder"]
        findings: list[Finding] = []
        method = embedding_method(context)
        calibrations: dict[str, Calibration] = {}
        for later, earlier in context.split_pairs():
            if later.modality != earlier.modality:
                continue
            cal = calibrations.get(earlier.name) or self._calibration(context, earlier)
            calibrations[earlier.name] = cal
            pairs = self._cross_pairs(context, later, earlier, cal, method)
            if pairs is None:
                continue
            lk103 = self._lk103(context, later, earlier, pairs, cal)
            if lk103 is not None:
                findings.append(lk103)
            conflict = self._label_conflicts(context, later, earlier, pairs, cal)
            if conflict is not None:
                findings.append(conflict)
        if self.settings["within_split"]:
            for split in context.splits:  # whole items against whole items (sub-windows are for later splits)
                finding = self._within(context, split, self._calibration(context, split, windows=False), method)
                if finding is not None:
                    findings.append(finding)
        return findings

    # --- search ---------------------------------------------------------------------------------------
    def _index(self, context: ScanContext, split: Split) -> KnnIndex:
        """The kNN index over ``split``'s vectors, built once per scan and shared by every search."""
        key = (f"embed:knn:{split.name}:{self.settings['index']}:{self.settings['exact_max']}:"
               f"{self.settings['ivfpq_above']}:{self.settings['seed']}:{embedding_method(context)}")
        if key not in context.memo:
            context.memo[key] = self._new_index(embeddings_for(context, split))
        return context.memo[key]

    def _new_index(self, vectors: np.ndarray, n_items: int | None = None) -> KnnIndex:
        """A kNN index over ``vectors``; with index = auto its kind is chosen by ``n_items`` (default: the
        number of vectors) against exact-max and ivfpq-above."""
        method = self.settings["index"]
        if method == "auto":
            method = choose_method(len(vectors) if n_items is None else n_items, flat_max=self.settings["exact_max"],
                                   ivfpq_above=self.settings["ivfpq_above"])
        return KnnIndex(vectors, method, seed=self.settings["seed"])

    def _windows(self, context: ScanContext, split: Split) -> tuple[KnnIndex, np.ndarray, int] | None:
        """(index over every window of ``split``'s items, owner of each window, windows per item), or None when
        the embedder has no sub-windows (or they are turned off)."""
        if not self.settings["windows"] or PRECOMPUTED_KEY in context.memo:
            return None
        key = f"embedviews:knn:{split.name}:{self.settings['index']}:{self.settings['seed']}:{embedding_method(context)}"
        if key not in context.memo:
            views = window_vectors(context, split)
            if views is None:
                context.memo[key] = None
            else:
                n, per, _ = views.shape
                index = self._new_index(views.reshape(n * per, -1), n)  # chosen by items, not windows
                context.memo[key] = (index, np.repeat(np.arange(n), per), per)
        return context.memo[key]

    # --- calibration ---------------------------------------------------------------------------------
    def _self_neighbours(self, context: ScanContext, split: Split,
                         windows: bool = True) -> tuple[np.ndarray, KnnResult]:
        """Leave-one-out nearest neighbours of (a sample of) the split's readable items, memoised; with
        ``windows`` (and an embedder that has them), the nearest other item over that item's sub-windows."""
        windowed = self._windows(context, split) if windows else None
        key = (f"embed:loo:{split.name}:{self.settings['max_reference']}:{self.settings['seed']}:"
               f"{self.settings['index']}:{windowed is not None}")
        if key not in context.memo:
            vectors = embeddings_for(context, split)
            readable = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)
            sample = readable
            if len(readable) > self.settings["max_reference"]:
                rng = np.random.default_rng(self.settings["seed"])
                sample = np.sort(rng.choice(readable, self.settings["max_reference"], replace=False))
            if windowed is None:
                result = self._index(context, split).search(vectors[sample], 1, self_indices=sample)
            else:  # nearest other item over its windows, as a later split's items are searched
                index, owners, per = windowed
                result = grouped_search(index, owners, per, vectors[sample], 1, self_owners=sample)
            context.memo[key] = (sample, result)
        return context.memo[key]

    def _calibration(self, context: ScanContext, split: Split, windows: bool = True) -> Calibration:
        _, result = self._self_neighbours(context, split, windows)
        return calibrate(result.similarities[:, 0], z_threshold=float(self.settings["z_threshold"]),
                         min_similarity=float(self.settings["min_similarity"]))

    # --- cross-split -----------------------------------------------------------------------------------
    def _cross_pairs(self, context: ScanContext, a: Split, b: Split, cal: Calibration,
                     method: str) -> pd.DataFrame | None:
        va, vb = embeddings_for(context, a), embeddings_for(context, b)
        if va.shape[1] != vb.shape[1]:
            return None
        queries = np.flatnonzero(np.linalg.norm(va, axis=1) > 0)
        if len(queries) == 0 or len(vb) == 0:
            return None
        k = int(self.settings["k"])
        windows = self._windows(context, b)
        if windows is None:
            result = self._index(context, b).search(va[queries], k)
        else:
            result = grouped_search(windows[0], windows[1], windows[2], va[queries], k)
        frames = [_flagged(a, b, queries, result, cal, method)]
        if self.settings["parts"] and a.modality == "image":
            # a part is the fallback for items whose whole descriptor moved (colour jitter): it adds each item's
            # nearest neighbour by that part when the part's calibration flags it (a pair found both ways is
            # reported once, with the whole descriptor's numbers)
            for part in part_names(context):
                frames.append(self._part_pairs(context, a, b, part, f"{method}/{part}"))
        frames = [f for f in frames if not f.empty]
        if not frames:
            return None
        pairs = pd.concat(frames, ignore_index=True).drop_duplicates(["_a", "b_id"], keep="first")
        ia = pairs["_a"].to_numpy()
        ib = pairs.pop("_b").to_numpy()
        if a.has_labels or b.has_labels:
            pairs["a_label"] = a.items["label"].to_numpy()[ia]
            pairs["b_label"] = b.items["label"].to_numpy()[ib]
        return pairs.sort_values(["_a", "rank"], kind="stable").reset_index(drop=True)

    def _part_pairs(self, context: ScanContext, a: Split, b: Split, part: str, method: str) -> pd.DataFrame:
        """Pairs flagged by the descriptor part ``part`` alone, calibrated on its own leave-one-out reference."""
        key = f"embedviews:part-reference:{part}:{b.name}:{self.settings['max_reference']}:{self.settings['seed']}"
        vb = part_vectors(context, b, part)
        if int(np.sum(np.linalg.norm(vb, axis=1) > 0)) < int(self.settings["part_min_items"]):
            return pd.DataFrame()
        if f"{key}:index" not in context.memo:
            context.memo[f"{key}:index"] = self._new_index(vb)
        index = context.memo[f"{key}:index"]
        if key not in context.memo:
            readable = np.flatnonzero(np.linalg.norm(vb, axis=1) > 0)
            sample = readable
            if len(readable) > self.settings["max_reference"]:
                rng = np.random.default_rng(self.settings["seed"])
                sample = np.sort(rng.choice(readable, self.settings["max_reference"], replace=False))
            context.memo[key] = index.search(vb[sample], 1, self_indices=sample).similarities[:, 0]
        cal = calibrate(context.memo[key], z_threshold=float(self.settings["part_z_threshold"]),
                        min_similarity=float(self.settings["min_similarity"]))
        va = part_vectors(context, a, part)
        queries = np.flatnonzero(np.linalg.norm(va, axis=1) > 0)
        if len(queries) == 0 or len(vb) == 0:
            return pd.DataFrame()
        return _flagged(a, b, queries, index.search(va[queries], 1), cal, method)

    def _known_pairs(self, context: ScanContext, a: Split, b: Split) -> set[tuple[str, str]]:
        """(a_id, b_id) pairs already reported by another scanner's leakage findings (exact or hash copies)."""
        known: set[tuple[str, str]] = set()
        for finding in context.findings:
            ev = finding.evidence
            if ev is None or finding.scanner == self.name or not finding.code.startswith("LK1"):
                continue
            if not set(PAIR_COLUMNS[:4]) <= set(ev.columns):
                continue
            sel = ev[(ev["a_split"] == a.name) & (ev["b_split"] == b.name)]
            known.update(zip(sel["a_id"].astype(str), sel["b_id"].astype(str)))
        return known

    def _lk103(self, context: ScanContext, a: Split, b: Split, pairs: pd.DataFrame,
               cal: Calibration) -> Finding | None:
        known = self._known_pairs(context, a, b)
        if known:
            keep = [(x, y) not in known for x, y in zip(pairs["a_id"].astype(str), pairs["b_id"].astype(str))]
            n_known = len(pairs) - int(np.sum(keep))
            pairs = pairs[np.asarray(keep, dtype=bool)]
        else:
            n_known = 0
        if pairs.empty:
            return None
        n_affected = int(pairs["_a"].nunique())
        ratio = n_affected / len(a)
        metrics: dict[str, float] = {
            "n_pairs": float(len(pairs)), "n_affected": float(n_affected), "ratio_affected": ratio,
            "similarity_threshold": cal.threshold, "relative_threshold": cal.relative_threshold,
            "min_similarity": cal.min_similarity, "z_threshold": cal.z_threshold,
            "reference_median_similarity": cal.reference_median_similarity,
            "reference_n": float(cal.n_reference), "n_pairs_already_reported": float(n_known),
            "max_similarity": float(pairs["similarity"].max()),
        }
        detail = ""
        if a.has_labels:
            first = pairs.drop_duplicates("_a")
            labels_a = a.items["label"].astype(str)
            per_class = (first["a_label"].astype(str).value_counts() / labels_a.value_counts()).dropna()
            per_class = per_class.sort_values(ascending=False, kind="stable")
            for label, share in per_class.head(20).items():
                metrics[f"ratio_affected_class:{label}"] = float(share)
            detail = "; most affected classes: " + ", ".join(f"{k} {v:.1%}" for k, v in per_class.head(3).items())
        how = (f"calibrated threshold: cosine >= {cal.threshold:.3f} (z >= {cal.z_threshold:g} against {cal.n_reference} "
               f"{b.name} leave-one-out neighbours, median {cal.reference_median_similarity:.3f}; floor "
               f"{cal.min_similarity:g})" if cal.calibrated else
               f"absolute floor only: cosine >= {cal.min_similarity:g} ({b.name} too small to calibrate)")
        evidence = pairs.drop(columns=["_a"]).reset_index(drop=True)
        return self.finding(
            context, "LK103",
            title=f"{a.name} items that are semantic near-copies of {b.name} items",
            message=(f"{n_affected} of {len(a)} {a.name} items ({ratio:.1%}) have a near-copy in {b.name} "
                     f"({len(evidence)} pairs, {evidence['method'].iloc[0]}; {how}){detail}"),
            splits=(a.name, b.name),
            metrics=metrics,
            evidence=evidence,
            remediation=(f"Look at the pairs (highest similarity first); remove the confirmed copies from {a.name} or "
                         f"re-split by a grouping that keeps copies together (--group-column); raise z-threshold "
                         "or min-similarity if the pairs are merely alike."),
        )

    def _label_conflicts(self, context: ScanContext, a: Split, b: Split, pairs: pd.DataFrame,
                         cal: Calibration) -> Finding | None:
        if "a_label" not in pairs or a.modality != "table":
            return None
        both = pairs["a_label"].notna() & pairs["b_label"].notna()
        conflict = pairs[both & (pairs["a_label"].astype(str) != pairs["b_label"].astype(str))]
        if conflict.empty:
            return None
        evidence = conflict.drop(columns=["_a"]).reset_index(drop=True)
        n_items = int(conflict["_a"].nunique())
        identical = int((conflict["distance"] <= 1e-6).sum())
        return self.finding(
            context, "LK104",
            title=f"near-identical rows with different labels in {a.name} and {b.name}",
            message=(f"{n_items} {a.name} rows are near-identical to {b.name} rows that carry another label "
                     f"({len(evidence)} pairs, {identical} with identical features; cosine >= {cal.threshold:.3f})"),
            splits=(a.name, b.name),
            metrics={"n_pairs": float(len(evidence)), "n_affected": float(n_items), "n_identical": float(identical),
                     "similarity_threshold": cal.threshold},
            evidence=evidence,
            remediation=("Check these labels: one side is probably wrong, or the features cannot tell the classes "
                         "apart; a model cannot score well on both."),
        )

    # --- within one split ------------------------------------------------------------------------------
    def _within(self, context: ScanContext, split: Split, cal: Calibration, method: str) -> Finding | None:
        sample, result = self._self_neighbours(context, split, windows=False)
        sims = result.similarities[:, 0]
        flagged = cal.flags(sims) & (result.indices[:, 0] >= 0)
        if not flagged.any():
            return None
        ia = sample[flagged]
        ib = result.indices[flagged, 0]
        lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
        s = sims[flagged].astype(np.float64)
        frame = pd.DataFrame({"lo": lo, "hi": hi, "s": s}).drop_duplicates(["lo", "hi"]).sort_values(["lo", "hi"])
        s = frame["s"].to_numpy()
        evidence = pd.DataFrame({
            "a_split": split.name, "a_id": split.ids[frame["lo"].to_numpy()], "b_split": split.name,
            "b_id": split.ids[frame["hi"].to_numpy()], "method": method, "distance": np.clip(1.0 - s, 0.0, 2.0),
            "similarity": s, "z_score": cal.z(s),
        })
        n_items = int(len(np.unique(np.concatenate([frame["lo"], frame["hi"]]))))
        sampled = len(sample) < int(np.sum(np.linalg.norm(embeddings_for(context, split), axis=1) > 0))
        return self.finding(
            context, "DQ203",
            title=f"semantic near-copies inside {split.name}",
            message=(f"{len(evidence)} pairs of near-copies inside {split.name} ({n_items} items, "
                     f"cosine >= {cal.threshold:.3f})" + (f"; searched from a sample of {len(sample)} items"
                                                          if sampled else "")),
            splits=(split.name,),
            metrics={"n_pairs": float(len(evidence)), "n_items": float(n_items),
                     "similarity_threshold": cal.threshold, "sampled": float(sampled)},
            evidence=evidence,
            remediation="Keep one item of each pair, or group them so they stay in one split.",
        )


def _flagged(a: Split, b: Split, queries: np.ndarray, result: KnnResult, cal: Calibration,
             method: str) -> pd.DataFrame:
    """The (query, neighbour) pairs of ``result`` that ``cal`` flags, as evidence rows (``_a``/``_b``: positions)."""
    flagged = cal.flags(result.similarities) & (result.indices >= 0)
    rows, ranks = np.nonzero(flagged)
    if len(rows) == 0:
        return pd.DataFrame()
    ia = queries[rows]
    ib = result.indices[rows, ranks]
    s = result.similarities[rows, ranks].astype(np.float64)
    return pd.DataFrame({
        "a_split": a.name, "a_id": a.ids[ia], "b_split": b.name, "b_id": b.ids[ib],
        "method": method, "distance": np.clip(1.0 - s, 0.0, 2.0),
        "similarity": s, "rank": ranks + 1, "z_score": cal.z(s), "reference_share": cal.reference_share(s),
        "_a": ia, "_b": ib,
    })


def decodes_descriptor(config: Any) -> bool:
    """Whether the configured scan embeds images with the default descriptor, so the signature decode pass
    should compute it (``--embedder`` given on the command line or to ``scan()`` overrides this later)."""
    settings = {key: p.default for key, p in EmbeddingNeighbourScanner.params.items()}
    settings.update(config.scanners.get(EmbeddingNeighbourScanner.name, {}))
    return bool(settings["images"]) and settings["embedder"] in ("auto", "colour-gradient", "color-gradient")
