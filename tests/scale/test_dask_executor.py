"""The Dask executor on a LocalCluster of 2 workers gives the local executor's signatures and findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from helpers import FIXTURES

from splitcheck.context import ScanContext
from splitcheck.errors import ConfigError
from splitcheck.executors import make_executor
from splitcheck.executors.dask import DaskExecutor, digest_pairs, shard_codes
from splitcheck.executors.local import LocalExecutor
from splitcheck.executors.shards import import_shards, list_shards, read_shard
from splitcheck.index.banded import banded_pairs_dask
from splitcheck.index.hamming import hamming_pairs
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.exact_duplicates import ExactDuplicateScanner
from splitcheck.scanners.near_duplicates import NearDuplicateScanner
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.images import ImageSignatures, algo_key, compute_image_signatures
from splitcheck.splits import Split

EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))["images"]


@pytest.fixture(scope="module")
def executor() -> Iterator[DaskExecutor]:
    """One LocalCluster (2 in-process workers) for the module, small partitions so both workers get work."""
    with DaskExecutor(n_workers=2, processes=False, partition_size=32) as ex:
        assert ex.n_workers_running() == 2
        yield ex


@pytest.fixture(scope="module")
def splits() -> list[Split]:
    return [load_split(name, str(FIXTURES / "images" / name), LoadOptions()) for name in ("train", "val")]


class ExecutorContext(ScanContext):
    """A scan context whose image signatures come from an executor (what ``--executor`` will plumb in)."""

    def __init__(self, splits: list[Split], executor, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(splits, **kwargs)
        self.executor = executor

    def image_signatures(self, split: Split) -> ImageSignatures:
        if split.name not in self._image_signatures:
            self._image_signatures[split.name] = self.executor.image_signatures(
                split.paths, self.image_settings, self.cache, None)
        return self._image_signatures[split.name]


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


def run_leakage_scanners(context: ScanContext) -> list:
    findings = []
    for scanner in (ExactDuplicateScanner(), NearDuplicateScanner()):
        produced = scanner.run(context)
        context.findings.extend(produced)
        findings.extend(produced)
    return findings


def test_signatures_equal_the_local_path(executor: DaskExecutor, splits: list[Split]):
    settings = ScanContext(splits).image_settings
    for split in splits:
        progress: list[int] = []
        local = LocalExecutor(jobs=1).image_signatures(split.paths, settings)
        remote = executor.image_signatures(split.paths, settings, progress=progress.append)
        assert_same_signatures(local, remote)
        assert sum(progress) == len(split) and len(progress) >= 2  # one report per partition
        assert remote.cache_hits == 0
    assert executor.last_shards == []  # without a shard folder the shards came back as bytes


def test_findings_equal_the_local_path(executor: DaskExecutor, splits: list[Split]):
    local = run_leakage_scanners(ScanContext(splits, jobs=1))
    remote = run_leakage_scanners(ExecutorContext(splits, executor))
    assert [f.code for f in local] == [f.code for f in remote] == ["LK101", "DQ201", "LK102"]
    for a, b in zip(local, remote):
        assert (a.code, a.splits, a.message, a.metrics) == (b.code, b.splits, b.message, b.metrics)
        assert a.evidence.equals(b.evidence)
    exact = remote[0].evidence
    assert sorted(zip(exact["a_id"], exact["b_id"])) == sorted((a, b) for a, b, _ in EXPECTED["exact_pairs"])
    near = remote[2].evidence
    assert sorted(zip(near["a_id"], near["b_id"])) == sorted((a, b) for a, b, _ in EXPECTED["near_pairs"])


def test_cache_is_read_and_filled(executor: DaskExecutor, splits: list[Split], tmp_path: Path):
    train = splits[0]
    settings = ScanContext(splits).image_settings
    cache = SignatureCache(tmp_path / "cache")
    first = executor.image_signatures(train.paths, settings, cache)
    assert first.cache_hits == 0
    assert cache.info()["files"] == len(train)
    second = executor.image_signatures(train.paths, settings, cache)  # nothing sent to the cluster
    assert second.cache_hits == len(train)
    local_rescan = compute_image_signatures(train.paths, settings, cache=cache)  # the local path reads it too
    assert local_rescan.cache_hits == len(train)
    for other in (second, local_rescan):
        assert_same_signatures(first, other)
    cache.close()


def test_shard_folder_holds_every_item_and_feeds_distributed_search(executor: DaskExecutor, splits: list[Split],
                                                                      tmp_path: Path):
    settings = ScanContext(splits).image_settings
    signatures = {}
    for split in splits:
        executor.shard_dir = str(tmp_path / split.name)
        try:
            signatures[split.name] = executor.image_signatures(split.paths, settings)
        finally:
            executor.shard_dir = None
        assert executor.last_shards == list_shards(str(tmp_path / split.name))
        items = np.concatenate([read_shard(s).items for s in executor.last_shards])
        assert sorted(items.tolist()) == list(range(len(split)))
    train, val = signatures["train"], signatures["val"]

    # exact copies: a join on the content digest across the two shard folders, on the cluster
    pairs = digest_pairs(str(tmp_path / "val"), str(tmp_path / "train")).compute()
    va, tb = np.flatnonzero(val.valid), np.flatnonzero(train.valid)
    expected = {(int(a), int(b)) for a in va for b in tb if val.digest[a] == train.digest[b]}
    assert set(zip(pairs["a"].tolist(), pairs["b"].tolist())) == expected
    assert len(expected) == sum(1 for *_, how in EXPECTED["exact_pairs"] if how == "bytes")

    # perceptual neighbours: the banded join on the shards' hashes equals the flat search on the signatures
    queries, base = shard_codes(str(tmp_path / "val"), "phash"), shard_codes(str(tmp_path / "train"), "phash")
    found = banded_pairs_dask(queries, base, 6, n_bytes=8).compute()
    q, b, d = hamming_pairs(val.hashes["phash"][va], train.hashes["phash"][tb], 6)
    assert sorted(zip(found["a"], found["b"], found["distance"])) == sorted(zip(va[q], tb[b], d))
    assert len(q) >= len(EXPECTED["exact_pairs"])

    # and the shards import into a cache under the run's algorithm key
    cache = SignatureCache(tmp_path / "cache")
    assert import_shards(cache, str(tmp_path / "train"), algo_key(settings)) == int(train.valid.sum())
    cache.close()


def test_make_executor_names_and_errors():
    assert isinstance(make_executor("local", jobs=3), LocalExecutor)
    with make_executor("dask", jobs=1, processes=False) as ex:
        assert isinstance(ex, DaskExecutor) and ex.n_workers == 1 and ex.address is None
    with pytest.raises(ConfigError, match="executor must be one of local, dask; got 'spark'"):
        make_executor("spark")
    with pytest.raises(ConfigError, match="dask-address is set but the executor is 'local'"):
        make_executor("local", dask_address="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="partition size must be a positive integer"):
        DaskExecutor(partition_size=0)


def test_unreachable_scheduler_is_a_config_error():
    executor = DaskExecutor("tcp://127.0.0.1:9", connect_timeout=0.5)
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        _ = executor.client
    executor.close()


def test_worker_processes_give_the_same_signatures(splits: list[Split]):
    """Real worker processes (not threads of this one): tasks run outside any main thread."""
    train = splits[0]
    settings = ScanContext(splits).image_settings
    paths = train.paths[:48]
    with DaskExecutor(n_workers=2, processes=True, partition_size=16) as ex:
        remote = ex.image_signatures(paths, settings)
    assert_same_signatures(compute_image_signatures(paths, settings), remote)


def test_image_descriptors_travel_in_the_shards_and_embedding_findings_equal_the_local_path(
        executor: DaskExecutor, splits: list[Split], monkeypatch: pytest.MonkeyPatch):
    """With --embedder colour-gradient the workers' descriptors reach the client: no image is decoded again there,
    and the embedding scanner's findings are the local executor's."""
    import dataclasses

    from splitcheck.embed import store
    from splitcheck.embed.context import configure
    from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

    settings = dataclasses.replace(ScanContext(splits).image_settings, descriptor=True)
    for split in splits:
        local = LocalExecutor(jobs=1).image_signatures(split.paths, settings)
        remote = executor.image_signatures(split.paths, settings)
        assert_same_signatures(local, remote)
        assert remote.described is not None and np.array_equal(local.described, remote.described)
        assert remote.described[remote.valid].all()
        assert np.array_equal(local.descriptors, remote.descriptors)

    def no_second_decode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("an image was decoded again on the client")

    def scan(context: ScanContext) -> list:
        configure(context, embedder="colour-gradient")
        found = run_leakage_scanners(context)
        return found + EmbeddingNeighbourScanner().run(context)

    local_findings = scan(ScanContext(splits, jobs=1))
    monkeypatch.setattr(store, "decode_descriptors", no_second_decode)
    remote_findings = scan(ExecutorContext(splits, executor))
    assert [f.code for f in local_findings] == [f.code for f in remote_findings]
    assert "LK103" in [f.code for f in remote_findings]
    for a, b in zip(local_findings, remote_findings):
        assert (a.code, a.splits, a.message, a.metrics) == (b.code, b.splits, b.message, b.metrics)
        assert a.evidence.equals(b.evidence)
    (lk103,) = [f for f in remote_findings if f.code == "LK103"]
    # the one pair the hashes do not report: a look-alike, not a planted copy (see benchmarks/embeddings/README.md)
    assert list(zip(lk103.evidence["a_id"], lk103.evidence["b_id"])) == [("flower/val_flower_001.jpg",
                                                                           "flower/flower_000.png")]
