"""Turn a DataFrame (read from a file or passed in memory) into a table, text or image-manifest split."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

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
                         + ", ".join(columns))
    if modality == "text" and text_col is None:
        raise InputError(f"{source}: a text split needs a text column (--text-column); columns are: "
                         + ", ".join(columns))

    label_col = _column(frame, options.label_column, LABEL_CANDIDATES, "--label-column", source)
    group_col = _column(frame, options.group_column, (), "--group-column", source)
    time_col = _column(frame, options.time_column, (), "--time-column", source)
    id_col = _column(frame, options.id_column, ID_CANDIDATES, "--id-column", source)

    if id_col is not None:
        ids = frame[id_col]
        if ids.isna().any():
            row = int(ids.isna().to_numpy().nonzero()[0][0])
            raise InputError(f"{source}, row {row}: id column {id_col!r} is empty")
        ids = ids.map(_id_text)
    elif modality == "image":
        ids = frame[path_col].map(lambda p: str(PurePosixPath(str(p).replace("\\", "/"))))
    else:
        ids = pd.Series([str(i) for i in frame.index], dtype=object)
    dup = ids[ids.duplicated()]
    if len(dup):
        what = f"id column {id_col!r}" if id_col else ("path column" if modality == "image" else "index")
        raise InputError(f"{source}: {what} has duplicate id {dup.iloc[0]!r} ({dup.size} duplicates); ids must be unique")

    times = _parse_times(frame[time_col], time_col, source) if time_col else None
    items = make_items(
        list(ids),
        labels=frame[label_col] if label_col else None,
        groups=frame[group_col] if group_col else None,
        times=times,
    )
    split = Split(name=name, modality=modality, items=items, source=source)  # type: ignore[arg-type]
    used = {c for c in (label_col, group_col, time_col, id_col, path_col, text_col) if c}
    if modality == "image":
        base = base_dir or Path.cwd()
        split.root = base
        paths = []
        for row, value in enumerate(frame[path_col]):
            if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
                raise InputError(f"{source}, row {row}: path column {path_col!r} is empty")
            p = Path(str(value))
            paths.append(str(p if p.is_absolute() else base / p))
        split.paths = paths
        split.notes.append(f"layout: image manifest (path column {path_col!r})")
    elif modality == "text":
        split.texts = frame[text_col].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
        split.texts = split.texts.reset_index(drop=True)
        split.notes.append(f"text column {text_col!r}")
    else:
        feature_cols = [c for c in columns if c not in used]
        if not feature_cols:
            raise InputError(f"{source}: no feature columns left after id/label/group/time columns")
        split.features = frame[feature_cols].reset_index(drop=True)
        split.notes.append(f"{len(feature_cols)} feature columns")
    if label_col:
        split.notes.append(f"label column {label_col!r}")
    return split


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _column(frame: pd.DataFrame, requested: str | None, candidates: tuple[str, ...], option: str,
            source: str) -> str | None:
    if requested is not None:
        if requested not in frame.columns:
            raise InputError(
                f"{source}: no column {requested!r} (asked for by {option}); columns are: "
                + ", ".join(map(str, frame.columns))
            )
        return requested
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def _looks_like_image_paths(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(50)
    return len(sample) > 0 and all(is_image_name(v) for v in sample)


def _parse_times(series: pd.Series, column: str, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    text = series.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    parsed = pd.to_datetime(text, errors="coerce", utc=False, format="mixed")
    bad = parsed.isna() & text.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"{source}, row {row}: time column {column!r} has {text.iloc[row]!r}, not a date/time")
    return parsed
