"""Hostile and awkward image files in one folder: each is either hashed (with the right properties) or listed
by DQ101 with its exact reason, and the scan completes (no hang, no failed scanner, no traceback).

Kinds here (tests/test_image_inputs.py already covers zero-byte, text-as-PNG, truncated PNG, CMYK, 16-bit,
palette, LA/RGBA, 1-bit, animated GIF, EXIF-rotated): truncated JPEG, JPEG cut inside its header, PNG with a
broken data stream, animated WebP, a header-only decompression bomb of 10^10 pixels, 1 x 20000 and
20000 x 1 strips, a 1 x 1 image, an invalid EXIF orientation, corrupt EXIF data, a 0 x 0 PNG, a FIFO, a link
to a device,
a link to a folder, a broken link, a link loop, a folder link loop, a chmod-000 file and a chmod-000
sub-folder (whose outcome depends on whether the scan runs as root, where permissions do not stop reading).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from hardening_corpus import encoded, is_root, png_header_only, smooth, write_images
from PIL import Image

import splitcheck

ROOT = is_root()

#: id -> exact reason (or reason prefix ending in "...") of every item DQ101 must list.
UNREADABLE = {
    "x/truncated.jpg": "corrupt or truncated image: image file is truncated ...",
    "x/header_only.jpg": "not an image Pillow can read (wrong extension or corrupt header)",
    "x/broken_stream.png": "corrupt or truncated image: broken data stream when reading image file",
    "x/bomb.png": ("refused as a decompression bomb: Image size (10000000000 pixels) exceeds limit of 178956970 "
                   "pixels, could be decompression bomb DOS attack."),
    "x/zero_size.png": "not an image Pillow can read (wrong extension or corrupt header)",
    "x/fifo.png": "not a regular file (FIFO)",
    "x/device.png": "not a regular file (device)",
    "x/folder_link.png": "is a directory",
    "x/broken_link.png": "file not found (missing or broken link)",
    "x/loop_a.png": "symbolic link loop",
    "x/loop_b.png": "symbolic link loop",
}
if not ROOT:
    UNREADABLE["x/no_permission.png"] = "permission denied"

READABLE = {"x/ok.png", "x/animated.webp", "x/tall_strip.png", "x/wide_strip.png", "x/one_pixel.png",
            "x/bad_orientation.jpg", "x/corrupt_exif.jpg", "locked/inside.png"}
if ROOT:
    READABLE.add("x/no_permission.png")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(7)
    write_images(root / "train" / "x", rng, 6)
    folder = root / "val" / "x"
    folder.mkdir(parents=True)
    smooth(rng).save(folder / "ok.png")
    jpeg = encoded(smooth(rng, 96, 128), "JPEG", quality=90)
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "header_only.jpg").write_bytes(jpeg[:20])
    png = bytearray(encoded(Image.fromarray(np.zeros((8, 8), np.uint8)), "PNG"))
    png[png.index(b"IDAT") + 4] ^= 0xFF
    (folder / "broken_stream.png").write_bytes(bytes(png))
    frames = [smooth(rng) for _ in range(3)]
    frames[0].save(folder / "animated.webp", save_all=True, append_images=frames[1:], duration=40)
    (folder / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    Image.fromarray(rng.integers(0, 256, (20_000, 1), dtype=np.uint8)).save(folder / "tall_strip.png")
    Image.fromarray(rng.integers(0, 256, (1, 20_000), dtype=np.uint8)).save(folder / "wide_strip.png")
    Image.new("RGB", (1, 1), (200, 10, 10)).save(folder / "one_pixel.png")
    exif = Image.Exif()
    exif[0x0112] = 9  # orientations are 1..8
    smooth(rng).save(folder / "bad_orientation.jpg", exif=exif)
    exif = Image.Exif()
    exif[0x010F] = "Maker" * 10
    data = bytearray(encoded(smooth(rng), "JPEG", exif=exif))
    data[data.index(b"Exif\x00\x00") + 10] ^= 0x40  # Pillow warns "Corrupt EXIF data" and decodes the pixels
    (folder / "corrupt_exif.jpg").write_bytes(bytes(data))
    (folder / "zero_size.png").write_bytes(png_header_only(0, 0))
    os.mkfifo(folder / "fifo.png")
    os.symlink("/dev/zero", folder / "device.png")
    os.symlink(root / "train", folder / "folder_link.png")
    os.symlink(folder / "gone.png", folder / "broken_link.png")
    os.symlink(folder / "loop_b.png", folder / "loop_a.png")
    os.symlink(folder / "loop_a.png", folder / "loop_b.png")
    os.symlink(root / "val", folder / "back_to_val")  # a folder link loop: never followed
    smooth(rng).save(folder / "no_permission.png")
    os.chmod(folder / "no_permission.png", 0)
    locked = root / "val" / "locked"
    locked.mkdir()
    smooth(rng).save(locked / "inside.png")
    os.chmod(locked, 0)
    started = time.perf_counter()
    report = splitcheck.scan(train=root / "train", val=root / "val", config={}, use_cache=False, jobs=1)
    seconds = time.perf_counter() - started
    yield report, seconds
    os.chmod(locked, 0o755)


def test_every_unreadable_item_is_listed_with_its_reason(corpus):
    report, _ = corpus
    (dq,) = report.by_code("DQ101")
    reasons = dict(zip(dq.evidence["id"], dq.evidence["reason"]))
    assert set(reasons) == set(UNREADABLE)
    for item, reason in UNREADABLE.items():
        if reason.endswith("..."):
            assert reasons[item].startswith(reason[:-3]), (item, reasons[item])
        else:
            assert reasons[item] == reason, item
    assert set(dq.evidence["split"]) == {"val"}
    assert dq.metrics["n_items"] == len(UNREADABLE)


def test_the_scan_completes_quickly_without_failed_scanners(corpus):
    report, seconds = corpus
    assert not report.failed_scanners
    # the 10^10-pixel bomb is refused from its header, the FIFO is not waited on, /dev/zero is not read
    assert seconds < 30


def test_listing_follows_no_folder_link_and_counts_each_file_once(corpus):
    report, _ = corpus
    val = next(s for s in report.splits if s["name"] == "val")
    listed = len(UNREADABLE) + len(READABLE)
    if not ROOT:  # the chmod-000 folder cannot be opened: its image is not listed, and the notes say so
        listed -= 1
        assert any(n.startswith("1 folders could not be opened and were not listed: locked: Permission denied")
                   for n in val["notes"]), val["notes"]
    else:  # as root, permissions do not stop reading: the locked folder's image is listed and hashed
        assert not any("could not be opened" in n for n in val["notes"])
    assert val["n_items"] == listed
    assert val["class_counts"] == ({"locked": 1, "x": listed - 1} if ROOT else {"x": listed})


def test_readable_odd_files_have_their_properties(tmp_path):
    rng = np.random.default_rng(3)
    folder = tmp_path / "val"
    folder.mkdir()
    frames = [smooth(rng) for _ in range(3)]
    frames[0].save(folder / "animated.webp", save_all=True, append_images=frames[1:], duration=40)
    Image.fromarray(rng.integers(0, 256, (20_000, 1), dtype=np.uint8)).save(folder / "tall_strip.png")
    Image.new("RGB", (1, 1), (200, 10, 10)).save(folder / "one_pixel.png")
    exif = Image.Exif()
    exif[0x0112] = 9
    smooth(rng).save(folder / "bad_orientation.jpg", exif=exif)
    from splitcheck.context import ScanContext
    from splitcheck.loaders import load_split

    split = load_split("val", folder)
    signatures = ScanContext([split]).image_signatures(split)
    assert signatures.valid.all() and signatures.errors == []
    props = signatures.properties.set_index(split.ids)
    assert props.loc["animated.webp", ["width", "height", "n_frames"]].tolist() == [64, 48, 3]
    assert props.loc["animated.webp", "format"] == "WEBP"
    assert props.loc["tall_strip.png", ["width", "height", "n_frames"]].tolist() == [1, 20_000, 1]
    assert props.loc["one_pixel.png", ["width", "height"]].tolist() == [1, 1]
    assert props.loc["one_pixel.png", "brightness"] == pytest.approx(0.299 * 200 + 0.587 * 10 + 0.114 * 10, abs=1)
    assert props.loc["bad_orientation.jpg", ["width", "height"]].tolist() == [64, 48]


def test_permission_denied_item_as_the_user_running_the_tests(tmp_path):
    """As root, chmod 000 does not stop reading: the image is hashed. Otherwise it is listed as unreadable."""
    rng = np.random.default_rng(5)
    write_images(tmp_path / "train", rng, 3)
    write_images(tmp_path / "val", rng, 2)
    target = tmp_path / "val" / "img_001.png"
    os.chmod(target, 0)
    report = splitcheck.scan(train=tmp_path / "train", val=tmp_path / "val", config={}, use_cache=False)
    if ROOT:
        assert report.by_code("DQ101") == []
    else:
        (dq,) = report.by_code("DQ101")
        assert dq.evidence[["split", "id", "reason"]].values.tolist() == [["val", "img_001.png", "permission denied"]]
