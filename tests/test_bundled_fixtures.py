"""The bundled fixtures: every planted leak is found, nothing else is, and the CLI gates on them."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from click.testing import CliRunner

import splitcheck
from splitcheck.cli import main
from helpers import FIXTURES, tree_digest

EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def pairs_of(report, code: str) -> list[list[str]]:
    finding = next((f for f in report.findings if f.code == code), None)
    if finding is None:
        return []
    ev = finding.evidence
    return sorted([a, b, m] for a, b, m in zip(ev["a_id"], ev["b_id"], ev["method"]))


@pytest.fixture(scope="module")
def image_report():
    return splitcheck.scan(train=str(FIXTURES / "images/train"), val=str(FIXTURES / "images/val"),
                           config={}, jobs=1)


def test_fixture_script_plants_what_expected_json_says(tmp_path):
    """Re-running the generator gives the same list of planted items (ids do not depend on library versions)."""
    subprocess.run([sys.executable, str(FIXTURES / "make_fixtures.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    assert json.loads((tmp_path / "expected.json").read_text(encoding="utf-8")) == EXPECTED


def test_images_every_exact_and_resaved_copy_and_no_false_pair(image_report):
    expected = EXPECTED["images"]
    assert pairs_of(image_report, "LK101") == expected["exact_pairs"]
    assert len(expected["exact_pairs"]) == 8
    assert {m for _, _, m in expected["exact_pairs"]} == {"bytes", "pixels"}
    counts = {s["name"]: s["n_items"] for s in image_report.splits}
    assert counts == {"train": expected["n_train"], "val": expected["n_val"]}


def test_images_within_train_clusters_and_unreadable_item(image_report):
    within = next(f for f in image_report.findings if f.code == "DQ201")
    ev = within.evidence
    clusters = sorted(sorted(g["id"]) for _, g in ev.groupby("cluster"))
    assert clusters == EXPECTED["images"]["within_train_pairs"]
    assert set(ev["split"]) == {"train"}
    unreadable = next(f for f in image_report.findings if f.code == "DQ101")
    assert list(unreadable.evidence["id"]) == EXPECTED["images"]["unreadable_val"]
    assert "truncated" in unreadable.evidence["reason"].iloc[0]


def test_table_rows_groups_and_dates():
    report = splitcheck.scan(train=str(FIXTURES / "tabular/train.csv"), val=str(FIXTURES / "tabular/val.csv"),
                             group_column="patient_id", time_column="visit_date", config={})
    expected = EXPECTED["tabular"]
    assert pairs_of(report, "LK101") == expected["exact_pairs"]
    groups = next(f for f in report.findings if f.code == "LK201").evidence
    assert sorted(groups["group"]) == expected["shared_groups"]
    temporal = next(f for f in report.findings if f.code == "LK301").evidence
    assert sorted(temporal["id"]) == expected["val_before_newest_train"]
    shift = next(f for f in report.findings if f.code == "DS101")
    ev = shift.evidence.set_index("class")
    for split in ("train", "val"):
        for cls, share in expected["class_shares"][split].items():
            assert ev.loc[cls, f"{split}_share"] == pytest.approx(share, abs=1e-4)


def test_text_exact_and_normalised_copies():
    report = splitcheck.scan(train=str(FIXTURES / "text/train.jsonl"), val=str(FIXTURES / "text/val.jsonl"),
                             config={})
    assert pairs_of(report, "LK101") == EXPECTED["text"]["exact_pairs"]
    assert {m for _, _, m in EXPECTED["text"]["exact_pairs"]} == {"text", "normalized-text"}


def test_cli_gates_on_the_fixtures_and_passes_the_clean_pair(tmp_path):
    schema = json.loads((FIXTURES.parent / "splitcheck/schemas/report.schema.json").read_text(encoding="utf-8"))
    before = tree_digest(FIXTURES)
    out = tmp_path / "report.json"
    runner = CliRunner()
    leaky = runner.invoke(main, ["scan", str(FIXTURES / "images/train"), str(FIXTURES / "images/val"),
                                 "--fail-on", "error", "--format", "json", "--output", str(out), "--no-progress",
                                 "--jobs", "1"])
    assert leaky.exit_code == 1, leaky.output
    data = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    lk101 = next(f for f in data["findings"] if f["code"] == "LK101")
    assert len(lk101["evidence"]["rows"]) == len(EXPECTED["images"]["exact_pairs"])
    clean = runner.invoke(main, ["scan", str(FIXTURES / "images_clean/train"), str(FIXTURES / "images_clean/val"),
                                 "--fail-on", "error", "--no-progress", "--jobs", "1"])
    assert clean.exit_code == 0, clean.output
    assert tree_digest(FIXTURES) == before  # nothing was written into the data


def test_demo_shows_real_findings():
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.count("LK101") == 3  # images, table and text each have copies
    for code in ("LK201", "LK301", "DS101", "DQ101", "DQ201"):
        assert code in result.output
