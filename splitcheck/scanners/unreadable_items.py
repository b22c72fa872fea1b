"""Data quality: items that could not be read (corrupt, truncated, empty, not an image, refused)."""

from __future__ import annotations

import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Rule, Scanner, register


@register
class UnreadableItemsScanner(Scanner):
    """Lists items whose payload could not be read or decoded.

    What it finds: corrupt, truncated or empty files, files that are not images despite their name,
    missing files named by a manifest, and images refused as decompression bombs; each with its reason.
    Why it matters: unreadable items are silently dropped by many training pipelines, so the split the
    model sees differs from the one on disk; the scan goes on without them.
    """

    name = "unreadable_items"
    rules = {
        "DQ101": Rule("unreadable-item", Severity.WARNING, "Items that could not be read or decoded."),
    }
    modalities = frozenset({"image"})

    def skip_reason(self, context: ScanContext) -> str | None:
        if not any(s.modality == "image" for s in context.splits):
            return "only file-based (image) splits have items that can be unreadable"
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        rows = []
        for split in context.splits:
            if split.modality != "image":
                continue
            for index, reason in context.digests(split).errors:
                rows.append({"split": split.name, "id": split.ids[index], "reason": reason})
        if not rows:
            return []
        evidence = pd.DataFrame(rows)
        per_split = evidence["split"].value_counts()
        detail = ", ".join(f"{int(n)} in {s}" for s, n in per_split.items())
        total = sum(len(s) for s in context.splits if s.modality == "image")
        return [self.finding(
            context, "DQ101",
            title="items that could not be read",
            message=f"{len(evidence)} items could not be read ({detail}) and were left out of the other checks",
            splits=tuple(per_split.index),
            metrics={"n_items": float(len(evidence)), "ratio": len(evidence) / total},
            evidence=evidence,
            remediation="Fix or remove these files; the 'reason' column says what is wrong with each.",
        )]
