"""Parquet shards of image signatures: what a distributed run writes, and what the cache imports.

One shard holds the signatures of one partition of a run's items, one row per item:

========================  ==========  ===========================================================
column                    type        meaning
========================  ==========  ===========================================================
``item``                  int64       position of the image in the run's list of paths
``path``                  string      the path as the worker read it
``size``, ``mtime_ns``,   int64       the worker's ``stat`` of the file (null if it could not stat
``inode``                             a regular file); imported into the cache's ``files`` table
``content``               binary      blake2b-128 digest of the file's bytes (null if unreadable)
``digest``                uint64      its first 8 bytes, little-endian (``ImageSignatures.digest``)
``error``                 string      why the image could not be used (null when it could)
``cached``                bool        the worker found the signatures in a signature cache
``pixel``                 uint64      digest of the decoded (reduced) pixels
``width`` … ``sharpness`` float64     the image properties (``PROPERTY_COLUMNS``)
``mode``, ``format``      string      as stored in the file
``hash:<name>``           binary      packed bits of each perceptual hash (``numpy.packbits`` order)
``variants:<name>``       binary      packed hashes of the crop and rotation variants, variant-major
``descriptor``            binary      the raw default image embedding made in the decode (little-endian
                                      float32; only when the run asked for it, ``settings.descriptor``;
                                      null for rows without one, e.g. signatures a worker found cached)
========================  ==========  ===========================================================

The file's schema metadata carries ``splitcheck.algo`` (the algorithm key: version and settings of the
computation) and ``splitcheck.shard``, the version of this layout. :func:`import_shards` stores every
readable row in a :class:`~splitcheck.signatures.cache.SignatureCache` under that key, so a later local
scan of the same files is a cache hit.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from splitcheck.errors import InputError
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings, ImageRecord, PayloadBatch
from splitcheck.signatures.images import PROPERTY_COLUMNS, ImageSignatures, _compute_chunk_inner, _stat

#: Version of the shard layout above (in each file's metadata).
SHARD_VERSION = "1"
SHARD_SUFFIX = ".parquet"
_ALGO = b"splitcheck.algo"
_VERSION = b"splitcheck.shard"

Stat = tuple[str, int, int, int]


@dataclass
class Shard:
    """The rows of one shard: items, each a record or a reason, the workers' stats and cache flags."""

    items: np.ndarray
    entries: list[ImageRecord | str]
    stats: list[Stat | None]
    cached: np.ndarray
    algo: str


@dataclass
class ShardedSignatures(ImageSignatures):
    """Signatures of a run whose shards are kept: ``shards`` hold every item's row, hashes included.

    When the search runs on the cluster (:mod:`splitcheck.search.cluster`), ``hashes`` and ``variants`` are
    empty here: the hashes are read from the shards, where they are.
    """

    shards: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, signatures: ImageSignatures, shards: list[str]) -> ShardedSignatures:
        return cls(**{f.name: getattr(signatures, f.name) for f in fields(ImageSignatures)}, shards=list(shards))


def without_hashes(entry: ImageRecord | str | None) -> ImageRecord | str | None:
    """The record with its perceptual hashes and variants dropped (they stay in the shard)."""
    if isinstance(entry, ImageRecord):
        entry.hashes, entry.variants = {}, {}
    return entry


