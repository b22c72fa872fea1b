"""The matrix LANCZOS resize equals Pillow's ``Image.resize(size, LANCZOS)`` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from splitcheck.signatures import resample
from splitcheck.signatures.resample import pass_order, resize_many, weights

LANCZOS = Image.Resampling.LANCZOS


def pillow(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(gray).resize(size, LANCZOS))


def test_installed_pillow_is_reproduced_by_a_known_pass_order() -> None:
    # the fast path is taken: one of the two rules reproduces the installed Pillow on the probe
    assert pass_order() in ("vertical-first", "horizontal-first")


@pytest.mark.parametrize("shape, size", [
    ((79, 40), (32, 32)),   # height shrinks 47 px, width 8: recent Pillow runs the vertical pass first
    ((40, 79), (32, 32)),   # horizontal first
    ((88, 83), (9, 8)),     # dhash input: a wide kernel (61 taps)
    ((88, 83), (64, 64)),
    ((20, 30), (64, 64)),   # upscaling both ways
    ((64, 50), (64, 32)),   # no horizontal pass
    ((50, 64), (32, 50)),   # no vertical pass
    ((33, 47), (47, 33)),   # transposed size
    ((17, 23), (23, 17)),
    ((1, 1), (32, 32)),
    ((200, 3), (9, 8)),
])
def test_fixed_shapes_match_pillow(shape: tuple[int, int], size: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape) * 1000 + sum(size))
    for gray in (rng.integers(0, 256, shape, dtype=np.uint8),
                 (rng.random(shape) < 0.5).astype(np.uint8) * 255,  # hard edges: the most clipping
                 np.full(shape, 255, np.uint8)):
        (got,) = resize_many(gray, [size])
        assert got.dtype == np.uint8
        assert np.array_equal(got, pillow(gray, size))


def test_unchanged_size_returns_the_pixels() -> None:
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    (same,) = resize_many(gray, [(8, 6)])
    assert np.array_equal(same, gray)


@settings(max_examples=300, deadline=None)
@given(gray=arrays(np.uint8, st.tuples(st.integers(1, 160), st.integers(1, 160))),
       sizes=st.lists(st.tuples(st.integers(1, 96), st.integers(1, 96)), min_size=1, max_size=4))
def test_any_image_and_sizes_match_pillow(gray: np.ndarray, sizes: list[tuple[int, int]]) -> None:
    got = resize_many(gray, sizes)
    for size, image in zip(sizes, got):
        assert image.shape == (size[1], size[0])
        assert np.array_equal(image, pillow(gray, size)), (gray.shape, size)


def test_weights_sum_to_one_in_fixed_point() -> None:
    # every output pixel's integer weights sum to 2**22 within rounding (one unit per tap at most)
    for n_in, n_out in ((88, 32), (83, 9), (20, 64), (64, 64)):
        column_sums = weights(n_in, n_out).sum(axis=0)
        taps = (weights(n_in, n_out) != 0).sum(axis=0)
        assert np.all(np.abs(column_sums - (1 << resample.PRECISION_BITS)) <= taps)


def test_falls_back_to_pillow_when_no_rule_reproduces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resample, "pass_order", lambda: "pillow")
    calls = []
    real_resize = Image.Image.resize

    def counting(self: Image.Image, *args: object, **kwargs: object) -> Image.Image:
        calls.append(args[0])
        return real_resize(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "resize", counting)
    gray = np.random.default_rng(3).integers(0, 256, (79, 40), dtype=np.uint8)
    got = resize_many(gray, [(32, 32), (9, 8)])
    assert calls == [(32, 32), (9, 8)]
    monkeypatch.undo()
    assert np.array_equal(got[0], pillow(gray, (32, 32)))
    assert np.array_equal(got[1], pillow(gray, (9, 8)))
