"""The explain API: inputs it accepts, scan reports read defensively, run settings, JSON layout."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import splitcheck
from splitcheck.curves import Run
from splitcheck.curves.metadata import load_mapping, normalise
from splitcheck.errors import ConfigError, InputError
from splitcheck.explain import IDENTIFIERS, explain
from splitcheck.explain.scan import load_scan


def falling(n: int = 20, floor: float = 0.1) -> np.ndarray:
    return floor + 2 * np.exp(-np.arange(1, n + 1) / 3)


def test_a_healthy_run_is_called_healthy_not_forced_into_a_cause() -> None:
    train = falling()
    run = Run.from_arrays(train, train * 1.15, metadata={"val_size": 2000})
    result = explain(run)
    assert result.top.id == "healthy" and result.top.score > 0.9
    assert sorted(h.id for h in result.hypotheses) == sorted(IDENTIFIERS)
    scores = [h.score for h in result.hypotheses]
    assert scores == sorted(scores, reverse=True)


def test_regularisation_from_run_settings_and_eval_mode_loss() -> None:
    end = falling(30)
    run = Run.from_arrays(end * 1.6, end)  # a persistent 37% gap, no settings
    assert explain(run).top.id == "regularization"  # the most common cause, scored low without settings
    assert explain(run).top.score < 0.5
    with_settings = explain(run, run_config={"dropout": 0.5})
    assert with_settings.top.id == "regularization" and with_settings.top.score == pytest.approx(0.9 * 1.0, abs=0.01)
    assert "dropout 0.5" in with_settings.top.facts[0]
    eval_mode = explain(Run.from_arrays(end * 1.6, end, train_eval_loss=end * 0.98))
    assert eval_mode.top.id == "regularization" and eval_mode.top.score >= 0.85
    easier = explain(Run.from_arrays(end * 1.6, end, train_eval_loss=end * 1.5))
    assert easier.top.id == "easier_validation"


def _leaky_report(n_copies: int) -> splitcheck.Report:
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(200, 4))
    y_train = rng.integers(0, 2, 200)
    X_val = rng.normal(size=(50, 4))
    X_val[:n_copies] = X_train[:n_copies]
    return splitcheck.scan(train=(X_train, y_train), val=(X_val, rng.integers(0, 2, 50)), config={})


@pytest.mark.parametrize("form", ["report", "dict", "path"])
def test_scan_report_in_any_form(form: str, tmp_path: Path) -> None:
    report = _leaky_report(10)
    if form == "dict":
        scan = report.to_dict()
    elif form == "path":
        scan = tmp_path / "scan.json"
        scan.write_text(report.to_json())
    else:
        scan = report
    evidence = load_scan(scan)
    assert evidence.val_split == "val" and evidence.n_val == 50
    assert evidence.leaked_items == 10 and evidence.leaked_share == pytest.approx(0.2)
    train = falling()
    result = explain(Run.from_arrays(train, train * 1.1), scan=scan)
    assert result.top.id == "leakage" and result.top.score == pytest.approx(0.95)


def test_clean_scan_rules_data_causes_out() -> None:
    train = falling()
    result = explain(Run.from_arrays(train, train * 1.1), scan=_leaky_report(0))
    scores = {h.id: h.score for h in result.hypotheses}
    assert scores["leakage"] == 0.02 and scores["class_mix"] == 0.02
    # 50 validation items (from the scan) at a loss near 0.12: the mean is imprecise
    assert result.top.id == "noisy_validation"
    assert result.runs[0].analysis.fluctuation.val_size == 50
    # the run settings' validation size wins over the scan's
    result = explain(Run.from_arrays(train, train * 1.1), scan=_leaky_report(0), run_config={"val_size": 5000})
    assert result.top.id == "healthy"


def test_scan_findings_read_by_prefix_and_metrics() -> None:
    report = {
        "splits": [{"name": "train", "n_items": 1000}, {"name": "val", "n_items": 200}],
        "findings": [
            {"code": "LK201", "splits": ["val", "train"], "metrics": {"ratio_affected": 0.15}, "evidence": None},
            {"code": "LK101", "splits": ["test", "val"], "metrics": {"ratio_affected": 0.9}},  # not train: ignored
            {"code": "DF101", "splits": ["val", "train"], "metrics": {"gap_nats": 0.12, "ci_low": 0.05}},
            {"code": "DS202", "splits": ["val", "train"], "metrics": {"auc": 0.81}},
            {"code": "ZZ999", "splits": ["val"], "metrics": {"whatever": 1.0}},
        ],
    }
    ev = load_scan(report)
    assert ev.leaked_share == pytest.approx(0.15) and ev.leaked_items == 30
    assert ev.easier_gap_nats == 0.12 and ev.easier_ci_low == 0.05 and ev.drift_auc == 0.81
    assert math.isnan(ev.class_shift_js)
    with pytest.raises(InputError, match="not a splitcheck scan report"):
        load_scan({"findings": "nope"})


def test_run_config_keys_and_errors(tmp_path: Path) -> None:
    raw = {"model": {"hidden_dropout_prob": 0.1, "attn_pdrop": 0.3}, "per_device_train_batch_size": "32",
           "label_smoothing_factor": 0.1, "augment": ["flip", "crop"], "val_size": 0.2, "n_train": 800,
           "lr_scheduler_type": "cosine", "num_labels": 5, "unrelated": "x"}
    meta = normalise(raw)
    assert meta == {"dropout": 0.3, "batch_size": 32, "label_smoothing": 0.1, "augmentation": "flip, crop",
                    "val_size": 200, "train_size": 800, "lr_schedule": "cosine", "n_classes": 5}
    assert normalise({"augmentation": "none", "dropout": None}) == {"augmentation": False}
    with pytest.raises(ConfigError, match="run_config: dropout = 'lots' is not a usable non-negative number"):
        explain(Run.from_arrays(falling(), falling()), run_config={"dropout": "lots"})
    yaml_file = tmp_path / "hparams.yaml"
    yaml_file.write_text("dropout: 0.2\noptimizer: !!python/name:torch.optim.Adam ''\nnested:\n  weight_decay: 0.01\n")
    assert normalise(load_mapping(yaml_file)) == {"dropout": 0.2, "optimizer": "", "weight_decay": 0.01}
    bad = tmp_path / "bad.yaml"
    bad.write_text("dropout: [0.1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML \(line 2\)"):
        load_mapping(bad)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="list.json: expected a mapping of settings"):
        load_mapping(listing)


def test_json_layout(tmp_path: Path) -> None:
    train = falling()
    result = explain(Run.from_arrays(train, train * 0.7, name="r1"), run_config={"dropout": 0.4, "val_size": 500})
    data = json.loads(result.to_json())
    assert data["schema_version"] == "1.0" and data["command"] == "explain"
    assert data["top"] == data["hypotheses"][0]["id"] == "regularization"
    assert set(data["identifiers"]) == set(IDENTIFIERS)
    first = data["hypotheses"][0]
    assert set(first) == {"id", "title", "score", "facts", "action", "sources", "metrics"}
    assert [h["score"] for h in data["hypotheses"]] == sorted((h["score"] for h in data["hypotheses"]), reverse=True)
    (run,) = data["runs"]
    assert run["name"] == "r1" and run["metadata"]["dropout"] == 0.4
    assert [f["code"] for f in run["findings"]][:2] == ["LC101", "LC102"]


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="explain needs a log path, a Run or a list of Runs; got int"):
        explain(3)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown keyword"):
        explain(Run.from_arrays(falling(), falling()), val_colum="x")
    with pytest.raises(InputError, match="per-epoch arrays differ in length"):
        Run.from_arrays([1.0, 0.5], [1.0])
