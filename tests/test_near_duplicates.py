"""Near-duplicate images (LK102 across splits, DQ202 inside one): exact pairs, mirror, thresholds, transforms."""

from __future__ import annotations

import json

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageEnhance

import splitcheck
from splitcheck.context import ScanContext
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.near_duplicates import NearDuplicateScanner
from splitcheck.signatures.decode import full_pixel_digest
from splitcheck.signatures.perceptual import from_imagehash
from helpers import FIXTURES

EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def near_pairs(report, code="LK102"):
    found = report.by_code(code)
    if not found:
        return []
    ev = found[0].evidence
    return sorted([a, b, t] for a, b, t in zip(ev["a_id"], ev["b_id"], ev["transform"]))


@pytest.fixture(scope="module")
def fixture_report():
    return splitcheck.scan(train=str(FIXTURES / "images/train"), val=str(FIXTURES / "images/val"), config={},
                           jobs=1, use_cache=False)


def test_every_planted_near_copy_is_found_and_nothing_else(fixture_report):
    found = near_pairs(fixture_report)
    assert [[a, b] for a, b, _ in found] == [[a, b] for a, b, _ in EXPECTED["images"]["near_pairs"]]
    exact = {(a, b) for a, b, _ in EXPECTED["images"]["exact_pairs"]}
    assert not exact & {(a, b) for a, b, _ in found}  # exact copies are LK101's, not repeated here


def test_flip_is_matched_through_the_mirrored_hash(fixture_report):
    (finding,) = fixture_report.by_code("LK102")
    ev = finding.evidence.set_index("a_id")
    flip = next(a for a, _, t in EXPECTED["images"]["near_pairs"] if t == "flip")
    assert ev.loc[flip, "method"] == "phash+dhash-mirror"
    assert ev.loc[flip, "transform"] == "flip"
    assert ev.loc[flip, "distance"] <= 2
    resize = next(a for a, _, t in EXPECTED["images"]["near_pairs"] if t == "resize")
    assert ev.loc[resize, "transform"] == "resize"
    assert set(finding.evidence.columns[:6]) == {"a_split", "a_id", "b_split", "b_id", "method", "distance"}
    assert (finding.evidence["distance"] == finding.evidence["distance_phash"]
            + finding.evidence["distance_dhash"]).all()


def test_mirror_off_and_threshold_zero_change_what_is_found():
    kwargs = dict(train=str(FIXTURES / "images/train"), val=str(FIXTURES / "images/val"), jobs=1, use_cache=False)
    no_mirror = splitcheck.scan(**kwargs, config={"near-duplicates": {"mirror": False}})
    transforms = [t for _, _, t in EXPECTED["images"]["near_pairs"]]
    found = [t for _, _, t in near_pairs(no_mirror)]
    assert len(found) == len(transforms) - 1 and "flip" not in found
    strict = splitcheck.scan(**kwargs, config={"near-duplicates": {"threshold": 0, "isolated-threshold": 0,
                                                                   "verify-radius": 0}})
    assert len(near_pairs(strict)) == 1  # only the flip is bit-identical (mirrored)
    # the texture confirmation does not depend on the thresholds: the copies within 8 pHash bits are back
    verified = splitcheck.scan(**kwargs, config={"near-duplicates": {"threshold": 0, "isolated-threshold": 0}})
    assert len(near_pairs(verified)) > 1
    assert verified.by_code("LK102")[0].evidence["verified"].sum() == len(near_pairs(verified)) - 1
    # threshold 0 alone still lets isolated pairs with one identical hash through, up to isolated-threshold
    zero = splitcheck.scan(**kwargs, config={"near-duplicates": {"threshold": 0, "verify-radius": 0}})
    assert 1 < len(near_pairs(zero)) <= len(transforms)
    assert all(d <= 18 for d in zero.by_code("LK102")[0].evidence["distance"])


