"""Perceptual hashes of a whole batch of images at once, bit for bit equal to the ``imagehash`` package.

The input of every hash is a ``uint8`` stack of shape ``(batch, height, width)``: grayscale pixels
already resized with LANCZOS to :func:`hash_input_size` (the caller decodes and resizes once per
image). The output is ``(batch, hash_width)`` ``uint8``: the ``hash_size * hash_size`` bits of each
hash packed big-endian in row-major order, i.e. the order of ``imagehash.ImageHash.hash.flatten()``,
zero-padded to a whole byte. Hamming distance between two packed rows is the number of differing bits,
the same as ``imagehash``'s ``h1 - h2``.

The hashes (``hash_size = n``):

- ``ahash``: input ``n x n``; bit = pixel > mean of the pixels.
- ``dhash``: input ``n`` rows by ``n + 1`` columns; bit = pixel > its left neighbour (row gradient).
- ``phash``: input ``4n x 4n``; 2-D DCT-II (``scipy.fftpack.dct``, ``axis=0`` then ``axis=1``); bit =
  coefficient of the top-left ``n x n`` block > the median of that block.
- ``whash``: input ``s x s`` where ``s`` is the largest power of 2 not above the original image's shorter
  side (at least ``n``); pixels / 255, the lowest Haar band removed, then bit = Haar approximation
  coefficient at ``n x n`` > its median (``n`` must be a power of 2).

Bit-exactness: the median comparisons sit on floating-point ties (a constant image has all its
coefficients at rounding-noise level), so every float operation is the one ``imagehash`` performs:
``scipy.fftpack.dct`` and ``pywt.wavedec2``/``waverec2`` run over the batch with ``axis``/``axes``
arguments, which compute each line exactly as the single-image call does (a DCT as a matrix product
does not: it flips bits on constant images). ``numpy.median`` along an axis is the same partition and
mean of the two middle values as on one image.

A mirrored image is hashed by passing ``stack[:, :, ::-1]`` (any strides are accepted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import imagehash

from splitcheck.errors import ConfigError

#: phash resizes to ``hash_size * _HIGHFREQ_FACTOR`` square, as imagehash's default ``highfreq_factor``.
_HIGHFREQ_FACTOR = 4
#: Images per internal chunk are bounded so a chunk's float64 temporaries stay near 32 MB.
_CHUNK_VALUES = 1 << 22


def hash_width(name: str, hash_size: int) -> int:
    """Bytes of one packed hash: ``ceil(hash_size**2 / 8)`` (every hash here has ``hash_size**2`` bits)."""
    hash_size = _check(name, hash_size)
    return -(-hash_size * hash_size // 8)


def hash_input_size(name: str, hash_size: int, image_size: tuple[int, int]) -> tuple[int, int]:
    """The ``(width, height)`` to which imagehash LANCZOS-resizes the grayscale image before hashing.

    Only ``whash`` depends on ``image_size`` (the original ``(width, height)``): its side is the largest
    power of 2 not above the shorter side, and at least ``hash_size``.
    """
    hash_size = _check(name, hash_size)
    if name == "phash":
        side = hash_size * _HIGHFREQ_FACTOR
        return side, side
    if name == "dhash":
        return hash_size + 1, hash_size
    if name == "ahash":
        return hash_size, hash_size
    width, height = (int(v) for v in image_size)
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive to compute the whash input size; got {image_size!r}")
    # imagehash: 2**int(log2(min(size))); bit_length gives the same power without float rounding.
    natural = 1 << (min(width, height).bit_length() - 1)
    side = max(natural, hash_size)
    return side, side


def pack(bits: np.ndarray) -> np.ndarray:
    """Pack a bool ``(batch, nbits)`` array into ``(batch, ceil(nbits/8))`` uint8, big-endian bit order."""
    bits = np.asarray(bits, dtype=bool)
    if bits.ndim != 2:
        raise ValueError(f"pack expects a (batch, nbits) array; got shape {bits.shape}")
    return np.packbits(bits, axis=1)


def to_imagehash(packed_row: np.ndarray, hash_size: int) -> imagehash.ImageHash:
    """The ``imagehash.ImageHash`` (a ``hash_size x hash_size`` bool array) of one packed row."""
    row = np.asarray(packed_row, dtype=np.uint8).ravel()
    nbits = hash_size * hash_size
    if hash_size < 2 or row.size != -(-nbits // 8):
        raise ValueError(f"a packed hash of hash_size {hash_size} has {-(-nbits // 8)} bytes; got {row.size}")
    bits = np.unpackbits(row)[:nbits].astype(bool)
    import imagehash

    return imagehash.ImageHash(bits.reshape(hash_size, hash_size))


def from_imagehash(h: imagehash.ImageHash) -> np.ndarray:
    """The packed ``(hash_width,)`` uint8 row of an ``imagehash.ImageHash`` (bits in ``flatten()`` order)."""
    return np.packbits(np.asarray(h.hash, dtype=bool).ravel())


def _average_hash(pixels: np.ndarray, hash_size: int) -> np.ndarray:
    """aHash of ``(batch, n, n)`` pixels: bit = pixel > the image's mean pixel (as ``imagehash.average_hash``)."""
    hash_size = _check("ahash", hash_size)
    stack = _stack(pixels, "ahash", hash_size, (hash_size, hash_size))
    # The float64 sum of at most n*n bytes is exact, so the mean is the same float as numpy.mean of one image.
    mean = stack.mean(axis=(1, 2), dtype=np.float64)
    return pack((stack > mean[:, None, None]).reshape(len(stack), hash_size * hash_size))


