"""`splitcheck scan --explain LOGS`: the explanation reaches the terminal and the HTML report."""

from __future__ import annotations

from click.testing import CliRunner

import splitcheck as sc
from splitcheck.cli import main
from splitcheck.explain.explanation import html_explanation
from helpers import FIXTURES

RUN = FIXTURES / "logs/overfitting/seed0_keras"


def test_html_explanation_carries_curves_and_found_regions():
    data = html_explanation(sc.explain(str(RUN)))
    assert data["hypotheses"][0]["id"] == "overfitting"
    curves = data["curves"]
    assert len(curves["epoch"]) == len(curves["train"]) == len(curves["val"]) == 150
    marks = {r["label"]: r for r in curves["regions"]}
    assert marks["overfitting onset"]["at"] == 12
    assert marks["recommended stop"]["at"] == 9
    assert marks["validation below training"]["start"] == 1 and marks["validation below training"]["end"] == 4


def test_scan_explain_draws_the_curves_in_html_and_prints_in_terminal(tmp_path):
    out = tmp_path / "report.html"
    args = ["scan", str(FIXTURES / "images_clean/train"), str(FIXTURES / "images_clean/val"), "--no-progress",
            "--jobs", "1", "--explain", str(RUN)]
    result = CliRunner().invoke(main, [*args, "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Loss curves" in page and "overfitting onset" in page and "recommended stop" in page
    terminal = CliRunner().invoke(main, args)
    assert terminal.exit_code == 0
    assert "1. overfitting" in terminal.output