def test_class_shares_and_copies_of_one_training_image(tmp_path, rng):
    base = [Image.fromarray(np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((12, 12, 1))).astype(np.uint8))
            for _ in range(6)]
    for i, image in enumerate(base):
        (tmp_path / "train/a").mkdir(parents=True, exist_ok=True)
        image.save(tmp_path / f"train/a/{i}.png")
    (tmp_path / "val/a").mkdir(parents=True)
    (tmp_path / "val/b").mkdir(parents=True)
    for k in range(3):  # three brightened copies of training image 0, in class a
        ImageEnhance.Brightness(base[0]).enhance(1.0 + 0.05 * (k + 1)).save(tmp_path / f"val/a/copy{k}.png")
    other = Image.fromarray(np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((12, 12, 1))).astype(np.uint8))
    other.save(tmp_path / "val/a/fresh.png")
    for k in range(4):
        Image.fromarray(np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((12, 12, 1))).astype(np.uint8)).save(
            tmp_path / f"val/b/{k}.png")
    report = splitcheck.scan(train=tmp_path / "train", val=tmp_path / "val", config={}, use_cache=False)
    (finding,) = report.by_code("LK102")
    assert sorted(finding.evidence["a_id"]) == ["a/copy0.png", "a/copy1.png", "a/copy2.png"]
    assert set(finding.evidence["b_id"]) == {"a/0.png"}
    assert finding.evidence["b_copies"].tolist() == [3, 3, 3]
    assert finding.metrics["class_share_affected:a"] == pytest.approx(3 / 4)
    assert finding.metrics["class_share_affected:b"] == 0.0
    assert finding.metrics["max_copies_of_one_item"] == 3.0
    # the three copies are near-copies of each other inside val too: one DQ202 group of 3
    (within,) = report.by_code("DQ202")
    assert within.evidence["cluster_size"].tolist() == [3, 3, 3]
    assert set(within.evidence["split"]) == {"val"}


def test_stored_hashes_are_imagehash_bits_for_full_decodes(tmp_path, rng):
    images = []
    for i in range(5):
        image = Image.fromarray(np.kron(rng.integers(0, 256, (6, 9, 3)), np.ones((11, 7, 1))).astype(np.uint8))
        image.save(tmp_path / f"{i}.png")
        images.append(image)
    split = load_split("train", str(tmp_path), LoadOptions())
    sig = ScanContext([split]).image_signatures(split)
    for i, name in enumerate(split.ids):
        with Image.open(tmp_path / name) as image:
            assert np.array_equal(sig.hashes["phash"][i], from_imagehash(imagehash.phash(image)))
            assert np.array_equal(sig.hashes["dhash"][i], from_imagehash(imagehash.dhash(image)))
            mirrored = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            assert np.array_equal(sig.hashes["dhash_mirror"][i], from_imagehash(imagehash.dhash(mirrored)))


def test_large_jpeg_copies_are_confirmed_by_a_full_decode(tmp_path, rng):
    """Provisional pixel digests (of the reduced gray image) are replaced by full-decode digests where shared."""
    smooth = np.kron(rng.integers(0, 256, (16, 16, 3)), np.ones((40, 40, 1))).astype(np.uint8)
    for split in ("train/c", "val/c"):
        (tmp_path / split).mkdir(parents=True)
    Image.fromarray(smooth).save(tmp_path / "train/c/big.jpg", quality=92)
    data = (tmp_path / "train/c/big.jpg").read_bytes()
    comment = b"exported by another tool"
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    (tmp_path / "val/c/same_pixels.jpg").write_bytes(data[:2] + segment + data[2:])  # other bytes, same pixels
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"train/c/n{i}.png")
    report = splitcheck.scan(train=tmp_path / "train", val=tmp_path / "val", config={}, use_cache=False)
    (finding,) = report.by_code("LK101")
    assert finding.evidence[["a_id", "b_id", "method"]].values.tolist() == [
        ["c/same_pixels.jpg", "c/big.jpg", "pixels"]]
    assert not report.by_code("LK102")  # not repeated as a near-copy
    splits = [load_split(n, str(tmp_path / n), LoadOptions()) for n in ("train", "val")]
    context = ScanContext(splits)
    drafted_digest = int(context.image_signatures(splits[0]).pixel[list(splits[0].ids).index("c/big.jpg")])
    context.digests(splits[0])
    full = full_pixel_digest(data)
    assert drafted_digest != full  # the provisional (reduced gray) digest was replaced by the full-decode one
    assert int(context.digests(splits[0]).canonical[list(splits[0].ids).index("c/big.jpg")]) == full
    assert int(context.digests(splits[1]).canonical[0]) == full


