"""Training health: NaN or infinite losses, a training loss that rises or explodes, or one that never falls.

A training loss should fall. When it rises (the smoothed curve ends more than ``max_train_rise`` above
its minimum), jumps by more than ``spike_factor`` between evaluations, or is logged as NaN/inf, the run
diverged or the pipeline has a bug (a learning rate far too high, a schedule that grows it, bad labels
or inputs). When it stays within ``min_progress`` of its second value, or (for a classifier whose number
of classes ``K`` is known) at or above the chance level ``ln K`` of cross-entropy, nothing is being learnt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from splitcheck.curves.model import Curves
from splitcheck.curves.rules import finding
from splitcheck.curves.smoothing import smooth
from splitcheck.findings import Finding


@dataclass
class HealthResult:
    """``rise`` is the end of the smoothed training loss relative to its minimum (0.3 = 30% above);
    ``spike_ratio`` the largest ratio between a training loss and the smaller of its neighbours;
    ``progress`` the relative fall of the smoothed training loss from its second evaluation to its best."""

    nonfinite: list[tuple[str, float]] = field(default_factory=list)
    first_nonfinite: float = float("nan")
    increasing: bool = False
    rise: float = 0.0
    minimum_at: float = float("nan")
    exploded: bool = False
    spike_ratio: float = 1.0
    spike_at: float = float("nan")
    flat: bool = False
    progress: float = float("nan")
    at_chance: bool = False
    chance_loss: float = float("nan")
    end_loss: float = float("nan")
    lr_growth: float = float("nan")

    @property
    def diverged(self) -> bool:
        return bool(self.nonfinite) or self.increasing or self.exploded

    def metrics(self) -> dict[str, float]:
        return {"n_nonfinite": float(len(self.nonfinite)), "first_nonfinite": self.first_nonfinite,
                "rise": self.rise, "minimum_at": self.minimum_at, "spike_ratio": self.spike_ratio,
                "spike_at": self.spike_at, "progress": self.progress, "lr_growth": self.lr_growth,
                "chance_loss": self.chance_loss, "end_loss": self.end_loss, "at_chance": float(self.at_chance),
                "increasing": float(self.increasing), "exploded": float(self.exploded), "flat": float(self.flat)}


def analyse_health(curves: Curves, settings: dict[str, Any], *, n_classes: float | None = None) -> HealthResult:
    result = HealthResult(nonfinite=sorted(curves.nonfinite, key=lambda sp: sp[1]))
    if result.nonfinite:
        result.first_nonfinite = result.nonfinite[0][1]
    x, train = curves.epoch, curves.train
    ok = np.isfinite(train) & (train > 0)
    if ok.sum() < 3 and curves.has_steps:  # no epoch-level training loss: use the step logs
        steps = curves.steps
        ok_steps = np.isfinite(steps["train_loss"].to_numpy())
        x, train = steps["epoch"].to_numpy()[ok_steps], steps["train_loss"].to_numpy()[ok_steps]
        ok = train > 0
    lr = curves.evals["lr"].to_numpy()
    lr_ok = lr[np.isfinite(lr) & (lr > 0)]
    if len(lr_ok) >= 2:
        result.lr_growth = float(lr_ok.max() / lr_ok[0])
    if ok.sum() < 3:
        return result
    xs, ts = x[ok], train[ok]
    ratios = [ts[i] / min(ts[max(i - 1, 0):i + 2][np.arange(len(ts[max(i - 1, 0):i + 2])) != (i - max(i - 1, 0))])
              for i in range(len(ts))]
    k = int(np.argmax(ratios))
    result.spike_ratio = float(ratios[k])
    result.spike_at = float(xs[k])
    result.exploded = result.spike_ratio > settings["spike_factor"]
    trend = smooth(xs, ts, points=settings["smoothing_points"])
    i_min = int(np.nanargmin(trend))
    result.minimum_at = float(xs[i_min])
    result.rise = float(trend[-1] / trend[i_min] - 1)
    result.increasing = bool(result.rise > settings["max_train_rise"] and len(xs) - 1 - i_min >= 2)
    late = ts[len(ts) * 2 // 3:]
    result.end_loss = float(np.median(late))
    if n_classes and n_classes >= 2:
        result.chance_loss = float(np.log(n_classes))
        val = curves.val[np.isfinite(curves.val)]
        val_late = val[len(val) * 2 // 3:]
        floor = (1 - settings["chance_tolerance"]) * result.chance_loss
        result.at_chance = bool(result.end_loss >= floor and (not len(val_late) or np.median(val_late) >= floor))
    if len(ts) >= 5:
        start = trend[1]
        result.progress = float(1 - np.nanmin(trend[1:]) / start) if start > 0 else float("nan")
        result.flat = bool(np.isfinite(result.progress) and result.progress < settings["min_progress"])
    return result


def health_findings(result: HealthResult, run: str, unit: str = "epoch") -> list[Finding]:
    findings = []
    if result.nonfinite:
        series = sorted({s for s, _ in result.nonfinite})
        findings.append(finding(
            "LC401", run=run,
            title="loss is NaN or infinite",
            message=(f"{len(result.nonfinite)} logged losses are NaN or infinite ({', '.join(series)}), the first at "
                     f"{unit} {result.first_nonfinite:g}"),
            metrics=result.metrics(),
            remediation=("Lower the learning rate, clip gradients, check inputs and labels for NaN/inf and the loss for "
                         "log(0) or division by zero; enable anomaly detection to find the first bad operation."),
        ))
    if result.increasing or result.exploded:
        parts = []
        if result.exploded:
            parts.append(f"jumps {result.spike_ratio:.3g}x at {unit} {result.spike_at:g}")
        if result.increasing:
            parts.append(f"ends {result.rise:.0%} above its minimum at {unit} {result.minimum_at:g}")
        lr = (f"; the learning rate grew {result.lr_growth:.3g}x during the run"
              if np.isfinite(result.lr_growth) and result.lr_growth > 1.5 else "")
        findings.append(finding(
            "LC402", run=run,
            title="training loss rises: divergence or a pipeline bug",
            message="the training loss " + " and ".join(parts) + lr,
            metrics=result.metrics(),
            remediation=("Lower the learning rate (or fix the schedule), add warm-up and gradient clipping; if the "
                         "loss rises at a low learning rate, look for a bug: shuffled labels, a changed data "
                         "pipeline, a loss of the wrong sign."),
        ))
    if (result.flat or result.at_chance) and not findings:
        if result.at_chance:
            message = (f"the training loss stays at {result.end_loss:.4g}, at or above the chance level "
                       f"ln(K) = {result.chance_loss:.4g} of an untrained classifier")
        else:
            message = f"the smoothed training loss falls only {result.progress:.1%} after the first evaluation"
        findings.append(finding(
            "LC403", run=run,
            title="training loss does not decrease",
            message=message,
            metrics=result.metrics(),
            remediation=("Check that the optimiser steps (gradients reach the weights), that labels match inputs, and "
                         "the learning rate (too low to move, or so high that the model collapsed)."),
        ))
    return findings
