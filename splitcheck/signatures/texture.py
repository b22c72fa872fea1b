"""The texture code: a 32 x 32 band-pass thumbnail that confirms a near-copy whose hashes disagree.

Perceptual hashes threshold the lowest frequencies of the whole image. A brightness or contrast change
that saturates a flat background (a page of text brightened until its paper is white) moves exactly those:
the copy's dHash can land 15-20 bits away although every letter is where it was. The texture code keeps
the middle frequencies instead: the 64 x 64 gray thumbnail minus its Gaussian blur (sigma 3 pixels, edges
repeated), averaged over 2 x 2 cells, then standardised (zero mean, unit variance: a brightness shift or a
contrast scale leaves it unchanged) and stored as 1,024 signed 2-bit values (the value times 1.5, rounded
and clipped to -2..1), four to a byte: 256 bytes per image.

:func:`texture_similarity` is the normalised correlation of two codes (1 = the same pattern). On the 100k
benchmark set (benchmarks/image_leakage) it gave at least 0.78 for every planted brightness/contrast copy
within 8 pHash bits of its original and at most 0.60 for the 7,147 unrelated pairs that close (4 bits a cell:
0.85 and 0.65, for twice the bytes; 1 bit: 0.54 and 0.37, and noisy copies fell to 0.49; 16 x 16 cells at
sigma 4: unrelated pages of text with the same layout reached 0.88). A mirrored image's code is the code
with its columns reversed (the blur and the cells are symmetric), so it is not stored.
"""

from __future__ import annotations

import functools

import numpy as np

#: Side of the texture code in cells (four 2-bit cells per byte: 256 bytes per image).
TEXTURE_SIDE = 32
#: Bytes of one stored texture code.
TEXTURE_BYTES = TEXTURE_SIDE * TEXTURE_SIDE // 4
#: Side of the gray thumbnail it is computed from (the variants' base, decode.VARIANT_BASE).
_BASE = 64
#: Standard deviation of the blur removed from the thumbnail, in thumbnail pixels.
_SIGMA = 3.0
#: Code units per standard deviation (2 bits, -2..1: values beyond about 1.3 sd are clipped).
_SCALE = 1.5
#: Bit shifts of the four cells packed in a byte, first cell in the top bits.
_SHIFTS = (6, 4, 2, 0)


@functools.cache
def _operators() -> tuple[np.ndarray, np.ndarray]:
    """(cells, blurred cells): (32, 64) matrices with ``band = C X C^T - B X B^T`` for a thumbnail ``X``."""
    cells = np.zeros((TEXTURE_SIDE, _BASE))
    step = _BASE // TEXTURE_SIDE
    for i in range(TEXTURE_SIDE):
        cells[i, i * step:(i + 1) * step] = 1.0 / step
    radius = int(4 * _SIGMA)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / _SIGMA) ** 2)
    kernel /= kernel.sum()
    blur = np.zeros((_BASE, _BASE))
    for i in range(_BASE):  # edges repeated (scipy.ndimage mode "nearest")
        for k, w in enumerate(kernel):
            blur[i, min(max(i + k - radius, 0), _BASE - 1)] += w
    return cells, cells @ blur


def texture_codes(bases: np.ndarray) -> np.ndarray:
    """(n, 256) uint8 texture codes of (n, 64, 64) uint8 gray thumbnails (cells row-major, four per byte, the
    first in the top two bits, each a 2-bit two's complement value).

    A thumbnail without any texture (a flat image) gets the all-zero code, which matches nothing.
    """
    cells, blurred = _operators()
    x = bases.astype(np.float64)
    band = cells @ x @ cells.T - blurred @ x @ blurred.T  # (4 small products: faster than a pooled reshape)
    flat = band.reshape(len(bases), -1)
    flat -= flat.mean(axis=1, keepdims=True)
    spread = flat.std(axis=1, keepdims=True)
    flat = np.divide(flat, spread, out=np.zeros_like(flat), where=spread > 1e-6)
    crumbs = np.clip(np.rint(flat * _SCALE), -2, 1).astype(np.int8).view(np.uint8) & 0x03
    packed = np.zeros((len(bases), TEXTURE_BYTES), dtype=np.uint8)
    for k, shift in enumerate(_SHIFTS):
        packed |= crumbs[:, k::4] << shift
    return packed


def _cells(codes: np.ndarray) -> np.ndarray:
    """(m, 32, 32) float64 cell values of packed codes."""
    values = np.empty((len(codes), TEXTURE_SIDE * TEXTURE_SIDE), dtype=np.float64)
    for k, shift in enumerate(_SHIFTS):
        values[:, k::4] = (((codes >> shift) & 0x03).astype(np.int8) ^ 2) - 2
    return values.reshape(len(codes), TEXTURE_SIDE, TEXTURE_SIDE)


def texture_similarity(a: np.ndarray, b: np.ndarray, mirror_a: bool = False) -> np.ndarray:
    """Normalised correlation of the codes in rows of ``a`` and ``b`` ((m, 256) uint8 each): (m,) in [-1, 1].

    ``mirror_a``: compare the mirror image of each ``a`` (its code with the columns reversed).
    """
    x = _cells(a)
    if mirror_a:
        x = x[:, :, ::-1]
    x = x.reshape(len(a), TEXTURE_SIDE * TEXTURE_SIDE)
    y = _cells(b).reshape(len(b), TEXTURE_SIDE * TEXTURE_SIDE)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    return np.divide((x * y).sum(axis=1), norm, out=np.zeros(len(a)), where=norm > 0)
