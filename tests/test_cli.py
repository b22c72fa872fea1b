from __future__ import annotations

import json
import shutil
from importlib.resources import files

import jsonschema
import pytest
from click.testing import CliRunner

from splitcheck.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


@pytest.fixture
def schema():
    return json.loads(files("splitcheck").joinpath("schemas/report.schema.json").read_text())


@pytest.fixture
def leaky(image_splits):
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog/leak.png")
    return image_splits


def test_clean_splits_exit_0(image_splits):
    result = run("scan", image_splits["train"], image_splits["val"], "--fail-on", "error")
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "No problems found." in result.output


def test_leakage_exits_1_and_exit_zero_reports_without_gating(leaky):
    result = run("scan", leaky["train"], leaky["val"], "--fail-on", "error")
    assert result.exit_code == 1
    assert "LK101" in result.output and "dog/leak.png" in result.output and "FAIL" in result.output
    assert run("scan", leaky["train"], leaky["val"], "--exit-zero").exit_code == 0
    assert run("scan", leaky["train"], leaky["val"], "--fail-on", "never").exit_code == 0
    assert run("scan", leaky["train"], leaky["val"], "--ignore", "LK").exit_code == 0


def test_json_output_validates_and_lists_every_pair(leaky, schema, tmp_path):
    shutil.copy(leaky["train"] / "dog/dog_04.png", leaky["val"] / "cat/leak2.png")
    out = tmp_path / "report.json"
    result = run("scan", leaky["train"], leaky["val"], "--format", "json", "--output", out)
    assert result.exit_code == 1
    data = json.loads(out.read_text())
    jsonschema.validate(data, schema)
    (finding,) = [f for f in data["findings"] if f["code"] == "LK101"]
    rows = [dict(zip(finding["evidence"]["columns"], r)) for r in finding["evidence"]["rows"]]
    assert sorted((r["a_split"], r["a_id"], r["b_split"], r["b_id"], r["method"], r["distance"]) for r in rows) == [
        ("val", "cat/leak2.png", "train", "dog/dog_04.png", "bytes", 0.0),
        ("val", "dog/leak.png", "train", "cat/cat_02.png", "bytes", 0.0),
    ]
    assert data["ok"] is False and data["counts"]["error"] == 1


def test_json_to_stdout_is_only_json(leaky, schema):
    result = CliRunner().invoke(main, ["scan", str(leaky["train"]), str(leaky["val"]), "--format", "json"])
    jsonschema.validate(json.loads(result.stdout), schema)


def test_missing_path_exits_2_with_one_line(image_splits, tmp_path):
    result = CliRunner().invoke(main, ["scan", str(image_splits["train"]), str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr == f"splitcheck: error: {tmp_path / 'nope'}: no such file or directory (split 'val')\n"
    assert "Traceback" not in result.output


def test_manifest_without_named_label_column_exits_2(tmp_path):
    (tmp_path / "train.csv").write_text("path,cls\na.png,x\n")
    (tmp_path / "val.csv").write_text("path,cls\nb.png,y\n")
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "train.csv"), str(tmp_path / "val.csv"),
                                       "--label-column", "label"])
    assert result.exit_code == 2
    assert result.stderr == (f"splitcheck: error: {tmp_path / 'train.csv'}: no column 'label' (asked for by "
                             "--label-column); columns are: path, cls\n")


def test_bad_split_option_is_a_usage_error(image_splits):
    result = CliRunner().invoke(main, ["scan", str(image_splits["train"]), "--split", "holdout"])
    assert result.exit_code == 2
    assert "expected NAME=PATH" in result.output


def test_named_extra_split(leaky, tmp_path):
    result = run("scan", "--split", f"train={leaky['train']}", "--split", f"holdout={leaky['val']}",
                 "--format", "json")
    data = json.loads(result.output)
    assert [s["name"] for s in data["splits"]] == ["train", "holdout"]
    assert data["findings"][0]["splits"] == ["holdout", "train"]


def test_same_path_twice_is_refused(image_splits):
    result = CliRunner().invoke(main, ["scan", str(image_splits["train"]), str(image_splits["train"])])
    assert result.exit_code == 2
    assert "are the same path" in result.stderr


def test_schema_rejects_pair_evidence_without_the_pair_columns(leaky, schema):
    data = json.loads(run("scan", leaky["train"], leaky["val"], "--format", "json").output)
    finding = next(f for f in data["findings"] if f["code"] == "LK101")
    finding["evidence"]["columns"][1] = "val_id"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    finding["evidence"]["columns"][1] = "a_id"
    finding["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
