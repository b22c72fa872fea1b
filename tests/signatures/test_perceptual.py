"""Batch perceptual hashes equal imagehash's bit for bit on the same LANCZOS-resized gray pixels."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import imagehash
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from PIL import Image, ImageDraw, ImageFilter

from splitcheck.errors import ConfigError
from splitcheck.signatures import perceptual
from splitcheck.signatures.perceptual import (
    HASH_FUNCTIONS,
    from_imagehash,
    hash_input_size,
    hash_width,
    pack,
    to_imagehash,
)

LANCZOS = Image.Resampling.LANCZOS
REFERENCE: dict[str, Callable[..., imagehash.ImageHash]] = {
    "ahash": imagehash.average_hash,
    "dhash": imagehash.dhash,
    "phash": imagehash.phash,
    "whash": imagehash.whash,
}
CASES = [(name, size) for name in ("ahash", "dhash", "phash", "whash") for size in (8, 16)]


def resized(image: Image.Image, name: str, hash_size: int) -> np.ndarray:
    """The hash input exactly as the task defines it: gray, LANCZOS-resized to hash_input_size."""
    return np.asarray(image.convert("L").resize(hash_input_size(name, hash_size, image.size), LANCZOS))


def ours(image: Image.Image, name: str, hash_size: int) -> imagehash.ImageHash:
    packed = HASH_FUNCTIONS[name](resized(image, name, hash_size)[None], hash_size)
    assert packed.shape == (1, hash_width(name, hash_size)) and packed.dtype == np.uint8
    return to_imagehash(packed[0], hash_size)


def _gradient(width: int, height: int, direction: str) -> Image.Image:
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    values = {"h": x + 0 * y, "v": y + 0 * x, "d": (x + y) / 2}[direction]
    return Image.fromarray(values.round().astype(np.uint8))


def _shapes(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    draw.polygon([(0, height - 1), (width // 2, height // 3), (width - 1, height - 1)], outline=(255, 255, 255))
    return image


@lru_cache(maxsize=1)
def gallery() -> tuple[tuple[str, Image.Image], ...]:
    """Named test images: noise, gradients, constants (median ties), tiny, large non-square, shapes, blur, modes."""
    rng = np.random.default_rng(20240611)
    images: list[tuple[str, Image.Image]] = []
    for w, h in ((64, 64), (40, 40), (200, 120), (33, 97)):
        images.append((f"noise-rgb-{w}x{h}", Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))))
    images.append(("noise-gray-low-contrast", Image.fromarray(rng.integers(120, 124, (50, 70), dtype=np.uint8))))
    for value in (0, 1, 128, 255):
        images.append((f"constant-{value}", Image.new("L", (32, 32), value)))
    images.append(("constant-rgb-50x30", Image.new("RGB", (50, 30), (10, 200, 90))))
    images.append(("constant-large", Image.new("L", (300, 200), 77)))
    almost = np.full((32, 32), 100, dtype=np.uint8)
    almost[5, 7] = 101
    images.append(("constant-but-one-pixel", Image.fromarray(almost)))
    for direction in ("h", "v", "d"):
        images.append((f"gradient-{direction}-256", _gradient(256, 256, direction)))
        images.append((f"gradient-{direction}-97x61", _gradient(97, 61, direction)))
    for w, h in ((5, 7), (7, 5), (1, 1), (2, 3), (1, 40), (9, 8), (17, 16)):
        images.append((f"small-{w}x{h}", Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))))
    images.append(("large-shapes-640x360", _shapes(rng, 640, 360)))
    images.append(("large-shapes-333x1000", _shapes(rng, 333, 1000)))
    images.append(("shapes-300x200", _shapes(rng, 300, 200)))
    noise = Image.fromarray(rng.integers(0, 256, (192, 256), dtype=np.uint8))
    images.append(("blurred-noise-r3", noise.filter(ImageFilter.GaussianBlur(3))))
    images.append(("blurred-noise-r8", noise.filter(ImageFilter.GaussianBlur(8))))
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    images.append(("checkerboard", Image.fromarray(checker)))
    images.append(("stripes", Image.fromarray(np.tile(np.array([0, 0, 255, 255], dtype=np.uint8), (48, 12)))))
    rgba = Image.fromarray(rng.integers(0, 256, (60, 80, 4), dtype=np.uint8), mode="RGBA")
    images.append(("rgba", rgba))
    images.append(("palette", _shapes(rng, 120, 90).quantize(16)))
    images.append(("bilevel", _shapes(rng, 90, 120).convert("1")))
    return tuple(images)


@pytest.mark.parametrize(("name", "hash_size"), CASES)
def test_bits_equal_imagehash_on_gallery(name: str, hash_size: int) -> None:
    mismatches = []
    distinct = set()
    for label, image in gallery():
        expected = REFERENCE[name](image, hash_size)
        got = ours(image, name, hash_size)
        if got != expected:
            mismatches.append((label, str(got), str(expected)))
        distinct.add(str(expected))
    assert mismatches == []
    # The gallery is not degenerate: it yields many different hashes for every algorithm.
    assert len(distinct) >= 20


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_constant_images_match_imagehash_ties(name: str) -> None:
    """Every coefficient of a constant image is a tie at rounding-noise level; the bits must still agree."""
    for value in range(0, 256, 15):
        for hash_size in (8, 16):
            image = Image.new("L", (40, 40), value)
            assert ours(image, name, hash_size) == REFERENCE[name](image, hash_size), (value, hash_size)


@pytest.mark.parametrize("name", sorted(REFERENCE))
@settings(max_examples=80, deadline=None, database=None)
@given(data=st.data())
def test_bits_equal_imagehash_on_random_arrays(name: str, data: st.DataObject) -> None:
    pixels = data.draw(arrays(np.uint8, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=64)))
    sizes = (2, 4, 8, 16) if name == "whash" else (2, 3, 5, 8, 16)
    hash_size = data.draw(st.sampled_from(sizes))
    image = Image.fromarray(pixels)
    assert ours(image, name, hash_size) == REFERENCE[name](image, hash_size)


@pytest.mark.parametrize(("name", "hash_size"), CASES)
def test_batch_equals_single_images_and_imagehash(
    name: str, hash_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    shape = hash_input_size(name, hash_size, (64, 48))  # whash: 32x32 for every image below
    images = [image.resize((64, 48), LANCZOS) for _, image in gallery()]
    images += [Image.fromarray(rng.integers(0, 256, (48, 64), dtype=np.uint8)) for _ in range(30)]
    stack = np.stack([resized(image, name, hash_size) for image in images])
    assert stack.shape[1:] == (shape[1], shape[0])
    batch = HASH_FUNCTIONS[name](stack, hash_size)
    singles = np.concatenate([HASH_FUNCTIONS[name](stack[i:i + 1], hash_size) for i in range(len(stack))])
    np.testing.assert_array_equal(batch, singles)
    expected = np.stack([from_imagehash(REFERENCE[name](image, hash_size)) for image in images])
    np.testing.assert_array_equal(batch, expected)
    # Small internal chunks (several per batch, a ragged last one) give the same bytes.
    monkeypatch.setattr(perceptual, "_CHUNK_VALUES", stack.shape[1] * stack.shape[2] * 7)
    np.testing.assert_array_equal(HASH_FUNCTIONS[name](stack, hash_size), batch)


@pytest.mark.parametrize(("name", "hash_size"), CASES)
def test_mirror_input_view_matches_imagehash_of_flipped_pixels(name: str, hash_size: int) -> None:
    stacks: dict[tuple[int, ...], list[np.ndarray]] = {}
    for _, image in gallery():
        array = resized(image, name, hash_size)
        stacks.setdefault(array.shape, []).append(array)
    for arrays_ in stacks.values():
        stack = np.stack(arrays_)
        mirrored = stack[:, :, ::-1]
        assert not mirrored.flags.c_contiguous
        got = HASH_FUNCTIONS[name](mirrored, hash_size)
        np.testing.assert_array_equal(got, HASH_FUNCTIONS[name](np.ascontiguousarray(mirrored), hash_size))
        for row, flipped in zip(got, mirrored):
            # An image already at the input size is not resized again by imagehash.
            expected = REFERENCE[name](Image.fromarray(np.ascontiguousarray(flipped)), hash_size)
            assert to_imagehash(row, hash_size) == expected


def test_dhash_of_a_ramp_and_its_mirror() -> None:
    ramp = np.broadcast_to(np.arange(0, 90, 10, dtype=np.uint8), (8, 9))[None]
    np.testing.assert_array_equal(HASH_FUNCTIONS["dhash"](ramp, 8), np.full((1, 8), 0xFF, dtype=np.uint8))
    np.testing.assert_array_equal(HASH_FUNCTIONS["dhash"](ramp[:, :, ::-1], 8), np.zeros((1, 8), dtype=np.uint8))


@pytest.mark.parametrize(
    ("hash_size", "width"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 8), (11, 16), (16, 32), (32, 128)]
)
def test_hash_width_is_ceil_of_bits_over_8(hash_size: int, width: int) -> None:
    for name in ("ahash", "dhash", "phash", "whash"):
        if name == "whash" and hash_size & (hash_size - 1):
            continue
        assert hash_width(name, hash_size) == width
        shape = hash_input_size(name, hash_size, (100, 70))
        pixels = np.zeros((3, shape[1], shape[0]), dtype=np.uint8)
        assert HASH_FUNCTIONS[name](pixels, hash_size).shape == (3, width)


def test_hash_input_sizes() -> None:
    assert hash_input_size("phash", 8, (500, 20)) == (32, 32)
    assert hash_input_size("phash", 16, (5, 7)) == (64, 64)
    assert hash_input_size("dhash", 8, (500, 20)) == (9, 8)
    assert hash_input_size("dhash", 16, (500, 20)) == (17, 16)
    assert hash_input_size("ahash", 8, (500, 20)) == (8, 8)
    assert hash_input_size("whash", 8, (5, 7)) == (8, 8)
    assert hash_input_size("whash", 8, (300, 170)) == (128, 128)
    assert hash_input_size("whash", 16, (1000, 333)) == (256, 256)
    assert hash_input_size("whash", 16, (16, 16)) == (16, 16)
    assert hash_input_size("whash", 8, (1024, 4096)) == (1024, 1024)
    assert hash_input_size("whash", 8, (1023, 4096)) == (512, 512)


def test_whash_input_size_matches_imagehash_formula() -> None:
    sides = np.concatenate([np.arange(1, 5000), [2**k + d for k in range(12, 25) for d in (-1, 0, 1)]])
    for hash_size in (2, 8, 16):
        expected = np.maximum(2 ** np.log2(sides).astype(int), hash_size)
        got = [hash_input_size("whash", hash_size, (int(s), int(s) + 3))[0] for s in sides]
        np.testing.assert_array_equal(got, expected)


def test_pack_is_big_endian_and_zero_padded() -> None:
    bits = np.array([[1, 0, 0, 0, 0, 0, 0, 1, 1], [0, 1, 0, 0, 0, 0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(pack(bits), np.array([[0x81, 0x80], [0x40, 0x00]], dtype=np.uint8))
    with pytest.raises(ValueError, match="batch, nbits"):
        pack(np.zeros(9, dtype=bool))


@pytest.mark.parametrize("hash_size", [2, 5, 8, 16])
def test_imagehash_round_trip(hash_size: int) -> None:
    image = dict(gallery())["shapes-300x200"]
    expected = imagehash.phash(image, hash_size)
    row = from_imagehash(expected)
    assert row.shape == (hash_width("phash", hash_size),) and row.dtype == np.uint8
    back = to_imagehash(row, hash_size)
    assert back == expected and str(back) == str(expected) and back - expected == 0
    assert back.hash.shape == (hash_size, hash_size) and back.hash.dtype == bool
    padding = hash_width("phash", hash_size) * 8 - hash_size * hash_size
    assert padding == 0 or int(row[-1]) & ((1 << padding) - 1) == 0
    with pytest.raises(ValueError, match="has .* bytes"):
        to_imagehash(np.zeros(hash_width("phash", hash_size) + 1, dtype=np.uint8), hash_size)


def test_hamming_distance_of_packed_rows_equals_imagehash_difference() -> None:
    images = [image for _, image in gallery()[:12]]
    stack = np.stack([resized(image, "phash", 8) for image in images])
    packed = HASH_FUNCTIONS["phash"](stack, 8)
    distances = np.unpackbits(packed[:, None] ^ packed[None], axis=2).sum(axis=2)
    reference = [imagehash.phash(image) for image in images]
    expected = np.array([[a - b for b in reference] for a in reference])
    np.testing.assert_array_equal(distances, expected)
    assert distances.max() > 20


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_empty_batch(name: str) -> None:
    shape = hash_input_size(name, 8, (64, 64))
    out = HASH_FUNCTIONS[name](np.zeros((0, shape[1], shape[0]), dtype=np.uint8), 8)
    assert out.shape == (0, 8) and out.dtype == np.uint8


def test_bad_names_and_sizes_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="Unknown perceptual hash 'xhash'; choose from ahash, dhash, phash, whash"):
        hash_width("xhash", 8)
    with pytest.raises(ConfigError, match="must be an integer >= 2; got 1"):
        hash_input_size("phash", 1, (10, 10))
    with pytest.raises(ConfigError, match="must be an integer >= 2; got True"):
        hash_width("ahash", True)
    with pytest.raises(ConfigError, match="whash must be a power of 2 .* got 6"):
        hash_width("whash", 6)
    with pytest.raises(ConfigError, match="whash must be a power of 2"):
        HASH_FUNCTIONS["whash"](np.zeros((1, 12, 12), dtype=np.uint8), 12)


def test_wrong_pixel_shapes_and_dtypes_are_rejected() -> None:
    expected = r"phash with hash_size 8 expects \(batch, 32, 32\) pixels; got shape \(1, 31, 32\)"
    with pytest.raises(ValueError, match=expected):
        HASH_FUNCTIONS["phash"](np.zeros((1, 31, 32), dtype=np.uint8), 8)
    with pytest.raises(ValueError, match=r"dhash with hash_size 8 expects \(batch, 8, 9\)"):
        HASH_FUNCTIONS["dhash"](np.zeros((1, 9, 8), dtype=np.uint8), 8)
    with pytest.raises(ValueError, match="expects uint8 grayscale pixels; got dtype float64"):
        HASH_FUNCTIONS["ahash"](np.zeros((1, 8, 8)), 8)
    with pytest.raises(ValueError, match="s a power of 2 >= hash_size 8"):
        HASH_FUNCTIONS["whash"](np.zeros((1, 24, 24), dtype=np.uint8), 8)
    with pytest.raises(ValueError, match="s a power of 2 >= hash_size 16"):
        HASH_FUNCTIONS["whash"](np.zeros((1, 8, 8), dtype=np.uint8), 16)
