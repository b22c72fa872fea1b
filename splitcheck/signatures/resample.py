"""Pillow's LANCZOS resize of an 8-bit grayscale image, bit for bit, as matrix products.

Pillow resizes an ``L`` image in two separable passes, each a weighted sum with fixed-point integer
weights (22 fractional bits) rounded and clipped to 0-255 (``libImaging/Resample.c``). The same integer
weights in a float64 matrix give the same sums exactly (every product and partial sum is an integer far
below 2**53, so the order of the additions does not matter), so one matrix product per pass reproduces
``Image.resize(size, Image.Resampling.LANCZOS)`` exactly. One image's several hash inputs then cost one
product for all the horizontal passes and one per output height, with the weights computed once per
(input, output) length instead of on every call: about half of Pillow's time for the three sizes a scan
needs.

The order of the passes is Pillow's: horizontal first, except that recent Pillow runs the vertical pass
first when the height shrinks by more than twice as many pixels as the width. Which rule the installed
Pillow follows is found once per process by resizing a probe image (:func:`pass_order`); if neither rule
reproduces it, :func:`resize_many` falls back to Pillow itself.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image

#: Fractional bits of Pillow's 8-bit resampling weights (``PRECISION_BITS = 32 - 8 - 2``).
PRECISION_BITS = 22
_ONE = 1 << PRECISION_BITS
_HALF = float(1 << (PRECISION_BITS - 1))
_SCALE = 1.0 / _ONE
#: Half-width of the LANCZOS (a = 3) kernel, in input pixels at scale 1.
SUPPORT = 3.0


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x: float) -> float:
    return _sinc(x) * _sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


@functools.lru_cache(maxsize=2048)
def weights(n_in: int, n_out: int) -> np.ndarray:
    """The ``(n_in, n_out)`` float64 matrix of Pillow's integer LANCZOS weights along one axis (read-only).

    Column ``j`` holds the weights of output pixel ``j``, computed as ``precompute_coeffs`` and
    ``normalize_coeffs_8bpc`` do (the kernel sum accumulated left to right, as C does; Python's ``sum``
    compensates rounding since 3.12 and would differ in the last bit).
    """
    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = SUPPORT * filterscale
    ss = 1.0 / filterscale
    matrix = np.zeros((n_in, n_out), dtype=np.float64)
    for xx in range(n_out):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), n_in) - xmin
        kernel = [_lanczos((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        total = 0.0
        for w in kernel:
            total += w
        if total != 0.0:
            kernel = [w / total for w in kernel]
        matrix[xmin:xmin + xmax, xx] = [int(-0.5 + w * _ONE) if w < 0 else int(0.5 + w * _ONE) for w in kernel]
    matrix.setflags(write=False)
    return matrix


@functools.lru_cache(maxsize=512)
def _wide(n_in: int, n_outs: tuple[int, ...]) -> np.ndarray:
    """The horizontal weights of several output widths side by side: one product for all of them."""
    matrix = np.concatenate([weights(n_in, n) for n in n_outs], axis=1)
    matrix.setflags(write=False)
    return matrix


def _round(sums: np.ndarray) -> np.ndarray:
    """Pillow's ``clip8``: add a half, shift right by the precision (floor), clip to 0-255 (in place)."""
    sums += _HALF
    sums *= _SCALE
    np.floor(sums, out=sums)
    np.minimum(sums, 255.0, out=sums)
    np.maximum(sums, 0.0, out=sums)
    return sums


def _vertical_first(h: int, w: int, size: tuple[int, int]) -> bool:
    """Recent Pillow: vertical pass first when the height shrinks by more than twice the width's pixels."""
    shrink = h - size[1]
    return shrink > 0 and shrink > (w - size[0]) * 2


def _resize_rule(pixels: np.ndarray, sizes: list[tuple[int, int]], rule: str) -> list[np.ndarray]:
    h, w = pixels.shape
    # every output's sums go into one buffer, rounded and converted once
    buffer = np.empty(sum(sw * sh for sw, sh in sizes), dtype=np.float64)
    views, start = [], 0
    for sw, sh in sizes:
        views.append(buffer[start:start + sw * sh].reshape(sh, sw))
        start += sw * sh
    pending = []  # (output index, second-pass matrices) of the outputs taking the horizontal pass first
    for k, (sw, sh) in enumerate(sizes):
        if rule == "vertical-first" and _vertical_first(h, w, (sw, sh)):
            part = weights(h, sh).T @ pixels  # the height shrinks here, so this pass is needed
            if sw != w:
                np.matmul(_round(part), weights(w, sw), out=views[k])
            else:
                views[k][...] = part
        else:
            pending.append(k)
    widths = tuple(sizes[k][0] for k in pending if sizes[k][0] != w)
    across = _round(pixels @ _wide(w, widths)) if widths else None
    offset = 0
    for k in pending:
        sw, sh = sizes[k]
        if sw != w:
            assert across is not None
            part = across[:, offset:offset + sw]
            offset += sw
        else:
            part = pixels
        if sh != h:
            np.matmul(weights(h, sh).T, part, out=views[k])
        else:  # no vertical pass: pixel values (rounded, or the input's), scaled so the final rounding keeps them
            np.multiply(part, float(_ONE), out=views[k])
    flat = _round(buffer).astype(np.uint8)
    out, start = [], 0
    for sw, sh in sizes:
        out.append(flat[start:start + sw * sh].reshape(sh, sw))
        start += sw * sh
    return out


_PROBE_SHAPE = (79, 40)


@functools.cache
def pass_order() -> str:
    """``"vertical-first"`` or ``"horizontal-first"``: the rule that reproduces the installed Pillow, or
    ``"pillow"`` when neither does (then every resize goes through Pillow)."""
    rng = np.random.default_rng(20261130)
    probe = rng.integers(0, 256, _PROBE_SHAPE, dtype=np.uint8)
    sizes = [(32, 32), (9, 8), (64, 64), (40, 20), (17, 60)]
    expected = [np.asarray(Image.fromarray(probe).resize(s, Image.Resampling.LANCZOS)) for s in sizes]
    for rule in ("vertical-first", "horizontal-first"):
        got = _resize_rule(probe.astype(np.float64), sizes, rule)
        if all(np.array_equal(a, b) for a, b in zip(expected, got)):
            return rule
    return "pillow"


def resize_many(gray: np.ndarray, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """``gray`` ((height, width) uint8) resized to each ``(width, height)`` of ``sizes`` exactly as
    ``Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS)`` would: a list of uint8 arrays."""
    rule = pass_order()
    if rule == "pillow":
        image = Image.fromarray(gray)
        return [np.asarray(image.resize(s, Image.Resampling.LANCZOS), dtype=np.uint8) for s in sizes]
    return _resize_rule(gray.astype(np.float64), sizes, rule)
