"""Overfitting onset and the recommended stopping epoch.

The validation curve is smoothed (local log-linear fits, ``smoothing_points``); its minimum is the
candidate onset. Overfitting is reported when the smoothed validation loss ends more than ``min_rise``
above that minimum (and more than ``rise_noise_factor`` times the curve's own scatter), at least
``min_points_after_minimum`` evaluations later, while the training loss keeps falling. The recommended
stop is the first evaluation whose smoothed validation loss is within ``stop_tolerance`` of the smoothed
minimum: picking the raw minimum of a noisy curve is selection on noise.
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
class OverfittingResult:
    """``rise`` is the end-of-run smoothed validation loss relative to its smoothed minimum (0.5 = 50%
    higher); ``train_change_after_onset`` the relative change of the smoothed training loss from the
    onset to the end (negative = still falling)."""

    detected: bool = False
    onset: float = float("nan")
    recommended_stop: float = float("nan")
    raw_minimum_at: float = float("nan")
    val_min: float = float("nan")
    val_end: float = float("nan")
    rise: float = 0.0
    max_rise: float = 0.0
    scatter: float = float("nan")
    points_after: int = 0
    train_change_after_onset: float = float("nan")
    final_ratio: float = float("nan")

    def metrics(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def analyse_overfitting(curves: Curves, settings: dict[str, Any]) -> OverfittingResult:
    x, val, train = curves.epoch, curves.val, curves.train
    ok = np.isfinite(val) & (val > 0)
    result = OverfittingResult()
    if ok.sum() < max(5, settings["min_points_after_minimum"] + 2):
        return result
    xs, vs = x[ok], val[ok]
    trend = smooth(xs, vs, points=settings["smoothing_points"])
    i_min = int(np.nanargmin(trend))
    result.val_min = float(trend[i_min])
    result.val_end = float(trend[-1])
    result.onset = float(xs[i_min])
    result.raw_minimum_at = float(xs[int(np.argmin(vs))])
    result.rise = float(trend[-1] / trend[i_min] - 1)
    result.max_rise = float(np.nanmax(trend[i_min:]) / trend[i_min] - 1)
    result.scatter = relative_scatter(vs)
    result.points_after = int(len(xs) - 1 - i_min)
    within = np.flatnonzero(trend <= trend[i_min] * (1 + settings["stop_tolerance"]))
    result.recommended_stop = float(xs[within[0]]) if len(within) else result.onset
    tr = train[ok]
    tr_ok = np.isfinite(tr) & (tr > 0)
    if tr_ok.sum() >= 3:
        t_trend = smooth(xs[tr_ok], tr[tr_ok], points=settings["smoothing_points"])
        at_onset = float(np.interp(result.onset, xs[tr_ok], t_trend))
        result.train_change_after_onset = float(t_trend[-1] / at_onset - 1) if at_onset > 0 else float("nan")
        result.final_ratio = float(vs[-1] / tr[tr_ok][-1]) if tr[tr_ok][-1] > 0 else float("nan")
    noise = settings["rise_noise_factor"] * (result.scatter if np.isfinite(result.scatter) else 0.0)
    train_falls = not np.isfinite(result.train_change_after_onset) or result.train_change_after_onset < 0
    result.detected = bool(
        result.rise > max(settings["min_rise"], noise)
        and result.points_after >= settings["min_points_after_minimum"]
        and train_falls
    )
    return result


def overfitting_findings(result: OverfittingResult, run: str, unit: str = "epoch") -> list[Finding]:
    if not result.detected:
        return []
    train = ""
    if np.isfinite(result.train_change_after_onset):
        train = f" while the training loss changes by {result.train_change_after_onset:+.0%}"
    raw = ""
    if result.raw_minimum_at != result.recommended_stop:
        raw = f" (the raw minimum at {unit} {result.raw_minimum_at:g} is one noisy point)"
    return [finding(
        "LC201", run=run,
        title="overfitting: validation loss rises after its minimum",
        message=(f"the smoothed validation loss rises {result.rise:.0%} from its minimum {result.val_min:.4g} at "
                 f"{unit} {result.onset:g} to {result.val_end:.4g} at the end{train}; stop at {unit} "
                 f"{result.recommended_stop:g}{raw}"),
        metrics=result.metrics(),
        remediation=(f"Stop at {unit} {result.recommended_stop:g} (early stopping on the smoothed validation loss), "
                     "or regularise: dropout, weight decay, augmentation, label smoothing, more training data."),
    )]
