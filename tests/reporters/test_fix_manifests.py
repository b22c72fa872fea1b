"""``splitcheck fix``: cleaned manifests in a new folder; the user's files are never touched."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import tree_digest

import splitcheck as sc
from splitcheck.cli_reports import fix_command


def run(*args: object):
    return CliRunner().invoke(fix_command, [str(a) for a in args])


def data_digest(splits) -> tuple[str, str]:
    return tree_digest(splits["train"]), tree_digest(splits["val"])


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def dirty(image_splits):
    """Two val items copied from train, and one train image present twice in train."""
    train, val = image_splits["train"], image_splits["val"]
    shutil.copy(train / "cat/cat_02.png", val / "dog/leak.png")
    shutil.copy(train / "dog/dog_04.png", val / "cat/leak2.png")
    shutil.copy(train / "cat/cat_03.png", train / "cat/cat_03_copy.png")
    return image_splits


def test_drop_removes_leaked_val_items_and_leaves_the_data_alone(dirty, tmp_path):
    before = data_digest(dirty)
    out = tmp_path / "cleaned"
    result = run(dirty["train"], dirty["val"], "-o", out)
    assert result.exit_code == 0, result.output
    assert data_digest(dirty) == before
    assert sorted(p.name for p in out.iterdir()) == ["changes.csv", "train.csv", "val.csv"]
    val_rows = rows(out / "val.csv")
    paths = {r["path"] for r in val_rows}
    assert len(val_rows) == 10 + 2 - 2
    assert str(dirty["val"] / "dog/leak.png") not in paths and str(dirty["val"] / "cat/leak2.png") not in paths
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in paths)
    assert {r["label"] for r in val_rows} == {"cat", "dog"}
    assert len(rows(out / "train.csv")) == 21
    assert [(c["split"], c["id"], c["action"], c["reason"]) for c in rows(out / "changes.csv")] == [
        ("val", "cat/leak2.png", "drop", "LK101"), ("val", "dog/leak.png", "drop", "LK101")]
    assert result.output.splitlines()[-3:] == ["train: 21 -> 21 items (unchanged)", "val: 12 -> 10 items (2 dropped)",
                                                "2 item(s) changed (strategy: drop)"]
    rescan = sc.scan(train=str(out / "train.csv"), val=str(out / "val.csv"), config={})
    assert rescan.by_code("LK101") == []


def test_move_puts_leaked_items_into_training_with_their_labels(dirty, tmp_path):
    out = tmp_path / "moved"
    assert run(dirty["train"], dirty["val"], "-o", out, "--strategy", "move").exit_code == 0
    train_rows = rows(out / "train.csv")
    assert len(train_rows) == 21 + 2 and len(rows(out / "val.csv")) == 10
    moved = {r["path"]: r["label"] for r in train_rows[-2:]}
    assert moved == {str(dirty["val"] / "cat/leak2.png"): "cat", str(dirty["val"] / "dog/leak.png"): "dog"}
    assert {c["to_split"] for c in rows(out / "changes.csv")} == {"train"}
    rescan = sc.scan(train=str(out / "train.csv"), val=str(out / "val.csv"), config={})
    assert rescan.by_code("LK101") == []


def test_dedupe_keeps_one_item_per_cluster(dirty, tmp_path):
    out = tmp_path / "deduped"
    assert run(dirty["train"], dirty["val"], "-o", out, "--strategy", "dedupe", "--relative-paths").exit_code == 0
    changes = [(c["split"], c["id"], c["reason"]) for c in rows(out / "changes.csv")]
    assert ("train", "cat/cat_03_copy.png", "DQ201") in changes
    assert ("val", "dog/leak.png", "LK101") in changes and ("val", "cat/leak2.png", "LK101") in changes
    train_paths = [r["path"] for r in rows(out / "train.csv")]
    assert "../train/cat/cat_03.png" in train_paths and "../train/cat/cat_03_copy.png" not in train_paths
    rescan = sc.scan(train=str(out / "train.csv"), val=str(out / "val.csv"), config={})
    assert rescan.by_code("LK101") == [] and rescan.by_code("DQ201") == []
    assert rescan.splits[0]["n_items"] == 21 - len([c for c in changes if c[0] == "train"])


def test_dry_run_prints_the_plan_and_writes_nothing(dirty, tmp_path):
    out = tmp_path / "plan"
    result = run(dirty["train"], dirty["val"], "-o", out, "--dry-run")
    assert result.exit_code == 0 and not out.exists()
    assert "  drop val/dog/leak.png (LK101)" in result.output.splitlines()
    assert result.output.splitlines()[0] == f"dry run: nothing written; would write 3 files to {out}"


@pytest.mark.parametrize("where", ["inside", "not-empty", "file"])
def test_refuses_unsafe_output_folders(dirty, tmp_path, where):
    before = data_digest(dirty)
    if where == "inside":
        out, expected = dirty["val"] / "cleaned", "lies inside the folder of split 'val'"
    elif where == "not-empty":
        out, expected = tmp_path / "full", "folder is not empty"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    else:
        out, expected = tmp_path / "a-file", "is a file"
        out.write_text("mine")
    result = CliRunner().invoke(fix_command, [str(dirty["train"]), str(dirty["val"]), "-o", str(out)])
    assert result.exit_code == 2
    assert expected in result.stderr
    if where != "file":  # (a file is refused by the option's own check, before anything is read)
        assert result.stderr.startswith(f"splitcheck: error: {out}: ")
    assert data_digest(dirty) == before


def test_non_image_splits_are_refused(tmp_path):
    (tmp_path / "train.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "val.csv").write_text("a,b\n1,2\n")
    result = CliRunner().invoke(fix_command, [str(tmp_path / "train.csv"), str(tmp_path / "val.csv"),
                                              "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "image manifest needs a path column" in result.stderr


def test_api_refuses_a_file_as_output_and_unknown_strategies(dirty, tmp_path):
    from splitcheck.errors import InputError
    from splitcheck.fix import check_output_dir, plan_fix
    from splitcheck.loaders import load_split

    splits = [load_split("train", dirty["train"]), load_split("val", dirty["val"])]
    (tmp_path / "a-file").write_text("mine")
    with pytest.raises(InputError, match="a-file: exists and is not a folder"):
        check_output_dir(tmp_path / "a-file", splits)
    report = sc.scan(train=splits[0], val=splits[1], config={})
    with pytest.raises(InputError, match="unknown fix strategy 'shred'; choose one of drop, move, dedupe"):
        plan_fix(splits, report, "shred")
    plan = plan_fix(splits, report, "drop")
    assert sorted(c.id for c in plan.changes) == ["cat/leak2.png", "dog/leak.png"]
