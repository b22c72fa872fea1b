"""Decode an image once, at the smallest size that serves, into everything the signatures need.

JPEGs are decoded with ``Image.draft`` (the decoder's own DCT scaling, several times faster than a
full decode) to the smallest scale that keeps both sides at least ``draft_size`` pixels; other large
images are box-reduced to the same scale after decoding, so the hashes of a PNG and of its JPEG re-encode
see the same kind of input and every resize works on a small image. The hashes are therefore imagehash's
bits for the reduced image (for images under ``2 * draft_size`` pixels a side, and with ``draft=False``,
exactly ``imagehash.phash(Image.open(path))``). The pixel
digest is then a digest of those drafted pixels: identical JPEG bytes or the same JPEG data with other
metadata still match; a pixel match involving a drafted JPEG is confirmed by a full decode
(:func:`full_pixel_digest`). Other formats are decoded in full.

The perceptual hashes are computed from the grayscale image (``convert("L")`` as imagehash does; for a
colour JPEG reduced by ``draft``, the decoder's own luma) after EXIF orientation, resized with LANCZOS
(Pillow's, reproduced bit for bit by :mod:`splitcheck.signatures.resample`) to each hash's input size, and
hashed as a batch (:mod:`splitcheck.signatures.perceptual`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from splitcheck.signatures.perceptual import HASH_FUNCTIONS, hash_input_size, hash_width
from splitcheck.signatures.resample import resize_many
from splitcheck.signatures.texture import TEXTURE_BYTES, texture_codes

#: Pixel count above which an image is refused without being decoded (a decompression bomb).
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970


#: Share of each side's length removed by the crop variants, by default (config ``crop-sizes``). Two sizes (5%
#: and 10%, 9 offsets each) found every crop of a 2k set but doubled the false pairs at 20k (precision 0.988).
#: With the distinct-pair rule (session 6)
#: they keep the false pairs at 2k-20k and find 15/15, 73/75, 150/150 and 739/750 crops on the 2k 500 px, 10k,
#: 20k and 100k sets (one size: 14, 72, 148, 727), but the 100k search takes 1.2 s and 97 MB more (21 base
#: codes per image instead of 12) for 10 more false pairs (precision 0.991): one size stays the default, two
#: are a setting.
#: Corners and centre only, or 5% at 5 offsets with 10% at 9, found fewer crops than one size at 9 offsets.
VARIANT_CROPS = (0.075,)
_GRID = ((0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (0.0, 0.5), (0.5, 0.5), (1.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0))
#: Rotations (degrees, counter-clockwise) of the rotation variants; corners filled with black.
VARIANT_ROTATIONS = (-4.0, 4.0)


@functools.cache
def variant_offsets(crops: tuple[float, ...] = VARIANT_CROPS) -> tuple[tuple[float, float, float], ...]:
    """Crop variants as (share removed from each side's length, x offset, y offset), offsets as fractions of the
    share: 9 offsets per crop size."""
    return tuple((c, ox, oy) for c in crops for ox, oy in _GRID)


@functools.cache
def variant_names(crops: tuple[float, ...] = VARIANT_CROPS) -> tuple[str, ...]:
    """Names of the variants, in storage order: the crops of ``crops`` (see :func:`variant_offsets`), then the
    rotations."""
    return (tuple(f"crop{c:g}@{x:g}-{y:g}" for c, x, y in variant_offsets(crops))
            + tuple(f"rot{a:+g}" for a in VARIANT_ROTATIONS))


#: The default crop variants and the names of the default variants, in storage order.
VARIANT_OFFSETS = variant_offsets()
VARIANT_NAMES = variant_names()
#: Name of the texture code among an image's stored codes (not a hash: no mirror, no variants, no index).
TEXTURE = "texture"


@dataclass(frozen=True)
class DecodeSettings:
    """What to compute per image. Part of the cache key, so any change recomputes."""

    hashes: tuple[str, ...] = ("phash", "dhash")
    hash_size: int = 8
    mirror: bool = True
    draft: bool = True
    draft_size: int = 64
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    #: Share of each side removed by the crop variants, one value per size (9 offsets each).
    crops: tuple[float, ...] = VARIANT_CROPS
    #: Also hash crops (``crops`` off each side, 9 offsets) and ±4° rotations of each image, so that a
    #: cropped or slightly rotated copy lands near one of them.
    variants: bool = True
    #: Also compute the default image embedding (colour-gradient, :mod:`splitcheck.embed.decoded`) from a 64 x 64
    #: RGB thumbnail in the same pass. Not in ``key()``: the vector is cached under its own key, not in this record.
    descriptor: bool = False
    #: Also store each image's texture code (:mod:`splitcheck.signatures.texture`, 256 bytes), with which the
    #: near-duplicate scanner confirms a pair whose hashes disagree (``verify-radius``).
    texture: bool = True

    def key(self) -> str:
        return (f"h={','.join(self.hashes)}|s={self.hash_size}|m={int(self.mirror)}|d={int(self.draft)}"
                f"|ds={self.draft_size}|v={int(self.variants)}|t={int(self.texture)}"
                f"|c={','.join(f'{c:g}' for c in self.crops)}")

    @property
    def n_variants(self) -> int:
        return len(variant_names(self.crops)) if self.variants else 0

    def hash_names(self) -> list[str]:
        names = list(self.hashes)
        if self.mirror:
            names += [f"{h}_mirror" for h in self.hashes]
        if self.texture:
            names.append(TEXTURE)
        return names

    def hash_widths(self) -> dict[str, int]:
        return {name: TEXTURE_BYTES if name == TEXTURE else
                hash_width(name.removesuffix("_mirror"), self.hash_size) for name in self.hash_names()}


@dataclass
class ImageRecord:
    """Everything computed for one image. ``content`` is the blake2b-128 digest of its bytes.

    ``pixel`` is a digest of the reduced gray image (and of the oriented full size): cheap, and equal for
    pixel-identical images; items that share it with an item of other bytes are confirmed by a digest of
    their fully decoded pixels (:func:`full_pixel_digest`, done by the scan context).
    """

    content: bytes
    pixel: int
    hashes: dict[str, np.ndarray]
    numbers: np.ndarray  # width, height, n_frames, brightness, contrast, sharpness
    mode: str
    format: str
    #: name -> (n_variants, width) hashes of the crop and rotation variants (see variant_names)
    variants: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # resized hash inputs, not stored
    variant_inputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    rgb: np.ndarray | None = field(default=None, repr=False)  # 64 x 64 RGB thumbnail (settings.descriptor), not stored
    #: raw default image embedding (settings.descriptor); cached under its own key by splitcheck.embed.store
    descriptor: np.ndarray | None = field(default=None, repr=False)

    def to_payload(self) -> bytes:
        parts = [struct.pack("<Q", self.pixel), self.numbers.astype("<f8").tobytes()]
        for name in sorted(self.hashes):
            parts.append(self.hashes[name].tobytes())
        for name in sorted(self.variants):
            parts.append(self.variants[name].tobytes())
        text = f"{self.mode}\x1f{self.format}".encode()
        return b"".join(parts) + struct.pack("<H", len(text)) + text

    @classmethod
    def from_payload(cls, content: bytes, payload: bytes, settings: DecodeSettings) -> ImageRecord:
        """One record from its payload (the layout is :func:`decode_payloads`'s, the one decoder of it)."""
        batch = decode_payloads([payload], settings)
        mode, fmt = batch.texts[0]
        return cls(content, int(batch.pixel[0]), {name: rows[0] for name, rows in batch.hashes.items()},
                   batch.numbers[0], mode, fmt, {name: rows[0] for name, rows in batch.variants.items()})


@dataclass
class PayloadBatch:
    """Many cached payloads decoded at once (a rescan reads tens of thousands: no object per image)."""

    pixel: np.ndarray  # (n,) uint64
    numbers: np.ndarray  # (n, 6) float64
    hashes: dict[str, np.ndarray]  # name -> (n, width) uint8
    variants: dict[str, np.ndarray]  # name -> (n, V, width) uint8
    texts: list[tuple[str, str]]  # (mode, format) per payload


def decode_payloads(payloads: list[bytes], settings: DecodeSettings) -> PayloadBatch:
    """Decode payloads written by :meth:`ImageRecord.to_payload` for ``settings`` in one pass.

    Raises ValueError when a payload does not have the layout of these settings (then the caller falls back
    to one :meth:`ImageRecord.from_payload` per payload, which tells the damaged ones apart).
    """
    widths = settings.hash_widths()
    layout = [("pixel", "<u8"), ("numbers", "<f8", (6,))]
    layout += [(f"h:{name}", "u1", (widths[name],)) for name in sorted(widths)]
    if settings.n_variants:
        layout += [(f"v:{name}", "u1", (settings.n_variants, widths[name])) for name in sorted(settings.hashes)]
    dtype = np.dtype(layout)
    fixed = dtype.itemsize
    texts = []
    known: dict[bytes, tuple[str, str]] = {}  # the (mode, format) tails repeat: each distinct one parsed once
    for payload in payloads:
        tail = payload[fixed:]
        text = known.get(tail)
        if text is None:
            (length,) = struct.unpack_from("<H", tail, 0)
            if len(tail) != 2 + length:
                raise ValueError("payload of another layout")
            mode, fmt = tail[2:].decode().split("\x1f")
            text = known[tail] = (mode, fmt)
        texts.append(text)
    table = np.frombuffer(b"".join(p[:fixed] for p in payloads), dtype=dtype)
    return PayloadBatch(
        table["pixel"].astype(np.uint64), table["numbers"].astype(np.float64),
        {name: np.ascontiguousarray(table[f"h:{name}"]) for name in widths},
        {name: np.ascontiguousarray(table[f"v:{name}"]) for name in settings.hashes} if settings.n_variants else {},
        texts)


def _digest64(*parts: bytes | np.ndarray) -> int:
    """64-bit blake2b of ``parts`` in turn (byte strings or contiguous arrays, hashed without a joined copy)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(part)
    return int.from_bytes(digest.digest(), "little")


def open_image(data: bytes, settings: DecodeSettings) -> tuple[Image.Image, int, int, str, int, bool, str] | str:
    """Open and decode (drafted when allowed).

    Returns (oriented image, width, height, format, frames, drafted, mode as stored) or a one-line reason why
    it cannot be read.
    """
    try:
        with warnings.catch_warnings():
            # our own limit (max_pixels) decides, checked below before decoding; Pillow's warning at half its
            # limit would refuse images we accept (its error, at 178,956,970 pixels, still stands above that)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > settings.max_pixels:
                return (f"refused: {width}x{height} pixels is over the limit of {settings.max_pixels} "
                        "(decompression bomb?)")
            fmt = image.format or "?"
            frames = int(getattr(image, "n_frames", 1) or 1)
            drafted = False
            stored_mode = image.mode
            if settings.draft and fmt == "JPEG":
                # a colour JPEG reduced by the decoder is decoded to its luma only (no chroma upsampling and
                # colour conversion: ~6% of a worker's CPU). Its gray differs from PIL's RGB->L by rounding; on
                # five benchmark sets (2k-20k images, JPEG and PNG copies) the pairs found were the same, pair for
                # pair. Images too small to be reduced keep the colour decode: their hashes stay imagehash's.
                scaled = min(width, height) >= 2 * settings.draft_size
                luma = scaled and not settings.descriptor and stored_mode in ("RGB", "YCbCr")
                image.draft("L" if luma else None, (settings.draft_size, settings.draft_size))
                drafted = image.size != (width, height) or image.mode != stored_mode
            image.load()
            if fmt != "JPEG" or image.info.get("exif"):  # a JPEG keeps its orientation in EXIF only (APP1)
                image = ImageOps.exif_transpose(image) or image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return f"refused as a decompression bomb: {exc}"
    except UnidentifiedImageError:
        return "not an image Pillow can read (wrong extension or corrupt header)"
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"corrupt or truncated image: {reason}"
    except MemoryError:
        return "image too large to decode in memory"
    return image, width, height, fmt, frames, drafted, stored_mode


def decode_image_bytes(data: bytes, content: bytes, settings: DecodeSettings) -> ImageRecord | str:
    """Decode once: the pixel digest, the resized hash inputs and the properties of one image.

    The hashes themselves are computed for a whole batch of records by :func:`hash_records`.
    """
    opened = open_image(data, settings)
    if isinstance(opened, str):
        return opened
    image, width, height, fmt, frames, drafted, mode = opened
    try:
        gray = image.convert("L")
        if settings.draft and not drafted and min(gray.size) >= 2 * settings.draft_size:
            # the same reduction a JPEG gets from its decoder: a box filter to the smallest integer scale
            # that keeps both sides >= draft_size (cheap), so every later resize works on a small image
            gray = gray.reduce(min(gray.size) // settings.draft_size)
        pixels = np.asarray(gray, dtype=np.uint8)
        pixel = _digest64(f"{width}x{height}|{image.size}|{gray.size}".encode(), pixels)
        # each hash's input, and the 64 x 64 thumbnail the properties are measured on and the variants cut
        # from (in a batch): Pillow's LANCZOS resizes, bit for bit, as matrix products (resample.py)
        sizes = [hash_input_size(name, settings.hash_size, gray.size) for name in settings.hashes]
        *resized, base = resize_many(pixels, [*sizes, (VARIANT_BASE, VARIANT_BASE)])
        inputs = dict(zip(settings.hashes, resized))
        rgb = _rgb_thumbnail(image, settings, drafted) if settings.descriptor else None
    except (OSError, ValueError) as exc:
        return f"corrupt or truncated image: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    numbers = np.array([width, height, frames, np.nan, np.nan, np.nan], dtype=np.float64)
    return ImageRecord(content, pixel, {}, numbers, mode, fmt, {}, inputs, {"base": base}, rgb=rgb)


def hash_records(records: list[ImageRecord], settings: DecodeSettings) -> None:
    """Fill ``hashes`` of freshly decoded records, one vectorised call per hash and input shape."""
    for name in settings.hashes:
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, record in enumerate(records):
            by_shape.setdefault(record.inputs[name].shape, []).append(i)
        for members in by_shape.values():
            stack = np.stack([records[i].inputs[name] for i in members])
            bits = HASH_FUNCTIONS[name](stack, settings.hash_size)
            mirrored = HASH_FUNCTIONS[name](stack[:, :, ::-1], settings.hash_size) if settings.mirror else None
            for row, i in enumerate(members):
                records[i].hashes[name] = bits[row]
                if mirrored is not None:
                    records[i].hashes[f"{name}_mirror"] = mirrored[row]
    if not records:
        return
    bases = np.stack([record.variant_inputs["base"] for record in records])
    properties = _thumbnail_properties(bases)
    for record, row in zip(records, properties):
        record.numbers[3:] = row
    if settings.texture:
        for record, code in zip(records, texture_codes(bases)):
            record.hashes[TEXTURE] = code
    if settings.variants:
        for name, bits in _variant_bits(bases, settings.hashes, settings.hash_size, settings.crops).items():
            for row, record in enumerate(records):
                record.variants[name] = bits[row]
    if settings.descriptor:
        from splitcheck.embed.decoded import describe_records

        describe_records(records)
    for record in records:
        record.inputs = {}
        record.variant_inputs = {}


def _rgb_thumbnail(image: Image.Image, settings: DecodeSettings, drafted: bool) -> np.ndarray:
    from splitcheck.embed.decoded import rgb_thumbnail

    return rgb_thumbnail(image, settings, drafted)


#: Side of the small square image the variants are cut from (one resize per image; the rest is numpy).
VARIANT_BASE = 64


@functools.lru_cache(maxsize=8)
def _rotation_matrix(h: int, w: int, degrees: float) -> Any:
    """Sparse (h*w, h*w) bilinear sampling of an h x w image rotated by ``degrees`` about its centre.

    Outside the image is black, as when a photo is rotated without cropping. The pixel grid is treated as
    square (the inputs are nearly square; dHash's 9 x 8 is close enough for a variant).
    """
    from scipy import sparse  # imported where used: a fully cached rescan never needs it

    theta = np.deg2rad(degrees)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    y, x = y + 0.5 - h / 2, x + 0.5 - w / 2
    sx = (np.cos(theta) * x - np.sin(theta) * y + w / 2 - 0.5).ravel()
    sy = (np.sin(theta) * x + np.cos(theta) * y + h / 2 - 0.5).ravel()
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = sx - x0, sy - y0
    rows, cols, vals = [], [], []
    target = np.arange(h * w)
    for dy, dx, wt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        rows.append(target[inside])
        cols.append((yi * w + xi)[inside])
        vals.append(wt[inside])
    return sparse.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(h * w, h * w))


def _resample_matrix(n_out: int, n_in: int, start: float, length: float) -> np.ndarray:
    """(n_out, n_in) weights resampling the span [start, start + length) of n_in pixels to n_out pixels.

    An antialiased Lanczos-3 filter, as PIL's LANCZOS resize uses (so the variants see the same kind of input
    as the hashes of the images themselves); rows sum to 1.
    """
    scale = length / n_out
    support = max(1.0, scale)
    centres = start + (np.arange(n_out) + 0.5) * scale
    x = np.arange(n_in) + 0.5
    t = (x[None, :] - centres[:, None]) / support
    weights = np.where(np.abs(t) < 3, np.sinc(t) * np.sinc(t / 3), 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


def _variant_bits(bases: np.ndarray, names: tuple[str, ...], hash_size: int,
                  crops: tuple[float, ...] = VARIANT_CROPS) -> dict[str, np.ndarray]:
    """Packed hashes of every variant of a batch: bases (n, side, side) -> name -> (n, V, width) uint8.

    Resampling is linear, and so is pHash's DCT: each variant's hash input (for pHash, straight its
    low-frequency DCT block) is one row-matrix and one column-matrix product with the thumbnail, without
    rounding to bytes in between; the rotated thumbnails are made once for every hash. The other hashes
    compare pixels, so their inputs are rounded to bytes first, as the image's own inputs are.
    """
    n, side = len(bases), bases.shape[-1]
    plain = bases.astype(np.float32)
    rotated = []  # each (side, side, n): pixel-major, as the sparse product gives them (no transpose back)
    if VARIANT_ROTATIONS:
        flat_t = bases.reshape(n, side * side).T.astype(np.float32, order="C")  # (side², n)
        rotated = [(_rotation_matrix(side, side, degrees) @ flat_t).reshape(side, side, n)
                   for degrees in VARIANT_ROTATIONS]
    out = {}
    n_variants = len(variant_names(crops))
    for name in names:
        planes = _variant_planes(plain, rotated, name, hash_size, variant_offsets(crops))
        if name == "whash":  # its own batch function on the byte inputs (its input size depends on the image)
            stack = np.clip(np.rint(planes), 0, 255).astype(np.uint8).reshape(n * n_variants, *planes.shape[2:])
            out[name] = HASH_FUNCTIONS[name](stack, hash_size).reshape(n, n_variants, -1)
            continue
        planes = planes.reshape(n * n_variants, -1)
        if name == "phash":
            bits = planes > np.median(planes, axis=1, keepdims=True)
            out[name] = np.packbits(bits, axis=1).reshape(n, n_variants, -1)
            continue
        # pixel comparisons see bytes, as the image's own hash does: equal neighbours (flat areas, the black
        # corners of a rotation) give 0 bits there too, not bits drawn by rounding noise
        np.clip(np.rint(planes, out=planes), 0, 255, out=planes)
        if name == "dhash":
            grid = planes.reshape(len(planes), hash_size, hash_size + 1)
            bits = (grid[:, :, 1:] > grid[:, :, :-1]).reshape(len(planes), -1)
        else:  # ahash
            bits = planes > planes.mean(axis=1, keepdims=True)
        out[name] = np.packbits(bits, axis=1).reshape(n, n_variants, -1)
    return out


def _variant_planes(plain: np.ndarray, rotated: list[np.ndarray], name: str, hash_size: int,
                    offsets: tuple[tuple[float, float, float], ...] = VARIANT_OFFSETS) -> np.ndarray:
    """(n, V, h, w) float hash inputs of every variant (pHash: its (n, V, hash_size, hash_size) DCT block).

    ``plain``: the (n, side, side) thumbnails; ``rotated``: their rotations, each (side, side, n).
    """
    n, side = len(plain), plain.shape[-1]
    w, h = hash_input_size(name, hash_size, (side, side))

    def matrix(n_out: int, offset: float, crop: float) -> np.ndarray:
        if name == "phash":
            return _dct_resample(side, hash_size, offset, crop)
        return _resample_axis(n_out, side, offset, crop)

    n_rows, n_cols = (hash_size, hash_size) if name == "phash" else (h, w)
    out = np.empty((n, len(offsets) + len(rotated), n_rows, n_cols), dtype=np.float32)
    cols = {(c, ox): plain @ matrix(w, ox, c).T for c, ox, _ in offsets}
    for k, (c, ox, oy) in enumerate(offsets):
        out[:, k] = matrix(h, oy, c) @ cols[(c, ox)]
    row_whole, col_whole = matrix(h, 0.0, 0.0), matrix(w, 0.0, 0.0)
    for r, images in enumerate(rotated):  # (side, side, n): rows, then columns, then back to (n, rows, cols)
        by_rows = (row_whole @ images.reshape(side, side * n)).reshape(len(row_whole), side, n)
        out[:, len(offsets) + r] = np.matmul(col_whole, by_rows).transpose(2, 0, 1)
    return out


@functools.lru_cache(maxsize=64)
def _resample_axis(n_out: int, side: int, offset: float, crop: float) -> np.ndarray:
    """(n_out, side) float32 resampling of one axis of the crop removing ``crop`` at ``offset``."""
    return _resample_matrix(n_out, side, side * crop * offset, side * (1 - crop)).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _dct_resample(side: int, hash_size: int, offset: float, crop: float) -> np.ndarray:
    """(hash_size, side): the low-frequency rows of pHash's DCT-II after resampling one axis of a crop."""
    n_in = hash_size * 4  # pHash's input side (imagehash's highfreq_factor 4)
    k, m = np.arange(hash_size)[:, None], np.arange(n_in)[None, :]
    dct = 2 * np.cos(np.pi * k * (2 * m + 1) / (2 * n_in))  # scipy.fftpack.dct type II, unnormalised
    resample = _resample_matrix(n_in, side, side * crop * offset, side * (1 - crop))
    return (dct @ resample).astype(np.float32)


def _thumbnail_properties(bases: np.ndarray) -> np.ndarray:
    """(n, 3) brightness (mean gray level), contrast (its standard deviation) and sharpness (variance of a
    4-neighbour Laplacian, higher = sharper) of a batch of 64 x 64 gray thumbnails."""
    gray = bases.astype(np.float32)
    lap = (gray[:, 1:-1, :-2] + gray[:, 1:-1, 2:] + gray[:, :-2, 1:-1] + gray[:, 2:, 1:-1] - 4 * gray[:, 1:-1, 1:-1])
    flat = gray.reshape(len(gray), -1)
    return np.stack([flat.mean(axis=1), flat.std(axis=1), lap.reshape(len(gray), -1).var(axis=1)], axis=1)


def full_pixel_digest(data: bytes, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> int | None:
    """Digest of the fully decoded RGBA pixels (no draft), or None when unreadable."""
    opened = open_image(data, DecodeSettings(draft=False, max_pixels=max_pixels))
    if isinstance(opened, str):
        return None
    image = opened[0].convert("RGBA")  # the exact pixel digest that confirms a provisional match
    return _digest64(f"RGBA{image.width}x{image.height}".encode(), image.tobytes())
