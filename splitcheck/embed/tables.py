"""Table rows as vectors whose cosine similarity is the share of fields on which two rows agree.

:class:`TableEmbedder` (``table``) is fit on the reference (training) split's feature columns; ids,
labels, groups and times are never features (the loaders keep them out of ``Split.features``).
Every column contributes a unit-length block, and the blocks are concatenated and divided by the square
root of their number, so the inner product of two rows is the average over columns of a per-column
agreement in [0, 1]:

- numeric, boolean and date/time columns: the value's rank among the reference values (its empirical
  CDF, 0..1) encoded by Gaussian bumps at ``bins`` evenly spaced centres (width one bin); two values
  agree fully when equal, about half when they are a bin and a half apart in rank, not at all when far;
- other columns: one-hot over the reference's ``max_categories`` most frequent values (case- and
  space-folded; unseen values share an "other" slot);
- a missing value is a slot of its own in its column's block (two missing values agree).

The vectors are then centred on the reference mean (chance agreement removed), so a row with one field
changed out of ten keeps a cosine near 0.9 with its original while unrelated rows stay near 0 — a
perturbed copy stands out whatever the columns' scales. Constant columns are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from splitcheck.embed.base import fingerprint
from splitcheck.errors import InputError

if TYPE_CHECKING:
    from splitcheck.splits import Split

_OTHER = "\x00other"
_MISSING = "\x00missing"


class TableEmbedder:
    """Per-column agreement encoding (rank bumps for numbers, one-hot for categories), fit on the reference."""

    name = "table"
    modality = "table"
    version = 2
    whiten = 0
    #: Centre on the reference mean (see module doc); applied by embed.context.
    centre = True

    def __init__(self, *, bins: int = 16, max_categories: int = 50) -> None:
        self.bins = bins
        self.max_categories = max_categories
        self.columns_: list[dict[str, Any]] = []
        self.dim = 0
        self._fit_print = "unfit"

    @property
    def identity(self) -> str:
        return f"{self.name}-v{self.version}|b={self.bins}|c={self.max_categories}|fit={self._fit_print}"

    def fit(self, splits: list[Split]) -> None:
        reference = splits[0]
        if reference.features is None:
            raise InputError(f"split {reference.name!r} holds {reference.modality} items, not table rows")
        self.fit_frame(reference.features)

    def fit_frame(self, frame: pd.DataFrame) -> TableEmbedder:
        self.columns_ = []
        for col in frame.columns:
            series = frame[col]
            if _is_numeric(series):
                values = _as_float(series)
                finite = np.sort(values[np.isfinite(values)])
                if len(finite) == 0 or (finite[0] == finite[-1] and np.isfinite(values).all()):
                    continue
                grid = np.quantile(finite, np.linspace(0, 1, 101))
                self.columns_.append({"name": col, "kind": "number", "quantiles": grid,
                                      "width": self.bins + 1})
            else:
                keys = _category_keys(series)
                counts = keys.value_counts()
                if len(counts) <= 1:
                    continue  # a constant column tells rows apart no better than nothing
                top = counts.index[: self.max_categories].tolist()
                self.columns_.append({"name": col, "kind": "category", "values": [*top, _OTHER],
                                      "width": len(top) + 1})
        self.dim = sum(c["width"] for c in self.columns_)
        if self.dim == 0:
            raise InputError("no usable feature column to embed table rows (every column is constant or empty)")
        self._fit_print = fingerprint(*[(c["name"], c["kind"], c.get("values"), c.get("quantiles"))
                                        for c in self.columns_])
        return self

    def embed(self, batch: pd.DataFrame) -> np.ndarray:
        if not self.columns_:
            raise RuntimeError("TableEmbedder.embed before fit")
        n = len(batch)
        out = np.zeros((n, self.dim), np.float32)
        pos = 0
        centres = (np.arange(self.bins) + 0.5) / self.bins
        sigma = 1.0 / self.bins
        for spec in self.columns_:
            name = spec["name"]
            present = name in batch.columns
            width = spec["width"]
            if spec["kind"] == "number":
                values = _as_float(batch[name]) if present else np.full(n, np.nan)
                missing = ~np.isfinite(values)
                rank = np.interp(np.where(missing, 0.0, values), spec["quantiles"], np.linspace(0, 1, 101))
                block = np.exp(-0.5 * ((rank[:, None] - centres[None, :]) / sigma) ** 2)
                block /= np.linalg.norm(block, axis=1, keepdims=True)
                block[missing] = 0.0
                out[:, pos:pos + self.bins] = block
                out[missing, pos + self.bins] = 1.0
            else:
                lookup = {v: i for i, v in enumerate(spec["values"])}
                keys = _category_keys(batch[name]) if present else pd.Series([_MISSING] * n)
                slots = np.array([lookup.get(v, width - 1) for v in keys], dtype=np.intp)
                out[np.arange(n), pos + slots] = 1.0
            pos += width
        out /= np.sqrt(len(self.columns_))
        return out


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
                or pd.api.types.is_datetime64_any_dtype(dtype))


def _as_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64) / 1e9
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _category_keys(series: pd.Series) -> pd.Series:
    return series.map(lambda v: _MISSING if v is None or (isinstance(v, float) and np.isnan(v))
                      else str(v).strip().casefold()).reset_index(drop=True)
