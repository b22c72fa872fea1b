"""Arrays of vectors (precomputed embeddings or flattened tensors) as splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from splitcheck.errors import InputError
from splitcheck.loaders.options import LoadOptions
from splitcheck.splits import Split, make_items

VECTOR_EXTENSIONS = frozenset({".npy", ".npz"})


def load_vector_file(name: str, path: Path, options: LoadOptions) -> Split:
    """A ``.npy`` array (rows are items) or a ``.npz`` with ``X``/``embeddings`` and optional ``y``/``ids``."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read array: {str(exc).splitlines()[0]}") from None
    labels = ids = None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = set(data.files)
            key = next((k for k in ("X", "x", "embeddings", "vectors", "features") if k in keys), None)
            if key is None:
                raise InputError(f"{path}: no array named X, embeddings, vectors or features; has: {sorted(keys)}")
            array = data[key]
            if "y" in keys or "labels" in keys:
                labels = data["y" if "y" in keys else "labels"]
            if "ids" in keys:
                ids = [str(v) for v in data["ids"]]
    else:
        array = data
    return split_from_array(name, array, labels=labels, ids=ids, source=str(path))


def split_from_array(
    name: str, array: Any, *, labels: Any = None, ids: list[str] | None = None, source: str
) -> Split:
    array = np.asarray(array)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim > 2:
        array = array.reshape(len(array), -1)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{source}: expected a numeric array, got dtype {array.dtype}")
    n = len(array)
    if labels is not None and len(labels) != n:
        raise InputError(f"{source}: {n} rows but {len(labels)} labels; they must have the same length")
    if ids is not None and len(ids) != n:
        raise InputError(f"{source}: {n} rows but {len(ids)} ids; they must have the same length")
    if ids is not None and len(set(ids)) != n:
        raise InputError(f"{source}: ids are not unique")
    items = make_items(ids if ids is not None else range(n), labels=None if labels is None else list(labels))
    split = Split(name=name, modality="vector", items=items, source=source, vectors=array)
    split.notes.append(f"{n} vectors of dimension {array.shape[1]}")
    return split
