"""Embedding / vector files (.npy, .npz) that cannot be used: each refused with the file, row and column
and the problem; a pickle inside is never unpickled. (Precomputed embeddings attached to image splits are
tested in tests/embed/test_embed_precomputed.py.)"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

import splitcheck as sc
from splitcheck.loaders import check_splits_compatible, load_split

PICKLED = ("it holds pickled Python objects, which splitcheck never loads (unpickling can run code); save a plain "
           "numeric array")


class _Exploit:
    """Unpickling this writes a marker file: proof that a pickle was executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def train(tmp_path):
    path = tmp_path / "train.npy"
    np.save(path, np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32))
    return path


def _error(path) -> str:
    with pytest.raises(sc.InputError) as info:
        load_split("val", path)
    return str(info.value)


def test_nan_and_inf_name_file_row_and_column(tmp_path):
    x = np.zeros((6, 4), dtype=np.float32)
    x[3, 2] = np.nan
    x[5, 0] = np.inf
    np.save(tmp_path / "bad.npy", x)
    assert _error(tmp_path / "bad.npy") == (f"{tmp_path / 'bad.npy'}, row 3, column 2: nan is not a finite number "
                                            "(2 rows hold NaN or infinite values); drop or fix those rows")
    np.savez(tmp_path / "bad.npz", X=np.where(np.eye(3) > 0, -np.inf, 0.0))
    assert _error(tmp_path / "bad.npz").startswith(f"{tmp_path / 'bad.npz'}, row 0, column 0: -inf is not a finite")


def test_row_counts_that_do_not_match(tmp_path):
    np.savez(tmp_path / "labels.npz", X=np.ones((10, 4)), y=np.arange(9))
    assert _error(tmp_path / "labels.npz") == (
        f"{tmp_path / 'labels.npz'}: 10 rows but 9 labels; they must have the same length")
    np.savez(tmp_path / "ids.npz", X=np.ones((3, 4)), ids=np.array(["a", "b"]))
    assert _error(tmp_path / "ids.npz") == f"{tmp_path / 'ids.npz'}: 3 rows but 2 ids; they must have the same length"
    np.savez(tmp_path / "label2d.npz", X=np.ones((3, 4)), y=np.ones((3, 2)))
    assert _error(tmp_path / "label2d.npz") == (
        f"{tmp_path / 'label2d.npz'}: labels must be a 1-D array (one per row); got shape (3, 2)")


@pytest.mark.parametrize("array, message", [
    (np.float64(3.0), "expected an array with one row per item, got a single value"),
    (np.ones((4, 0)), "4 rows of dimension 0; each item needs at least one value"),
    (np.ones((3, 2), dtype=complex), "expected real numbers, got complex values (dtype complex128)"),
    (np.array(["a", "b"]), "expected a numeric array, got dtype <U1"),
])
def test_unusable_arrays(tmp_path, array, message):
    np.save(tmp_path / "v.npy", array)
    assert _error(tmp_path / "v.npy") == f"{tmp_path / 'v.npy'}: {message}"


def test_truncated_and_corrupt_files(tmp_path):
    np.save(tmp_path / "full.npy", np.ones((20, 8)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "full.npy").read_bytes()[:200])
    assert _error(tmp_path / "cut.npy").startswith(
        f"{tmp_path / 'cut.npy'}: cannot read array: Failed to read all data")
    np.savez(tmp_path / "full.npz", X=np.ones((20, 8)))
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert _error(tmp_path / "cut.npz").startswith(f"{tmp_path / 'cut.npz'}: cannot read array: ")
    (tmp_path / "text.npy").write_text("not an array")
    assert _error(tmp_path / "text.npy") == f"{tmp_path / 'text.npy'}: cannot read array: {PICKLED}"


def test_pickles_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    payload = np.array([_Exploit(str(marker))], dtype=object)
    np.save(tmp_path / "evil.npy", payload, allow_pickle=True)
    assert _error(tmp_path / "evil.npy") == f"{tmp_path / 'evil.npy'}: cannot read array: {PICKLED}"
    buffer = io.BytesIO()
    np.save(buffer, payload, allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as archive:
        archive.writestr("X.npy", _npy_bytes(np.ones((2, 2))))
        archive.writestr("y.npy", buffer.getvalue())
    assert _error(tmp_path / "evil.npz") == f"{tmp_path / 'evil.npz'}: cannot read array: {PICKLED}"
    (tmp_path / "raw.npy").write_bytes(pickle.dumps(_Exploit(str(marker))))
    assert _error(tmp_path / "raw.npy") == f"{tmp_path / 'raw.npy'}: cannot read array: {PICKLED}"
    assert not marker.exists()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_vectors_of_different_dimensions_are_refused(tmp_path, train):
    np.save(tmp_path / "val.npy", np.ones((5, 16), dtype=np.float32))
    splits = [load_split("train", train), load_split("val", tmp_path / "val.npy")]
    with pytest.raises(sc.InputError) as info:
        check_splits_compatible(splits)
    assert str(info.value) == (f"{tmp_path / 'val.npy'}: vectors of dimension 16 (split 'val'), but {train} has "
                               "dimension 8 (split 'train'); every split must hold vectors of the same kind")


def test_float16_and_integer_vectors_are_read(tmp_path, train):
    np.save(tmp_path / "half.npy", np.ones((4, 8), dtype=np.float16))
    np.save(tmp_path / "ints.npy", np.arange(32, dtype=np.int8).reshape(4, 8))
    for name in ("half.npy", "ints.npy"):
        split = load_split("val", tmp_path / name)
        assert split.modality == "vector" and split.vectors.shape == (4, 8)
        check_splits_compatible([load_split("train", train), split])
    report = sc.scan(train=train, val=tmp_path / "half.npy", config={})
    (dq,) = report.by_code("DQ201")  # four identical rows inside val
    assert dq.metrics["n_items"] == 4
