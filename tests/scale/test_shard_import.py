"""Parquet signature shards: what a worker writes holds everything, and the cache imports it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import FIXTURES

from splitcheck.errors import InputError
from splitcheck.executors.shards import compute_shard, import_shards, list_shards, read_shard, shard_algo
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings
from splitcheck.signatures.images import ImageSignatures, algo_key, compute_image_signatures

SETTINGS = DecodeSettings()
KEY = algo_key(SETTINGS)


@pytest.fixture(scope="module")
def image_paths() -> list[str]:
    """The bundled images (162 train, 72 val, one of them a truncated JPEG) and a missing file."""
    paths = sorted(str(p) for p in (FIXTURES / "images").rglob("*") if p.is_file())
    assert len(paths) == 234
    return [*paths, str(FIXTURES / "images/train/no-such-image.png")]


def write_shards(paths: list[str], folder: Path, size: int = 50) -> list[str]:
    written = []
    for part, start in enumerate(range(0, len(paths), size)):
        items = list(range(start, min(start + size, len(paths))))
        destination = str(folder / f"run-{part:03d}.parquet")
        result = compute_shard(items, [paths[i] for i in items], SETTINGS, KEY, None, destination)
        assert result == {"destination": destination, "data": None, "n": len(items)}
        written.append(destination)
    return written


def assert_same_signatures(a: ImageSignatures, b: ImageSignatures) -> None:
    assert np.array_equal(a.valid, b.valid)
    assert np.array_equal(a.digest, b.digest)
    assert np.array_equal(a.pixel, b.pixel)
    assert sorted(a.hashes) == sorted(b.hashes) and sorted(a.variants) == sorted(b.variants)
    for name in a.hashes:
        assert np.array_equal(a.hashes[name], b.hashes[name]), name
    for name in a.variants:
        assert np.array_equal(a.variants[name], b.variants[name]), name
    assert a.properties.equals(b.properties)
    assert a.errors == b.errors


def test_shard_rows_hold_the_local_signatures(image_paths: list[str], tmp_path: Path):
    local = compute_image_signatures(image_paths, SETTINGS)
    written = write_shards(image_paths, tmp_path)
    assert list_shards(str(tmp_path)) == written
    table = pq.read_table(written[0])
    assert {"item", "path", "content", "digest", "pixel", "error", "width", "sharpness", "mode", "format",
            "hash:phash", "hash:dhash_mirror", "variants:phash"} <= set(table.column_names)
    assert table.schema.metadata[b"splitcheck.algo"] == KEY.encode()
    seen = 0
    for path in written:
        shard = read_shard(path)
        assert shard.algo == KEY and not shard.cached.any()
        for item, entry in zip(shard.items, shard.entries):
            seen += 1
            if isinstance(entry, str):
                assert not local.valid[item]
                assert (int(item), entry) in local.errors
                continue
            assert local.valid[item]
            assert int.from_bytes(entry.content[:8], "little") == local.digest[item]
            assert entry.pixel == local.pixel[item]
            for name, row in entry.hashes.items():
                assert np.array_equal(row, local.hashes[name][item])
            for name, rows in entry.variants.items():
                assert rows.shape == (SETTINGS.n_variants, 8)
                assert np.array_equal(rows, local.variants[name][item])
    assert seen == len(image_paths)
    assert len(local.errors) == 2  # the truncated JPEG and the missing file


def test_imported_shards_make_a_local_scan_all_hits(image_paths: list[str], tmp_path: Path):
    folder = tmp_path / "shards"
    write_shards(image_paths, folder)
    cache = SignatureCache(tmp_path / "cache")
    assert import_shards(cache, str(folder), KEY) == len(image_paths) - 2  # rows stored: the readable images
    local = compute_image_signatures(image_paths, SETTINGS)
    info = cache.info()
    assert info["files"] == len(image_paths) - 2
    assert info["signatures"] == len(set(local.digest[local.valid].tolist())) == 227  # byte copies share one
    again = compute_image_signatures(image_paths, SETTINGS, cache=cache)
    assert again.cache_hits == len(image_paths) - 2  # every readable image, found by its stat
    assert_same_signatures(again, local)
    cache.close()


def test_imported_signatures_are_found_by_content_after_a_copy(image_paths: list[str], tmp_path: Path):
    folder = tmp_path / "shards"
    write_shards(image_paths[:40], folder)
    cache = SignatureCache(tmp_path / "cache")
    import_shards(cache, str(folder), KEY)
    copies = []
    for k, path in enumerate(image_paths[:40]):
        target = tmp_path / "copies" / f"{k}{Path(path).suffix}"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, target)
        copies.append(str(target))
    again = compute_image_signatures(copies, SETTINGS, cache=cache)
    assert again.cache_hits == 40  # new paths and stats: found by the digest of their bytes
    assert_same_signatures(again, compute_image_signatures(copies, SETTINGS))
    cache.close()


def test_shards_of_other_settings_are_refused(image_paths: list[str], tmp_path: Path):
    write_shards(image_paths[:10], tmp_path)
    other = algo_key(DecodeSettings(variants=False))
    cache = SignatureCache(tmp_path / "cache")
    with pytest.raises(InputError, match=r"run-000\.parquet: computed with algorithm key .* not .*v=0"):
        import_shards(cache, str(tmp_path), other)
    assert cache.info()["signatures"] == 0  # nothing stored before the refusal
    cache.close()


def test_a_parquet_file_that_is_not_a_shard_is_refused(tmp_path: Path):
    pq.write_table(pa.table({"item": [1, 2]}), tmp_path / "other.parquet")
    with pytest.raises(InputError, match=r"other\.parquet: not a splitcheck signature shard"):
        shard_algo(str(tmp_path / "other.parquet"))
    with pytest.raises(InputError, match=r"other\.parquet: not a splitcheck signature shard"):
        import_shards(SignatureCache(None), str(tmp_path), KEY)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"broken\.parquet: cannot read signature shard"):
        read_shard(str(tmp_path / "broken.parquet"))


def test_missing_folder_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match=r"nowhere: no such folder of signature shards"):
        import_shards(SignatureCache(None), str(tmp_path / "nowhere"), KEY)


def test_shard_returned_as_bytes_reads_back(image_paths: list[str]):
    result = compute_shard([7, 8, 9], image_paths[7:10], SETTINGS, KEY, None, None)
    assert result["destination"] is None and result["n"] == 3
    shard = read_shard(result["data"])
    assert shard.items.tolist() == [7, 8, 9]
    local = compute_image_signatures(image_paths[7:10], SETTINGS)
    assert [int.from_bytes(e.content[:8], "little") for e in shard.entries] == local.digest.tolist()


def test_unwritable_shard_folder_is_an_input_error(image_paths: list[str], tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the shard folder should be")
    with pytest.raises(InputError, match=r"not-a-folder/s\.parquet: cannot write signature shard"):
        compute_shard([0], image_paths[:1], SETTINGS, KEY, None, str(blocker / "s.parquet"))
