"""What scanners read: the splits, the configuration, and signatures computed once and shared."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.executors import Executor
from splitcheck.executors.local import LocalExecutor
from splitcheck.findings import Finding, Severity
from splitcheck.search import Search
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings, full_pixel_digest
from splitcheck.signatures.digests import Digests, row_digests, text_digests, vector_digests
from splitcheck.signatures.images import ImageSignatures
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
        image_settings: DecodeSettings | None = None,
        cache: SignatureCache | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.splits = splits
        self.by_name = {s.name: s for s in splits}
        self.severities = severities or {}
        self.jobs = jobs
        self.progress = progress
        self.max_image_pixels = max_image_pixels
        settings = image_settings or DecodeSettings()
        if max_image_pixels:
            settings = dataclasses.replace(settings, max_pixels=max_image_pixels)
        self.image_settings = settings
        self.cache = cache
        #: Where image signatures are computed (this machine's processes by default, or a Dask cluster).
        self.executor: Executor = executor or LocalExecutor(jobs)
        self._search: Search | None = None
        self._image_signatures: dict[str, ImageSignatures] = {}
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

    @property
    def search(self) -> Search:
        """Where the leakage scanners search across items: chosen once by the executor for the scan's size
        (in this process, or on the Dask cluster from the signature shards; see :mod:`splitcheck.search`)."""
        if self._search is None:
            n_images = sum(len(s) for s in self.splits if s.modality == "image")
            self._search = self.executor.search_for(n_images)
        return self._search

    def image_signatures(self, split: Split) -> ImageSignatures:
        """Content and pixel digests, perceptual hashes and properties of an image split (one decode each).

        With a search on the cluster the hashes stay in the shards: the signatures hold no hash columns.
        """
        if split.name not in self._image_signatures:
            assert split.paths is not None
            progress = self.progress(f"decoding {split.name}", len(split)) if self.progress else None
            self._image_signatures[split.name] = self.executor.image_signatures(
                split.paths, self.image_settings, self.cache, progress, hashes=self.search.needs_hashes)
        return self._image_signatures[split.name]

    def computed_image_signatures(self, split: Split) -> ImageSignatures | None:
        """The image signatures of ``split`` if a scanner needed them, else None (nothing is computed)."""
        return self._image_signatures.get(split.name)

    def image_properties(self, split: Split) -> pd.DataFrame:
        """Per-item image properties aligned with ``split.items``.

        Columns: width, height (pixels, as stored), n_frames, brightness (mean gray level 0-255), contrast
        (its standard deviation) and sharpness (variance of the Laplacian), the last three measured on a
        64 x 64 gray thumbnail so they compare across image sizes; mode and format. NaN / None where the item
        could not be read.
        """
        return self.image_signatures(split).properties

    def _compute_digests(self, split: Split) -> Digests:
        if split.modality == "image":
            self._confirm_pixels()
            signatures = self.image_signatures(split)
            return Digests(signatures.digest, signatures.pixel, signatures.valid, list(signatures.errors),
                           shards=getattr(signatures, "shards", None))
        if split.modality == "text":
            assert split.texts is not None
            return text_digests(list(split.texts))
        if split.modality == "table":
            return row_digests(split.features, self.table_columns())  # type: ignore[arg-type]
        return vector_digests(split.vectors, split.getitem, len(split))

    def _confirm_pixels(self) -> None:
        """Turn the provisional pixel digests into digests of the fully decoded pixels where it matters.

        The pixel digest computed while scanning is a digest of the reduced gray image: cheap, and equal
        for pixel-identical images. Where items of different bytes share it, each distinct file among them is
        decoded in full (RGBA after EXIF orientation) and its digest replaces the provisional one, so a
        pixel match is exact. Items of identical bytes need no check. Runs once, over every image split.
        """
        if self.memo.get("pixels-confirmed"):
            return
        image_splits = [s for s in self.splits if s.modality == "image"]
        signatures = [self.image_signatures(s) for s in image_splits]
        items = [np.flatnonzero(sig.valid) for sig in signatures]  # one split at least: called for image splits
        split_of = np.repeat(np.arange(len(signatures)), [len(i) for i in items])
        item_of = np.concatenate(items)
        pixel = np.concatenate([sig.pixel[i] for sig, i in zip(signatures, items)])
        content = np.concatenate([sig.digest[i] for sig, i in zip(signatures, items)])
        # the pixel digests that more than one distinct content digest shares
        pairs = np.unique(np.stack([pixel, content], axis=1), axis=0)
        values, counts = np.unique(pairs[:, 0], return_counts=True)
        todo = np.flatnonzero(np.isin(pixel, values[counts > 1]))
        full: dict[int, int | None] = {}
        for row in todo:
            k, i, key = int(split_of[row]), int(item_of[row]), int(content[row])
            if key not in full:
                path = image_splits[k].paths[i]  # type: ignore[index]
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:  # gone or unreadable since it was decoded: keep the provisional digest
                    data = None
                full[key] = full_pixel_digest(data, self.image_settings.max_pixels) if data is not None else None
            digest = full[key]
            if digest is not None:
                signatures[k].pixel[i] = np.uint64(digest)
        self.memo["pixels-confirmed"] = True

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
