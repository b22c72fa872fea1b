"""The Split type: a named list of items, each with an id, optional label/group/time, and a payload."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Modality = Literal["image", "table", "text", "vector"]
MODALITIES: tuple[str, ...] = ("image", "table", "text", "vector")

#: Columns every ``Split.items`` frame has, in this order.
ITEM_COLUMNS = ("id", "label", "group", "time")


@dataclass(eq=False)
class Split:
    """One split of a dataset, listed but not read.

    ``items`` has one row per item and the columns ``id`` (str, unique), ``label``, ``group`` and
    ``time`` (missing values where not given). How to reach each payload depends on the modality:

    - ``image``: ``paths`` (absolute file paths, aligned with ``items``);
    - ``table``: ``features`` (a DataFrame of the feature columns, aligned with ``items``);
    - ``text``: ``texts`` (a Series of strings);
    - ``vector``: ``vectors`` (a 2-D array) or ``getitem`` (a callable returning item i as an array).
    """

    name: str
    modality: Modality
    items: pd.DataFrame
    source: str = ""
    root: Path | None = None
    paths: list[str] | None = None
    features: pd.DataFrame | None = None
    texts: pd.Series | None = None
    vectors: np.ndarray | None = None
    getitem: Callable[[int], Any] | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> np.ndarray:
        return self.items["id"].to_numpy()

    @property
    def has_labels(self) -> bool:
        return bool(self.items["label"].notna().any())

    @property
    def has_groups(self) -> bool:
        return bool(self.items["group"].notna().any())

    @property
    def has_times(self) -> bool:
        return bool(self.items["time"].notna().any())

    def summary(self) -> dict[str, Any]:
        labels = self.items["label"].dropna()
        out: dict[str, Any] = {
            "name": self.name,
            "modality": self.modality,
            "source": self.source,
            "n_items": len(self),
            "n_labels": int(labels.nunique()) if len(labels) else 0,
        }
        if len(labels):
            counts = labels.astype(str).value_counts().sort_index()
            out["class_counts"] = {str(k): int(v) for k, v in counts.items()}
        if self.has_groups:
            out["n_groups"] = int(self.items["group"].nunique())
        if self.has_times:
            times = self.items["time"].dropna()
            out["time_range"] = [str(times.min()), str(times.max())]
        return out


def make_items(
    ids: Sequence[Any],
    *,
    labels: Sequence[Any] | None = None,
    groups: Sequence[Any] | None = None,
    times: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Build an ``items`` frame; ids are turned into strings."""
    n = len(ids)
    missing = pd.Series([None] * n, dtype=object)
    frame = pd.DataFrame(
        {
            "id": pd.Series([str(i) for i in ids], dtype=object),
            "label": _column(labels, missing),
            "group": _column(groups, missing),
            "time": _column(times, missing),
        }
    )
    return frame


def _column(values: Sequence[Any] | None, missing: pd.Series) -> pd.Series:
    if values is None:
        return missing
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy())
    return series.reset_index(drop=True)
