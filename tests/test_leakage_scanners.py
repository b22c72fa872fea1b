"""Group overlap (LK201) and temporal overlap (LK301)."""

from __future__ import annotations

import pandas as pd

import splitcheck as sc


def frames():
    train = pd.DataFrame({
        "id": [f"t{i}" for i in range(6)],
        "patient": ["p1", "p1", "p2", "p3", "p4", "p4"],
        "date": ["2021-01-01", "2021-02-01", "2021-03-01", "2021-04-01", "2021-05-01", "2021-06-30"],
        "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "label": ["a", "b", "a", "b", "a", "b"],
    })
    val = pd.DataFrame({
        "id": ["v0", "v1", "v2", "v3"],
        "patient": ["p2", "p9", "p4", "p8"],
        "date": ["2021-07-01", "2021-06-20", "2021-08-01", "2020-12-31"],
        "x": [10.0, 11.0, 12.0, 13.0],
        "label": ["a", "b", "a", "b"],
    })
    return train, val


def test_group_overlap_lists_shared_groups_with_counts():
    train, val = frames()
    report = sc.scan(train=train, val=val, group_column="patient", config={})
    (finding,) = report.by_code("LK201")
    assert finding.evidence.to_dict("records") == [
        {"group": "p2", "a_split": "val", "a_items": 1, "b_split": "train", "b_items": 1},
        {"group": "p4", "a_split": "val", "a_items": 1, "b_split": "train", "b_items": 2},
    ]
    assert finding.metrics["ratio_groups"] == 0.5 and finding.metrics["n_items_affected"] == 2
    assert finding.severity == sc.Severity.ERROR


def test_no_group_column_means_skipped_not_silent():
    train, val = frames()
    report = sc.scan(train=train, val=val, config={})
    run = next(r for r in report.scanners if r.name == "group_overlap")
    assert run.status == "skipped" and "--group-column" in run.reason
    assert report.by_code("LK201") == []


def test_temporal_overlap_counts_and_gaps():
    train, val = frames()
    report = sc.scan(train=train, val=val, time_column="date", config={})
    (finding,) = report.by_code("LK301")
    assert list(finding.evidence["id"]) == ["v3", "v1"]  # oldest first
    assert list(finding.evidence["before_newest_train_by"]) == ["181 days", "10 days"]
    assert finding.metrics["n_affected"] == 2 and finding.metrics["ratio_affected"] == 0.5
    assert finding.metrics["max_gap"] == 181 * 86400


def test_numeric_time_column():
    train = pd.DataFrame({"id": range(4), "step": [1, 2, 3, 4], "x": [1.0, 2, 3, 4]})
    val = pd.DataFrame({"id": range(10, 13), "step": [5, 3.5, 6], "x": [9.0, 8, 7]})
    report = sc.scan(train=train, val=val, time_column="step", config={})
    (finding,) = report.by_code("LK301")
    assert finding.evidence[["id", "before_newest_train_by"]].values.tolist() == [["11", "0.5"]]


def test_severity_override_from_config_changes_gate():
    train, val = frames()
    report = sc.scan(train=train, val=val, time_column="date", config={"severity": {"LK301": "warning"}})
    assert report.by_code("LK301")[0].severity == sc.Severity.WARNING
    assert report.ok


def test_leaked_ids_collects_pair_group_and_temporal_findings():
    from splitcheck.context import ScanContext
    from splitcheck.loaders import load_split, LoadOptions

    train, val = frames()
    val.loc[1, ["x", "label"]] = [1.0, "a"]  # v1 copies t0's values
    report = sc.scan(train=train, val=val, group_column="patient", time_column="date", config={})
    opts = LoadOptions(group_column="patient", time_column="date")
    context = ScanContext([load_split("train", train, opts), load_split("val", val, opts)])
    context.findings = [f for f in report.findings if f.code in ("LK101", "LK201")]
    assert context.leaked_ids("val") == {"v1", "v0", "v2"}  # v1 copied; v0 (p2) and v2 (p4) shared groups
    context.findings = report.findings
    assert context.leaked_ids("val") == {"v0", "v1", "v2", "v3"}  # + v3 older than train
    assert context.leaked_ids("train") == set()
