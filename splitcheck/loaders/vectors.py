"""Arrays of vectors (precomputed embeddings or flattened tensors) as splits.

Refused with an :class:`InputError` naming the file (and row and column where there is one): a scalar or
empty-width array, non-numeric or complex values, labels or ids whose count differs from the rows, repeated
ids, anything that would need unpickling (files are untrusted: ``allow_pickle=False``), and in files, NaN or
infinite values (an in-memory array may use NaN for a missing feature value).
Vectors of one split must have the dimension of the others: see :func:`check_same_dimension`.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from splitcheck.errors import InputError
from splitcheck.loaders.options import LoadOptions
from splitcheck.loaders.values import clean_labels
from splitcheck.splits import Split, make_items

VECTOR_EXTENSIONS = frozenset({".npy", ".npz"})


def load_vector_file(name: str, path: Path, options: LoadOptions) -> Split:
    """A ``.npy`` array (rows are items) or a ``.npz`` with ``X``/``embeddings`` and optional ``y``/``ids``."""
    if options.modality not in (None, "vector"):
        raise InputError(f"{path}: an array file can only be read as vectors, not as {options.modality!r}")
    labels = ids = None
    try:
        with open(path, "rb") as handle:  # our handle: closed even when numpy gives up half-way
            data = np.load(handle, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):
                with data:
                    keys = set(data.files)
                    key = next((k for k in ("X", "x", "embeddings", "vectors", "features") if k in keys), None)
                    if key is None:
                        raise InputError(f"{path}: no array named X, embeddings, vectors or features; "
                                         f"has: {sorted(keys)}")
                    array = data[key]
                    if "y" in keys or "labels" in keys:
                        labels = data["y" if "y" in keys else "labels"]
                    if "ids" in keys:
                        ids = [str(v) for v in np.atleast_1d(data["ids"])]
            else:
                array = data
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "pickle" in reason.lower():
            reason = ("it holds pickled Python objects, which splitcheck never loads (unpickling can run code); "
                      "save a plain numeric array")
        raise InputError(f"{path}: cannot read array: {reason}") from None
    if labels is not None and np.ndim(labels) != 1:
        raise InputError(f"{path}: labels must be a 1-D array (one per row); got shape {np.shape(labels)}")
    split = split_from_array(name, array, labels=labels, ids=ids, source=str(path))
    _check_finite(split.vectors, str(path))  # type: ignore[arg-type]
    return split


def split_from_array(
    name: str, array: Any, *, labels: Any = None, ids: list[str] | None = None, source: str
) -> Split:
    array = np.asarray(array)
    if array.ndim == 0:
        raise InputError(f"{source}: expected an array with one row per item, got a single value")
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim > 2:
        array = array.reshape(len(array), int(np.prod(array.shape[1:])))
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{source}: expected real numbers, got complex values (dtype {array.dtype})")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{source}: expected a numeric array, got dtype {array.dtype}")
    if array.shape[1] == 0 and len(array):
        raise InputError(f"{source}: {len(array)} rows of dimension 0; each item needs at least one value")
    n = len(array)
    if labels is not None and len(labels) != n:
        raise InputError(f"{source}: {n} rows but {len(labels)} labels; they must have the same length")
    if ids is not None and len(ids) != n:
        raise InputError(f"{source}: {n} rows but {len(ids)} ids; they must have the same length")
    if ids is not None and len(set(ids)) != n:
        raise InputError(f"{source}: ids are not unique")
    cleaned = None if labels is None else clean_labels(list(labels), source=source, column="labels")
    items = make_items(ids if ids is not None else range(n), labels=cleaned)
    split = Split(name=name, modality="vector", items=items, source=source, vectors=array)
    split.notes.append(f"{n} vectors of dimension {array.shape[1]}")
    return split


def _check_finite(array: np.ndarray, source: str) -> None:
    if not np.issubdtype(array.dtype, np.floating):
        return
    finite = np.isfinite(array)
    if not finite.all():
        row, column = (int(v) for v in np.argwhere(~finite)[0])
        bad = int((~finite.all(axis=1)).sum())
        raise InputError(f"{source}, row {row}, column {column}: {array[row, column]} is not a finite number "
                         f"({bad} rows hold NaN or infinite values); drop or fix those rows")


def check_same_dimension(splits: list[Split]) -> None:
    """Raise :class:`InputError` when vector splits have vectors of different dimensions."""
    first: Split | None = None
    for split in splits:
        if split.modality != "vector" or split.vectors is None:
            continue
        if first is None:
            first = split
        elif split.vectors.shape[1] != first.vectors.shape[1]:  # type: ignore[union-attr]
            raise InputError(
                f"{split.source}: vectors of dimension {split.vectors.shape[1]} (split {split.name!r}), but "
                f"{first.source} has dimension {first.vectors.shape[1]} "  # type: ignore[union-attr]
                f"(split {first.name!r}); every split must hold vectors of the same kind")