def shard_table(items: Sequence[int], paths: Sequence[str], entries: Sequence[ImageRecord | str],
                stats: Sequence[Stat | None], cached: Sequence[bool], algo: str) -> pa.Table:
    """One shard as an Arrow table (see the module docstring for the columns)."""
    records = [e if isinstance(e, ImageRecord) else None for e in entries]
    hash_names = sorted({name for r in records if r is not None for name in r.hashes})
    variant_names = sorted({name for r in records if r is not None for name in r.variants})
    numbers = np.array([r.numbers if r is not None else np.full(len(PROPERTY_COLUMNS), np.nan) for r in records],
                       dtype=np.float64).reshape(len(records), len(PROPERTY_COLUMNS))
    columns: dict[str, pa.Array] = {
        "item": pa.array(np.asarray(items, dtype=np.int64)),
        "path": pa.array(list(paths), pa.string()),
        "size": pa.array([s[1] if s else None for s in stats], pa.int64()),
        "mtime_ns": pa.array([s[2] if s else None for s in stats], pa.int64()),
        "inode": pa.array([s[3] if s else None for s in stats], pa.int64()),
        "content": pa.array([r.content if r is not None else None for r in records], pa.binary()),
        "digest": pa.array([struct.unpack("<Q", r.content[:8])[0] if r is not None else None for r in records],
                           pa.uint64()),
        "error": pa.array([e if isinstance(e, str) else None for e in entries], pa.string()),
        "cached": pa.array([bool(c) for c in cached], pa.bool_()),
        "pixel": pa.array([r.pixel if r is not None else None for r in records], pa.uint64()),
    }
    for k, name in enumerate(PROPERTY_COLUMNS):
        columns[name] = pa.array(numbers[:, k], pa.float64())
    columns["mode"] = pa.array([r.mode if r is not None else None for r in records], pa.string())
    columns["format"] = pa.array([r.format if r is not None else None for r in records], pa.string())
    for name in hash_names:
        columns[f"hash:{name}"] = pa.array([r.hashes[name].tobytes() if r is not None else None for r in records],
                                           pa.binary())
    for name in variant_names:
        columns[f"variants:{name}"] = pa.array(
            [r.variants[name].tobytes() if r is not None else None for r in records], pa.binary())
    if any(r is not None and r.descriptor is not None for r in records):
        columns["descriptor"] = pa.array(
            [np.asarray(r.descriptor, dtype="<f4").tobytes() if r is not None and r.descriptor is not None else None
             for r in records], pa.binary())
    table = pa.table(columns)
    return table.replace_schema_metadata({_ALGO: algo.encode(), _VERSION: SHARD_VERSION.encode()})


def shard_bytes(table: pa.Table) -> bytes:
    """A shard as Parquet bytes (what a worker returns when it has no shared folder to write to)."""
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_shard(table: pa.Table, destination: str) -> None:
    """Write a shard to a local path or a URI pyarrow understands (``s3://…``, ``gs://…``, ``hdfs://…``)."""
    fs, path = _filesystem(destination)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    try:
        if parent:
            fs.create_dir(parent, recursive=True)
        pq.write_table(table, path, filesystem=fs)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{destination}: cannot write signature shard ({exc}); the shard folder must be "
                         "writable by every worker and by this machine") from None


