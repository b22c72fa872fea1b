"""Normalise the per-item values every loader hands to a Split: ids, labels, groups and times.

The same class, group or instant must compare equal whichever file it came from, so:

- labels: a whole float is the integer (a CSV label column with one empty cell is read as ``1.0, NaN``;
  it is still class ``1``), numpy scalars become Python values, NaN / NA / empty become missing; a list or
  mapping is refused (a label must be one value);
- groups: the text of the value, with whole floats written as integers (``7.0`` and ``7`` are one patient);
- times: values with a UTC offset are converted to UTC and every time is kept without a zone, so that
  splits written with and without offsets compare (times without an offset are taken as they are);
- ids of files: the relative path, with bytes that are not valid UTF-8 written as ``\\xNN`` (the path itself
  is left untouched for opening), so that every report format (JSON, XML, HTML) can carry it. Other
  characters, control characters included, are kept: each reporter shows them in its own safe way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.errors import InputError


def is_missing(value: Any) -> bool:
    """None, NaN, NaT, pandas NA, or an empty / blank string."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip() == ""
    return False


def clean_labels(values: Iterable[Any], *, source: str, column: str) -> pd.Series:
    """Labels as an object Series of hashable Python values (None where missing)."""
    out = []
    for row, value in enumerate(values):
        if is_missing(value):
            out.append(None)
            continue
        if isinstance(value, (list, tuple, dict, set, np.ndarray)):
            raise InputError(f"{source}, row {row}: label column {column!r} holds a {type(value).__name__} "
                             f"({_short(value)}); a label must be one value (a class name or number)")
        out.append(_scalar(value))
    return pd.Series(out, dtype=object)


def clean_groups(values: Iterable[Any], *, source: str, column: str) -> pd.Series:
    """Group ids as an object Series of strings (None where missing)."""
    out = []
    for row, value in enumerate(values):
        if is_missing(value):
            out.append(None)
        elif isinstance(value, (list, tuple, dict, set, np.ndarray)):
            raise InputError(f"{source}, row {row}: group column {column!r} holds a {type(value).__name__} "
                             f"({_short(value)}); a group id must be one value")
        else:
            out.append(value_text(value))
    return pd.Series(out, dtype=object)


def value_text(value: Any) -> str:
    """The text of an id or group value; whole floats are written as integers (``3.0`` -> ``3``)."""
    value = _scalar(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def missing_rows(values: pd.Series) -> list[int]:
    """Row numbers (0-based) of missing values."""
    return [i for i, v in enumerate(values) if v is None]


def rows_text(rows: list[int], limit: int = 5) -> str:
    """``rows 3, 7, 9`` or ``rows 3, 7, ... (12 in all)``."""
    head = ", ".join(map(str, rows[:limit]))
    return f"row{'s' if len(rows) > 1 else ''} {head}" + (f", ... ({len(rows)} in all)" if len(rows) > limit else "")


def parse_times(series: pd.Series, *, source: str, column: str) -> pd.Series:
    """Numbers stay numbers (float64); anything else is parsed as a date/time, UTC offsets applied."""
    if pd.api.types.is_bool_dtype(series.dtype):
        raise InputError(f"{source}: time column {column!r} holds true/false values, not times")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64").reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series.reset_index(drop=True)
    text = series.map(lambda v: None if is_missing(v) else str(v)).reset_index(drop=True)
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna() & text.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"{source}, row {row}: time column {column!r} has {text.iloc[row]!r}, not a date/time")
    return parsed.dt.tz_localize(None)


def file_id(relative: str) -> str:
    """The id of a file from its relative path, escaped as the module docstring says."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(relative).decode("utf-8", "backslashreplace")
    return relative


def printable(text: str) -> str:
    """``text`` on one line: control characters as ``\\n``, ``\\t``, ``\\r`` or ``\\xNN``."""
    if not any(_is_control(ch) for ch in text):
        return text
    return "".join(_ESCAPES.get(ch, f"\\x{ord(ch):02x}") if _is_control(ch) else ch for ch in text)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_control(ch: str) -> bool:
    return ch < " " or "\x7f" <= ch <= "\x9f"


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
