"""`splitcheck explain` end to end through click: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from splitcheck.cli_explain import explain

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "logs"


def run(*args: object):
    return CliRunner().invoke(explain, [str(a) for a in args], catch_exceptions=False)


def test_terminal_output_ranks_and_shows_what_was_read() -> None:
    folder = LOGS / "leakage" / "seed0_keras"
    result = run(folder, "--scan", folder / "scan.json")
    assert result.exit_code == 0, result.output
    assert " 1. leakage score 0.95" in result.output
    assert "216 of 360 validation items (60%)" in result.output
    assert "read: train=loss, val=val_loss, epoch=epoch" in result.output
    assert "run settings:" in result.output and "run_config.json" in result.output


def test_json_lists_hypotheses_in_rank_order(tmp_path: Path) -> None:
    folder = LOGS / "regularization" / "seed2_hf"
    result = run(folder, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["top"] == "regularization"
    scores = [h["score"] for h in data["hypotheses"]]
    assert scores == sorted(scores, reverse=True)
    assert data["runs"][0]["format"] == "hf-trainer-state"
    out = tmp_path / "explain.json"
    assert run(folder, "--format", "json", "--output", out).exit_code == 0
    assert json.loads(out.read_text())["top"] == "regularization"


def test_run_config_overrides_and_columns(tmp_path: Path) -> None:
    log = tmp_path / "history.csv"
    rows = ["it,trn,dev"] + [f"{i},{0.2 + 2 * 0.8 ** i:.5f},{0.1 + 1.1 * 0.8 ** i:.5f}" for i in range(1, 31)]
    log.write_text("\n".join(rows) + "\n")
    config = tmp_path / "run.yaml"
    config.write_text("dropout: 0.5\nval_size: 5000\n")
    result = run(log, "--train-column", "trn", "--val-column", "dev", "--epoch-column", "it", "--run-config", config)
    assert result.exit_code == 0, result.output
    assert " 1. regularization" in result.output and "dropout 0.5" in result.output


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run(tmp_path / "missing.csv")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"splitcheck: error: {tmp_path / 'missing.csv'}: no such file or folder"]
    log = tmp_path / "training.csv"
    log.write_text("epoch,loss,val_loss\n0,1.0,0.9\n1,0.8,0.7\n")
    result = run(log, "--val-column", "dev")
    assert result.exit_code == 2 and "no column 'dev' (--val-column)" in result.output
    bad = tmp_path / "run.json"
    bad.write_text('{"dropout": "high"}')
    result = run(log, "--run-config", bad)
    assert result.exit_code == 2 and "dropout = 'high' is not a usable non-negative number" in result.output
    scan = tmp_path / "scan.json"
    scan.write_text("{")
    result = run(log, "--scan", scan)
    assert result.exit_code == 2 and "scan report is not valid JSON" in result.output


def test_a_folder_of_runs_is_summarised_across_runs() -> None:
    result = run(LOGS / "epoch_timing")
    assert result.exit_code == 0
    assert "Across runs" in result.output and " 1. epoch_timing" in result.output.split("Across runs")[1]
