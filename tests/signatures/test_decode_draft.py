"""Which decode each JPEG gets: luma at a reduced scale when it can be reduced, colour otherwise."""

from __future__ import annotations

import io

import imagehash
import numpy as np
import pytest
from PIL import Image

from splitcheck.signatures.decode import DecodeSettings, decode_image_bytes, hash_records, open_image
from splitcheck.signatures.perceptual import from_imagehash


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([(xx * 255 // width), (yy * 255 // height), rng.integers(0, 256, (height, width))], axis=-1)
    out = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("size, mode, drafted", [
    ((600, 400), "L", True),     # reducible (both sides >= 128): the decoder's luma at 1/4 scale
    ((127, 300), "RGB", False),  # a side under 2 x 64: full colour decode, imagehash's own input
])
def test_jpeg_decode_mode(size: tuple[int, int], mode: str, drafted: bool) -> None:
    opened = open_image(jpeg(*size), DecodeSettings())
    assert not isinstance(opened, str)
    image, width, height, fmt, _, was_drafted, stored = opened
    assert (image.mode, was_drafted, stored, fmt) == (mode, drafted, "RGB", "JPEG")
    assert (width, height) == size
    if drafted:
        assert image.size == (150, 100)


def test_descriptor_keeps_the_colour_decode() -> None:
    opened = open_image(jpeg(600, 400), DecodeSettings(descriptor=True))
    assert not isinstance(opened, str)
    assert opened[0].mode == "RGB" and opened[0].size == (150, 100)


def test_small_jpeg_hashes_are_imagehash_bits() -> None:
    data = jpeg(120, 90, seed=3)
    record = decode_image_bytes(data, b"c" * 16, DecodeSettings())
    assert not isinstance(record, str)
    hash_records([record], DecodeSettings())
    image = Image.open(io.BytesIO(data))
    assert np.array_equal(record.hashes["phash"], from_imagehash(imagehash.phash(image)))
    assert np.array_equal(record.hashes["dhash"], from_imagehash(imagehash.dhash(image)))


def test_luma_hash_is_close_to_the_colour_decode_hash() -> None:
    # the luma of the drafted JPEG and PIL's RGB -> L of the drafted colour decode differ by rounding only
    data = jpeg(800, 640, seed=5)
    luma = decode_image_bytes(data, b"c" * 16, DecodeSettings())
    colour = decode_image_bytes(data, b"c" * 16, DecodeSettings(descriptor=True))
    assert not isinstance(luma, str) and not isinstance(colour, str)
    hash_records([luma], DecodeSettings())
    hash_records([colour], DecodeSettings(descriptor=True))
    for name in ("phash", "dhash"):
        assert np.unpackbits(luma.hashes[name] ^ colour.hashes[name]).sum() <= 4
