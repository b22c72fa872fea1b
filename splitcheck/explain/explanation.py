"""The result of ``explain``: ranked hypotheses per run (and across runs), with the findings behind them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from splitcheck.curves.analyse import CurveAnalysis
from splitcheck.explain.hypotheses import IDENTIFIERS, TITLES, Hypothesis
from splitcheck.explain.scan import ScanEvidence
from splitcheck.findings import Finding

#: Version of the JSON layout of :meth:`Explanation.to_dict`.
EXPLAIN_SCHEMA_VERSION = "1.0"


@dataclass
class RunExplanation:
    """One run: what was read, the curve findings, and every hypothesis ranked by score."""

    analysis: CurveAnalysis
    hypotheses: list[Hypothesis]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.analysis.run.name

    @property
    def top(self) -> Hypothesis:
        return self.hypotheses[0]

    @property
    def findings(self) -> list[Finding]:
        return self.analysis.findings

    def to_dict(self) -> dict[str, Any]:
        run = self.analysis.run
        return {
            "name": run.name,
            "source": str(run.source) if run.source else None,
            "format": run.format,
            "columns": dict(run.columns),
            "unit": run.curves.unit,
            "n_evaluations": len(run.curves),
            "steps_per_epoch": run.curves.steps_per_epoch,
            "metadata": {k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float, bool))},
            "metadata_sources": list(run.metadata_sources),
            "notes": list(run.notes),
            "hypotheses": [h.to_dict() for h in self.hypotheses],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class Explanation:
    """Ranked hypotheses for one or several runs.

    ``hypotheses`` is the ranking for the whole input: the run's own ranking when there is one run; with
    several runs (seeds, a folder of runs), each identifier's mean score over the runs, with a fact
    saying in how many runs it ranked first (one lucky run is weak evidence). ``runs`` holds each run's
    own ranking, findings and metadata.
    """

    runs: list[RunExplanation]
    scan: ScanEvidence | None = None
    hypotheses: list[Hypothesis] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.hypotheses:
            self.hypotheses = self._combine()

    @property
    def top(self) -> Hypothesis:
        return self.hypotheses[0]

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.runs for f in r.findings]

    def _combine(self) -> list[Hypothesis]:
        if len(self.runs) == 1:
            return list(self.runs[0].hypotheses)
        order = {name: i for i, name in enumerate(IDENTIFIERS)}
        combined = []
        for ident in IDENTIFIERS:
            per_run = [next(h for h in r.hypotheses if h.id == ident) for r in self.runs]
            mean = sum(h.score for h in per_run) / len(per_run)
            firsts = [r.name for r in self.runs if r.top.id == ident]
            best = max(per_run, key=lambda h: h.score)
            facts = [f"mean score over {len(self.runs)} runs; ranked first in {len(firsts)} of them"
                     + (f" ({', '.join(firsts[:5])}{' ...' if len(firsts) > 5 else ''})" if firsts else "")]
            facts += [f"strongest run: {fact}" for fact in best.facts[:2]]
            combined.append(Hypothesis(ident, mean, facts, best.action,
                                       {"mean_score": mean, "n_first": float(len(firsts)), "n_runs": float(len(self.runs))},
                                       sorted({s for h in per_run for s in h.sources})))
        return sorted(combined, key=lambda h: (-round(h.score, 6), order[h.id]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": EXPLAIN_SCHEMA_VERSION,
            "tool": "splitcheck",
            "command": "explain",
            "identifiers": {ident: TITLES[ident] for ident in IDENTIFIERS},
            "top": self.top.id,
            "hypotheses": [h.to_dict() for h in self.hypotheses],
            "runs": [r.to_dict() for r in self.runs],
            "scan": None if self.scan is None else {
                "source": self.scan.source, "val_split": self.scan.val_split, "n_val": _num(self.scan.n_val),
                "leaked_share": self.scan.leaked_share, "leaked_items": self.scan.leaked_items,
                "class_shift_js": _num(self.scan.class_shift_js), "codes": sorted(set(self.scan.codes)),
            },
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False, default=_default)


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def html_explanation(explanation: Explanation) -> dict[str, Any]:
    """What the HTML report draws: the ranked hypotheses and the first run's curves with the regions found.

    Regions: validation below training (LC101, first to last epoch below), overfitting onset and the
    recommended stop (LC201).
    """
    data = explanation.to_dict()
    out: dict[str, Any] = {"hypotheses": data.get("hypotheses", [])}
    if not explanation.runs:
        return out
    run = explanation.runs[0]
    evals = run.analysis.run.curves.evals
    curves: dict[str, Any] = {"epoch": [_num(v) for v in evals["epoch"]]}
    for column, label in (("train_loss", "train"), ("val_loss", "val"), ("train_eval_loss", "train (eval mode)")):
        if evals[column].notna().any():
            curves[label] = [_num(v) for v in evals[column]]
    regions: list[dict[str, Any]] = []
    for finding in run.findings:
        m = finding.metrics
        if finding.code == "LC101" and m.get("n_below", 0) > 0:
            regions.append({"start": _num(m["first_below"]), "end": _num(m["last_below"]),
                            "label": "validation below training"})
        if finding.code == "LC201" and m.get("detected"):
            regions.append({"at": _num(m["onset"]), "label": "overfitting onset"})
            regions.append({"at": _num(m["recommended_stop"]), "label": "recommended stop"})
    curves["regions"] = [r for r in regions if all(v is not None for k, v in r.items() if k != "label")]
    out["curves"] = curves
    return out
