"""The leakage searches on a Dask LocalCluster (2 worker processes) from the signature shards give exactly the
local executor's findings, and the client then holds no perceptual hashes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

pytest.importorskip("distributed")

from helpers import FIXTURES, blocky, transformed

from splitcheck.cli import main
from splitcheck.config import config_from_mapping
from splitcheck.context import ScanContext
from splitcheck.errors import ConfigError
from splitcheck.executors import make_executor
from splitcheck.executors.dask import DaskExecutor
from splitcheck.executors.shards import ShardedSignatures, read_shard
from splitcheck.findings import Finding
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.exact_duplicates import ExactDuplicateScanner
from splitcheck.scanners.near_duplicates import NearDuplicateScanner
from splitcheck.search.cluster import ClusterSearch
from splitcheck.search.local import LocalSearch
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings
from splitcheck.splits import Split

N_TRAIN, N_VAL, N_COPIES, N_INSIDE = 1_600, 600, 120, 30
#: Smooth 64 px training images, and validation copies of the first of them cropped (7.5% off the right and
#: bottom) or rotated by 4 degrees: found through the crop and rotation variants of the training images.
N_SMOOTH, N_VARIED = 200, 40
#: A lower threshold, so that many planted pairs fall between it and isolated-threshold and go through the
#: isolation test (the nearest other image, a map over the shards on the cluster).
ISOLATING = {"threshold": 6, "isolated_threshold": 18, "isolation": 16}
#: One hash, no mirror, no variants: the per-hash radius is the whole threshold (a wider join).
ONE_HASH = {"hashes": ["dhash"], "threshold": 10, "mirror": False, "variants": False}
#: A threshold so low that most copies are found only through the texture confirmation.
VERIFYING = {"threshold": 2, "isolated_threshold": 2, "within_split": False}


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> list[Split]:
    """The bundled image fixtures (byte and pixel copies, cropped, flipped and rotated near-copies, copies
    inside train, a truncated JPEG) plus 2,440 generated images: 30 near-copies inside train, 120 validation
    near-copies of training images (brighter, mirrored, noisy, lower contrast) and 40 cropped or rotated."""
    root = tmp_path_factory.mktemp("cluster-search")
    for name in ("train", "val"):
        shutil.copytree(FIXTURES / "images" / name, root / name)
        (root / name / "gen").mkdir()
    rng = np.random.default_rng(8)
    train = [blocky(rng) for _ in range(N_TRAIN - N_INSIDE)]
    train += [transformed(train[k], k, rng) for k in range(N_INSIDE)]
    for i, image in enumerate(train):
        image.save(root / f"train/gen/{i:04d}.png")
    for i in range(N_VAL):
        image = transformed(train[50 + 12 * i], i, rng) if i < N_COPIES else blocky(rng)
        image.save(root / f"val/gen/{i:04d}.png")
    for i in range(N_SMOOTH):
        image = smooth(rng)
        image.save(root / f"train/gen/smooth{i:03d}.png")
        if i < N_VARIED:
            w, h = image.size
            varied = image.crop((0, 0, round(0.925 * w), round(0.925 * h))) if i % 2 else image.rotate(4)
            varied.save(root / f"val/gen/varied{i:03d}.png")
    return [load_split(name, str(root / name), LoadOptions()) for name in ("train", "val")]


def smooth(rng: np.random.Generator) -> Image.Image:
    """A 64 px image of 8 x 8 colour blocks, smoothed (its hashes follow a small crop or rotation)."""
    blocks = np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    return Image.fromarray(blocks).resize((64, 64), Image.Resampling.BILINEAR)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskExecutor]:
    """A LocalCluster of 2 worker processes keeping its shards, searching on the cluster at any size."""
    shards = tmp_path_factory.mktemp("shards")
    with DaskExecutor(n_workers=2, processes=True, partition_size=256, shard_dir=str(shards), search_above=0) as ex:
        assert ex.n_workers_running() == 2
        yield ex


def scan(context: ScanContext) -> list[Finding]:
    """The exact- and near-duplicate scanners at their defaults, then the near-duplicate scanner with a lower
    threshold, with one hash only and with a very low threshold (texture confirmation), on the same signatures."""
    found = []
    for scanner in (ExactDuplicateScanner(), NearDuplicateScanner(), NearDuplicateScanner(**ISOLATING),
                    NearDuplicateScanner(**ONE_HASH), NearDuplicateScanner(**VERIFYING)):
        produced = scanner.run(context)
        context.findings.extend(produced)
        found.extend(produced)
    return found


def test_cluster_search_finds_exactly_the_local_findings_without_hashes_in_the_client(
        splits: list[Split], cluster: DaskExecutor):
    local_context = ScanContext(splits, jobs=1)
    local = scan(local_context)
    context = ScanContext(splits, executor=cluster)
    remote = scan(context)
    assert isinstance(local_context.search, LocalSearch) and not isinstance(local_context.search, ClusterSearch)
    assert isinstance(context.search, ClusterSearch)

    codes = [f.code for f in local]
    assert codes == [f.code for f in remote] == ["LK101", "DQ201", "LK102", "DQ202", "LK102", "DQ202", "LK102",
                                                 "DQ202", "LK102"]
    for a, b in zip(local, remote):
        assert (a.code, a.splits, a.title, a.message, a.metrics) == (b.code, b.splits, b.title, b.message, b.metrics)
        assert a.evidence.equals(b.evidence), a.code

    exact, near, inside, isolating = (f.evidence for f in remote[:5] if f.code != "DQ201")
    assert set(exact["method"]) == {"bytes", "pixels"}
    assert len(near) >= N_COPIES and len(inside) >= 2 * N_INSIDE
    # pairs found through the mirror hashes and through the crop and rotation variants of training images
    assert near["method"].str.endswith("-mirror").sum() >= N_COPIES // 4
    varied = near[near["a_id"].str.startswith("gen/varied")]
    assert varied["variant"].str.startswith("crop").sum() >= N_VARIED // 3
    assert varied["variant"].str.startswith("rot").sum() >= N_VARIED // 3
    # and pairs above the lower threshold kept only because both images are isolated (nearest-other search)
    assert isolating["isolated"].sum() == remote[4].metrics["n_pairs_isolated"] > 0
    # and, at a threshold of 2 bits, the pairs further apart confirmed by their texture codes (read from the shards)
    verifying = remote[8]
    assert verifying.evidence["verified"].sum() == verifying.metrics["n_pairs_verified"] > 0
    assert verifying.evidence["a_id"].str.startswith("gen/0").sum() == N_COPIES  # every generated copy, no other
    assert (verifying.evidence["distance"][~verifying.evidence["verified"]] <= 2).all()
    assert set(remote[6].evidence["method"]) == {"dhash"} and len(remote[6].evidence) >= N_COPIES // 2

    # the client never held a hash: the signatures carry digests and properties only, the shards the rest
    for split in splits:
        signatures = context.computed_image_signatures(split)
        assert isinstance(signatures, ShardedSignatures)
        assert signatures.hashes == {} and signatures.variants == {}
        assert len(signatures.digest) == len(signatures.properties) == len(split)
        assert local_context.computed_image_signatures(split).properties.equals(signatures.properties)
        rows = [read_shard(s) for s in signatures.shards]
        assert sorted(np.concatenate([r.items for r in rows]).tolist()) == list(range(len(split)))
        assert all("phash" in e.hashes and "dhash_mirror" in e.hashes for r in rows for e in r.entries
                   if not isinstance(e, str))


def test_signatures_without_hashes_from_the_cache_name_a_shard_of_every_item(cluster: DaskExecutor, tmp_path: Path):
    """A rescan served by the signature cache writes the cached rows as a shard (the cluster search reads their
    hashes there) and still gives the client no hash; digests and properties are the local ones."""
    train = load_split("train", str(FIXTURES / "images" / "train"), LoadOptions())
    settings = DecodeSettings()
    local = ScanContext([train], jobs=1, image_settings=settings).image_signatures(train)
    cache = SignatureCache(tmp_path / "cache")
    try:
        for expected_hits in (0, int(local.valid.sum())):
            signatures = cluster.image_signatures(train.paths, settings, cache, hashes=False)
            assert signatures.cache_hits == expected_hits
            assert signatures.hashes == {} and signatures.variants == {}
            assert np.array_equal(signatures.digest, local.digest) and signatures.properties.equals(local.properties)
            rows = [read_shard(s) for s in signatures.shards]
            assert sorted(np.concatenate([r.items for r in rows]).tolist()) == list(range(len(train)))
        assert any(s.endswith("-cached.parquet") for s in signatures.shards)
    finally:
        cache.close()


def test_signatures_without_hashes_keep_the_workers_descriptors(cluster: DaskExecutor):
    """The columns read without the hashes still carry the image descriptors made in the workers' decode."""
    val = load_split("val", str(FIXTURES / "images" / "val"), LoadOptions())
    settings = DecodeSettings(descriptor=True)
    local = ScanContext([val], jobs=1, image_settings=settings).image_signatures(val)
    remote = cluster.image_signatures(val.paths, settings, hashes=False)
    assert remote.hashes == {} and np.array_equal(remote.valid, local.valid) and remote.errors == local.errors
    assert remote.properties.equals(local.properties) and np.array_equal(remote.pixel, local.pixel)
    assert np.array_equal(remote.described, local.described) and remote.described[remote.valid].all()
    assert np.array_equal(remote.descriptors, local.descriptors)


