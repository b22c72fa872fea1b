"""Awkward image files: each is hashed correctly or listed as unreadable with its reason; the scan completes."""

from __future__ import annotations

import io

import imagehash
import numpy as np
import pytest
from PIL import Image

import splitcheck
from splitcheck.context import ScanContext
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.signatures.perceptual import from_imagehash


def smooth(rng: np.random.Generator, h: int = 48, w: int = 64) -> np.ndarray:
    return np.kron(rng.integers(0, 256, (h // 8, w // 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)


@pytest.fixture
def odd_images(tmp_path, rng):
    folder = tmp_path / "val" / "x"
    folder.mkdir(parents=True)
    rgb = Image.fromarray(smooth(rng))
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((smooth(rng)[..., 0].astype(np.uint16) * 257)).save(folder / "sixteen_bit.png")
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    palette.save(folder / "palette.png", transparency=0)
    rgb.convert("RGBA").save(folder / "alpha.png")
    rgb.convert("LA").save(folder / "gray_alpha.png")
    rgb.convert("1").save(folder / "bilevel.png")
    frames = [Image.fromarray(smooth(rng)) for _ in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 3  # rotate 180 to display
    rgb.save(folder / "exif_rotated.jpg", exif=exif)
    rgb.save(folder / "webp.webp")
    (folder / "zero.png").write_bytes(b"")
    (folder / "text.png").write_text("this is not a picture\n")
    buffer = io.BytesIO()
    rgb.save(buffer, "PNG")
    (folder / "truncated.png").write_bytes(buffer.getvalue()[:60])
    return tmp_path / "val"


EXPECTED_UNREADABLE = {
    "x/zero.png": "empty file (0 bytes)",
    "x/text.png": "not an image Pillow can read (wrong extension or corrupt header)",
    "x/truncated.png": "corrupt or truncated image",
}


def test_each_odd_file_is_hashed_or_listed(odd_images, image_splits):
    report = splitcheck.scan(train=image_splits["train"], val=odd_images, config={}, use_cache=False)
    (dq,) = report.by_code("DQ101")
    reasons = dict(zip(dq.evidence["id"], dq.evidence["reason"]))
    assert set(reasons) == set(EXPECTED_UNREADABLE)
    for name, reason in EXPECTED_UNREADABLE.items():
        assert reasons[name].startswith(reason)
    assert not report.failed_scanners


def test_readable_odd_files_get_imagehash_bits_and_properties(odd_images):
    split = load_split("val", str(odd_images), LoadOptions())
    sig = ScanContext([split]).image_signatures(split)
    ids = list(split.ids)
    valid = {i for i, ok in zip(ids, sig.valid) if ok}
    assert valid == set(ids) - set(EXPECTED_UNREADABLE)
    props = sig.properties.set_index(np.array(ids))
    assert props.loc["x/animated.gif", "n_frames"] == 3
    assert props.loc["x/cmyk.jpg", "mode"] == "CMYK"
    assert props.loc["x/sixteen_bit.png", "mode"].startswith("I")
    for name in ("x/sixteen_bit.png", "x/palette.png", "x/alpha.png", "x/gray_alpha.png", "x/bilevel.png",
                 "x/webp.webp"):
        with Image.open(odd_images / name) as image:  # not JPEG: no reduced-scale decode, so imagehash's bits
            assert np.array_equal(sig.hashes["phash"][ids.index(name)], from_imagehash(imagehash.phash(image))), name
    # the EXIF-rotated JPEG is hashed upright: its hash equals that of the same pixels turned by 180 degrees
    with Image.open(odd_images / "x/exif_rotated.jpg") as image:
        upright = image.rotate(180)
        stored = imagehash.ImageHash(np.unpackbits(sig.hashes["phash"][ids.index("x/exif_rotated.jpg")])
                                     .reshape(8, 8).astype(bool))
        assert stored - imagehash.phash(upright) <= 4
        assert stored - imagehash.phash(image) > 10
