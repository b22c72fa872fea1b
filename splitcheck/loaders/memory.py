"""In-memory inputs: DataFrames, numpy arrays, ``(array, labels)`` tuples, path lists, torch Datasets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.errors import InputError
from splitcheck.loaders.frames import split_from_frame
from splitcheck.loaders.images import is_image_name
from splitcheck.loaders.options import LoadOptions
from splitcheck.loaders.values import clean_labels, file_id
from splitcheck.loaders.vectors import split_from_array
from splitcheck.splits import Split, make_items


def split_from_object(name: str, obj: Any, options: LoadOptions) -> Split:
    source = f"<{type(obj).__name__} for split {name!r}>"
    if isinstance(obj, Split):
        return obj
    if isinstance(obj, pd.DataFrame):
        return split_from_frame(name, obj, options, source=source)
    if isinstance(obj, np.ndarray):
        return split_from_array(name, obj, source=source)
    if isinstance(obj, tuple) and len(obj) == 2 and not isinstance(obj[0], (str, os.PathLike)):
        array, labels = obj
        return split_from_array(name, array, labels=labels, source=source)
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(p, (str, os.PathLike)) for p in obj):
        return _split_from_paths(name, [Path(p) for p in obj], source)
    if hasattr(obj, "__getitem__") and hasattr(obj, "__len__"):
        return _split_from_dataset(name, obj, source)
    raise InputError(
        f"split {name!r}: cannot read a {type(obj).__name__}; give a path, a DataFrame, a numpy array, "
        "an (array, labels) tuple, a list of image paths or a Dataset returning (tensor, label)"
    )


def _split_from_paths(name: str, paths: list[Path], source: str) -> Split:
    not_images = [p for p in paths if not is_image_name(p.name)]
    if not_images:
        raise InputError(f"split {name!r}: {not_images[0]} is not an image file name")
    absolute = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([str(p.parent) for p in absolute]))
    ids = [file_id(p.relative_to(root).as_posix()) for p in absolute]
    if len(set(ids)) != len(ids):
        raise InputError(f"split {name!r}: the same path is listed more than once")
    split = Split(name=name, modality="image", items=make_items(ids), source=str(root), root=root,
                  paths=[str(p) for p in absolute])
    split.notes.append("layout: list of image paths")
    return split


def _split_from_dataset(name: str, dataset: Any, source: str) -> Split:
    """A map-style dataset returning ``x`` or ``(x, label)``; items are read lazily by ``getitem``."""
    n = len(dataset)
    labels: list[Any] = []
    for i in range(n):
        item = dataset[i]
        labels.append(_as_label(item[1]) if isinstance(item, (tuple, list)) and len(item) >= 2 else None)

    def getitem(i: int) -> np.ndarray:
        item = dataset[i]
        x = item[0] if isinstance(item, (tuple, list)) else item
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        return np.ascontiguousarray(np.asarray(x))

    cleaned = clean_labels(labels, source=source, column="label") if any(v is not None for v in labels) else None
    items = make_items(range(n), labels=cleaned)
    split = Split(name=name, modality="vector", items=items, source=source, getitem=getitem)
    split.notes.append(f"dataset of {n} items read through __getitem__")
    return split


def _as_label(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    return value
