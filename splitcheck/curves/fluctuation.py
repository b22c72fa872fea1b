"""Fluctuation of the validation curve compared with the noise its size predicts.

``scatter`` is the robust standard deviation of ``log(val_loss)`` around a locally straight trend
(:func:`~splitcheck.curves.smoothing.relative_scatter`): 0.05 means the curve moves about 5% around
its trend from one evaluation to the next.

The validation loss is a mean over ``n`` items, so it carries a standard error ``sd / sqrt(n)``, where
``sd`` is the standard deviation of the per-item loss: measured (run-config ``val_loss_std``) or
approximated as ``sqrt(item_loss_scale x mean)``. ``expected`` is that standard error relative to the
loss level. Because the same items are scored at every evaluation, the epoch-to-epoch scatter of a
stable run is well *below* it; scatter above ``excess_noise_ratio`` x ``expected`` cannot come from
the validation size and points at the optimisation (learning rate too high late, small batches).
A large ``expected`` itself (``small_validation_se``) says the validation set is too small for its
mean, or any train/validation gap smaller than about two standard errors, to mean much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from splitcheck.curves.model import Curves
from splitcheck.curves.rules import finding
from splitcheck.curves.smoothing import relative_scatter
from splitcheck.findings import Finding


@dataclass
class FluctuationResult:
    """``verdict`` is ``excessive`` (scatter beyond what the size explains), ``small-validation`` (the
    mean is imprecise), ``stable``, or ``unknown`` (too few evaluations)."""

    verdict: str = "unknown"
    scatter: float = float("nan")
    train_scatter: float = float("nan")
    level: float = float("nan")
    val_size: float = float("nan")
    item_sd: float = float("nan")
    standard_error: float = float("nan")
    expected: float = float("nan")
    ratio: float = float("nan")

    def metrics(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items() if k != "verdict"}


def analyse_fluctuation(curves: Curves, settings: dict[str, Any], *, val_size: float | None = None,
                        val_loss_std: float | None = None) -> FluctuationResult:
    val = curves.val
    ok = np.isfinite(val) & (val > 0)
    result = FluctuationResult()
    if ok.sum() >= 5:
        result.scatter = relative_scatter(val[ok])
    train = curves.train
    if (np.isfinite(train) & (train > 0)).sum() >= 5:
        result.train_scatter = relative_scatter(train[np.isfinite(train) & (train > 0)])
    if ok.any():
        finite = val[ok]
        result.level = float(np.median(finite[len(finite) // 2:]))
    if val_size and val_size > 0 and np.isfinite(result.level):
        result.val_size = float(val_size)
        sd = float(val_loss_std) if val_loss_std else math.sqrt(settings["item_loss_scale"] * result.level)
        result.item_sd = sd
        result.standard_error = sd / math.sqrt(val_size)
        result.expected = result.standard_error / result.level
        if np.isfinite(result.scatter) and result.expected > 0:
            result.ratio = result.scatter / result.expected
    if not np.isfinite(result.scatter):
        if np.isfinite(result.expected) and result.expected > settings["small_validation_se"]:
            result.verdict = "small-validation"
        return result
    excessive = result.scatter > settings["min_scatter"] and (
        not np.isfinite(result.ratio) or result.ratio > settings["excess_noise_ratio"])
    if np.isfinite(result.expected) and result.expected > settings["small_validation_se"]:
        result.verdict = "excessive" if excessive and result.ratio > settings["excess_noise_ratio"] else "small-validation"
    elif excessive:
        result.verdict = "excessive"
    else:
        result.verdict = "stable"
    return result


def fluctuation_findings(result: FluctuationResult, run: str) -> list[Finding]:
    if result.verdict == "excessive":
        if np.isfinite(result.ratio):
            why = (f"{result.ratio:.1f} times the {result.expected:.1%} standard error that {result.val_size:.0f} "
                   "validation items predict")
        else:
            why = "with no validation size known (give val_size in --run-config to compare with the expected noise)"
        return [finding(
            "LC301", run=run,
            title="validation loss fluctuates more than its size explains",
            message=f"the validation loss scatters {result.scatter:.1%} around its trend, {why}",
            metrics=result.metrics(),
            remediation=("Lower the learning rate late in training (decay schedule or reduce-on-plateau), use larger "
                         "batches or weight averaging; pick the stopping epoch on a smoothed curve."),
        )]
    if result.verdict == "small-validation":
        return [finding(
            "LC302", run=run,
            title="validation set too small for a precise loss",
            message=(f"{result.val_size:.0f} validation items give the mean loss a standard error of about "
                     f"{result.standard_error:.3g} ({result.expected:.0%} of its level {result.level:.3g}); "
                     f"epoch-to-epoch scatter {result.scatter:.1%}"),
            metrics=result.metrics(),
            remediation=("Use more validation items (or k-fold cross-validation); compare runs and epochs only by "
                         "differences larger than about two standard errors."),
        )]
    return []
