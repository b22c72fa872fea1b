"""Exact duplicates: the same bytes, or the same decoded content, in two splits (leakage) or twice in one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Rule, Scanner, cluster_evidence, register
from splitcheck.splits import Split

#: How each modality's canonical match is named in the evidence.
CANONICAL_METHOD = {"image": "pixels", "text": "normalized-text", "table": "row-values", "vector": "values"}
RAW_METHOD = {"image": "bytes", "text": "text", "table": "row-values", "vector": "values"}


@register
class ExactDuplicateScanner(Scanner):
    """Finds items whose bytes or decoded content are identical.

    What it finds: every pair of items in two different splits with the same raw digest (identical
    bytes / string) or the same canonical digest (image pixels after EXIF orientation, text after NFKC,
    case and whitespace folding, a table row's values after number normalisation); and clusters of
    identical items inside one split.
    Why it matters: an item of validation that is also in training is scored on memorised data, so the
    validation loss is too low; duplicates inside one split over-weight those items.
    The join runs where the executor's search runs (``context.search``): in this process, or on the Dask
    cluster from the signature shards at scale; both give the same pairs.
    """

    name = "exact_duplicates"
    rules = {
        "LK101": Rule("cross-split-exact-duplicate", Severity.ERROR,
                      "An item of one split is an exact (byte or canonical) copy of an item of another split."),
        "DQ201": Rule("within-split-exact-duplicate", Severity.INFO,
                      "Identical items inside one split (they inflate it; they are not leakage)."),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        findings: list[Finding] = []
        for later, earlier in context.split_pairs():
            if later.modality != earlier.modality:
                continue
            finding = self._cross(context, later, earlier)
            if finding is not None:
                findings.append(finding)
        for split in context.splits:
            finding = self._within(context, split)
            if finding is not None:
                findings.append(finding)
        return findings

    def _cross(self, context: ScanContext, a: Split, b: Split) -> Finding | None:
        da, db = context.digests(a), context.digests(b)
        ia, ib = context.search.equal_pairs(da, db)  # sorted by (a, b); on the cluster at scale
        if not len(ia):
            return None
        same_raw = da.raw[ia] == db.raw[ib]
        methods = np.where(same_raw, RAW_METHOD[a.modality], CANONICAL_METHOD[a.modality])
        evidence = pd.DataFrame({
            "a_split": a.name, "a_id": a.ids[ia], "b_split": b.name, "b_id": b.ids[ib],
            "method": methods, "distance": 0.0,
        })
        n_affected = int(np.unique(ia).size)
        ratio = n_affected / len(a)
        by_method = pd.Series(methods).value_counts()
        detail = ", ".join(f"{int(v)} by {k}" for k, v in by_method.items())
        return self.finding(
            context, "LK101",
            title=f"{a.name} items that are exact copies of {b.name} items",
            message=(f"{n_affected} of {len(a)} {a.name} items ({ratio:.1%}) are exact copies of {b.name} "
                     f"items ({len(evidence)} pairs: {detail})"),
            splits=(a.name, b.name),
            metrics={"n_pairs": float(len(evidence)), "n_affected": float(n_affected), "ratio_affected": ratio,
                     **{f"n_pairs_{k.replace('-', '_')}": float(v) for k, v in by_method.items()}},
            evidence=evidence,
            remediation=(f"Remove the {n_affected} copied items from {a.name} (or move them to {b.name}), "
                         "then re-evaluate; deduplicate before splitting so copies land in one split."),
        )

    def _within(self, context: ScanContext, split: Split) -> Finding | None:
        digests = context.digests(split)
        items = context.search.repeated(digests)
        if not len(items):
            return None
        evidence, n_clusters = cluster_evidence(split, items, digests.canonical[items])
        n_extra = len(items) - n_clusters
        return self.finding(
            context, "DQ201",
            title=f"identical items inside {split.name}",
            message=(f"{len(items)} {split.name} items fall in {n_clusters} groups of identical items "
                     f"({n_extra} redundant copies, {n_extra / len(split):.1%} of the split)"),
            splits=(split.name,),
            metrics={"n_clusters": float(n_clusters), "n_items": float(len(items)), "n_redundant": float(n_extra),
                     "ratio_redundant": n_extra / len(split)},
            evidence=evidence,
            remediation="Keep one item per group (the 'cluster' column names the first of each group).",
        )
