"""Baselines: accepted findings are matched by rule code and item ids; the gate fails only on new ones."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from helpers import random_image

import splitcheck as sc
from splitcheck.baseline import (
    Baseline,
    apply_baseline,
    baseline_from_report,
    finding_keys,
    read_baseline,
    write_baseline,
)
from splitcheck.cli_reports import use_baseline
from splitcheck.errors import InputError


def scan(splits):
    return sc.scan(train=str(splits["train"]), val=str(splits["val"]), config={})


@pytest.fixture
def leaky(image_splits):
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog/leak.png")
    return image_splits


def test_written_baseline_accepts_the_same_findings(leaky, tmp_path):
    report = scan(leaky)
    assert not report.ok and report.exit_code == sc.ExitCode.FINDINGS
    path = tmp_path / "splitcheck-baseline.json"
    assert write_baseline(report, path) == len(report.findings)
    accepted = apply_baseline(report, read_baseline(path))
    assert all(f.baselined for f in accepted.findings)
    assert accepted.ok and accepted.exit_code == sc.ExitCode.OK
    assert not report.ok and not any(f.baselined for f in report.findings)  # the input is not modified
    document = json.loads(path.read_text())
    (entry,) = [e for e in document["findings"] if e["code"] == "LK101"]
    assert entry["columns"] == ["a_id", "a_split", "b_id", "b_split"]  # identity only: no distance, no method
    assert entry["items"] == [["dog/leak.png", "val", "cat/cat_02.png", "train"]]


def test_message_changes_do_not_matter_but_new_items_do(leaky, tmp_path, rng):
    path = tmp_path / "baseline.json"
    write_baseline(scan(leaky), path)
    baseline = read_baseline(path)
    for i in range(3):  # unrelated clean items: the LK101 message ("1 of 11 val items") changes
        random_image(rng).save(leaky["val"] / "cat" / f"new_{i}.png")
    grown = apply_baseline(scan(leaky), baseline)
    (lk,) = grown.by_code("LK101")
    assert "of 14 val items" in lk.message and lk.baselined and grown.ok
    shutil.copy(leaky["train"] / "dog/dog_05.png", leaky["val"] / "cat/leak2.png")
    more = apply_baseline(scan(leaky), baseline)
    (lk,) = more.by_code("LK101")
    assert len(lk.evidence) == 2 and not lk.baselined
    assert not more.ok and more.gated_findings() == [lk]


def test_matching_is_per_rule_code(leaky):
    report = scan(leaky)
    (lk,) = report.by_code("LK101")
    assert not Baseline({"DQ201": finding_keys(lk)}).accepts(lk)
    assert Baseline({"LK101": finding_keys(lk)}).accepts(lk)
    assert not Baseline({}).accepts(lk)


def test_class_findings_are_matched_by_code_classes_and_splits(tmp_path, rng):
    for split, counts in (("train", {"cat": 10, "dog": 10}), ("val", {"cat": 14, "dog": 1})):
        for cls, n in counts.items():
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                random_image(rng).save(tmp_path / split / cls / f"{i}.png")
    report = sc.scan(train=str(tmp_path / "train"), val=str(tmp_path / "val"), config={}, fail_on="warning")
    (ds101,) = report.by_code("DS101")
    assert finding_keys(ds101) == {(("class", "cat"), ("splits", "val,train")),
                                   (("class", "dog"), ("splits", "val,train"))}
    assert not report.ok
    write_baseline(report, tmp_path / "b.json")
    assert apply_baseline(report, read_baseline(tmp_path / "b.json")).ok
    assert apply_baseline(report, baseline_from_report(report)).ok


@pytest.mark.parametrize("content, message", [
    (None, "baseline file not found (write one with --write-baseline"),
    ("{not json", "line 1: baseline is not valid JSON"),
    ('{"tool": "other"}', "not a splitcheck baseline"),
    ('{"tool": "splitcheck", "kind": "baseline", "version": 99, "findings": []}',
     "baseline version 99 is not supported"),
    (('{"tool": "splitcheck", "kind": "baseline", "version": 1, "findings": [{"code": "LK101", "columns": ["a_id"], '
      '"items": [["x", "y"]]}]}'), "findings[0] needs \"items\""),
])
def test_bad_baseline_files_are_named(tmp_path, content, message):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=re.escape(f"{path}")) as info:
        read_baseline(path)
    assert message in str(info.value)


def test_cli_helper_reads_then_writes(leaky, tmp_path):
    messages: list[str] = []
    report = scan(leaky)
    out = tmp_path / "new.json"
    written = use_baseline(report, None, str(out), echo=messages.append)
    assert written.ok and out.is_file()
    assert messages == [f"splitcheck: wrote baseline {out} with {len(report.findings)} finding(s)"]
    messages.clear()
    shutil.copy(leaky["train"] / "dog/dog_05.png", leaky["val"] / "cat/leak2.png")
    again = use_baseline(scan(leaky), str(out), None, echo=messages.append)
    assert not again.ok and [f.code for f in again.gated_findings()] == ["LK101"]
    n_accepted = sum(f.baselined for f in again.findings)
    assert messages == [f"splitcheck: baseline {out}: {n_accepted} of {len(again.findings)} finding(s) accepted"]
    with pytest.raises(InputError, match="cannot write the baseline"):
        write_baseline(report, tmp_path / "missing-folder" / "b.json")
