"""The texture code: band-pass thumbnail, invariant to brightness and contrast, mirrored by reversing columns."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from splitcheck.signatures.texture import (
    TEXTURE_BYTES,
    TEXTURE_SIDE,
    _cells,
    _operators,
    texture_codes,
    texture_similarity,
)


def _thumbnails(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = gaussian_filter(rng.normal(size=(n, 64, 64)), sigma=(0, 2, 2))
    return np.clip(128 + 60 * smooth / smooth.std(), 0, 255).astype(np.uint8)


def test_the_operators_are_a_gaussian_band_pass_averaged_over_2_x_2_cells():
    base = _thumbnails(3).astype(np.float64)
    cells, blurred = _operators()
    expected = base - gaussian_filter(base, sigma=(0, 3, 3), mode="nearest", truncate=4.0)
    expected = expected.reshape(3, 32, 2, 32, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(cells @ base @ cells.T - blurred @ base @ blurred.T, expected, atol=1e-9)


def test_brightness_and_contrast_leave_the_code_and_other_images_do_not_match():
    base = _thumbnails(8)
    changed = np.clip(base.astype(np.float64) * 0.8 + 30, 0, 255).round().astype(np.uint8)  # no saturation
    codes, changed_codes = texture_codes(base), texture_codes(changed)
    assert codes.shape == (8, TEXTURE_BYTES) == (8, 256) and codes.dtype == np.uint8
    assert texture_similarity(codes, changed_codes).min() >= 0.99
    others = texture_similarity(codes, np.roll(codes, 1, axis=0))
    assert np.abs(others).max() < 0.3  # independent random textures


def test_a_mirror_images_code_is_the_code_with_its_columns_reversed():
    base = _thumbnails(5, seed=1)
    codes, mirrored = texture_codes(base), texture_codes(base[:, :, ::-1])
    np.testing.assert_array_equal(_cells(mirrored), _cells(codes)[:, :, ::-1])
    np.testing.assert_allclose(texture_similarity(mirrored, codes, mirror_a=True), 1.0)
    assert texture_similarity(mirrored, codes).max() < 0.5


def test_cells_are_packed_four_per_byte_as_2_bit_twos_complement():
    base = _thumbnails(1, seed=2)
    values = _cells(texture_codes(base))
    assert values.shape == (1, TEXTURE_SIDE, TEXTURE_SIDE)
    assert values.min() == -2 and values.max() == 1  # a smooth random texture reaches both clips
    cells, blurred = _operators()
    band = cells @ base[0].astype(np.float64) @ cells.T - blurred @ base[0].astype(np.float64) @ blurred.T
    z = (band - band.mean()) / band.std()
    np.testing.assert_array_equal(values[0], np.clip(np.rint(z * 1.5), -2, 1))


def test_a_flat_image_has_the_zero_code_which_matches_nothing_and_no_pair_is_no_score():
    flat = np.full((2, 64, 64), 200, dtype=np.uint8)
    codes = texture_codes(flat)
    assert not codes.any()
    np.testing.assert_array_equal(texture_similarity(codes, texture_codes(_thumbnails(2))), [0.0, 0.0])
    empty = np.zeros((0, TEXTURE_BYTES), dtype=np.uint8)
    assert texture_similarity(empty, empty, mirror_a=True).shape == (0,)
