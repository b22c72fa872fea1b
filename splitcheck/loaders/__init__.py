"""Loaders: turn every accepted input into a :class:`~splitcheck.splits.Split` without reading payloads.

Accepted inputs: an image folder (ImageFolder layout or flat), a CSV/TSV/Parquet/JSONL file (image
manifest with a path column, text with a text column, or a feature table), a ``.npy``/``.npz`` array of
vectors, and in memory a pandas DataFrame, a numpy array or ``(array, labels)`` tuple, a list of image
paths, or a torch-style ``Dataset`` returning ``(tensor, label)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from splitcheck.errors import InputError
from splitcheck.loaders.frames import split_from_frame
from splitcheck.loaders.images import folder_has_images, load_image_folder
from splitcheck.loaders.memory import split_from_object
from splitcheck.loaders.options import LoadOptions
from splitcheck.loaders.tables import TABLE_EXTENSIONS, read_table
from splitcheck.loaders.vectors import VECTOR_EXTENSIONS, load_vector_file
from splitcheck.splits import Split

__all__ = ["LoadOptions", "load_split"]


def load_split(name: str, source: Any, options: LoadOptions | None = None) -> Split:
    """Load one split from a path or an in-memory object."""
    options = options or LoadOptions()
    if isinstance(source, (str, os.PathLike)):
        split = _load_path(name, Path(source), options)
    else:
        split = split_from_object(name, source, options)
    if len(split) == 0:
        raise InputError(f"split {name!r} ({split.source}) has no items; check the path and its layout")
    return split


def _load_path(name: str, path: Path, options: LoadOptions) -> Split:
    if not path.exists():
        if path.is_symlink():
            raise InputError(f"{path}: broken symbolic link (split {name!r})")
        raise InputError(f"{path}: no such file or directory (split {name!r})")
    if path.is_dir():
        if options.modality not in (None, "image"):
            raise InputError(f"{path}: a folder can only be read as images, not as {options.modality!r}")
        if not folder_has_images(path):
            raise InputError(f"{path}: no image files found in this folder (split {name!r})")
        return load_image_folder(name, path)
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied (split {name!r})")
    suffix = path.suffix.lower()
    if suffix in VECTOR_EXTENSIONS:
        return load_vector_file(name, path, options)
    if suffix in TABLE_EXTENSIONS:
        frame = read_table(path)
        return split_from_frame(name, frame, options, source=str(path), base_dir=path.parent)
    raise InputError(
        f"{path}: unsupported file type {suffix or '(none)'!r}; give a folder of images, a CSV/TSV/Parquet/"
        "JSONL table or manifest, or a .npy/.npz array"
    )
