from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, PngImagePlugin

import splitcheck as sc

from helpers import random_image, tree_digest


def pairs(report: sc.Report, code: str = "LK101") -> set[tuple[str, str, str]]:
    out = set()
    for finding in report.by_code(code):
        for row in finding.evidence.itertuples(index=False):
            out.add((row.a_id, row.b_id, row.method))
    return out


def test_clean_image_splits_have_no_leakage(image_splits):
    report = sc.scan(train=image_splits["train"], val=image_splits["val"], config={})
    assert report.findings == []
    assert report.ok and report.exit_code == sc.ExitCode.OK
    assert [s["n_items"] for s in report.splits] == [20, 10]


def test_byte_copy_resaved_png_and_exif_rotation_are_found(image_splits, rng):
    train, val = image_splits["train"], image_splits["val"]
    shutil.copy(train / "cat/cat_03.png", val / "dog/renamed.png")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "something else")
    Image.open(train / "dog/dog_05.png").save(val / "cat/resaved.png", compress_level=1, pnginfo=info)
    # Stored rotated by 90 degrees with an EXIF orientation tag that rotates it back.
    original = Image.open(train / "cat/cat_07.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    original.transpose(Image.Transpose.ROTATE_90).save(val / "cat/rotated.png", exif=exif)
    before = tree_digest(train.parent)

    report = sc.scan(train=train, val=val, config={})

    assert pairs(report) == {
        ("dog/renamed.png", "cat/cat_03.png", "bytes"),
        ("cat/resaved.png", "dog/dog_05.png", "pixels"),
        ("cat/rotated.png", "cat/cat_07.png", "pixels"),
    }
    finding = report.by_code("LK101")[0]
    assert finding.severity == sc.Severity.ERROR
    assert finding.metrics["n_affected"] == 3 and finding.metrics["ratio_affected"] == 3 / 13
    assert report.exit_code == sc.ExitCode.FINDINGS
    assert tree_digest(train.parent) == before  # nothing written into the data


def test_within_split_duplicates_are_info_clusters(image_splits):
    train = image_splits["train"]
    shutil.copy(train / "cat/cat_01.png", train / "dog/dup_a.png")
    shutil.copy(train / "cat/cat_01.png", train / "dog/dup_b.png")
    report = sc.scan(train=train, val=image_splits["val"], config={})
    (finding,) = report.by_code("DQ201")
    assert finding.severity == sc.Severity.INFO
    assert sorted(finding.evidence["id"]) == ["cat/cat_01.png", "dog/dup_a.png", "dog/dup_b.png"]
    assert set(finding.evidence["cluster"]) == {"cat/cat_01.png"}
    assert finding.metrics["n_redundant"] == 2
    assert report.ok  # info does not fail the default gate


def test_test_split_is_compared_with_train_and_val(image_splits, tmp_path, rng):
    test = tmp_path / "test" / "cat"
    test.mkdir(parents=True)
    shutil.copy(image_splits["train"] / "cat/cat_00.png", test / "a.png")
    shutil.copy(image_splits["val"] / "dog/dog_01.png", test / "b.png")
    random_image(rng).save(test / "c.png")
    report = sc.scan(image_splits["train"], image_splits["val"], tmp_path / "test", config={})
    found = {(f.splits, tuple(f.evidence["a_id"]), tuple(f.evidence["b_id"])) for f in report.by_code("LK101")}
    assert found == {(("test", "train"), ("cat/a.png",), ("cat/cat_00.png",)),
                     (("test", "val"), ("cat/b.png",), ("dog/dog_01.png",))}


def test_text_duplicates_after_normalisation(tmp_path):
    train = pd.DataFrame({"id": ["t1", "t2", "t3"], "text": ["Great movie!", "Bad plot", "Fine film"],
                          "label": ["pos", "neg", "pos"]})
    val = pd.DataFrame({"id": ["v1", "v2", "v3", "v4"],
                        "text": ["Great movie!", "  BAD\u00a0 plot\n", "Ｆｉｎｅ film", "Other words"],
                        "label": ["pos", "neg", "pos", "neg"]})
    report = sc.scan(train=train, val=val, config={})
    assert pairs(report) == {("v1", "t1", "text"), ("v2", "t2", "normalized-text"), ("v3", "t3", "normalized-text")}
    assert report.splits[0]["modality"] == "text"


def test_table_rows_equal_up_to_float_formatting(tmp_path):
    (tmp_path / "train.csv").write_text("id,age,bmi,smoker,label\n1,40,27.5,yes,a\n2,50,30.1,no,b\n3,61,22.0,no,a\n")
    (tmp_path / "val.csv").write_text("id,age,bmi,smoker,label\n10,40.0,27.50,Yes,a\n11,50,3.01e1,no,b\n"
                                      "12,61,22.01,no,a\n")
    report = sc.scan(train=tmp_path / "train.csv", val=tmp_path / "val.csv", config={})
    assert pairs(report) == {("10", "1", "row-values"), ("11", "2", "row-values")}


def test_numpy_vectors_and_dataset_objects():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(50, 8)).astype(np.float32)
    val = rng.normal(size=(10, 8)).astype(np.float64)
    val[4] = train[17]
    report = sc.scan(train=(train, np.arange(50) % 2), val=val, config={})
    assert pairs(report) == {("4", "17", "values")}

    class TinyDataset:  # map-style, like torch.utils.data.Dataset
        def __init__(self, data):
            self.data = data

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            return self.data[i].reshape(2, 4), i % 3

    report = sc.scan(train=TinyDataset(train), val=TinyDataset(val), config={})
    assert pairs(report) == {("4", "17", "values")}
    assert report.splits[0]["class_counts"] == {"0": 17, "1": 17, "2": 16}
