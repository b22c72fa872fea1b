"""Bad tables and label/group/time columns: a one-line exit-2 error naming the file (row, column) and the
problem, or a specific finding; never a traceback, never a scanner failure, never a silently wrong answer.

Already covered elsewhere (tests/test_loaders.py): BOM + ``;`` + quoted newline, malformed JSONL line,
duplicate ids, a bad time value, an empty folder.
"""

from __future__ import annotations

import datetime
import decimal
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import splitcheck as sc
from splitcheck.cli import main
from splitcheck.loaders import LoadOptions, check_splits_compatible, load_split


def exit_2(*args: object) -> str:
    """Run the CLI; assert exit code 2 with one line on stderr and no traceback; return that line."""
    result = CliRunner().invoke(main, ["scan", "--no-progress", *map(str, args)])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output, result.stderr
    assert result.stderr.startswith("splitcheck: error: ")
    return result.stderr.removeprefix("splitcheck: error: ").rstrip("\n")


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("id,x,label\n" + "".join(f"t{i},{i},{i % 2}\n" for i in range(20)))
    return path


@pytest.mark.parametrize("name, content, message", [
    ("header_only.csv", "id,x,label\n", "split 'val' ({path}) has no items; check the path and its layout"),
    ("empty.csv", "", "{path}: the file is empty (no header row)"),
    ("blank.csv", "\n \n\n", "{path}: the file is empty (no header row)"),
    ("ragged.csv", "id,x,label\n1,2,a\n2,3,b,extra\n",
     "{path}: cannot read table: Error tokenizing data. C error: Expected 3 fields in line 3, saw 4"),
    ("latin1.csv", "id,x,label\n1,2,caf\xe9\n".encode("latin-1"),
     "{path}: not UTF-8 text (invalid continuation byte at byte 18)"),
    ("binary.csv", bytes(range(256)), "{path}: not UTF-8 text (invalid start byte at byte 128)"),
    ("dup_header.csv", "id,x,x\n1,2,3\n", "{path}: column 'x' appears more than once in the header"),
    ("only_id.csv", "id\n1\n2\n", "{path}: no feature columns left after id/label/group/time columns"),
    ("empty_id.csv", "id,x\n1,2\n,3\n", "{path}, row 1: id column 'id' is empty"),
    ("id_1_and_1.0.jsonl", '{"id": 1, "x": 1}\n{"id": 1.0, "x": 2}\n',
     "{path}: id column 'id' has duplicate id '1' (1 duplicates); ids must be unique"),
    ("object.json", '{"a": 1}', "{path}: expected a JSON list of objects (one per item)"),
    ("array_line.jsonl", '{"id": 1, "x": 2}\n[1, 2]\n', "{path}, line 2: expected a JSON object, got list"),
    ("no_records.jsonl", "\n\n", "{path}: no records"),
    ("deep.jsonl", '{"id": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
     "{path}, line 1: JSON nested too deeply to read"),
    ("list_label.jsonl", '{"id": "a", "x": 1, "label": [1, 2]}\n',
     "{path}, row 0: label column 'label' holds a list ([1, 2]); a label must be one value (a class name or number)"),
    ("dict_label.jsonl", '{"id": "a", "x": 1, "label": 1}\n{"id": "b", "x": 2, "label": {"k": 1}}\n',
     "{path}, row 1: label column 'label' holds a dict ({'k': 1}); a label must be one value (a class name or number)"),
    ("corrupt.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1",
     "{path}: cannot read table: Could not open Parquet input source"),
    ("notes.docx", "x", ("{path}: unsupported file type '.docx'; give a folder of images, a CSV/TSV/Parquet/JSONL "
                         "table or manifest, or a .npy/.npz array")),
])
def test_unusable_table_exits_2_naming_file_and_problem(tmp_path, good, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    line = exit_2(good, path)
    expected = message.replace("{path}", str(path))
    assert line.startswith(expected) if name == "corrupt.parquet" else line == expected


def test_group_and_time_options_on_bad_columns(tmp_path, good):
    (tmp_path / "val.csv").write_text("id,x,label,when,g\nv1,1,0,2020-01-01,1\nv2,2,1,yesterday,2\n")
    assert exit_2(good, tmp_path / "val.csv", "--group-column", "g") == (
        f"{good}: no column 'g' (asked for by --group-column); columns are: id, x, label")
    assert exit_2("--split", f"train={tmp_path / 'val.csv'}", "--time-column", "when") == (
        f"{tmp_path / 'val.csv'}, row 1: time column 'when' has 'yesterday', not a date/time")
    frame = pd.DataFrame({"id": ["a", "b"], "x": [1, 2], "when": [True, False]})
    with pytest.raises(sc.InputError, match="time column 'when' holds true/false values, not times"):
        load_split("train", frame, LoadOptions(time_column="when"))


def _classes(report, split):
    return next(s for s in report.splits if s["name"] == split).get("class_counts")


def test_labels_with_empty_cells_are_the_same_classes(tmp_path, good):
    """An empty label cell makes pandas read 0/1 as 0.0/1.0: still classes '0' and '1', and the notes say
    which rows have no label (no spurious 'class missing' finding)."""
    val = tmp_path / "val.csv"
    val.write_text("id,x,label\n" + "".join(f"v{i},{100 + i},{'' if i in (2, 7) else i % 2}\n" for i in range(14)))
    report = sc.scan(train=good, val=val, config={})
    assert _classes(report, "val") == {"0": 6, "1": 6}
    assert report.by_code("DS101") == [] and report.by_code("DS102") == []
    notes = next(s for s in report.splits if s["name"] == "val")["notes"]
    assert "2 items have no label (rows 2, 7); the class checks leave them out" in notes


def test_labels_of_mixed_types(tmp_path, good):
    """1, 1.0 and "1" are one class; true is its own class (reported as missing from train)."""
    val = tmp_path / "val.jsonl"
    labels = [0, "1", 1.0, True, None, 1]
    val.write_text("".join(json.dumps({"id": f"v{i}", "x": 100 + i, "label": v}) + "\n" for i, v in enumerate(labels)))
    report = sc.scan(train=good, val=val, config={"class-distribution": {"min-class-count": 1}})
    assert _classes(report, "val") == {"0": 1, "1": 3, "True": 1}
    (missing,) = report.by_code("DS102")
    assert missing.evidence.values.tolist() == [["train", "True", "val"]]


def test_a_split_with_one_class(tmp_path, good):
    val = tmp_path / "val.csv"
    val.write_text("id,x,label\n" + "".join(f"v{i},{100 + i},0\n" for i in range(12)))
    report = sc.scan(train=good, val=val, config={})
    (missing,) = report.by_code("DS102")
    assert missing.evidence.values.tolist() == [["val", "1", "train"]]
    (shift,) = report.by_code("DS101")
    assert shift.splits == ("val", "train") and shift.metrics["js_distance"] > 0.5


def test_labels_missing_entirely_skip_the_class_checks_with_a_reason(tmp_path, good):
    val = tmp_path / "val.csv"
    val.write_text("id,x\n" + "".join(f"v{i},{100 + i}\n" for i in range(5)))
    report = sc.scan(train=good, val=val, config={})
    (run,) = [r for r in report.scanners if r.name == "class_distribution"]
    assert (run.status, run.reason) == (
        "skipped", "needs labels in at least two splits (class folders or --label-column)")


def test_group_ids_read_as_floats_still_match(tmp_path):
    """A group column with an empty cell is read as 7.0, 8.0: still groups '7' and '8' (LK201 finds them)."""
    (tmp_path / "train.csv").write_text("id,x,patient\nt1,1,7\nt2,2,8\nt3,3,9\n")
    (tmp_path / "val.csv").write_text("id,x,patient\nv1,10,7\nv2,20,\nv3,30,12\n")
    report = sc.scan(train=tmp_path / "train.csv", val=tmp_path / "val.csv", group_column="patient", config={})
    (lk,) = report.by_code("LK201")
    assert lk.evidence[["group", "a_split", "a_items", "b_split", "b_items"]].values.tolist() == [
        ["7", "val", 1, "train", 1]]


def test_times_with_and_without_utc_offsets_compare(tmp_path):
    (tmp_path / "train.csv").write_text("id,x,when\nt1,1,2020-01-01T00:00:00+01:00\nt2,2,2020-03-01T12:00:00-05:00\n")
    (tmp_path / "val.csv").write_text("id,x,when\nv1,3,2020-03-01T16:00:00\nv2,4,2020-03-02\n")
    report = sc.scan(train=tmp_path / "train.csv", val=tmp_path / "val.csv", time_column="when", config={})
    assert not report.failed_scanners
    (lk,) = report.by_code("LK301")  # newest train item is 2020-03-01 17:00 UTC; v1 (16:00) is older
    assert lk.evidence[["id", "time", "before_newest_train_by"]].values.tolist() == [
        ["v1", "2020-03-01 16:00:00", "0 days 01:00:00"]]


def test_parquet_with_unexpected_dtypes(tmp_path):
    """Categorical and nullable-integer labels, a tz-aware time column, bytes, lists, structs, decimals, dates
    and timedeltas as features: the scan runs every scanner and finds the copied rows exactly."""
    n = 8

    def frame(prefix: str, offset: int) -> pd.DataFrame:
        return pd.DataFrame({
            "id": [f"{prefix}{i}" for i in range(n)],
            "label": pd.Categorical([["a", "b"][i % 2] for i in range(n)]),
            "weight": pd.array([i if i != 3 else None for i in range(n)], dtype="Int64"),
            "blob": [bytes([i + offset]) for i in range(n)],
            "tags": [[i + offset, 1] for i in range(n)],
            "meta": [{"k": i + offset} for i in range(n)],
            "price": [decimal.Decimal(f"{i + offset}.5") for i in range(n)],
            "day": [datetime.date(2020, 1, 1 + i + offset) for i in range(n)],
            "span": pd.to_timedelta([i + offset for i in range(n)], unit="s"),
            "when": pd.to_datetime([f"2021-01-{1 + i + offset:02d}" for i in range(n)]).tz_localize("Asia/Tokyo"),
        })

    train, val = frame("t", 0), frame("v", 10)
    val.iloc[0, 2:] = train.iloc[5, 2:]  # v0 copies t5's feature values
    train.to_parquet(tmp_path / "train.parquet")
    val.to_parquet(tmp_path / "val.parquet")
    report = sc.scan(train=tmp_path / "train.parquet", val=tmp_path / "val.parquet", time_column="when",
                     config={})
    assert not report.failed_scanners, [(r.name, r.reason) for r in report.failed_scanners]
    (lk,) = report.by_code("LK101")
    assert lk.evidence[["a_id", "b_id"]].values.tolist() == [["v0", "t5"]]
    assert _classes(report, "train") == {"a": 4, "b": 4}
    (older,) = report.by_code("LK301")
    assert older.evidence["id"].tolist() == ["v0"]  # its time is t5's, before the newest train time


def test_times_of_different_kinds_across_splits_are_refused(tmp_path):
    (tmp_path / "train.csv").write_text("id,x,when\nt1,1,5\nt2,2,6\n")
    (tmp_path / "val.csv").write_text("id,x,when\nv1,1,2020-01-01\nv2,2,2020-01-02\n")
    options = LoadOptions(time_column="when")
    splits = [load_split("train", tmp_path / "train.csv", options), load_split("val", tmp_path / "val.csv", options)]
    with pytest.raises(sc.InputError) as info:
        check_splits_compatible(splits)
    assert str(info.value) == ("the time columns hold numbers in some splits and dates in others (train: numbers, "
                               "val: dates); give times of one kind in every split")


def test_modalities_must_match(tmp_path, good):
    np.save(tmp_path / "val.npy", np.ones((3, 2)))
    with pytest.raises(sc.InputError, match=r"split 'val' \(.*val.npy\) holds vector items but 'train'"):
        check_splits_compatible([load_split("train", good), load_split("val", tmp_path / "val.npy")])