def _difference_hash(pixels: np.ndarray, hash_size: int) -> np.ndarray:
    """dHash of ``(batch, n, n + 1)`` pixels: bit = pixel > its left neighbour (as ``imagehash.dhash``)."""
    hash_size = _check("dhash", hash_size)
    stack = _stack(pixels, "dhash", hash_size, (hash_size, hash_size + 1))
    return pack((stack[:, :, 1:] > stack[:, :, :-1]).reshape(len(stack), hash_size * hash_size))


def _perceptual_hash(pixels: np.ndarray, hash_size: int) -> np.ndarray:
    """pHash of ``(batch, 4n, 4n)`` pixels: low-frequency DCT block > its median (as ``imagehash.phash``)."""
    hash_size = _check("phash", hash_size)
    side = hash_size * _HIGHFREQ_FACTOR
    stack = _stack(pixels, "phash", hash_size, (side, side))
    return _chunked(stack, hash_size, _phash_bits)


def _wavelet_hash(pixels: np.ndarray, hash_size: int) -> np.ndarray:
    """wHash of ``(batch, s, s)`` pixels, ``s`` a power of 2 >= n: Haar band > median (as ``imagehash.whash``)."""
    hash_size = _check("whash", hash_size)
    stack = np.asarray(pixels)
    side = stack.shape[-1] if stack.ndim == 3 else 0
    if side < hash_size or side & (side - 1):
        raise ValueError(f"whash input must be (batch, s, s) with s a power of 2 >= hash_size {hash_size}; "
                         f"got shape {stack.shape}")
    stack = _stack(stack, "whash", hash_size, (side, side))
    return _chunked(stack, hash_size, _whash_bits)


def _phash_bits(stack: np.ndarray, hash_size: int) -> np.ndarray:
    # Same calls as imagehash (uint8 in, float64 out); the second DCT only on the rows kept, which
    # computes those rows exactly as the full transform does. (scipy and pywt are imported where used: a
    # rescan that finds every hash in the cache starts without them.)
    import scipy.fftpack

    rows = scipy.fftpack.dct(stack, axis=1)[:, :hash_size]
    low = scipy.fftpack.dct(rows, axis=2)[:, :, :hash_size].reshape(len(stack), hash_size * hash_size)
    return low > np.median(low, axis=1, keepdims=True)


def _whash_bits(stack: np.ndarray, hash_size: int) -> np.ndarray:
    import pywt

    side = int(stack.shape[-1])
    max_level = side.bit_length() - 1
    level = max_level - (hash_size.bit_length() - 1)
    values = stack / 255.0
    coeffs = list(pywt.wavedec2(values, "haar", level=max_level, axes=(-2, -1)))
    coeffs[0] *= 0
    values = pywt.waverec2(coeffs, "haar", axes=(-2, -1))
    low = pywt.wavedec2(values, "haar", level=level, axes=(-2, -1))[0].reshape(len(stack), hash_size * hash_size)
    return low > np.median(low, axis=1, keepdims=True)


def _chunked(stack: np.ndarray, hash_size: int, bits: Callable[[np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Apply a batch ``bits`` function over chunks of the stack (bounded memory) and pack the result."""
    out = np.empty((len(stack), -(-hash_size * hash_size // 8)), dtype=np.uint8)
    step = max(1, _CHUNK_VALUES // max(1, stack.shape[1] * stack.shape[2]))
    for start in range(0, len(stack), step):
        out[start:start + step] = pack(bits(stack[start:start + step], hash_size))
    return out


def _stack(pixels: np.ndarray, name: str, hash_size: int, shape: tuple[int, int]) -> np.ndarray:
    """Validate and return a ``(batch, *shape)`` uint8 stack (any strides)."""
    stack = np.asarray(pixels)
    if stack.ndim != 3 or stack.shape[1:] != shape:
        raise ValueError(f"{name} with hash_size {hash_size} expects (batch, {shape[0]}, {shape[1]}) pixels; "
                         f"got shape {stack.shape}")
    if stack.dtype != np.uint8:
        raise ValueError(f"{name} expects uint8 grayscale pixels; got dtype {stack.dtype}")
    return stack


def _check(name: str, hash_size: int) -> int:
    """Validate a hash name and size; return the size as a Python int."""
    if name not in HASH_FUNCTIONS:
        raise ConfigError(f"Unknown perceptual hash {name!r}; choose from {', '.join(sorted(HASH_FUNCTIONS))}.")
    if isinstance(hash_size, bool) or not isinstance(hash_size, (int, np.integer)) or hash_size < 2:
        raise ConfigError(f"The hash size of {name} must be an integer >= 2; got {hash_size!r}.")
    if name == "whash" and hash_size & (hash_size - 1):
        raise ConfigError(f"The hash size of whash must be a power of 2 (2, 4, 8, 16, ...); got {hash_size}.")
    return int(hash_size)


#: Batch hash functions by name: ``(uint8 (batch, h, w) resized gray pixels, hash_size) -> (batch, width) uint8``.
HASH_FUNCTIONS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "ahash": _average_hash,
    "dhash": _difference_hash,
    "phash": _perceptual_hash,
    "whash": _wavelet_hash,
}