def read_shard(source: str | bytes) -> Shard:
    """The rows of one shard (a path, a URI, or Parquet bytes); :class:`InputError` if it is not one."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            table = pq.read_table(io.BytesIO(source))
        else:
            fs, path = _filesystem(source)
            table = pq.read_table(path, filesystem=fs)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{name}: cannot read signature shard ({exc})") from None
    return _rows(table, _layout_algo(table.schema.metadata, name), name)


def _rows(table: pa.Table, algo: str, name: str) -> Shard:
    data = table.to_pydict()
    hash_names = sorted(c.split(":", 1)[1] for c in data if c.startswith("hash:"))
    variant_names = sorted(c.split(":", 1)[1] for c in data if c.startswith("variants:"))
    n = table.num_rows
    numbers = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in PROPERTY_COLUMNS]) \
        if n else np.zeros((0, len(PROPERTY_COLUMNS)))
    entries: list[ImageRecord | str] = []
    stats: list[Stat | None] = []
    for i in range(n):
        size, mtime, inode = data["size"][i], data["mtime_ns"][i], data["inode"][i]
        stats.append((data["path"][i], size, mtime, inode) if None not in (size, mtime, inode) else None)
        content = data["content"][i]
        if content is None or data["error"][i] is not None:
            entries.append(data["error"][i] or "not processed")
            continue
        hashes = {h: np.frombuffer(data[f"hash:{h}"][i], dtype=np.uint8).copy() for h in hash_names}
        variants = {}
        for h in variant_names:
            flat = np.frombuffer(data[f"variants:{h}"][i], dtype=np.uint8)
            width = len(hashes[h]) if h in hashes else 0
            if not width or len(flat) % width:
                raise InputError(f"{name}: row {i}: variants of '{h}' do not hold whole hashes")
            variants[h] = flat.reshape(-1, width).copy()
        record = ImageRecord(content, int(data["pixel"][i]), hashes, numbers[i].copy(), data["mode"][i],
                             data["format"][i], variants)
        descriptor = data["descriptor"][i] if "descriptor" in data else None
        if descriptor is not None:
            if len(descriptor) % 4:
                raise InputError(f"{name}: row {i}: the descriptor is not whole float32 values")
            record.descriptor = np.frombuffer(descriptor, dtype="<f4").astype(np.float32)
        entries.append(record)
    return Shard(np.asarray(data["item"], dtype=np.int64), entries, stats,
                 np.asarray(data["cached"], dtype=bool), algo)


@dataclass
class ShardColumns:
    """A shard's rows without their hashes, column by column (no object per image): what the client keeps
    when the search runs on the cluster. ``ok`` are the items with signatures, ``batch`` their digests and
    properties in ``ok``'s order, ``contents`` their content digests; ``errors`` (item, reason) the others."""

    ok: list[int]
    batch: PayloadBatch
    contents: list[bytes]
    cached: int
    errors: list[tuple[int, str]]
    described: list[tuple[int, np.ndarray]]


def read_shard_columns(source: str | bytes) -> ShardColumns:
    """The rows of one shard as :class:`ShardColumns`: its hash and variant columns are never read."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    wanted = ["item", "content", "error", "cached", "pixel", *PROPERTY_COLUMNS, "mode", "format", "descriptor"]
    try:
        if isinstance(source, bytes):
            schema = pq.read_schema(io.BytesIO(source))
            table = pq.read_table(io.BytesIO(source), columns=[c for c in wanted if c in schema.names])
        else:
            fs, path = _filesystem(source)
            with fs.open_input_file(path) as handle:
                schema = pq.read_schema(handle)
            table = pq.read_table(path, filesystem=fs, columns=[c for c in wanted if c in schema.names])
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{name}: cannot read signature shard ({exc})") from None
    _layout_algo(schema.metadata, name)
    items = table.column("item").to_numpy().astype(np.int64)
    contents = table.column("content").to_pylist()
    reasons = table.column("error").to_pylist()
    good = np.array([c is not None and r is None for c, r in zip(contents, reasons)], dtype=bool)
    rows = np.flatnonzero(good)
    numbers = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                               for c in PROPERTY_COLUMNS]) if len(items) else np.zeros((0, len(PROPERTY_COLUMNS)))
    modes, formats = table.column("mode").to_pylist(), table.column("format").to_pylist()
    batch = PayloadBatch(table.column("pixel").fill_null(0).to_numpy().astype(np.uint64)[rows], numbers[rows], {}, {},
                         [(modes[k], formats[k]) for k in rows])
    described = []
    if "descriptor" in table.column_names:
        for k, blob in enumerate(table.column("descriptor").to_pylist()):
            if blob is not None and good[k]:
                described.append((int(items[k]), np.frombuffer(blob, dtype="<f4").astype(np.float32)))
    return ShardColumns([int(items[k]) for k in rows], batch, [contents[k] for k in rows],
                        int(np.asarray(table.column("cached").to_numpy(zero_copy_only=False), dtype=bool)[good].sum()),
                        [(int(items[k]), reasons[k] or "not processed") for k in np.flatnonzero(~good)], described)


def list_shards(folder: str) -> list[str]:
    """The shard files directly in ``folder`` (a local path or a URI), sorted by name."""
    fs, path = _filesystem(folder)
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.Directory:
        raise InputError(f"{folder}: no such folder of signature shards")
    selector = pafs.FileSelector(path, recursive=False)
    found = sorted(f.path for f in fs.get_file_info(selector)
                   if f.type == pafs.FileType.File and f.path.endswith(SHARD_SUFFIX))
    if "://" in str(folder):
        scheme = str(folder).split("://", 1)[0]
        return [f"{scheme}://{p}" for p in found]
    return found


def store_shard(cache: SignatureCache, shard: Shard, algo_key: str) -> int:
    """Put a shard's readable rows into ``cache`` (signatures by content, files by stat); returns how many."""
    rows = [(e.content, algo_key, e.to_payload()) for e in shard.entries if isinstance(e, ImageRecord)]
    files = [(*s, e.content) for e, s in zip(shard.entries, shard.stats) if isinstance(e, ImageRecord) and s]
    cache.put(rows)
    cache.store_files(files)
    return len(rows)