def test_crops_and_rotations_are_found_through_the_variants(tmp_path):
    sources = sorted((FIXTURES / "images/train/car").glob("*.png"))[:8]
    (tmp_path / "train/car").mkdir(parents=True)
    (tmp_path / "val/car").mkdir(parents=True)
    for path in sources:
        with Image.open(path) as image:
            image.resize((192, 192), Image.Resampling.LANCZOS).save(tmp_path / "train/car" / path.name)
    with Image.open(tmp_path / "train/car" / sources[0].name) as image:
        image.crop((0, 14, 177, 192)).save(tmp_path / "val/car/cropped.png")  # 8% off the right, 7% off the top
    with Image.open(tmp_path / "train/car" / sources[1].name) as image:
        image.rotate(-4, resample=Image.Resampling.BICUBIC).save(tmp_path / "val/car/rotated.png")
    kwargs = dict(train=tmp_path / "train", val=tmp_path / "val", use_cache=False)
    report = splitcheck.scan(**kwargs, config={})
    assert near_pairs(report) == [["car/cropped.png", f"car/{sources[0].name}", "crop"],
                                  ["car/rotated.png", f"car/{sources[1].name}", "rotation"]]
    plain = splitcheck.scan(**kwargs, config={"near-duplicates": {"variants": False}})
    assert len(near_pairs(plain)) < 2
    # two crop sizes: 18 crops and 2 rotations per image (this 7-8% crop matched the 7.5% variant at 0 bits; the
    # 5% and 10% ones still find it)
    two = splitcheck.scan(**kwargs, config={"near-duplicates": {"crop-sizes": [0.05, 0.1]}})
    assert near_pairs(two) == near_pairs(report)
    variants = dict(zip(two.by_code("LK102")[0].evidence["a_id"], two.by_code("LK102")[0].evidence["variant"]))
    assert variants["car/cropped.png"].split("@")[0] in {"crop0.05", "crop0.1"} and variants["car/rotated.png"] == "rot-4"
    with pytest.raises(splitcheck.ConfigError, match="crop-sizes must be a list of 1 to 3 distinct shares"):
        splitcheck.scan(**kwargs, config={"near-duplicates": {"crop-sizes": [0.5]}})


def test_pair_search_is_memoised_by_content_and_settings(tmp_path):
    kwargs = dict(train=str(FIXTURES / "images/train"), val=str(FIXTURES / "images/val"), jobs=1,
                  cache_dir=tmp_path / "cache")
    first = splitcheck.scan(**kwargs, config={})
    again = splitcheck.scan(**kwargs, config={})
    assert near_pairs(again) == near_pairs(first)
    from splitcheck.signatures.cache import SignatureCache
    with SignatureCache(tmp_path / "cache") as cache:
        n_memo = cache._run(lambda c: c.execute(
            "SELECT count(*) FROM signatures WHERE algo = 'near-pairs'").fetchone()[0])
    assert n_memo == 3  # val-train, inside train, inside val
    stricter = splitcheck.scan(**kwargs, config={"near-duplicates": {"threshold": 0, "isolated-threshold": 0,
                                                                     "verify-radius": 0}})
    assert len(near_pairs(stricter)) == 1  # other settings: searched again, not read from the memo

    def memo_rows() -> int:
        with SignatureCache(tmp_path / "cache") as cache:
            return cache._run(lambda c: c.execute(
                "SELECT count(*) FROM signatures WHERE algo = 'near-pairs'").fetchone()[0])

    # every setting of the search is in the memo key: each of these searches again (3 more memos)
    before = memo_rows()
    for changed in ({"distinct-margin": 0}, {"copy-radius": 2}, {"verify-radius": 4}, {"verify-similarity": 0.9}):
        splitcheck.scan(**kwargs, config={"near-duplicates": changed})
        assert memo_rows() == before + 3, changed
        before += 3


