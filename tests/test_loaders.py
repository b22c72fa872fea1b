from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import splitcheck as sc
from splitcheck.loaders import LoadOptions, load_split

from helpers import random_image


def test_image_folder_layout_and_ids(image_splits):
    split = load_split("train", image_splits["train"])
    assert split.modality == "image"
    assert split.ids[:2].tolist() == ["cat/cat_00.png", "cat/cat_01.png"]
    assert split.items["label"].value_counts().to_dict() == {"cat": 10, "dog": 10}
    assert all(Path(p).is_file() for p in split.paths)


def test_flat_folder_has_no_labels(tmp_path, rng):
    for i in range(3):
        random_image(rng).save(tmp_path / f"{i}.jpg")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    split = load_split("train", tmp_path)
    assert split.ids.tolist() == ["0.jpg", "1.jpg", "2.jpg"] and not split.has_labels


def test_manifest_with_paths_relative_to_it(tmp_path, rng):
    (tmp_path / "img").mkdir()
    for name in ("a.png", "b.png"):
        random_image(rng).save(tmp_path / "img" / name)
    (tmp_path / "m.csv").write_text("filepath,label,site\nimg/a.png,x,s1\nimg/b.png,y,s2\n")
    split = load_split("train", tmp_path / "m.csv", LoadOptions(group_column="site"))
    assert split.modality == "image"
    assert split.ids.tolist() == ["img/a.png", "img/b.png"]
    assert split.paths == [str(tmp_path / "img/a.png"), str(tmp_path / "img/b.png")]
    assert split.items["group"].tolist() == ["s1", "s2"]


def test_semicolon_csv_with_bom_and_quoted_newline(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes('\ufeffid;note;value;label\n1;"two\nlines";3,5;a\n2;x;4;b\n'.encode())
    split = load_split("train", path)
    assert split.modality == "table"
    assert split.ids.tolist() == ["1", "2"]
    assert list(split.features.columns) == ["note", "value"]


def test_jsonl_malformed_line_names_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"\n')
    with pytest.raises(sc.InputError, match=r"t.jsonl, line 2: not valid JSON"):
        load_split("train", path)


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,x\n1,2\n1,3\n")
    with pytest.raises(sc.InputError, match="id column 'id' has duplicate id '1'"):
        load_split("train", path)


def test_bad_time_value_names_the_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,x,when\n1,2,2020-01-01\n2,3,not a date\n")
    with pytest.raises(sc.InputError, match=r"t.csv, row 1: time column 'when' has 'not a date'"):
        load_split("train", path, LoadOptions(time_column="when"))


def test_text_split_detected_from_text_column(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "text": "hello", "label": 1}\n{"id": "b", "text": "world", "label": 0}\n')
    split = load_split("val", path)
    assert split.modality == "text" and split.texts.tolist() == ["hello", "world"]


def test_empty_split_and_unsupported_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(sc.InputError, match="no image files found"):
        load_split("train", tmp_path / "empty")
    (tmp_path / "x.docx").write_text("?")
    with pytest.raises(sc.InputError, match="unsupported file type '.docx'"):
        load_split("train", tmp_path / "x.docx")


def test_mixed_modalities_are_refused(image_splits, tmp_path):
    (tmp_path / "t.csv").write_text("id,x\n1,2\n")
    with pytest.raises(sc.InputError, match="holds table items but 'train'"):
        sc.scan(train=image_splits["train"], val=tmp_path / "t.csv", config={})


def test_npz_with_labels_and_ids(tmp_path):
    np.savez(tmp_path / "e.npz", X=np.eye(3, dtype=np.float32), y=np.array([0, 1, 1]), ids=np.array(["a", "b", "c"]))
    split = load_split("train", tmp_path / "e.npz")
    assert split.modality == "vector" and split.ids.tolist() == ["a", "b", "c"]
    assert split.items["label"].tolist() == [0, 1, 1]


def test_dataframe_input_is_not_modified():
    frame = pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0], "label": ["u", "v"]})
    copy = frame.copy()
    sc.scan(train=frame, val=frame.assign(id=["c", "d"]), config={})
    pd.testing.assert_frame_equal(frame, copy)
