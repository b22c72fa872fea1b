"""Still improving at the end (train longer) or saturated long before it (fewer epochs would do).

Read on the smoothed validation curve (the training curve when no validation loss is logged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from splitcheck.curves.model import Curves
from splitcheck.curves.rules import finding
from splitcheck.curves.smoothing import relative_scatter, smooth
from splitcheck.findings import Finding


@dataclass
class ProgressResult:
    """``tail_drop`` is the relative fall of the smoothed curve over the last ``tail_fraction`` of the run
    (0.05 = 5% lower at the end); ``plateau_start`` the first evaluation within ``plateau_tolerance`` of
    the best smoothed value; ``plateau_share`` its position as a share of the run."""

    series: str = "val"
    still_improving: bool = False
    tail_drop: float = float("nan")
    saturated: bool = False
    plateau_start: float = float("nan")
    plateau_share: float = float("nan")
    end: float = float("nan")

    def metrics(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items() if k != "series"}


def analyse_progress(curves: Curves, settings: dict[str, Any], *, overfitting: bool = False) -> ProgressResult:
    series, values = "val", curves.val
    if not (np.isfinite(values) & (values > 0)).sum() >= 5:
        series, values = "train", curves.train
    x = curves.epoch
    ok = np.isfinite(values) & (values > 0)
    result = ProgressResult(series=series)
    if ok.sum() < 5:
        return result
    xs, vs = x[ok], values[ok]
    trend = smooth(xs, vs, points=settings["smoothing_points"])
    n = len(xs)
    tail = max(3, int(round(settings["tail_fraction"] * n)))
    start = trend[max(n - tail - 1, 0)]
    result.tail_drop = float(1 - trend[-1] / start) if start > 0 else float("nan")
    scatter = relative_scatter(vs)
    noise = 2 * scatter if np.isfinite(scatter) else 0.0
    result.still_improving = bool(result.tail_drop > max(settings["improving_drop"], noise) and not overfitting)
    best = float(np.nanmin(trend))
    on = np.flatnonzero(trend <= best * (1 + settings["plateau_tolerance"]))
    result.plateau_start = float(xs[on[0]])
    span = xs[-1] - xs[0]
    result.plateau_share = float((xs[on[0]] - xs[0]) / span) if span > 0 else float("nan")
    result.end = float(xs[-1])
    result.saturated = bool(not overfitting and not result.still_improving and np.isfinite(result.plateau_share)
                            and result.plateau_share < settings["saturation_fraction"])
    return result


def progress_findings(result: ProgressResult, run: str, unit: str = "epoch") -> list[Finding]:
    name = "validation" if result.series == "val" else "training"
    if result.still_improving:
        return [finding(
            "LC501", run=run,
            title=f"{name} loss still improving at the end",
            message=f"the smoothed {name} loss fell {result.tail_drop:.0%} over the last part of the run",
            metrics=result.metrics(),
            remediation="Train longer or change the schedule; the run is compute-bound.",
        )]
    if result.saturated:
        return [finding(
            "LC502", run=run,
            title=f"{name} loss saturated early",
            message=(f"the smoothed {name} loss is within reach of its best from {unit} {result.plateau_start:g} of "
                     f"{result.end:g} ({result.plateau_share:.0%} of the run)"),
            metrics=result.metrics(),
            remediation=f"About {result.end - result.plateau_start:g} {unit}s could be saved (or spent on a larger model).",
        )]
    return []
