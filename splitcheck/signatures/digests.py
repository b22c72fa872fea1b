"""Content digests: a digest of the raw bytes and a canonical digest of the decoded content.

- images: raw = the file's bytes; canonical = the pixels after EXIF orientation, converted to RGBA
  (so a PNG re-saved with other metadata or compression, or with an orientation tag, still matches);
  computed with the other image signatures in :mod:`splitcheck.signatures.images`;
- text: raw = the exact string; canonical = Unicode NFKC, case-folded, whitespace runs folded to one space;
- table rows: canonical = the row's values (numbers as float64, strings NFKC-stripped-case-folded), so
  ``27.5``, ``27.50`` and ``2.75e1`` match; raw = canonical (formatting is gone once parsed);
- vectors: the row's values as float64.

Digests are 64-bit integers (``uint64``): cheap to join across millions of items, with a collision
chance of about n²/2⁶⁵ (3·10⁻⁶ at ten million items).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from splitcheck.signatures.decode import DEFAULT_MAX_IMAGE_PIXELS

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "Digests", "normalize_text", "row_digests", "text_digests", "vector_digests"]


@dataclass
class Digests:
    """Digests of one split, aligned with its items. ``valid`` is False where the item could not be read."""

    raw: np.ndarray  # uint64
    canonical: np.ndarray  # uint64
    valid: np.ndarray  # bool
    errors: list[tuple[int, str]] = field(default_factory=list)  # (item index, reason)
    #: the Parquet shards holding these items' signatures (image splits of a Dask run with a shard folder)
    shards: list[str] | None = None


def _digest64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC, case-fold, fold whitespace runs to one space, strip."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_digests(texts: Sequence[str]) -> Digests:
    raw = np.fromiter((_digest64(t.encode("utf-8", "surrogatepass")) for t in texts), dtype=np.uint64,
                      count=len(texts))
    canonical = np.fromiter(
        (_digest64(normalize_text(t).encode("utf-8", "surrogatepass")) for t in texts), dtype=np.uint64,
        count=len(texts),
    )
    return Digests(raw, canonical, np.ones(len(texts), dtype=bool))


_MIX = np.uint64(0x9E3779B97F4A7C15)


def row_digests(features: pd.DataFrame, columns: Sequence[str]) -> Digests:
    """Digest of each row's normalised values over ``columns`` (a column missing here counts as missing)."""
    n = len(features)
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position, column in enumerate(columns):
            values = features[column] if column in features.columns else pd.Series([None] * n, dtype=object)
            hashed = pd.util.hash_array(_normalize_column(values), categorize=True)
            salt = np.uint64(_digest64(f"{position}:{column}".encode()))
            acc = (acc ^ (hashed + salt)) * _MIX
            acc ^= acc >> np.uint64(29)
    return Digests(acc, acc.copy(), np.ones(n, dtype=bool))


def _normalize_column(values: pd.Series) -> np.ndarray:
    """Numbers (and numeric-looking strings) to canonical text, other strings to normalised text."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.map(lambda v: "1.0" if v else "0.0").to_numpy(dtype=object)
    if pd.api.types.is_numeric_dtype(values.dtype):
        floats = values.astype("float64").to_numpy() + 0.0  # -0.0 -> 0.0
        return np.array([_float_text(v) for v in floats], dtype=object)
    return values.map(_cell_text).to_numpy(dtype=object)


def _float_text(value: float) -> str:
    if value != value:  # NaN
        return "\x00nan"
    return repr(float(value))


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "\x00nan"
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _float_text(float(value))
    text = normalize_text(str(value))
    try:
        return _float_text(float(text))
    except ValueError:
        return text


def vector_digests(vectors: np.ndarray | None, getitem: Callable[[int], np.ndarray] | None, n: int) -> Digests:
    raw = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        row = vectors[i] if vectors is not None else getitem(i)  # type: ignore[misc]
        row = np.asarray(row)
        values = np.ascontiguousarray(row, dtype=np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0: equal values
        raw[i] = _digest64(str(row.shape).encode() + values.tobytes())
    return Digests(raw, raw.copy(), np.ones(n, dtype=bool))
