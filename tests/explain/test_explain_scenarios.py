"""The evidence: on logs of really trained runs (fixtures/make_scenarios.py), the top hypothesis is the
planted cause, in every scenario, every seed and every log format."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from splitcheck.explain import IDENTIFIERS, explain

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "logs"
RUNS = sorted(p.parent for p in LOGS.glob("*/*/CAUSE")) + sorted(p.parent for p in LOGS.glob("tensorboard_*/CAUSE"))


def cause(folder: Path) -> str:
    return (folder / "CAUSE").read_text().split()[0]


@cache
def run_explain(folder: Path):
    scan = folder / "scan.json"
    return explain(folder, scan=scan if scan.exists() else None)


def test_fixture_set_covers_every_scenario_and_format() -> None:
    causes = {cause(f) for f in RUNS}
    assert causes == set(IDENTIFIERS) - {"unstable_training"}
    assert len(RUNS) >= 37
    formats = {f.name.split("_")[-1] for f in RUNS if f.parent != LOGS}
    assert formats == {"keras", "lightning", "hf", "generic"}


@pytest.mark.parametrize("folder", RUNS, ids=lambda p: f"{p.parent.name}/{p.name}" if p.parent != LOGS else p.name)
def test_top_hypothesis_is_the_planted_cause(folder: Path) -> None:
    result = run_explain(folder)
    assert result.hypotheses[0].id == cause(folder), [(h.id, round(h.score, 3)) for h in result.hypotheses[:3]]
    # the winner is clear: at least 0.5, and ahead of the runner-up
    assert result.hypotheses[0].score >= 0.5
    assert result.hypotheses[0].score > result.hypotheses[1].score


def test_top1_accuracy_over_all_scenario_runs() -> None:
    hits = sum(run_explain(f).hypotheses[0].id == cause(f) for f in RUNS)
    assert hits / len(RUNS) == 1.0


def test_data_causes_are_backed_by_the_scan() -> None:
    leak = run_explain(LOGS / "leakage" / "seed0_keras").hypotheses[0]
    assert leak.metrics["leaked_share"] == pytest.approx(0.6)
    assert "216 of 360 validation items (60%)" in leak.facts[0]
    mix = run_explain(LOGS / "class_mix" / "seed0_keras").hypotheses[0]
    assert mix.metrics["js_distance"] > 0.3
    # without the scan report, leakage cannot be told apart from other data causes: it is not claimed
    no_scan = explain(LOGS / "leakage" / "seed0_keras")
    assert next(h for h in no_scan.hypotheses if h.id == "leakage").score < 0.5


def test_eval_mode_training_loss_decides_between_regularisation_and_easier_data() -> None:
    reg = run_explain(LOGS / "regularization" / "seed1_lightning")
    easier = run_explain(LOGS / "easier_validation" / "seed1_lightning")
    assert reg.runs[0].analysis.gap.eval_gap_late < 0 < easier.runs[0].analysis.gap.eval_gap_late
    assert "train_eval_loss" in reg.hypotheses[0].sources and "train_eval_loss" in easier.hypotheses[0].sources


def test_several_runs_are_ranked_together() -> None:
    result = explain(LOGS / "overfitting")
    assert len(result.runs) == 4
    assert result.hypotheses[0].id == "overfitting"
    assert result.hypotheses[0].metrics["n_first"] == 4.0
    assert "ranked first in 4 of them" in result.hypotheses[0].facts[0]