def test_cluster_search_from_the_command_line(tmp_path: Path):
    """`--dask-shard-dir` and the `cluster-search-above` key reach the executor: the JSON report's leakage
    findings are the local scan's, and the workers kept their shards in the folder."""
    roots = [str(FIXTURES / "images" / name) for name in ("train", "val")]
    config = tmp_path / "splitcheck.toml"
    config.write_text("cluster-search-above = 0\n", encoding="utf-8")

    def findings(name: str, *options: str) -> tuple[dict, list[dict]]:
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(main, ["scan", *roots, "--format", "json", "--output", str(out), "--no-cache",
                                           "--no-progress", "--exit-zero", "--config", str(config), *options],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text(encoding="utf-8"))
        return report["config"], [f for f in report["findings"] if f["code"] in ("LK101", "DQ201", "LK102", "DQ202")]

    _, local = findings("local", "-j", "1")
    used, remote = findings("dask", "--executor", "dask", "-j", "2", "--dask-shard-dir", str(tmp_path / "shards"))
    assert (used["dask_shard_dir"], used["cluster_search_above"]) == (str(tmp_path / "shards"), 0)
    assert sorted(p.name for p in (tmp_path / "shards").iterdir())
    assert [f["code"] for f in local] == [f["code"] for f in remote] == ["LK101", "LK102", "DQ201"]
    for a, b in zip(local, remote):
        assert (a["message"], a["metrics"], a["evidence"]) == (b["message"], b["metrics"], b["evidence"])


def test_cluster_search_settings_are_checked():
    with pytest.raises(ConfigError, match="dask-shard-dir is set but the executor is 'local'"):
        make_executor("local", shard_dir="/tmp/shards")
    with pytest.raises(ConfigError, match="cluster-search-above must be a non-negative integer"):
        DaskExecutor(search_above=-1)
    with pytest.raises(ConfigError, match="cluster-search-above must be a non-negative integer"):
        config_from_mapping({"cluster-search-above": "big"})
    executor = DaskExecutor(shard_dir=None)
    assert isinstance(executor.search_for(10**9), LocalSearch)  # no shards to search: local
    with pytest.raises(ConfigError, match="signatures without hashes need a shard folder"):
        executor.image_signatures([], DecodeSettings(), hashes=False)
