"""What scanners read: the splits, the configuration, and signatures computed once and shared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from splitcheck.findings import Finding, Severity
from splitcheck.signatures.digests import (
    Digests,
    image_digests,
    row_digests,
    text_digests,
    vector_digests,
)
from splitcheck.splits import Split

ProgressFactory = Callable[[str, int], Callable[[int], None]]


class ScanContext:
    """Splits in order (the first is the reference, usually ``train``) and lazily computed signatures."""

    def __init__(
        self,
        splits: list[Split],
        *,
        severities: dict[str, Severity] | None = None,
        jobs: int = 1,
        progress: ProgressFactory | None = None,
        max_image_pixels: int | None = None,
    ) -> None:
        self.splits = splits
        self.by_name = {s.name: s for s in splits}
        self.severities = severities or {}
        self.jobs = jobs
        self.progress = progress
        self.max_image_pixels = max_image_pixels
        self._digests: dict[str, Digests] = {}
        self._table_columns: list[str] | None = None
        #: Findings of the scanners that already ran (the runner appends to it), in run order.
        self.findings: list[Finding] = []
        #: Shared, lazily filled results that several scanners reuse (e.g. embeddings per split), by key.
        self.memo: dict[str, Any] = {}

    @property
    def reference(self) -> Split:
        return self.by_name.get("train", self.splits[0])

    def split_pairs(self) -> list[tuple[Split, Split]]:
        """Each later split paired with each earlier one: (val, train), (test, train), (test, val)."""
        return [(self.splits[j], self.splits[i]) for j in range(len(self.splits)) for i in range(j)]

    def severity_of(self, code: str, default: Severity) -> Severity:
        return self.severities.get(code, default)

    def digests(self, split: Split) -> Digests:
        """Raw and canonical digests of every item of ``split`` (computed once)."""
        if split.name not in self._digests:
            self._digests[split.name] = self._compute_digests(split)
        return self._digests[split.name]

    def _compute_digests(self, split: Split) -> Digests:
        if split.modality == "image":
            assert split.paths is not None
            kwargs: dict[str, Any] = {}
            if self.max_image_pixels:
                kwargs["max_pixels"] = self.max_image_pixels
            progress = self.progress(f"digests {split.name}", len(split)) if self.progress else None
            return image_digests(split.paths, jobs=self.jobs, progress=progress, **kwargs)
        if split.modality == "text":
            assert split.texts is not None
            return text_digests(list(split.texts))
        if split.modality == "table":
            return row_digests(split.features, self.table_columns())  # type: ignore[arg-type]
        return vector_digests(split.vectors, split.getitem, len(split))

    def table_columns(self) -> list[str]:
        """The union of feature columns over the table splits, in first-seen order."""
        if self._table_columns is None:
            seen: dict[str, None] = {}
            for split in self.splits:
                if split.features is not None:
                    seen.update(dict.fromkeys(map(str, split.features.columns)))
            self._table_columns = list(seen)
        return self._table_columns

    def leaked_ids(self, split_name: str) -> set[str]:
        """Ids of ``split_name`` items that a leakage finding so far ties to an earlier split.

        Pair findings (``LK1xx``) name the item in ``a_id``; group findings (``LK201``) name groups, whose
        items all count. Scanners that need this run after the leakage scanners (registry order).
        """
        ids: set[str] = set()
        split = self.by_name.get(split_name)
        for finding in self.findings:
            evidence = finding.evidence
            if evidence is None or not finding.code.startswith("LK") or split_name not in finding.splits:
                continue
            if {"a_split", "a_id"} <= set(evidence.columns):
                ids.update(evidence.loc[evidence["a_split"] == split_name, "a_id"].astype(str))
            elif "group" in evidence.columns and "a_split" in evidence.columns and split is not None:
                groups = set(evidence.loc[evidence["a_split"] == split_name, "group"].astype(str))
                mask = split.items["group"].astype(str).isin(groups)
                ids.update(split.items.loc[mask, "id"].astype(str))
            elif {"split", "id"} <= set(evidence.columns):
                ids.update(evidence.loc[evidence["split"] == split_name, "id"].astype(str))
        return ids
