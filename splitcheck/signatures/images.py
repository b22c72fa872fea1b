"""Image signatures: one read and one decode per image feed every signature, cached by content.

Flow for a split's image paths:

1. ``stat`` every file; the cache's ``files`` table maps an unchanged (path, size, mtime, inode) to its
   content digest, and ``signatures`` maps (digest, algorithm key) to the stored signatures: an
   unchanged dataset is rescanned without reading a single file.
2. The rest go to worker processes in chunks: read the bytes (regular files only: a FIFO or device named
   like an image is listed as unreadable, never waited on), digest them, look the digest up (a renamed or
   copied file is a hit), and decode only the misses.
3. Each chunk's new signatures are written to the cache by the main process as the chunk arrives, so an
   interrupted scan keeps what it computed and a re-run resumes from there. A damaged cached record is
   decoded again.

A signature record holds the content digest, a digest of the decoded pixels (after EXIF orientation),
the perceptual hashes, and cheap properties (size, mode, format, brightness, contrast, sharpness).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import stat
import struct
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from splitcheck._parallel import WorkerPool, parallel_map
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import (
    DecodeSettings,
    ImageRecord,
    PayloadBatch,
    decode_image_bytes,
    decode_payloads,
    hash_records,
)

#: Bumped whenever the computation of any image signature changes (invalidates cached records).
ALGO_VERSION = "img-20"
#: Below this many images to decode, the work runs in this process (starting workers costs more).
MIN_IMAGES_FOR_POOL = 48
#: Cache rows (file rows plus signature rows) gathered before they are written in one transaction: a
#: transaction per 64-image chunk cost a tenth of a millisecond per image in the main process. The first
#: chunk is written at once, and pending rows at least every CACHE_SECONDS, so a killed scan loses little.
CACHE_BATCH = 2048
CACHE_SECONDS = 2.0
#: Payloads decoded into the split's arrays at a time (cached ones on a rescan, fresh ones as workers send
#: them): memory holds one batch of payload bytes, never every image's (about 0.6 GB a million images).
BULK_ROWS = 8192
PROPERTY_COLUMNS = ("width", "height", "n_frames", "brightness", "contrast", "sharpness")
TEXT_PROPERTY_COLUMNS = ("mode", "format")


@dataclass
class ImageSignatures:
    """Signatures of one split's images, aligned with its items (rows where ``valid`` is False are blank)."""

    digest: np.ndarray  # (n,) uint64: content digest (first 8 bytes of blake2b-128 of the file)
    pixel: np.ndarray  # (n,) uint64: digest of the decoded pixels (provisional: see ScanContext.digests)
    hashes: dict[str, np.ndarray]  # name -> (n, n_bytes) uint8 packed bits
    variants: dict[str, np.ndarray]  # name -> (n, n_variants, n_bytes): hashes of crops and rotations
    properties: pd.DataFrame
    valid: np.ndarray  # (n,) bool
    errors: list[tuple[int, str]] = field(default_factory=list)
    cache_hits: int = 0
    #: (n, dim) raw default image embeddings made in this pass (settings.descriptor), else None; rows where
    #: ``described`` is False (cached records, unreadable items) are zero. See splitcheck.embed.decoded.
    descriptors: np.ndarray | None = None
    described: np.ndarray | None = None


def algo_key(settings: DecodeSettings) -> str:
    return f"{ALGO_VERSION}|{settings.key()}"


