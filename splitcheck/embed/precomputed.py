"""Precomputed embeddings (CLIP, DINO, ... features the user already has), aligned with a split's items.

Accepted sources, for one split:

- ``.npy``: a 2-D array whose rows follow the split's item order (same count);
- ``.npz``: an array named ``X``/``embeddings``/``vectors``/``features``, and optionally ``ids`` to align
  rows by item id instead of by order;
- ``.parquet`` (or ``.csv``): an id column (``id``, or the first column) and either one column holding a
  list of numbers per row or several numeric columns; rows are aligned by id;
- in memory: a 2-D numpy array (rows in item order) or a DataFrame as for Parquet.

Errors name the file and the row: a count that does not match the split, ids missing from the file or
repeated in it, a row of another length, NaN or infinite values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.errors import InputError

_ARRAY_KEYS = ("X", "x", "embeddings", "vectors", "features")


def load_precomputed(source: Any, ids: np.ndarray, *, split_name: str) -> np.ndarray:
    """The vectors of ``source`` as a float32 ``(len(ids), dim)`` array in the order of ``ids``."""
    ids = np.asarray([str(i) for i in ids], dtype=object)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise InputError(f"{path}: embeddings file not found (split {split_name!r})")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            array, file_ids = _read_npy(path), None
        elif suffix == ".npz":
            array, file_ids = _read_npz(path)
        elif suffix in (".parquet", ".pq", ".csv"):
            array, file_ids = _frame_vectors(_read_frame(path), where)
        else:
            raise InputError(f"{path}: unsupported embeddings file {suffix or '(none)'!r}; "
                             "give a .npy, .npz, .parquet or .csv file")
    elif isinstance(source, pd.DataFrame):
        where = f"<DataFrame of embeddings for split {split_name!r}>"
        array, file_ids = _frame_vectors(source, where)
    else:
        where = f"<{type(source).__name__} of embeddings for split {split_name!r}>"
        array, file_ids = np.asarray(source), None
    array = _as_matrix(array, where)
    _check_finite(array, where, file_ids)
    if file_ids is None:
        if len(array) != len(ids):
            raise InputError(f"{where}: {len(array)} embedding rows but split {split_name!r} has {len(ids)} items; "
                             "rows must follow the split's items one to one (or give ids to align by)")
    else:
        array = _align(array, file_ids, ids, where, split_name)
    return np.ascontiguousarray(array, dtype=np.float32)


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the array: {str(exc).splitlines()[0]}") from None


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as data:
            key = next((k for k in _ARRAY_KEYS if k in data.files), None)
            if key is None:
                raise InputError(f"{path}: no array named {', '.join(_ARRAY_KEYS)}; has: {sorted(data.files)}")
            file_ids = data["ids"] if "ids" in data.files else None
            return data[key], None if file_ids is None else np.asarray([str(v) for v in file_ids], dtype=object)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the arrays: {str(exc).splitlines()[0]}") from None


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow / parser errors have many types
        raise InputError(f"{path}: cannot read the table: {str(exc).splitlines()[0]}") from None


def _frame_vectors(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    if len(frame.columns) < 2:
        raise InputError(f"{where}: expected an id column and vector column(s); columns are: "
                         + ", ".join(map(str, frame.columns)))
    id_col = "id" if "id" in frame.columns else frame.columns[0]
    rest = [c for c in frame.columns if c != id_col]
    if frame[id_col].isna().any():
        row = int(np.flatnonzero(frame[id_col].isna().to_numpy())[0])
        raise InputError(f"{where}, row {row}: id column {id_col!r} is empty")
    file_ids = np.asarray([_id_text(v) for v in frame[id_col]], dtype=object)
    if len(rest) == 1 and frame[rest[0]].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).all():
        lengths = frame[rest[0]].map(len).to_numpy()
        if len(lengths) and (lengths != lengths[0]).any():
            row = int(np.flatnonzero(lengths != lengths[0])[0])
            raise InputError(f"{where}, row {row}: vector of length {lengths[row]}, but row 0 has {lengths[0]}; "
                             "every vector must have the same dimension")
        try:
            array = np.stack([np.asarray(v, dtype=np.float64) for v in frame[rest[0]]]) if len(frame) \
                else np.zeros((0, 0))
        except (TypeError, ValueError):
            raise InputError(f"{where}: column {rest[0]!r} holds non-numeric vectors") from None
        return array, file_ids
    bad = [c for c in rest if not pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if bad:
        raise InputError(f"{where}: column {bad[0]!r} is not numeric; vector columns must hold numbers "
                         f"(id column: {id_col!r})")
    return frame[rest].to_numpy(dtype=np.float64, na_value=np.nan), file_ids


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_matrix(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{where}: expected numeric vectors, got dtype {array.dtype}")
    if array.ndim == 1:
        raise InputError(f"{where}: expected a 2-D array (one row per item), got a 1-D array of {len(array)}")
    if array.ndim > 2:
        array = array.reshape(len(array), -1)
    if array.shape[1] == 0:
        raise InputError(f"{where}: vectors have dimension 0")
    return array


def _align(array: np.ndarray, file_ids: np.ndarray, ids: np.ndarray, where: str, split_name: str) -> np.ndarray:
    if len(file_ids) != len(array):
        raise InputError(f"{where}: {len(array)} vectors but {len(file_ids)} ids")
    position = pd.Index(file_ids)
    if not position.is_unique:
        dup = position[position.duplicated()][0]
        raise InputError(f"{where}: id {dup!r} appears more than once; ids must be unique")
    rows = position.get_indexer(ids)
    if (rows < 0).any():
        missing = ids[rows < 0]
        raise InputError(f"{where}: no vector for {len(missing)} of the {len(ids)} items of split {split_name!r} "
                         f"(first missing id: {missing[0]!r})")
    return array[rows]


def _check_finite(array: np.ndarray, where: str, ids: np.ndarray | None) -> None:
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "NaN" if np.isnan(array[row]).any() else "infinite values"
        item = f" (id {ids[row]!r})" if ids is not None else ""
        raise InputError(f"{where}, row {row}{item}: vector holds {what} ({int(bad.sum())} bad rows in all)")


def check_same_dimension(vectors: dict[str, np.ndarray], sources: dict[str, str]) -> None:
    """Every split's precomputed vectors must have one dimension."""
    dims = [(name, v.shape[1]) for name, v in vectors.items()]
    for name, dim in dims[1:]:
        if dim != dims[0][1]:
            first = dims[0][0]
            raise InputError(f"embeddings of split {first!r} ({sources.get(first, '?')}) have dimension {dims[0][1]} "
                             f"but those of split {name!r} ({sources.get(name, '?')}) have {dim}; all splits need "
                             "one embedding space")
