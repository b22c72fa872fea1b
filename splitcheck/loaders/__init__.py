"""Loaders: turn every accepted input into a :class:`~splitcheck.splits.Split` without reading payloads.

Accepted inputs: an image folder (ImageFolder layout or flat), a CSV/TSV/Parquet/JSONL file (image
manifest with a path column, text with a text column, or a feature table), a ``.npy``/``.npz`` array of
vectors, and in memory a pandas DataFrame, a numpy array or ``(array, labels)`` tuple, a list of image
paths, or a torch-style ``Dataset`` returning ``(tensor, label)``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pandas as pd

from splitcheck.errors import InputError
from splitcheck.loaders.frames import split_from_frame
from splitcheck.loaders.images import folder_has_images, load_image_folder
from splitcheck.loaders.memory import split_from_object
from splitcheck.loaders.options import LoadOptions
from splitcheck.loaders.tables import TABLE_EXTENSIONS, read_table
from splitcheck.loaders.vectors import VECTOR_EXTENSIONS, check_same_dimension, load_vector_file
from splitcheck.splits import Split

__all__ = ["LoadOptions", "check_splits_compatible", "load_split"]


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


def check_splits_compatible(splits: list[Split]) -> None:
    """Raise :class:`InputError` when loaded splits cannot be compared with each other.

    Every split must hold the same kind of items (modality), vectors of one dimension, and times of one
    kind (all numbers or all dates), since a number cannot be ordered against a date.
    """
    first = splits[0]
    for split in splits[1:]:
        if split.modality != first.modality:
            raise InputError(
                f"split {split.name!r} ({split.source}) holds {split.modality} items but {first.name!r} "
                f"({first.source}) holds {first.modality} items; all splits must hold the same kind "
                "(force one with --modality)"
            )
    check_same_dimension(splits)
    kinds = {s.name: "dates" if pd.api.types.is_datetime64_any_dtype(s.items["time"].dtype) else "numbers"
             for s in splits if s.has_times}
    if len(set(kinds.values())) > 1:
        detail = ", ".join(f"{name}: {kind}" for name, kind in kinds.items())
        raise InputError(f"the time columns hold numbers in some splits and dates in others ({detail}); "
                         "give times of one kind in every split")


def _load_path(name: str, path: Path, options: LoadOptions) -> Split:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(f"{path}: broken symbolic link (split {name!r})") from None
        raise InputError(f"{path}: no such file or directory (split {name!r})") from None
    except (OSError, ValueError) as exc:
        reason = "symbolic link loop" if getattr(exc, "errno", None) == errno.ELOOP else (
            getattr(exc, "strerror", None) or str(exc))
        raise InputError(f"{path}: cannot open: {reason} (split {name!r})") from None
    if stat.S_ISDIR(mode):
        if options.modality not in (None, "image"):
            raise InputError(f"{path}: a folder can only be read as images, not as {options.modality!r}")
        if not folder_has_images(path):
            raise InputError(f"{path}: no image files found in this folder (split {name!r})")
        return load_image_folder(name, path)
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: not a regular file or folder (a FIFO, socket or device) (split {name!r})")
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