def compute_image_signatures(
    paths: Sequence[str],
    settings: DecodeSettings,
    *,
    cache: SignatureCache | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    pool: WorkerPool | None = None,
) -> ImageSignatures:
    """Signatures of the images ``paths`` (see the module docstring for the flow).

    ``pool``: worker processes to use and leave running (one pool for all the splits of a scan); without it a
    pool is started and stopped for this call when the work is large enough.
    """
    n = len(paths)
    key = algo_key(settings)
    records: list[ImageRecord | str | None] = [None] * n
    digests: list[bytes | None] = [None] * n
    arrays = _Arrays(n, settings)
    hits = 0
    cwd = os.getcwd()
    stats = [_stat(p, cwd) for p in paths]

    if cache is not None and cache.enabled:
        known = cache.lookup_files([s for s in stats if s is not None])  # type: ignore[misc]
        it = iter(known)
        for i, s in enumerate(stats):
            if s is not None:
                digests[i] = next(it)
        wanted = [i for i, d in enumerate(digests) if d is not None]
        for start in range(0, len(wanted), BULK_ROWS):  # a rescan: a batch of payloads at a time, no object per image
            part = wanted[start:start + BULK_ROWS]
            payloads = cache.get([digests[i] for i in part], key)  # type: ignore[misc]
            rows = [i for i in part if digests[i] in payloads]
            contents = [digests[i] for i in rows]
            try:
                arrays.add_bulk(rows, decode_payloads([payloads[c] for c in contents], settings), contents)  # type: ignore[index,arg-type]
                for i in rows:
                    records[i] = _FROM_BULK
                hits += len(rows)
            except (ValueError, UnicodeDecodeError, struct.error):  # a damaged payload among them: one by one
                for i in rows:
                    records[i] = _from_cache(digests[i], payloads[digests[i]], settings)  # type: ignore[arg-type,index]
                    hits += records[i] is not None
        if progress and hits:
            progress(hits)

    todo = [i for i in range(n) if records[i] is None]
    storing = cache is not None and cache.enabled
    cache_path = str(cache.path) if storing and cache.path else None  # type: ignore[union-attr]
    chunk = max(1, min(64, len(todo) // max(1, jobs * 4) or 1))
    tasks = [([paths[i] for i in todo[s:s + chunk]], settings, cache_path, key) for s in range(0, len(todo), chunk)]
    position = 0

    fresh: list[tuple[int, bytes]] = []  # (row, payload) of images decoded in this scan, not yet in ``arrays``
    described: list[tuple[int, np.ndarray]] = []

    new_files: list[tuple[str, int, int, int, bytes]] = []  # cache rows not yet written
    new_payloads: list[tuple[bytes, str, bytes]] = []
    last_flush: float | None = None  # when the cache was last written (None: not yet in this call)

    def flush() -> None:
        nonlocal last_flush
        if storing and (new_files or new_payloads):
            cache.store(new_files, new_payloads)  # type: ignore[union-attr]
        new_files.clear()
        new_payloads.clear()
        last_flush = time.monotonic()

    def add_fresh() -> None:
        """Decode the pending fresh payloads into ``arrays`` (written by this version's workers for these
        settings: one bulk decode, no fallback needed)."""
        if fresh:
            rows = [i for i, _ in fresh]
            arrays.add_bulk(rows, decode_payloads([p for _, p in fresh], settings), [digests[i] for i in rows])  # type: ignore[misc]
            fresh.clear()

    def take(chunk_results: list[_Packed]) -> int:
        """Keep one chunk's results as it arrives (main process); write the first chunk to the cache at once,
        then every CACHE_BATCH rows or CACHE_SECONDS.

        Writing as the scan goes, not only at the end, means a killed job keeps most of what it finished,
        and an interrupted one (Ctrl-C, an error) all of it (the rest is written on the way out): the next
        run reads them from the cache instead of decoding them again. Workers send each record as its cache
        payload (bytes), decoded here BULK_ROWS at a time.
        """
        nonlocal position, hits
        for content, payload, error, cached, descriptor in chunk_results:
            i = todo[position]
            position += 1
            if payload is None:
                records[i] = error
                continue
            records[i] = _FROM_BULK
            digests[i] = content
            fresh.append((i, payload))
            hits += cached
            if descriptor is not None:
                described.append((i, descriptor))
            if stats[i] is not None:
                new_files.append((*stats[i], content))  # type: ignore[misc]
            if not cached:
                new_payloads.append((content, key, payload))
        if (last_flush is None or len(new_files) + len(new_payloads) >= CACHE_BATCH
                or time.monotonic() - last_flush >= CACHE_SECONDS):
            flush()
        if len(fresh) >= BULK_ROWS:
            add_fresh()
        return len(chunk_results)

    if todo:
        _preload(settings)
    # parallel_map hands each chunk's result to ``progress_of`` in the main process, in order, as it arrives
    try:
        parallel_map(_compute_chunk, tasks, jobs=jobs, chunksize=1, progress=progress or _no_progress,
                     progress_of=take, min_items=2 if len(todo) >= MIN_IMAGES_FOR_POOL else len(tasks) + 1, pool=pool)
    finally:
        flush()
    add_fresh()
    return arrays.finish(records, hits, described)


def _stat(path: str, cwd: str | None = None) -> tuple[str, int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL character in the path
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # only regular files are remembered by their stat
    # os.path.abspath, with the working directory read once per split instead of once per file, and the
    # normalisation skipped where the joined path has no '.' segment or doubled slash (almost every path)
    if path[:1] != "/":
        path = f"{cwd or os.getcwd()}/{path}"
    if "/." in path or "//" in path:
        path = os.path.normpath(path)
    return (path, st.st_size, st.st_mtime_ns, st.st_ino)


def _no_progress(k: int) -> None:
    """Progress sink when no bar is shown."""


def _from_cache(content: bytes, payload: bytes, settings: DecodeSettings) -> ImageRecord | None:
    """A cached record, or None when its payload is damaged (then the image is decoded again)."""
    try:
        return ImageRecord.from_payload(content, payload, settings)
    except (struct.error, ValueError, UnicodeDecodeError):
        return None


@dataclass
class _Outcome:
    record: ImageRecord | None
    error: str | None
    cached: int = 0


#: A worker's result for one image, as sent to the main process: (content digest, cache payload or None,
#: error or None, 1 if found in the cache by content, raw default embedding or None). Bytes pickle for
#: almost nothing; a record of small numpy arrays costs tens of microseconds each way.
_Packed = tuple[bytes | None, bytes | None, str | None, int, np.ndarray | None]


def _compute_chunk(task: tuple[list[str], DecodeSettings, str | None, str]) -> list[_Packed]:
    """Worker: read, digest, look up the cache by content, and decode the misses.

    In a pool, workers ignore Ctrl-C (``_parallel``'s initializer): a worker killed by KeyboardInterrupt while
    holding the pool's queue lock would leave the scan hanging; the main process exits with code 130.
    """
    global _THREADPOOLS
    if _THREADPOOLS is None:  # inspecting the loaded libraries costs ~3 ms: once per process, not per chunk
        _THREADPOOLS = ThreadpoolController()
    with _THREADPOOLS.limit(limits=1):  # the batch maths is small: BLAS threads would only spin against decoders
        outcomes = _compute_chunk_inner(task)
    return [(o.record.content, o.record.to_payload(), None, o.cached, o.record.descriptor) if o.record is not None
            else (None, None, o.error or "not processed", 0, None) for o in outcomes]


_THREADPOOLS: ThreadpoolController | None = None


def _preload(settings: DecodeSettings) -> None:
    """Import what hashing fresh images needs before the workers fork, so they share it instead of each
    importing it again (scipy and pywt are otherwise imported where used: a cached rescan never needs them)."""
    import scipy.fftpack
    import scipy.sparse  # noqa: F401

    if "whash" in settings.hashes:
        import pywt  # noqa: F401


def _compute_chunk_inner(task: tuple[list[str], DecodeSettings, str | None, str]) -> list[_Outcome]:
    paths, settings, cache_path, key = task
    blobs: list[bytes | str] = [_read(p) for p in paths]
    contents = [hashlib.blake2b(b, digest_size=16).digest() if isinstance(b, bytes) else None for b in blobs]
    cached: dict[bytes, bytes] = {}
    if cache_path:
        cached = _lookup(cache_path, [c for c in contents if c is not None], key)
    out = []
    fresh: list[ImageRecord] = []
    for blob, content in zip(blobs, contents):
        if isinstance(blob, str):
            out.append(_Outcome(None, blob))
            continue
        assert content is not None
        record = _from_cache(content, cached[content], settings) if content in cached else None
        if record is not None:
            out.append(_Outcome(record, None, cached=1))
            continue
        try:
            with warnings.catch_warnings():
                # Pillow's complaints about damaged metadata (EXIF, TIFF tags) of an image it decodes anyway:
                # the pixels are what the scan needs; printed from a worker they would only garble the output
                warnings.simplefilter("ignore", UserWarning)
                result = decode_image_bytes(blob, content, settings)
        except Exception as exc:  # noqa: BLE001  (a decoder bug on one hostile file must not end the whole scan)
            result = f"cannot decode: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        if isinstance(result, str):
            out.append(_Outcome(None, result))
        else:
            fresh.append(result)
            out.append(_Outcome(result, None))
    hash_records(fresh, settings)
    return out


def _read(path: str) -> bytes | str:
    """The file's bytes, or a one-line reason why they cannot be read.

    Opened without blocking and checked to be a regular file before reading, so that a FIFO, socket or
    device named like an image (or a link to one, e.g. to ``/dev/zero``) is refused instead of hanging the
    scan or filling memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return "file not found (missing or broken link)"
    except PermissionError:
        return "permission denied"
    except ValueError:
        return "invalid path (contains a NUL character)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot read file: {exc.strerror or exc}"
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            return "is a directory"
        if not stat.S_ISREG(mode):
            kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
            return f"not a regular file ({kind})"
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return data if data else "empty file (0 bytes)"


def _lookup(cache_path: str, contents: list[bytes], key: str) -> dict[bytes, bytes]:
    if not contents or not os.path.exists(cache_path):
        return {}
    try:
        conn = sqlite3.connect(f"file:{cache_path}?mode=ro", uri=True, timeout=30)
        try:
            marks = ",".join("?" * len(contents))
            rows = conn.execute(f"SELECT digest, payload FROM signatures WHERE algo = ? AND digest IN ({marks})",
                                [key, *contents]).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    return dict(rows)


#: Placeholder record of an image whose payload (read from the cache, or sent by a worker) is decoded in bulk
#: with the others (see :class:`_Arrays`).
_FROM_BULK = "decoded in bulk"


class _Arrays:
    """One split's signature arrays, allocated once and filled as rows arrive: bulk-decoded payloads
    (:meth:`add_bulk`, a batch at a time, so that a rescan or a scan of millions of images never holds every
    payload at once) and per-image records or reasons (:meth:`finish`)."""

    def __init__(self, n: int, settings: DecodeSettings) -> None:
        self.n = n
        self.digest = np.zeros(n, dtype=np.uint64)
        self.pixel = np.zeros(n, dtype=np.uint64)
        self.valid = np.zeros(n, dtype=bool)
        widths = settings.hash_widths()
        self.hashes = {name: np.zeros((n, width), dtype=np.uint8) for name, width in widths.items()}
        self.variants = {name: np.zeros((n, settings.n_variants, widths[name]), dtype=np.uint8)
                         for name in settings.hashes} if settings.n_variants else {}
        self.numbers = np.full((n, len(PROPERTY_COLUMNS)), np.nan)
        self.texts: list[tuple[str | None, str | None]] = [(None, None)] * n

    def add_bulk(self, rows: list[int], batch: PayloadBatch, contents: Sequence[bytes]) -> None:
        """Rows ``rows`` from one decoded batch; ``contents`` are their content digests, in the same order."""
        if not rows:
            return
        self.valid[rows] = True
        self.digest[rows] = np.frombuffer(b"".join(c[:8] for c in contents), dtype="<u8")
        self.pixel[rows] = batch.pixel
        self.numbers[rows] = batch.numbers
        for name, values in batch.hashes.items():
            self.hashes[name][rows] = values
        for name, values in batch.variants.items():
            self.variants[name][rows] = values
        for i, text in zip(rows, batch.texts):
            self.texts[i] = text

    def finish(self, records: list[ImageRecord | str | None], hits: int,
               described: list[tuple[int, np.ndarray]] | None = None) -> ImageSignatures:
        """The signatures, with the rows of ``records`` not marked ``_FROM_BULK``: records, or reasons why the
        item could not be read (None: not processed); ``described`` holds (row, raw embedding) pairs."""
        errors = []
        described = list(described or [])
        for i, record in enumerate(records):
            if record is _FROM_BULK:
                continue
            if not isinstance(record, ImageRecord):
                errors.append((i, record or "not processed"))
                continue
            self.valid[i] = True
            self.digest[i] = struct.unpack("<Q", record.content[:8])[0]
            self.pixel[i] = record.pixel
            for name, row in record.hashes.items():
                self.hashes[name][i] = row
            for name, rows in record.variants.items():
                self.variants[name][i] = rows
            self.numbers[i] = record.numbers
            self.texts[i] = (record.mode, record.format)
            if record.descriptor is not None:
                described.append((i, record.descriptor))
        properties = pd.DataFrame(self.numbers, columns=list(PROPERTY_COLUMNS))
        properties["mode"] = [t[0] for t in self.texts]
        properties["format"] = [t[1] for t in self.texts]
        signatures = ImageSignatures(self.digest, self.pixel, self.hashes, self.variants, properties, self.valid,
                                     errors, hits)
        if described:
            signatures.described = np.zeros(self.n, dtype=bool)
            signatures.described[[i for i, _ in described]] = True
            signatures.descriptors = np.zeros((self.n, len(described[0][1])), dtype=np.float32)
            signatures.descriptors[[i for i, _ in described]] = np.stack([v for _, v in described])
        return signatures
