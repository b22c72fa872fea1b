"""Read CSV, TSV, Parquet and JSONL files into DataFrames, with errors that name the file and row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from splitcheck.errors import InputError

TABLE_EXTENSIONS = frozenset({".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"})


def read_table(path: Path) -> pd.DataFrame:
    """Read a table file. Raises :class:`InputError` naming the file (and row) when it cannot be read."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(path)
        if suffix == ".json":
            return _read_json(path)
        return _read_csv(path, sep="\t" if suffix == ".tsv" else None)
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read table: {reason}") from None


def _read_csv(path: Path, sep: str | None) -> pd.DataFrame:
    if sep is None:
        sep = _sniff_delimiter(path)
    _check_header(path, sep)
    frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", dtype_backend="numpy_nullable", low_memory=False)
    return _plain_dtypes(frame)


def _check_header(path: Path, sep: str) -> None:
    """Refuse a header naming a column twice (pandas would silently rename the second to ``name.1``)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=sep), [])
        except csv.Error:  # e.g. a header cell over the csv module's field limit: pandas reads it and decides
            return
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InputError(f"{path}: column {name!r} appears more than once in the header")
        seen.add(name)


def _sniff_delimiter(path: Path) -> str:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise InputError(f"{path}: the file is empty (no header row)")
    first = head.splitlines()[0] if head else ""
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with open(path, encoding="utf-8-sig") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise InputError(f"{path}, line {lineno}: JSON nested too deeply to read") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}, line {lineno}: expected a JSON object, got {type(record).__name__}")
            records.append(record)
    if not records:
        raise InputError(f"{path}: no records")
    return pd.DataFrame.from_records(records)


def _read_json(path: Path) -> pd.DataFrame:
    with open(path, encoding="utf-8-sig") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply to read") from None
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    raise InputError(f"{path}: expected a JSON list of objects (one per item)")


def _plain_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable extension dtypes back to numpy ones (float64 with NaN, object for strings)."""
    out = {}
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
            out[col] = series.astype("float64") if series.isna().any() else series.astype(
                "int64" if not pd.api.types.is_bool_dtype(series.dtype) else "bool"
            )
        elif pd.api.types.is_float_dtype(series.dtype):
            out[col] = series.astype("float64")
        else:
            out[col] = series.astype(object).where(series.notna(), None)
    return pd.DataFrame(out, index=frame.index)
