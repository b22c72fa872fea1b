"""Turn a DataFrame (read from a file or passed in memory) into a table, text or image-manifest split.

Image manifests: each path is taken relative to the manifest's folder (or as given when absolute). A path
may point outside that folder (``../shared/x.png``, ``/data/x.png``; manifests often point into a shared
image store): it is allowed, and the split's notes say how many do. A path naming a missing file is not an
error here: the scan lists it as unreadable (DQ101, "file not found") and goes on with the rest. An empty
path cell is an error naming its row. Labels, groups and times are normalised as
:mod:`splitcheck.loaders.values` describes; labels left empty are counted in the split's notes.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from splitcheck.errors import InputError
from splitcheck.loaders.images import is_image_name
from splitcheck.loaders.options import (
    ID_CANDIDATES,
    LABEL_CANDIDATES,
    PATH_CANDIDATES,
    TEXT_CANDIDATES,
    LoadOptions,
)
from splitcheck.loaders.values import (
    clean_groups,
    clean_labels,
    file_id,
    is_missing,
    missing_rows,
    parse_times,
    printable,
    rows_text,
    value_text,
)
from splitcheck.splits import Split, make_items


def split_from_frame(
    name: str, frame: pd.DataFrame, options: LoadOptions, *, source: str, base_dir: Path | None = None
) -> Split:
    """Read a frame as a split. ``source`` names it in messages; ``base_dir`` anchors relative paths."""
    if len(frame.columns) == 0:
        raise InputError(f"{source}: the table has no columns")
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    modality = options.modality
    path_col = _column(frame, options.path_column, PATH_CANDIDATES if modality in (None, "image") else (),
                       "--path-column", source)
    if path_col is not None and modality is None and not _looks_like_image_paths(frame[path_col]):
        path_col = None if options.path_column is None else path_col
    text_col = _column(frame, options.text_column, TEXT_CANDIDATES if modality in (None, "text") else (),
                       "--text-column", source)
    if modality is None:
        modality = "image" if path_col is not None else "text" if text_col is not None else "table"
    if modality == "image" and path_col is None:
        raise InputError(f"{source}: an image manifest needs a path column (--path-column); columns are: "
                         + _names(columns))
    if modality == "text" and text_col is None:
        raise InputError(f"{source}: a text split needs a text column (--text-column); columns are: "
                         + _names(columns))

    label_col = _column(frame, options.label_column, LABEL_CANDIDATES, "--label-column", source)
    group_col = _column(frame, options.group_column, (), "--group-column", source)
    time_col = _column(frame, options.time_column, (), "--time-column", source)
    id_col = _column(frame, options.id_column, ID_CANDIDATES, "--id-column", source)

    if id_col is not None:
        ids = frame[id_col]
        if ids.isna().any():
            row = int(ids.isna().to_numpy().nonzero()[0][0])
            raise InputError(f"{source}, row {row}: id column {id_col!r} is empty")
        ids = ids.map(value_text)
    elif modality == "image":
        ids = frame[path_col].map(lambda p: file_id(str(PurePosixPath(str(p).replace("\\", "/")))))
    else:
        ids = pd.Series([str(i) for i in frame.index], dtype=object)
    dup = ids[ids.duplicated()]
    if len(dup):
        what = f"id column {id_col!r}" if id_col else ("path column" if modality == "image" else "index")
        raise InputError(f"{source}: {what} has duplicate id {dup.iloc[0]!r} ({dup.size} duplicates); ids must be unique")

    times = parse_times(frame[time_col], source=source, column=time_col) if time_col else None
    labels = clean_labels(frame[label_col], source=source, column=label_col) if label_col else None
    items = make_items(
        list(ids),
        labels=labels,
        groups=clean_groups(frame[group_col], source=source, column=group_col) if group_col else None,
        times=times,
    )
    split = Split(name=name, modality=modality, items=items, source=source)  # type: ignore[arg-type]
    used = {c for c in (label_col, group_col, time_col, id_col, path_col, text_col) if c}
    if modality == "image":
        base = base_dir or Path.cwd()
        split.root = base
        paths, outside = [], []
        for row, value in enumerate(frame[path_col]):
            if is_missing(value):
                raise InputError(f"{source}, row {row}: path column {path_col!r} is empty")
            p = Path(str(value))
            paths.append(str(p if p.is_absolute() else base / p))
            if base_dir is not None and not _inside(p, base):
                outside.append(row)
        split.paths = paths
        split.notes.append(f"layout: image manifest (path column {path_col!r})")
        if outside:
            split.notes.append(f"{len(outside)} paths lie outside the manifest's folder {base} "
                               f"({rows_text(outside)}, e.g. {printable(str(frame[path_col].iloc[outside[0]]))})")
    elif modality == "text":
        split.texts = frame[text_col].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
        split.texts = split.texts.reset_index(drop=True)
        split.notes.append(f"text column {text_col!r}")
    else:
        feature_cols = [c for c in columns if c not in used]
        if not feature_cols:
            raise InputError(f"{source}: no feature columns left after id/label/group/time columns")
        features = frame[feature_cols].reset_index(drop=True)
        if modality == "vector":  # --modality vector: the feature columns are the vector's components
            bad = [c for c in feature_cols if not pd.api.types.is_numeric_dtype(features[c].dtype)
                   or pd.api.types.is_bool_dtype(features[c].dtype)]
            if bad:
                raise InputError(f"{source}: column {printable(bad[0])!r} is not numeric; a vector split needs "
                                 "numbers in every column but the id/label/group/time columns")
            split.vectors = features.to_numpy(dtype=np.float64)
            split.notes.append(f"{len(split)} vectors of dimension {len(feature_cols)} (columns of the table)")
        else:
            split.features = features
            split.notes.append(f"{len(feature_cols)} feature columns")
    if label_col:
        split.notes.append(f"label column {label_col!r}")
        unlabelled = missing_rows(labels)  # type: ignore[arg-type]
        if unlabelled:
            split.notes.append(f"{len(unlabelled)} items have no label ({rows_text(unlabelled)}); "
                               "the class checks leave them out")
    return split


def _inside(path: Path, base: Path) -> bool:
    """Whether ``path`` (relative to ``base`` unless absolute) stays inside ``base``, by its spelling."""
    full = os.path.normpath(path if path.is_absolute() else base / path)
    root = os.path.normpath(base)
    return full == root or full.startswith(root.rstrip(os.sep) + os.sep)


def _names(columns: object) -> str:
    """Column names for a one-line message (control characters escaped)."""
    return ", ".join(printable(str(c)) for c in columns)  # type: ignore[attr-defined]


def _column(frame: pd.DataFrame, requested: str | None, candidates: tuple[str, ...], option: str,
            source: str) -> str | None:
    if requested is not None:
        if requested not in frame.columns:
            raise InputError(
                f"{source}: no column {requested!r} (asked for by {option}); columns are: "
                + _names(frame.columns)
            )
        return requested
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def _looks_like_image_paths(series: pd.Series) -> bool:
    """Most of the first 50 filled cells name image files (a few bad rows are then reported, not a table)."""
    sample = [str(v) for v in series.head(200) if not is_missing(v)][:50]
    return len(sample) > 0 and sum(is_image_name(v) for v in sample) * 2 > len(sample)