def _flipped(code: np.ndarray, bits: range) -> np.ndarray:
    out = code.copy()
    for b in bits:
        out[b // 8] ^= np.uint8(1 << (7 - b % 8))
    return out


def test_pairs_above_the_threshold_are_kept_only_between_isolated_images():
    """Pairs at summed distance 15-18 are kept when no other earlier-split image is within distance + 16 of
    either image, and when one hash is within threshold // 2 (the radius every index searches)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(5)
    n_train, n_val = 200, 8
    hashes = {h: rng.integers(0, 256, (n_train, 8), dtype=np.uint8) for h in ("phash", "dhash")}
    val = {h: rng.integers(0, 256, (n_val, 8), dtype=np.uint8) for h in ("phash", "dhash")}

    def plant(v: int, t: int, p_bits: int, d_bits: int) -> None:
        val["phash"][v] = _flipped(hashes["phash"][t], range(p_bits))
        val["dhash"][v] = _flipped(hashes["dhash"][t], range(d_bits))

    plant(0, 0, 6, 10)  # 16, isolated: kept
    plant(1, 1, 6, 10)  # 16, but image 2 of training is 12 bits from image 1: dropped
    hashes["phash"][2] = _flipped(hashes["phash"][1], range(40, 52))
    hashes["dhash"][2] = hashes["dhash"][1]
    plant(2, 3, 8, 8)  # 16 with both hashes above 14 // 2: dropped
    plant(3, 4, 7, 11)  # 18: kept
    plant(4, 5, 7, 12)  # 19: above isolated-threshold
    plant(5, 6, 4, 8)  # 12: within the threshold, not an isolated pair
    plant(6, 7, 6, 10)  # 16, but training image 8 is 17 bits from the validation image (33 from image 7)
    hashes["phash"][8] = _flipped(hashes["phash"][7], range(6))
    hashes["dhash"][8] = _flipped(hashes["dhash"][7], range(27))  # bits 10-26 differ from val 6: 17 bits
    for side in (hashes, val):
        for h in ("phash", "dhash"):
            side[h + "_mirror"] = side[h][:, ::-1].copy()
    sb = SimpleNamespace(hashes=hashes, variants={}, valid=np.ones(n_train, bool))
    sa = SimpleNamespace(hashes=val, variants={}, valid=np.ones(n_val, bool))
    raw = NearDuplicateScanner(variants=False)._search(sa, sb, False)
    found = {(int(a), int(b)): (int(d), bool(i)) for a, b, d, i in zip(raw["a"], raw["b"], raw["distance"],
                                                                        raw["isolated"])}
    assert found == {(0, 0): (16, True), (3, 4): (18, True), (5, 6): (12, False)}
    strict = NearDuplicateScanner(variants=False, isolated_threshold=14)._search(sa, sb, False)
    assert list(zip(strict["a"], strict["b"])) == [(5, 6)]
    # no margin asked: the pair is kept unless another image is closer than the pair itself (image 2 is, to 1)
    loose = NearDuplicateScanner(variants=False, isolation=0, distinct_margin=0)._search(sa, sb, False)
    assert {(int(a), int(b)) for a, b in zip(loose["a"], loose["b"])} == {(0, 0), (3, 4), (5, 6), (6, 7)}


def test_pairs_from_9_bits_are_kept_only_when_distinct():
    """A pair at distinct-from (9) bits or more is dropped when another earlier-split image, not a copy of the
    partner, is within its distance + distinct-margin (8) of the later image."""
    from types import SimpleNamespace

    rng = np.random.default_rng(7)
    n_train, n_val = 200, 4
    hashes = {h: rng.integers(0, 256, (n_train, 8), dtype=np.uint8) for h in ("phash", "dhash")}
    val = {h: rng.integers(0, 256, (n_val, 8), dtype=np.uint8) for h in ("phash", "dhash")}

    def derive(side: dict, i: int, other: dict, j: int, p_bits: range, d_bits: range) -> None:
        side["phash"][i] = _flipped(other["phash"][j], p_bits)
        side["dhash"][i] = _flipped(other["dhash"][j], d_bits)

    derive(val, 0, hashes, 0, range(5), range(6))  # 11 bits, no rival: kept
    derive(val, 1, hashes, 1, range(5), range(6))  # 11 bits, but training image 2 is 15 from it: dropped
    derive(hashes, 2, val, 1, range(40, 47), range(40, 48))
    derive(val, 2, hashes, 3, range(5), range(6))  # 11 bits; training image 4 (15 away) is a copy of 3: kept
    derive(hashes, 4, hashes, 3, range(40, 42), range(40, 42))
    derive(val, 3, hashes, 5, range(3), range(4))  # 7 bits: below distinct-from, kept
    derive(hashes, 6, val, 3, range(40, 46), range(40, 46))  # 12 bits from val 3, with image 5 at 7: dropped
    for side in (hashes, val):
        for h in ("phash", "dhash"):
            side[h + "_mirror"] = side[h][:, ::-1].copy()
    sb = SimpleNamespace(hashes=hashes, variants={}, valid=np.ones(n_train, bool))
    sa = SimpleNamespace(hashes=val, variants={}, valid=np.ones(n_val, bool))

    def pairs(**settings: int) -> dict[tuple[int, int], int]:
        raw = NearDuplicateScanner(variants=False, **settings)._search(sa, sb, False)
        return {(int(a), int(b)): int(d) for a, b, d in zip(raw["a"], raw["b"], raw["distance"])}

    assert pairs() == {(0, 0): 11, (2, 3): 11, (3, 5): 7}
    assert pairs(distinct_margin=0) == {(0, 0): 11, (1, 1): 11, (2, 3): 11, (3, 5): 7, (3, 6): 12}
    assert pairs(distinct_from=12) == {(0, 0): 11, (1, 1): 11, (2, 3): 11, (3, 5): 7}
    assert pairs(copy_radius=3) == {(0, 0): 11, (3, 5): 7}  # image 4 (4 bits from 3) is then a rival of pair (2, 3)


def _page(seed: int, size: int = 480) -> Image.Image:
    """A page of dark strokes on a diagonal lavender-to-pink gradient (a synthetic scanned form)."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    ramp = (np.linspace(0, 1, size)[None, :, None] + np.linspace(0, 1, size)[:, None, None]) / 2
    top, bottom = np.array([200, 195, 225]), np.array([235, 190, 240])
    img = Image.fromarray((top + (bottom - top) * ramp).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for line in range(10):
        y, x = 80 + line * 24, 40
        while x < size - 60:
            for _ in range(int(rng.integers(2, 7))):
                draw.line([(x, y + int(rng.integers(0, 8))), (x + int(rng.integers(2, 6)), y + int(rng.integers(8, 14)))],
                          fill=(90, 80, 70), width=2)
                x += int(rng.integers(5, 9))
            x += int(rng.integers(8, 20))
    return img


def test_a_brightened_page_whose_background_saturates_is_confirmed_by_texture(tmp_path):
    """Brightening a page until its paper is white moves its dHash ~16 bits (the pair is beyond every hash
    rule) but not its texture: with verify-radius the pair is reported and marked verified; the other pages,
    of the same background and other strokes, are not."""
    train, val = tmp_path / "train", tmp_path / "val"
    train.mkdir()
    val.mkdir()
    for seed in range(1, 7):
        _page(seed).save(train / f"page{seed}.png")
    copy = ImageEnhance.Contrast(ImageEnhance.Brightness(_page(1)).enhance(1.24)).enhance(0.88)
    copy.save(val / "bright.png")
    copy.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(val / "bright_flipped.png")
    _page(9).save(val / "other.png")
    kwargs = {"train": str(train), "val": str(val), "jobs": 1, "use_cache": False}
    report = splitcheck.scan(**kwargs, config={})
    (finding,) = report.by_code("LK102")
    ev = finding.evidence.set_index("a_id")
    assert sorted(ev.index) == ["bright.png", "bright_flipped.png"]
    assert list(ev["b_id"]) == ["page1.png", "page1.png"]
    assert ev["verified"].all() and not ev["isolated"].any()
    assert ev.loc["bright_flipped.png", "method"] == "phash+dhash-mirror"
    assert (ev["distance_phash"] <= 8).all() and (ev["distance"] > 18).all()  # beyond threshold and isolation
    assert finding.metrics["n_pairs_verified"] == 2
    assert "with the same texture" in finding.message
    off = splitcheck.scan(**kwargs, config={"near-duplicates": {"verify-radius": 0}})
    assert off.by_code("LK102") == []
    strict = splitcheck.scan(**kwargs, config={"near-duplicates": {"verify-similarity": 0.999}})
    assert strict.by_code("LK102") == []


def test_transform_guess_takes_the_first_rule_that_holds():
    """flip > rotation/crop variant > aspect change (crop) > width (resize) > brightness/contrast > format or
    sharpness (re-encode/blur) > other; each pair below is shaped to stop at one rule."""
    from types import SimpleNamespace

    import pandas as pd

    from splitcheck.scanners.near_duplicates import _guess_transforms

    base = {"width": 100.0, "height": 100.0, "brightness": 120.0, "contrast": 40.0, "sharpness": 500.0,
            "format": "JPEG"}
    changes = [  # (change to the train image's properties, mirrored, variant, expected)
        ({}, True, "", "flip"),
        ({}, False, "rot-4", "rotation"),
        ({}, False, "crop0.075@0", "crop"),
        ({"width": 110.0}, False, "", "crop"),  # aspect ratio off by 10%
        ({"width": 200.0, "height": 200.0}, False, "", "resize"),
        ({"brightness": 130.0}, False, "", "brightness/contrast"),
        ({"contrast": 44.0}, False, "", "brightness/contrast"),
        ({"format": "PNG"}, False, "", "re-encode/blur"),
        ({"sharpness": 600.0}, False, "", "re-encode/blur"),  # the validation copy is blurrier
        ({"brightness": 125.0, "contrast": 42.0, "sharpness": 505.0}, False, "", "other"),
    ]
    val = SimpleNamespace(properties=pd.DataFrame([base] * len(changes)))
    train = SimpleNamespace(properties=pd.DataFrame([{**base, **change} for change, *_ in changes]))
    rows = np.arange(len(changes))
    guessed = _guess_transforms(val, train, rows, rows, np.array([c[1] for c in changes]),
                                np.array([c[2] for c in changes], dtype=object))
    assert guessed == [c[3] for c in changes]
    assert _guess_transforms(val, train, rows[:0], rows[:0], np.zeros(0, bool), np.zeros(0, object)) == []
