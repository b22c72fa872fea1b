"""Run every curve analysis on a run and collect their findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from splitcheck.curves.fluctuation import FluctuationResult, analyse_fluctuation, fluctuation_findings
from splitcheck.curves.gap import GapResult, analyse_gap, gap_findings
from splitcheck.curves.health import HealthResult, analyse_health, health_findings
from splitcheck.curves.model import Run
from splitcheck.curves.overfitting import OverfittingResult, analyse_overfitting, overfitting_findings
from splitcheck.curves.progress import ProgressResult, analyse_progress, progress_findings
from splitcheck.curves.rules import resolve
from splitcheck.findings import Finding


@dataclass
class CurveAnalysis:
    """The results of every analysis of one run, and their findings (``LC...`` codes)."""

    run: Run
    gap: GapResult
    overfitting: OverfittingResult
    fluctuation: FluctuationResult
    health: HealthResult
    progress: ProgressResult
    settings: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def analyse(run: Run, *, settings: Mapping[str, Any] | None = None, val_size: float | None = None,
            val_loss_std: float | None = None, n_classes: float | None = None) -> CurveAnalysis:
    """Analyse ``run``; ``val_size``, ``val_loss_std`` and ``n_classes`` default to the run's metadata."""
    resolved = resolve(settings)
    curves = run.curves
    size = val_size if val_size is not None else run.metadata.get("val_size")
    std = val_loss_std if val_loss_std is not None else run.metadata.get("val_loss_std")
    gap = analyse_gap(curves, resolved)
    over = analyse_overfitting(curves, resolved)
    fluct = analyse_fluctuation(curves, resolved, val_size=size, val_loss_std=std)
    classes = n_classes if n_classes is not None else run.metadata.get("n_classes")
    health = analyse_health(curves, resolved, n_classes=classes)
    progress = analyse_progress(curves, resolved, overfitting=over.detected or health.diverged)
    unit = curves.unit
    findings = [*health_findings(health, run.name, unit), *gap_findings(gap, run.name, unit),
                *overfitting_findings(over, run.name, unit), *fluctuation_findings(fluct, run.name),
                *progress_findings(progress, run.name, unit)]
    return CurveAnalysis(run=run, gap=gap, overfitting=over, fluctuation=fluct, health=health, progress=progress,
                         settings=resolved, findings=findings)
