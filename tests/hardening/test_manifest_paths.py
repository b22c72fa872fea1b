"""Image manifests whose paths point outside their folder, at missing files, at folders, or hold NUL
characters; and train/val given as the same folder under another spelling.

Decision (documented in splitcheck/loaders/frames.py): a path outside the manifest's folder is allowed and
counted in the split's notes; a missing file, a folder or an invalid path is listed by DQ101 with its
reason while the rest of the scan completes; an empty path cell stops the scan (exit 2, naming the row).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from hardening_corpus import write_images

import splitcheck as sc
from splitcheck.cli import main


@pytest.fixture
def store(tmp_path):
    """data/images (train images) and shared/ (outside the manifests' folder)."""
    rng = np.random.default_rng(21)
    write_images(tmp_path / "data" / "images", rng, 6)
    write_images(tmp_path / "shared", rng, 2, prefix="shared")
    return tmp_path


def test_outside_missing_folder_and_nul_paths(store):
    data = store / "data"
    shutil.copy(data / "images/img_002.png", store / "shared/leak.png")
    (data / "train.csv").write_text("path,label\n" + "".join(f"images/img_{i:03d}.png,{i % 2}\n" for i in range(6)))
    (data / "val.csv").write_text(
        "path,label\n"
        "../shared/shared_000.png,0\n"          # outside the folder: allowed, read
        f"{store / 'shared/leak.png'},1\n"       # absolute and outside: allowed, read (a copy of img_002)
        "images/missing.png,0\n"                # missing: DQ101
        "images,1\n"                            # a folder: DQ101
        '"images/nul\x00.png",0\n'              # NUL character: DQ101
    )
    report = sc.scan(train=data / "train.csv", val=data / "val.csv", config={})
    assert not report.failed_scanners
    (dq,) = report.by_code("DQ101")
    assert dq.evidence[["split", "id", "reason"]].values.tolist() == [
        ["val", "images/missing.png", "file not found (missing or broken link)"],
        ["val", "images", "is a directory"],
        ["val", "images/nul\x00.png", "invalid path (contains a NUL character)"],
    ]
    (lk,) = report.by_code("LK101")
    assert lk.evidence[["a_id", "b_id"]].values.tolist() == [[str(store / "shared/leak.png"), "images/img_002.png"]]
    notes = next(s for s in report.splits if s["name"] == "val")["notes"]
    assert f"2 paths lie outside the manifest's folder {data} (rows 0, 1, e.g. ../shared/shared_000.png)" in notes
    train_notes = next(s for s in report.splits if s["name"] == "train")["notes"]
    assert not any("outside" in n for n in train_notes)


def test_empty_path_cell_exits_2_naming_the_row(store):
    data = store / "data"
    (data / "train.csv").write_text("path,label\nimages/img_000.png,0\nimages/img_001.png,1\n")
    (data / "val.csv").write_text("path,label\nimages/img_002.png,0\n  ,1\n")
    result = CliRunner().invoke(main, ["scan", str(data / "train.csv"), str(data / "val.csv"), "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr == f"splitcheck: error: {data / 'val.csv'}, row 1: path column 'path' is empty\n"


@pytest.mark.parametrize("spelling", ["trailing-slash", "dot", "parent", "symlink"])
def test_same_folder_under_another_spelling_is_refused(store, spelling):
    images = store / "data" / "images"
    os.symlink(images, store / "alias")
    other = {"trailing-slash": f"{images}/", "dot": f"{images}/.", "parent": f"{images}/../images",
             "symlink": str(store / "alias")}[spelling]
    result = CliRunner().invoke(main, ["scan", str(images), other, "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr == (f"splitcheck: error: {other}: splits 'train' and 'val' are the same path; give each "
                             "split its own data\n")


def test_manifests_listing_the_same_files_report_every_pair(store):
    data = store / "data"
    rows = "".join(f"images/img_{i:03d}.png,{i % 2}\n" for i in range(6))
    (data / "train.csv").write_text("path,label\n" + rows)
    (data / "val.csv").write_text("path,label\n" + rows)
    report = sc.scan(train=data / "train.csv", val=data / "val.csv", config={})
    (lk,) = report.by_code("LK101")
    assert sorted(lk.evidence[["a_id", "b_id", "method"]].values.tolist()) == [
        [f"images/img_{i:03d}.png", f"images/img_{i:03d}.png", "bytes"] for i in range(6)]
    assert lk.metrics["ratio_affected"] == 1.0
