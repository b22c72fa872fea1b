"""Validation below training, and how much of it epoch timing explains.

The training loss a framework logs for an epoch is the mean over the epoch's batches: it describes the
weights of about half an epoch earlier than the validation loss, which is measured once at the end of
the epoch. :func:`train_at_evaluations` estimates the training loss *at* each evaluation:

* with step-level training losses (Lightning step rows, Hugging Face ``loss`` logs), from the slope of
  ``log(loss)`` over the steps of the interval: for a loss falling as ``exp(b t)`` across an interval of
  length ``s``, the end value is the interval mean times ``u e^u / sinh(u)`` with ``u = b s / 2``;
* without them, by shifting the epoch curve by half an epoch: each mean is placed at the middle of its
  interval and the curve is interpolated (log-linearly) at the evaluation positions, extrapolated after
  the last one.

:func:`analyse_gap` then reports where the validation loss is below the training loss, by how much,
for how long, and how much of the gap remains after the correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.curves.model import Curves
from splitcheck.curves.rules import finding
from splitcheck.curves.smoothing import log_loss, log_slope
from splitcheck.findings import Finding


def _spans(x: np.ndarray) -> np.ndarray:
    """Length of the interval each evaluation closes (the first one starts at 0 when x[0] <= 1 epoch)."""
    if len(x) == 0:
        return x
    diffs = np.diff(x)
    typical = float(np.median(diffs)) if len(diffs) else float(x[0]) or 1.0
    first = x[0] if 0 < x[0] <= 1.5 * typical else typical
    return np.concatenate([[first], diffs])


def train_at_evaluations(curves: Curves) -> tuple[np.ndarray, str]:
    """The training loss at each evaluation moment and the method used (``steps``, ``shift``,
    ``as-logged`` when the log already measures it there, or ``none`` without a training curve)."""
    x, train = curves.epoch, curves.train
    if curves.train_loss_kind == "point":
        return train.copy(), "as-logged"
    finite = np.isfinite(train) & (train > 0)
    if finite.sum() < 2:
        return np.full(len(x), np.nan), "none"
    spans = _spans(x)
    if curves.has_steps:
        corrected = _from_steps(curves, x, train, spans)
        if np.isfinite(corrected[finite]).mean() >= 0.5:
            fallback = _shift(x, train, spans)
            return np.where(np.isfinite(corrected), corrected, fallback), "steps"
    return _shift(x, train, spans), "shift"


def _end_factor(u: float) -> float:
    """End value / mean of ``exp(b t)`` over an interval, with ``u = b * span / 2``."""
    if abs(u) < 1e-8:
        return 1.0
    u = max(min(u, 20.0), -20.0)
    return u * math.exp(u) / math.sinh(u)


def _from_steps(curves: Curves, x: np.ndarray, train: np.ndarray, spans: np.ndarray) -> np.ndarray:
    steps = curves.steps
    centre = (steps["epoch"] - steps["window"] / 2).to_numpy()
    values = steps["train_loss"].to_numpy()
    ok = np.isfinite(values) & (values > 0)
    out = np.full(len(x), np.nan)
    for i, (xi, span) in enumerate(zip(x, spans)):
        if not (np.isfinite(train[i]) and train[i] > 0):
            continue
        inside = ok & (centre > xi - span - 1e-9) & (centre <= xi + 1e-9)
        if inside.sum() < 3:  # widen to half an interval past the evaluation
            inside = ok & (centre > xi - span - 1e-9) & (centre <= xi + span / 2 + 1e-9)
        if inside.sum() < 3:
            continue
        slope = log_slope(centre[inside], values[inside])
        if np.isfinite(slope):
            out[i] = train[i] * _end_factor(slope * span / 2)
    return out


def _shift(x: np.ndarray, train: np.ndarray, spans: np.ndarray) -> np.ndarray:
    centres = x - spans / 2
    lt = log_loss(train)
    ok = np.isfinite(lt)
    out = np.full(len(x), np.nan)
    if ok.sum() < 2:
        return out
    cx, cy = centres[ok], lt[ok]
    inside = np.interp(x, cx, cy)
    # log-linear extrapolation past the last centre (the last evaluation is always past it)
    slope_end = (cy[-1] - cy[-2]) / (cx[-1] - cx[-2]) if cx[-1] != cx[-2] else 0.0
    slope_start = (cy[1] - cy[0]) / (cx[1] - cx[0]) if cx[1] != cx[0] else 0.0
    after = x > cx[-1]
    before = x < cx[0]
    inside[after] = cy[-1] + slope_end * (x[after] - cx[-1])
    inside[before] = cy[0] + slope_start * (x[before] - cx[0])
    out[ok] = np.exp(inside[ok])
    return out


@dataclass
class GapResult:
    """Where the validation loss is below the training loss, and what is left after corrections.

    Relative gaps are ``(train - val) / max(train, val)``: ``0.2`` means validation is 20% below training,
    ``-0.2`` that training is 20% below validation (bounded by -1 and 1).
    ``explained_by_timing`` is the share of the summed positive gap (over the evaluations where
    validation is below training) that the epoch-timing correction removes (1 = all of it).
    ``eval_gap_*`` compare the training loss measured in evaluation mode (when logged) with validation.
    """

    n_points: int = 0
    n_below: int = 0
    share_below: float = 0.0
    first_below: float = float("nan")
    last_below: float = float("nan")
    longest_streak: int = 0
    max_gap: float = 0.0
    max_relative_gap: float = 0.0
    mean_relative_gap_below: float = 0.0
    share_below_late: float = 0.0
    relative_gap_end: float = float("nan")
    correction: str = "none"
    n_below_corrected: int = 0
    share_below_corrected: float = 0.0
    share_below_corrected_late: float = 0.0
    mean_relative_gap_corrected: float = float("nan")
    relative_gap_corrected_end: float = float("nan")
    explained_by_timing: float = float("nan")
    eval_gap_mean: float = float("nan")
    eval_gap_late: float = float("nan")
    eval_share_above_val: float = float("nan")
    table: pd.DataFrame = field(default_factory=pd.DataFrame)

    def metrics(self) -> dict[str, float]:
        keys = ("n_points", "n_below", "share_below", "first_below", "last_below", "longest_streak", "max_gap",
                "max_relative_gap", "mean_relative_gap_below", "share_below_late", "relative_gap_end",
                "n_below_corrected", "share_below_corrected", "share_below_corrected_late",
                "mean_relative_gap_corrected", "relative_gap_corrected_end", "explained_by_timing",
                "eval_gap_mean", "eval_gap_late", "eval_share_above_val")
        return {k: float(getattr(self, k)) for k in keys}


def analyse_gap(curves: Curves, settings: dict[str, Any]) -> GapResult:
    """Compare validation with training at every evaluation that has both (see :class:`GapResult`)."""
    x, train, val = curves.epoch, curves.train, curves.val
    corrected, method = train_at_evaluations(curves)
    both = np.isfinite(train) & np.isfinite(val) & (train > 0)
    result = GapResult(correction=method)
    if both.sum() == 0:
        return result
    tol = settings["min_relative_gap"]
    rel = np.where(both, (train - val) / np.maximum(train, val), np.nan)
    below = both & (rel > tol)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_corr = np.where(both & np.isfinite(corrected), (corrected - val) / np.maximum(corrected, val), np.nan)
    below_corr = np.isfinite(rel_corr) & (rel_corr > tol)
    idx = np.flatnonzero(both)
    n = len(idx)
    late = idx[n // 2:]
    tail = idx[-max(3, int(round(0.2 * n))):]
    result.n_points = n
    result.n_below = int(below.sum())
    result.share_below = result.n_below / n
    result.share_below_late = float(below[late].mean()) if len(late) else 0.0
    result.relative_gap_end = float(np.nanmean(rel[tail]))
    result.correction = method
    result.n_below_corrected = int(below_corr.sum())
    result.share_below_corrected = result.n_below_corrected / n
    result.share_below_corrected_late = float(below_corr[late].mean()) if len(late) else 0.0
    if np.isfinite(rel_corr[tail]).any():
        result.relative_gap_corrected_end = float(np.nanmean(rel_corr[tail]))
    if result.n_below:
        where = np.flatnonzero(below)
        result.first_below = float(x[where[0]])
        result.last_below = float(x[where[-1]])
        result.longest_streak = _longest_streak(below[idx])
        gaps = (train - val)[below]
        result.max_gap = float(gaps.max())
        result.max_relative_gap = float(rel[below].max())
        result.mean_relative_gap_below = float(rel[below].mean())
        if np.isfinite(rel_corr[below]).any():
            result.mean_relative_gap_corrected = float(np.nanmean(rel_corr[below]))
            raw = np.clip(train - val, 0, None)[below]
            left = np.clip(np.nan_to_num(corrected - val, nan=0.0), 0, None)[below]
            result.explained_by_timing = float(1 - min(left.sum() / raw.sum(), 1.0)) if raw.sum() > 0 else float("nan")
    train_eval = curves.train_eval
    with_eval = both & np.isfinite(train_eval) & (train_eval > 0)
    if with_eval.any():
        eval_rel = (train_eval - val) / np.maximum(train_eval, val)
        result.eval_gap_mean = float(eval_rel[with_eval].mean())
        late_eval = [i for i in late if with_eval[i]]
        result.eval_gap_late = float(eval_rel[late_eval].mean()) if late_eval else result.eval_gap_mean
        result.eval_share_above_val = float((eval_rel[with_eval] > tol).mean())
    result.table = pd.DataFrame({"epoch": x, "train_loss": train, "train_loss_at_evaluation": corrected,
                                 "val_loss": val, "relative_gap": rel, "relative_gap_corrected": rel_corr,
                                 "train_eval_loss": train_eval})[both].reset_index(drop=True)
    return result


def _longest_streak(mask: np.ndarray) -> int:
    best = run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def gap_findings(result: GapResult, run: str, unit: str = "epoch") -> list[Finding]:
    if result.n_below == 0:
        return []
    findings = []
    where = (f"{unit}s {result.first_below:g}-{result.last_below:g}" if result.first_below != result.last_below
             else f"{unit} {result.first_below:g}")
    corrected = ""
    if np.isfinite(result.explained_by_timing):
        corrected = (f"; after the epoch-timing correction ({result.correction}) {result.n_below_corrected} remain "
                     f"and timing explains {result.explained_by_timing:.0%} of the gap")
    findings.append(finding(
        "LC101", run=run,
        title="validation loss below training loss",
        message=(f"validation loss is below training loss at {result.n_below} of {result.n_points} evaluations "
                 f"({where}), by up to {result.max_gap:.4g} ({result.max_relative_gap:.0%} of the training loss), "
                 f"{result.mean_relative_gap_below:.0%} on average{corrected}"),
        metrics=result.metrics(),
        evidence=result.table,
        remediation=("Run `splitcheck explain` with the scan report and run settings to rank the causes; log the "
                     "training loss in evaluation mode at epoch end (splitcheck.torch_helpers) to separate "
                     "regularisation and timing from data differences."),
    ))
    if result.n_below_corrected and result.share_below_corrected_late >= 0.5:
        findings.append(finding(
            "LC102", run=run,
            title="validation stays below training after the timing correction",
            message=(f"after shifting the training loss to the evaluation moments ({result.correction}), validation "
                     f"is still below training at {result.n_below_corrected} of {result.n_points} evaluations "
                     f"(mean gap {result.mean_relative_gap_corrected:.0%}); timing does not explain it"),
            metrics=result.metrics(),
            remediation=("Look for regularisation active only in training (dropout, augmentation, label smoothing), "
                         "leakage, or an easier validation set: see `splitcheck explain`."),
        ))
    return findings
