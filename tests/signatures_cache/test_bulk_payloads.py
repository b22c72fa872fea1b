"""A rescan decodes the cached payloads in bulk: the signatures are the same as the first scan's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from splitcheck.signatures import images
from splitcheck.signatures.cache import DB_NAME, SignatureCache
from splitcheck.signatures.decode import DecodeSettings, ImageRecord, decode_payloads
from splitcheck.signatures.images import algo_key, compute_image_signatures

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "images"


def _paths() -> list[str]:
    return sorted(str(p) for p in FIXTURES.rglob("*") if p.is_file())


def _same(a, b) -> None:
    assert np.array_equal(a.valid, b.valid) and np.array_equal(a.digest, b.digest)
    assert np.array_equal(a.pixel, b.pixel)
    assert a.hashes.keys() == b.hashes.keys() and a.variants.keys() == b.variants.keys()
    for name in a.hashes:
        assert np.array_equal(a.hashes[name], b.hashes[name])
    for name in a.variants:
        assert np.array_equal(a.variants[name], b.variants[name])
    pd.testing.assert_frame_equal(a.properties, b.properties)
    assert a.errors == b.errors


@pytest.mark.parametrize("settings", [DecodeSettings(), DecodeSettings(hashes=("whash", "ahash"), hash_size=16,
                                                                       mirror=False, variants=False)])
def test_bulk_rescan_matches_the_first_scan(tmp_path, settings):
    paths = _paths()
    with SignatureCache(tmp_path) as cache:
        first = compute_image_signatures(paths, settings, cache=cache)
    with SignatureCache(tmp_path) as cache:
        second = compute_image_signatures(paths, settings, cache=cache)
    # the first scan reads back only byte copies whose original was already written (the first chunk at once,
    # then in batches): at most the fixture's 4; the rescan reads every readable image
    assert first.cache_hits <= 4 and second.cache_hits == int(first.valid.sum()) > 200
    assert first.errors  # the fixture's truncated JPEG is reported both times, from no payload
    _same(first, second)


def test_payloads_round_trip_in_bulk_and_one_by_one():
    settings = DecodeSettings()
    record = ImageRecord(b"c" * 16, 12345, {}, np.arange(6, dtype=float), "RGB", "JPEG")
    widths = settings.hash_widths()
    rng = np.random.default_rng(0)
    record.hashes = {name: rng.integers(0, 256, w, dtype=np.uint8) for name, w in widths.items()}
    record.variants = {name: rng.integers(0, 256, (settings.n_variants, widths[name]), dtype=np.uint8)
                       for name in settings.hashes}
    other = ImageRecord(b"d" * 16, 7, {k: v[::-1].copy() for k, v in record.hashes.items()}, np.full(6, np.nan),
                        "L", "PNG", {k: v[::-1].copy() for k, v in record.variants.items()})
    payloads = [record.to_payload(), other.to_payload()]
    batch = decode_payloads(payloads, settings)
    for k, original in enumerate((record, other)):
        single = ImageRecord.from_payload(original.content, payloads[k], settings)
        for decoded in (single, None):
            pixel = batch.pixel[k] if decoded is None else decoded.pixel
            numbers = batch.numbers[k] if decoded is None else decoded.numbers
            text = batch.texts[k] if decoded is None else (decoded.mode, decoded.format)
            assert pixel == original.pixel and text == (original.mode, original.format)
            assert np.array_equal(numbers, original.numbers, equal_nan=True)
            for name in widths:
                got = batch.hashes[name][k] if decoded is None else decoded.hashes[name]
                assert np.array_equal(got, original.hashes[name])
            for name in settings.hashes:
                got = batch.variants[name][k] if decoded is None else decoded.variants[name]
                assert np.array_equal(got, original.variants[name])
    with pytest.raises(ValueError):
        decode_payloads([payloads[0][:-3]], settings)


def test_a_damaged_payload_is_decoded_again_and_the_rest_still_read(tmp_path):
    paths, settings = _paths(), DecodeSettings()
    with SignatureCache(tmp_path) as cache:
        first = compute_image_signatures(paths, settings, cache=cache)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    with conn:
        (digest,) = conn.execute("SELECT digest FROM signatures WHERE algo = ? LIMIT 1", (algo_key(settings),)).fetchone()
        conn.execute("UPDATE signatures SET payload = ? WHERE digest = ?", (b"\x01\x02", digest))
    conn.close()
    with SignatureCache(tmp_path) as cache:
        second = compute_image_signatures(paths, settings, cache=cache)
    assert second.cache_hits == int(first.valid.sum()) - 1  # the damaged one is decoded from its file
    _same(first, second)


def test_payloads_decoded_in_batches_give_the_same_signatures(tmp_path, monkeypatch):
    """Fresh and cached payloads go into the split's arrays BULK_ROWS at a time; a damaged payload in one
    batch sends only that batch through the one-by-one path."""
    paths, settings = _paths(), DecodeSettings()
    whole = compute_image_signatures(paths, settings)  # no cache: every payload decoded at the end, at once
    monkeypatch.setattr(images, "BULK_ROWS", 7)
    with SignatureCache(tmp_path) as cache:
        first = compute_image_signatures(paths, settings, cache=cache)
    _same(whole, first)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    with conn:
        (digest,) = conn.execute("SELECT digest FROM signatures WHERE algo = ? LIMIT 1 OFFSET 100",
                                 (algo_key(settings),)).fetchone()
        conn.execute("UPDATE signatures SET payload = ? WHERE digest = ?", (b"\x01\x02", digest))
    conn.close()
    with SignatureCache(tmp_path) as cache:
        second = compute_image_signatures(paths, settings, cache=cache)
    assert second.cache_hits == int(first.valid.sum()) - 1
    _same(whole, second)
