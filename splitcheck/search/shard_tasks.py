"""What a worker does with one signature shard for a search on the cluster (plain functions of a shard path).

Each reads only the columns it needs (see :mod:`splitcheck.executors.shards` for the layout) and only the
readable rows (a null hash or digest is an item that could not be used), and returns a small result:

- :func:`shard_keys`: ``(item, key)`` of a digest column (``digest``: the bytes; ``pixel``: the decoded
  pixels), for a distributed join or group-by;
- :func:`shard_codes`: one hash (and, with its ``variants:`` column, each item's crop and rotation variants,
  as rows ``item * n_kinds + kind``) in the banded join's frame layout;
- :func:`shard_rows`: the hash columns of a given set of items (the candidates the client verifies);
- :func:`shard_nearest_other`: for each of a few query codes, the distance to the shard's nearest item other
  than the query's partner (the minimum over every shard is the global one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from splitcheck.index.banded import codes_to_frame
from splitcheck.index.hamming import nearest_distances

#: Distance reported when a shard has no item other than the partner.
NO_OTHER = np.iinfo(np.int32).max


def shard_keys(shard: str, column: str, name: str) -> pd.DataFrame:
    """One shard's readable ``(name, key)`` rows: the item and its uint64 digest ``column``."""
    table = pq.read_table(shard, columns=["item", column])
    keys = table.column(column)
    valid = keys.is_valid().to_numpy(zero_copy_only=False)
    return pd.DataFrame({name: table.column("item").to_numpy()[valid].astype(np.int64),
                         "key": keys.fill_null(0).to_numpy()[valid].astype(np.uint64)})


def code_width(shards: list[str], column: str) -> int:
    """Bytes per code of ``column``: its first non-null value's length in ``shards`` (8 when there is none)."""
    for shard in shards:
        values = pq.read_table(shard, columns=[column]).column(0).drop_null()
        if len(values):
            return len(values[0].as_py())
    return 8


def blob_matrix(values: pa.ChunkedArray | pa.Array, width: int | None = None) -> np.ndarray:
    """Equal-length binary values (no nulls) as a (rows, bytes) uint8 matrix."""
    blobs = values.to_pylist()
    if width is None:
        width = len(blobs[0]) if blobs else 0
    return np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), width)


def shard_codes(shard: str, column: str, variants: str | None = None, n_kinds: int = 1) -> pd.DataFrame:
    """One shard's readable codes of ``column`` as :func:`~splitcheck.index.banded.codes_to_frame` rows.

    With ``variants`` (a ``variants:`` column of ``n_kinds - 1`` codes per item) every item gives
    ``n_kinds`` rows: its code (kind 0) and its variants, with ids ``item * n_kinds + kind``.
    """
    columns = ["item", column] + ([variants] if variants else [])
    table = pq.read_table(shard, columns=columns)
    table = table.filter(pc.is_valid(table.column(column)))
    items = table.column("item").to_numpy().astype(np.int64)
    codes = blob_matrix(table.column(column))
    if not variants:
        return codes_to_frame(codes, items)
    width = codes.shape[1]
    varied = blob_matrix(table.column(variants), (n_kinds - 1) * width).reshape(len(items), n_kinds - 1, width)
    every = np.concatenate([codes[:, None, :], varied], axis=1).reshape(-1, width)
    ids = (items[:, None] * n_kinds + np.arange(n_kinds)).ravel()
    return codes_to_frame(every, ids)


def shard_rows(shard: str, items: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
    """The rows of ``items`` found in this shard: ``item`` and each binary column as a (rows, bytes) matrix."""
    table = pq.read_table(shard, columns=["item", *columns], filters=[("item", "in", list(map(int, items)))])
    out = {"item": table.column("item").to_numpy().astype(np.int64)}
    for column in columns:
        out[column] = blob_matrix(table.column(column))
    return out


def shard_nearest_other(shard: str, columns: list[str], queries: np.ndarray, partners: np.ndarray) -> np.ndarray:
    """Per query (the ``columns`` hashes side by side), the distance to the nearest readable item of this
    shard other than its partner; :data:`NO_OTHER` when there is none."""
    table = pq.read_table(shard, columns=["item", *columns])
    readable = pc.is_valid(table.column(columns[0]))
    for column in columns[1:]:
        readable = pc.and_(readable, pc.is_valid(table.column(column)))
    table = table.filter(readable)
    if table.num_rows == 0:
        return np.full(len(queries), NO_OTHER, np.int32)
    items = table.column("item").to_numpy().astype(np.int64)
    codes = np.concatenate([blob_matrix(table.column(c)) for c in columns], axis=1)
    dist, idx = nearest_distances(queries, codes, 2)  # the partner may be the nearest: the next one is not
    other = items[np.maximum(idx, 0)]
    return np.where((other == partners[:, None]) | (idx < 0), NO_OTHER, dist).min(axis=1).astype(np.int32)
