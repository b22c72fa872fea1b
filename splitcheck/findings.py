"""The Finding type: one problem found by a scanner, with its numbers and evidence."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


class Severity(str, enum.Enum):
    """How serious a finding is. Ordered: info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | Severity, *, what: str = "severity") -> Severity:
        if isinstance(value, Severity):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"{what} must be one of {allowed}; got {value!r}") from None


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(eq=False)
class Finding:
    """One problem found in the splits.

    ``code`` is a stable rule code (``LK101``); ``name`` its kebab-case rule name; ``metrics`` holds
    the numbers behind the message; ``evidence`` is a table listing every item involved (never a
    sample: reporters truncate, data does not). ``baselined`` is True when a baseline file accepts the
    finding (every item it names is listed there, see :mod:`splitcheck.baseline`): it is still
    reported, but the gate ignores it.
    """

    code: str
    name: str
    severity: Severity
    title: str
    message: str
    splits: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    evidence: pd.DataFrame | None = None
    remediation: str = ""
    scanner: str = ""
    baselined: bool = False

    def to_dict(self) -> dict[str, Any]:
        evidence = None
        if self.evidence is not None:
            columns = [_json_column(self.evidence.iloc[:, k]) for k in range(self.evidence.shape[1])]
            evidence = {
                "columns": [str(c) for c in self.evidence.columns],
                "rows": [list(row) for row in zip(*columns)] if columns else [[] for _ in range(len(self.evidence))],
            }
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "splits": list(self.splits),
            "metrics": {k: _jsonable(v) for k, v in self.metrics.items()},
            "evidence": evidence,
            "remediation": self.remediation,
            "scanner": self.scanner,
            "baselined": self.baselined,
        }

    def item_keys(self) -> list[tuple[str, ...]]:
        """The (split, id) pairs named by this finding, used to match baselines."""
        if self.evidence is None:
            return []
        cols = [c for c in ("a_split", "a_id", "b_split", "b_id", "split", "id") if c in self.evidence]
        return [tuple(str(v) for v in row) for row in self.evidence[cols].itertuples(index=False)]


def _json_column(column: pd.Series) -> list[Any]:
    """:func:`_jsonable` of every value of one evidence column, converted at once for plain numpy columns
    (a rescan's JSON report of a thousand pairs spent most of its time converting cell by cell)."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return column.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = column.to_numpy(dtype=float)
        return np.where(np.isfinite(values), values, None).tolist()
    return [_jsonable(v) for v in column]


def _jsonable(value: Any) -> Any:
    """Turn numpy/pandas scalars into JSON-safe Python values (NaN and inf become None)."""
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)):
        return value
    if value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
