"""Data-calibrated similarity thresholds for nearest-neighbour leakage.

A fixed cosine threshold means nothing across embedders (0.9 is a near-copy for one, a stranger for
another) or across dataset sizes (more items, closer chance neighbours). The reference is the split
itself: for every item of the earlier split (``train``), the similarity to its nearest *other* item of
that split (leave-one-out). A later split's item drawn from the same population, with no copy in
``train``, has a nearest-``train`` similarity distributed like those reference values; a leaked copy
is far closer than that.

The comparison is made on log cosine distances, ``log(1 - similarity)``, where nearest-neighbour
distances are close to symmetric, with robust statistics (median and MAD), so a few near-duplicates
inside ``train`` do not move the reference:

    z = (median(log d_ref) - log d) / (1.4826 * MAD(log d_ref))

``z`` is how many robust standard deviations an item is closer to its neighbour than a typical
reference item is to its own. An item is flagged when ``z >= z_threshold`` **and** its similarity is
at least the absolute floor ``min_similarity``. Each flagged pair also carries
``reference_share``: the share of reference items at least as close to their own nearest neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Distances below this are treated as this (exact copies have distance 0).
DISTANCE_FLOOR = 1e-6
#: The robust scale never goes below this (log-distance units), e.g. when most reference items are copies.
MIN_SCALE = 0.05


@dataclass(frozen=True)
class Calibration:
    """Thresholds derived from the reference similarities; see the module docstring."""

    reference: np.ndarray  # sorted reference similarities
    center: float  # median log distance of the reference
    scale: float  # robust standard deviation of the reference log distances
    z_threshold: float
    min_similarity: float
    calibrated: bool  # False when the reference was too small: only the floor applies

    @property
    def n_reference(self) -> int:
        return len(self.reference)

    @property
    def relative_threshold(self) -> float:
        """The similarity at which ``z`` reaches ``z_threshold`` (nan when not calibrated)."""
        if not self.calibrated:
            return float("nan")
        return float(1.0 - np.exp(self.center - self.z_threshold * self.scale))

    @property
    def threshold(self) -> float:
        """The similarity an item needs to be flagged: the larger of the relative threshold and the floor."""
        if not self.calibrated:
            return self.min_similarity
        return max(self.relative_threshold, self.min_similarity)

    @property
    def reference_median_similarity(self) -> float:
        return float(np.median(self.reference)) if len(self.reference) else float("nan")

    def z(self, similarities: np.ndarray) -> np.ndarray:
        """Robust z-score of each similarity against the reference (higher = more extreme)."""
        d = np.maximum(1.0 - np.asarray(similarities, dtype=np.float64), DISTANCE_FLOOR)
        if not self.calibrated:
            return np.full(d.shape, np.nan)
        return (self.center - np.log(d)) / self.scale

    def reference_share(self, similarities: np.ndarray) -> np.ndarray:
        """Share of reference items whose own nearest-neighbour similarity is at least each value."""
        s = np.asarray(similarities, dtype=np.float64)
        if not len(self.reference):
            return np.full(s.shape, np.nan)
        below = np.searchsorted(self.reference, s - 1e-7, side="left")
        return (len(self.reference) - below) / len(self.reference)

    def flags(self, similarities: np.ndarray) -> np.ndarray:
        s = np.asarray(similarities, dtype=np.float64)
        ok = np.isfinite(s) & (s >= self.min_similarity)
        if self.calibrated:
            ok &= self.z(s) >= self.z_threshold
        return ok


def calibrate(reference: np.ndarray, *, z_threshold: float, min_similarity: float,
              min_reference: int = 20) -> Calibration:
    """A :class:`Calibration` from leave-one-out nearest-neighbour similarities of the reference split."""
    ref = np.sort(np.asarray(reference, dtype=np.float64)[np.isfinite(reference)])
    if len(ref) < min_reference:
        return Calibration(ref, float("nan"), float("nan"), z_threshold, min_similarity, calibrated=False)
    logd = np.log(np.maximum(1.0 - ref, DISTANCE_FLOOR))
    center = float(np.median(logd))
    scale = max(1.4826 * float(np.median(np.abs(logd - center))), MIN_SCALE)
    return Calibration(ref, center, scale, z_threshold, min_similarity, calibrated=True)
