"""Property-based invariants (hypothesis) of the digests, the hash search and the scan:

- a near-duplicate pair found at distance d is found, at the same distance, at every threshold >= d;
- findings do not depend on the order of the items nor on the number of processes (``jobs``);
- canonical text digests ignore case and whitespace; row digests ignore column order; vector digests
  ignore the float width of equal values.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hardening_corpus import smooth, write_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import splitcheck
from splitcheck.context import ScanContext
from splitcheck.loaders import load_split
from splitcheck.scanners.exact_duplicates import ExactDuplicateScanner
from splitcheck.scanners.near_duplicates import NearDuplicateScanner
from splitcheck.signatures.digests import row_digests, text_digests, vector_digests

#: derandomized: the same examples on every run, so a failure is reproducible and CI is not flaky
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
ORDERS = settings(FAST, max_examples=8)


def _variant(image: Image.Image, kind: int, rng: np.random.Generator) -> Image.Image:
    """A transformed copy: JPEG re-encode, noise, brightness, resize, or a small crop (increasing distance)."""
    if kind == 0:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=60)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    pixels = np.asarray(image, dtype=np.int16)
    if kind == 1:
        return Image.fromarray(np.clip(pixels + rng.integers(-12, 13, pixels.shape), 0, 255).astype(np.uint8))
    if kind == 2:
        return Image.fromarray(np.clip(pixels + 25, 0, 255).astype(np.uint8))
    if kind == 3:
        return image.resize((image.width * 2, image.height * 2), Image.Resampling.BILINEAR)
    return image.crop((3, 2, image.width - 2, image.height - 3))


@pytest.fixture(scope="module")
def image_sets(tmp_path_factory):
    """train: 16 blocky images; val: 10 transformed copies of train images and 6 unrelated images."""
    root = tmp_path_factory.mktemp("invariants")
    rng = np.random.default_rng(51)
    (root / "train").mkdir()
    (root / "val").mkdir()
    originals = [smooth(rng, 48, 64) for _ in range(16)]
    for i, image in enumerate(originals):
        image.save(root / "train" / f"t{i:02d}.png")
    for i in range(10):
        _variant(originals[i], i % 5, rng).save(root / "val" / f"copy{i:02d}.png")
    for i in range(6):
        smooth(rng, 48, 64).save(root / "val" / f"new{i:02d}.png")
    train, val = load_split("train", root / "train"), load_split("val", root / "val")
    context = ScanContext([train, val])
    return root, context


def _pairs(findings, code: str) -> dict[tuple[str, str], float]:
    out = {}
    for finding in findings:
        if finding.code == code:
            for row in finding.evidence.itertuples(index=False):
                out[(row.a_id, row.b_id)] = float(row.distance)
    return out


@FAST
@given(low=st.integers(0, 40), extra=st.integers(0, 40), per_hash=st.integers(0, 32))
def test_a_pair_found_at_a_threshold_is_found_at_every_larger_one(image_sets, low, extra, per_hash):
    _, context = image_sets
    found = {}
    for threshold in (low, low + extra):
        # isolated pairs above the threshold and the texture confirmation off: the invariant is the threshold's own
        scanner = NearDuplicateScanner(threshold=threshold, max_hash_distance=per_hash, within_split=False,
                                       isolated_threshold=0, verify_radius=0)
        found[threshold] = _pairs(scanner.run(context), "LK102")
    smaller, larger = found[low], found[low + extra]
    assert set(smaller) <= set(larger)
    assert all(larger[pair] == distance <= low for pair, distance in smaller.items())
    assert all(distance <= low + extra for distance in larger.values())


def test_the_planted_copies_are_found_at_the_default_thresholds(image_sets):
    _, context = image_sets
    pairs = _pairs(NearDuplicateScanner().run(context), "LK102")
    assert {a for a, _ in pairs} == {f"copy{i:02d}.png" for i in range(10)}
    assert all(b == f"t{int(a[4:6]):02d}.png" for a, b in pairs)


@ORDERS
@given(data=st.data())
def test_findings_do_not_depend_on_item_order(image_sets, data):
    root, context = image_sets
    reference = {code: _pairs(scanner.run(context), code)
                 for scanner, code in ((ExactDuplicateScanner(), "DQ201"), (NearDuplicateScanner(), "LK102"))}
    train_paths = sorted(str(p) for p in (root / "train").iterdir())
    val_paths = sorted(str(p) for p in (root / "val").iterdir())
    shuffled_train = data.draw(st.permutations(train_paths))
    shuffled_val = data.draw(st.permutations(val_paths))
    splits = [load_split("train", shuffled_train), load_split("val", shuffled_val)]
    assert splits[1].ids.tolist() == [Path(p).name for p in shuffled_val]
    shuffled = ScanContext(splits)
    for scanner, code in ((ExactDuplicateScanner(), "DQ201"), (NearDuplicateScanner(), "LK102")):
        assert _pairs(scanner.run(shuffled), code) == reference[code]


def test_findings_do_not_depend_on_jobs(tmp_path):
    """60 + 50 images: enough for the process pool (48+ images to decode) to run with jobs=2."""
    rng = np.random.default_rng(52)
    write_images(tmp_path / "train" / "a", rng, 30)
    write_images(tmp_path / "train" / "b", rng, 30, prefix="b")
    write_images(tmp_path / "val" / "a", rng, 50, prefix="v")
    for i in range(5):
        shutil.copy(tmp_path / f"train/b/b_{i:03d}.png", tmp_path / f"val/a/leak{i}.png")
        _variant(Image.open(tmp_path / f"train/a/img_{i:03d}.png").convert("RGB"), 0, rng).save(
            tmp_path / f"val/a/near{i}.png")
    reports = [splitcheck.scan(train=tmp_path / "train", val=tmp_path / "val", config={}, use_cache=False, jobs=jobs)
               for jobs in (1, 2)]
    one, two = ([f.to_dict() for f in r.findings] for r in reports)
    assert one == two
    assert sorted(_pairs(reports[0].findings, "LK101")) == [(f"a/leak{i}.png", f"b/b_{i:03d}.png") for i in range(5)]
    assert sorted(_pairs(reports[0].findings, "LK102")) == [(f"a/near{i}.png", f"a/img_{i:03d}.png") for i in range(5)]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(text=st.text(max_size=40), spaces=st.lists(st.sampled_from([" ", "  ", "\t", "\n", " \u3000"]), max_size=3))
def test_canonical_text_digest_ignores_case_and_whitespace(text, spaces):
    variant = "".join(spaces) + text.casefold().replace(" ", " \t ") + "".join(spaces)
    a, b = text_digests([text, variant]).canonical
    assert a == b


@settings(max_examples=40, deadline=None, derandomize=True)
@given(values=st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=False, width=32),
                                 st.text(max_size=5), st.integers(-5, 5)), min_size=1, max_size=8),
       order=st.permutations(["f", "s", "i"]))
def test_row_digests_ignore_column_order_and_number_spelling(values, order):
    frame = pd.DataFrame(values, columns=["f", "s", "i"])
    columns = ["f", "s", "i"]
    reordered = frame[list(order)]
    assert np.array_equal(row_digests(frame, columns).canonical, row_digests(reordered, columns).canonical)
    as_text = frame.assign(i=frame["i"].map(lambda v: f"{v}.0"))  # "3.0" written as text is the number 3
    assert np.array_equal(row_digests(frame, columns).canonical, row_digests(as_text, columns).canonical)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(rows=st.lists(st.lists(st.floats(-1e3, 1e3, width=16), min_size=3, max_size=3), min_size=1, max_size=6))
def test_vector_digests_ignore_float_width(rows):
    half = np.array(rows, dtype=np.float16)
    digests = vector_digests(half, None, len(half)).raw
    assert np.array_equal(digests, vector_digests(half.astype(np.float64), None, len(half)).raw)
    same = [i for i in range(len(half)) for j in range(len(half)) if i < j and np.array_equal(half[i], half[j])]
    for i in same:
        assert (digests == digests[i]).sum() >= 2