def import_shards(cache: SignatureCache, folder: str, algo_key: str) -> int:
    """Import every shard in ``folder`` into ``cache``; returns the number of signatures stored.

    Every shard must have been computed with ``algo_key`` (see
    :func:`splitcheck.signatures.images.algo_key`): a shard of other settings or another version would
    put wrong signatures under this key, so it is refused with an :class:`InputError` naming it.
    """
    paths = list_shards(folder)
    for path in paths:  # check every shard's key before storing anything (reads the footers only)
        algo = shard_algo(path)
        if algo != algo_key:
            raise InputError(f"{path}: computed with algorithm key {algo!r}, not {algo_key!r}; "
                             "recompute the shards with these settings")
    return sum(store_shard(cache, read_shard(path), algo_key) for path in paths)


def shard_algo(source: str) -> str:
    """The algorithm key a shard was computed with (read from its footer, not its rows)."""
    try:
        fs, path = _filesystem(source)
        with fs.open_input_file(path) as handle:
            meta = pq.read_schema(handle).metadata or {}
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source}: cannot read signature shard ({exc})") from None
    return _layout_algo(meta, str(source))


def _layout_algo(meta: dict[bytes, bytes] | None, name: str) -> str:
    """The algorithm key in a shard's metadata; :class:`InputError` if it is not a shard of this layout."""
    meta = meta or {}
    if _ALGO not in meta or meta.get(_VERSION) != SHARD_VERSION.encode():
        raise InputError(f"{name}: not a splitcheck signature shard of layout version {SHARD_VERSION} "
                         "(missing or other 'splitcheck.shard' metadata); recompute it with this version")
    return meta[_ALGO].decode()


def _filesystem(location: str | os.PathLike[str]) -> tuple[pafs.FileSystem, str]:
    text = str(location)
    if "://" in text:
        try:
            return pafs.FileSystem.from_uri(text)
        except (pa.ArrowException, ValueError) as exc:
            raise InputError(f"{text}: unsupported shard location ({exc})") from None
    return pafs.LocalFileSystem(), os.path.abspath(text)


def compute_shard(items: list[int], paths: list[str], settings: DecodeSettings, key: str, cache_path: str | None,
                  destination: str | None) -> dict[str, Any]:
    """Signatures of one partition of paths, as a shard written to ``destination`` or returned as bytes.

    The task a Dask worker runs (any engine that can call a Python function on a list of paths can run
    it): read, digest, look up ``cache_path`` by content if given and present, decode and hash the misses
    with the code of the local path. Returns ``destination``, the shard's bytes (when no destination) and
    the number of items.
    """
    with threadpool_limits(1):  # as in the local pool: BLAS threads would only spin against the decoders
        outcomes = _compute_chunk_inner((paths, settings, cache_path, key))
    entries = [o.record if o.record is not None else (o.error or "not processed") for o in outcomes]
    stats = [_stat(p) if isinstance(e, ImageRecord) else None for p, e in zip(paths, entries)]
    table = shard_table(items, paths, entries, stats, [bool(o.cached) for o in outcomes], key)
    if destination is not None:
        write_shard(table, destination)
        return {"destination": destination, "data": None, "n": len(items)}
    return {"destination": None, "data": shard_bytes(table), "n": len(items)}
