"""Decode an image once, at the smallest size that serves, into everything the signatures need.

JPEGs are decoded with ``Image.draft`` (the decoder's own DCT scaling, several times faster than a
full decode) to the smallest scale that keeps both sides at least ``draft_size`` pixels. The pixel
digest is then a digest of those drafted pixels: identical JPEG bytes or the same JPEG data with other
metadata still match; a pixel match involving a drafted JPEG is confirmed by a full decode
(:func:`full_pixel_digest`). Other formats are decoded in full.

The perceptual hashes are computed from the grayscale image (``convert("L")`` as imagehash does)
after EXIF orientation, resized with LANCZOS to each hash's input size, and hashed as a batch
(:mod:`splitcheck.signatures.perceptual`).
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from splitcheck.signatures.perceptual import HASH_FUNCTIONS, hash_input_size, hash_width

#: Pixel count above which an image is refused without being decoded (a decompression bomb).
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970


@dataclass(frozen=True)
class DecodeSettings:
    """What to compute per image. Part of the cache key, so any change recomputes."""

    hashes: tuple[str, ...] = ("phash", "dhash")
    hash_size: int = 8
    mirror: bool = True
    draft: bool = True
    draft_size: int = 64
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS

    def key(self) -> str:
        return (f"h={','.join(self.hashes)}|s={self.hash_size}|m={int(self.mirror)}|d={int(self.draft)}"
                f"|ds={self.draft_size}")

    def hash_names(self) -> list[str]:
        names = list(self.hashes)
        if self.mirror:
            names += [f"{h}_mirror" for h in self.hashes]
        return names

    def hash_widths(self) -> dict[str, int]:
        return {name: hash_width(name.removesuffix("_mirror"), self.hash_size) for name in self.hash_names()}


@dataclass
class ImageRecord:
    """Everything computed for one image. ``content`` is the blake2b-128 digest of its bytes.

    ``drafted`` is True when the JPEG was decoded at a reduced scale: its ``pixel`` digest is then a digest
    of the reduced pixels, and a pixel match involving it is confirmed by a full decode
    (:func:`full_pixel_digest`).
    """

    content: bytes
    pixel: int
    hashes: dict[str, np.ndarray]
    numbers: np.ndarray  # width, height, n_frames, brightness, contrast, sharpness
    mode: str
    format: str
    drafted: bool = False
    inputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # resized hash inputs, not stored

    def to_payload(self) -> bytes:
        parts = [struct.pack("<QB", self.pixel, int(self.drafted)), self.numbers.astype("<f8").tobytes()]
        for name in sorted(self.hashes):
            parts.append(self.hashes[name].tobytes())
        text = f"{self.mode}\x1f{self.format}".encode()
        return b"".join(parts) + struct.pack("<H", len(text)) + text

    @classmethod
    def from_payload(cls, content: bytes, payload: bytes, settings: DecodeSettings) -> ImageRecord:
        pixel, drafted = struct.unpack_from("<QB", payload, 0)
        offset = 9
        numbers = np.frombuffer(payload, dtype="<f8", count=6, offset=offset).astype(np.float64)
        offset += 48
        hashes = {}
        widths = settings.hash_widths()
        for name in sorted(widths):
            hashes[name] = np.frombuffer(payload, dtype=np.uint8, count=widths[name], offset=offset).copy()
            offset += widths[name]
        (length,) = struct.unpack_from("<H", payload, offset)
        mode, fmt = payload[offset + 2: offset + 2 + length].decode().split("\x1f")
        return cls(content, pixel, hashes, numbers, mode, fmt, bool(drafted))


def _digest64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def open_image(data: bytes, settings: DecodeSettings) -> tuple[Image.Image, int, int, str, int, bool] | str:
    """Open and decode (drafted when allowed).

    Returns (oriented image, width, height, format, frames, drafted) or a one-line reason why it cannot be read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > settings.max_pixels:
                return (f"refused: {width}x{height} pixels is over the limit of {settings.max_pixels} "
                        "(decompression bomb?)")
            fmt = image.format or "?"
            frames = int(getattr(image, "n_frames", 1) or 1)
            drafted = False
            if settings.draft and fmt == "JPEG":
                image.draft(None, (settings.draft_size, settings.draft_size))
                drafted = image.size != (width, height)
            image.load()
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
    return image, width, height, fmt, frames, drafted


def decode_image_bytes(data: bytes, content: bytes, settings: DecodeSettings) -> ImageRecord | str:
    """Decode once: the pixel digest, the resized hash inputs and the properties of one image.

    The hashes themselves are computed for a whole batch of records by :func:`hash_records`.
    """
    opened = open_image(data, settings)
    if isinstance(opened, str):
        return opened
    image, width, height, fmt, frames, drafted = opened
    try:
        mode = image.mode
        canonical = image.convert("RGBA")
        pixel = _digest64(f"RGBA{canonical.width}x{canonical.height}".encode() + canonical.tobytes())
        gray = image.convert("L")
        inputs = {name: _resize(gray, name, settings.hash_size) for name in settings.hashes}
        small = np.asarray(gray if max(gray.size) <= 128 else gray.resize(
            _fit(gray.size, 128), Image.Resampling.BILINEAR), dtype=np.float64)
    except (OSError, ValueError) as exc:
        return f"corrupt or truncated image: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    numbers = np.array([width, height, frames, small.mean(), small.std(), _sharpness(small)], dtype=np.float64)
    return ImageRecord(content, pixel, {}, numbers, mode, fmt, drafted, inputs)


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
    for record in records:
        record.inputs = {}


def _resize(gray: Image.Image, name: str, hash_size: int) -> np.ndarray:
    size = hash_input_size(name, hash_size, gray.size)
    return np.asarray(gray.resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _sharpness(gray: np.ndarray) -> float:
    """Variance of a 4-neighbour Laplacian (higher = sharper); 0 for images under 3x3."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    lap = (gray[1:-1, :-2] + gray[1:-1, 2:] + gray[:-2, 1:-1] + gray[2:, 1:-1] - 4 * gray[1:-1, 1:-1])
    return float(lap.var())


def full_pixel_digest(data: bytes, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> int | None:
    """Digest of the fully decoded RGBA pixels (no draft), or None when unreadable."""
    opened = open_image(data, DecodeSettings(draft=False, max_pixels=max_pixels))
    if isinstance(opened, str):
        return None
    image = opened[0].convert("RGBA")  # same digest as decode_image_bytes gives an undrafted image
    return _digest64(f"RGBA{image.width}x{image.height}".encode() + image.tobytes())
