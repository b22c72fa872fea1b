"""Image embeddings from the one signature decode, kept in the signature cache by content digest and identity."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from embed_synth import scene, write_image_splits
from PIL import Image

import splitcheck
import splitcheck.embed.decoded as decoded
from splitcheck.config import Config
from splitcheck.context import ScanContext
from splitcheck.embed.context import compute_embeddings, configure, embeddings_for
from splitcheck.embed.images import CallableImageEmbedder, ColourGradientEmbedder, torchscript_embedder
from splitcheck.embed.learned import LearnedCNNEmbedder
from splitcheck.embed.store import HALF_PREFIX, STATS_KEY, cache_identity
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import decodes_descriptor
from splitcheck.scanners.near_duplicates import image_settings
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings


def _context(train: Path, val: Path, cache_dir: Path | None, embedder: object = "colour-gradient",
             descriptor: bool = False) -> ScanContext:
    splits = [load_split("train", train), load_split("val", val)]
    context = ScanContext(splits, cache=SignatureCache(cache_dir) if cache_dir else None,
                          image_settings=DecodeSettings(descriptor=descriptor))
    configure(context, embedder=embedder)
    return context


def _raw(context: ScanContext, split: str) -> np.ndarray:
    embeddings_for(context, context.by_name[split])
    (key,) = [k for k in context.memo if k.startswith(f"embed:raw:{split}:")]
    return context.memo[key]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Images described by the default descriptor in this process (small splits decode in-process)."""
    calls: list[int] = []
    original = decoded.describe

    def counting(thumbnails: np.ndarray) -> np.ndarray:
        calls.append(len(thumbnails))
        return original(thumbnails)

    monkeypatch.setattr(decoded, "describe", counting)
    return calls


def test_default_descriptor_comes_from_the_one_decode_and_a_rescan_is_a_cache_hit(tmp_path: Path,
                                                                                 counted: list[int]) -> None:
    train, val, _ = write_image_splits(tmp_path / "data", 30, 10, 0, seed=1)
    cache = tmp_path / "cache"
    first = _context(train, val, cache)
    assert first.image_settings.descriptor  # configure asked the decode pass for it
    vectors = _raw(first, "train")
    assert first.memo[STATS_KEY.format(split="train")] == {"decoded": 30, "cached": 0, "computed": 0, "stored": 30}
    assert sum(counted) == 30
    # the 64 px PNGs need no resize: the decode-pass thumbnail is the embedder's own input (the decode pass rounds
    # the vectors to float16, as they are cached)
    np.testing.assert_allclose(vectors, compute_embeddings(first.by_name["train"], ColourGradientEmbedder()),
                               atol=1e-3, rtol=1e-3)
    np.testing.assert_array_equal(vectors, vectors.astype(np.float16))
    digest = int(first.image_signatures(first.by_name["train"]).digest[0])
    stored = first.cache.get([struct.pack("<Q", digest)], HALF_PREFIX + decoded.DECODED_IDENTITY)
    descriptor = ColourGradientEmbedder()
    assert [len(v) for v in stored.values()] == [2 * descriptor.raw_dim * (1 + descriptor.windows)]  # float16
    first.cache.close()

    counted.clear()
    second = _context(train, val, cache)
    np.testing.assert_array_equal(_raw(second, "train"), vectors)
    assert counted == []  # nothing decoded or embedded
    assert second.memo[STATS_KEY.format(split="train")] == {"decoded": 0, "cached": 30, "computed": 0, "stored": 0}
    assert second.image_signatures(second.by_name["train"]).cache_hits == 30
    second.cache.close()

    scene(np.random.default_rng(99)).save(train / "t0005.png")  # one changed file
    third = _context(train, val, cache)
    changed = _raw(third, "train")
    assert third.memo[STATS_KEY.format(split="train")] == {"decoded": 1, "cached": 29, "computed": 0, "stored": 1}
    assert sum(counted) == 1
    assert not np.allclose(changed[5], vectors[5])
    np.testing.assert_array_equal(np.delete(changed, 5, axis=0), np.delete(vectors, 5, axis=0))
    third.cache.close()


def test_signatures_cached_without_descriptor_are_described_once_then_cached(tmp_path: Path) -> None:
    train, val, _ = write_image_splits(tmp_path / "data", 20, 5, 0, seed=2)
    cache = tmp_path / "cache"
    plain = ScanContext([load_split("train", train), load_split("val", val)], cache=SignatureCache(cache))
    plain.image_signatures(plain.by_name["train"])  # a scan that did not embed filled the cache
    assert plain.image_settings.descriptor is False
    plain.cache.close()
    context = _context(train, val, cache)
    vectors = _raw(context, "train")
    assert context.memo[STATS_KEY.format(split="train")] == {"decoded": 0, "cached": 0, "computed": 20, "stored": 20}
    context.cache.close()
    again = _context(train, val, cache)
    np.testing.assert_array_equal(_raw(again, "train"), vectors)
    assert again.memo[STATS_KEY.format(split="train")]["cached"] == 20
    # without any cache, the decode pass still gives the vectors (one decode), identical to the cached ones
    nocache = _context(train, val, None)
    np.testing.assert_array_equal(_raw(nocache, "train"), vectors)
    assert nocache.memo[STATS_KEY.format(split="train")] == {"decoded": 20, "cached": 0, "computed": 0, "stored": 0}


def test_jpeg_descriptor_from_the_drafted_decode_is_close_to_a_separate_decode(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for split, n in (("train", 6), ("val", 2)):
        (tmp_path / split).mkdir()
        for i in range(n):
            scene(rng, size=64).resize((300, 240)).save(tmp_path / split / f"{i}.jpg", quality=90)
    context = _context(tmp_path / "train", tmp_path / "val", None)
    ours = _raw(context, "train")
    separate = compute_embeddings(context.by_name["train"], ColourGradientEmbedder())
    cos = (ours * separate).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(separate, axis=1))
    assert cos.min() > 0.97  # LANCZOS from the drafted image vs BILINEAR from a second draft decode


def test_callable_is_cached_only_with_a_declared_identity(tmp_path: Path) -> None:
    train, val, _ = write_image_splits(tmp_path / "data", 12, 4, 0, seed=3)
    cache = tmp_path / "cache"
    embedded: list[int] = []

    def mean_colour(batch: np.ndarray) -> np.ndarray:
        embedded.append(len(batch))
        return batch.reshape(len(batch), -1, 3).mean(axis=1) + 1.0

    def run(identity: str | None) -> np.ndarray:
        embedder = CallableImageEmbedder(mean_colour, input_size=16, identity=identity)
        context = _context(train, val, cache, embedder=embedder)
        assert context.image_settings.descriptor is False  # not the default: the decode pass does not describe
        out = _raw(context, "train")
        context.cache.close()
        return out

    anonymous = run(None)
    assert cache_identity(CallableImageEmbedder(mean_colour)) is None
    assert run(None).tolist() == anonymous.tolist() and sum(embedded) == 24  # embedded both times
    embedded.clear()
    named = run("mean-colour-v1")
    assert sum(embedded) == 12
    embedded.clear()
    np.testing.assert_array_equal(run("mean-colour-v1"), named)
    assert embedded == []  # the rescan embeds nothing
    Image.new("RGB", (64, 64), (10, 200, 30)).save(train / "t0003.png")
    changed = run("mean-colour-v1")
    assert sum(embedded) == 1
    np.testing.assert_allclose(changed[3], [11.0, 201.0, 31.0], atol=1e-5)
    run("mean-colour-v2")
    assert sum(embedded) == 1 + 12  # another identity is another key


def _save_script(torch: object, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated, still supported
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))  # type: ignore[attr-defined]
        torch.jit.script(net).save(str(path))  # type: ignore[attr-defined]


def test_torchscript_identity_is_a_digest_of_the_file(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "net.pt"
    torch.manual_seed(0)
    _save_script(torch, path)
    first = cache_identity(torchscript_embedder(path, input_size=8))
    assert first is not None and first == cache_identity(torchscript_embedder(path, input_size=8))
    _save_script(torch, path)
    assert cache_identity(torchscript_embedder(path, input_size=8)) != first  # new weights, same name and size
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    from splitcheck.embed.images import torch_embedder

    assert cache_identity(torch_embedder(module, input_size=8)) is None
    assert cache_identity(torch_embedder(module, input_size=8, identity="my-net-v3")) is not None


def test_learned_cnn_rescan_neither_trains_nor_embeds(tmp_path: Path) -> None:
    train, val, _ = write_image_splits(tmp_path / "data", 40, 8, 0, seed=4)
    cache = tmp_path / "cache"

    def learned() -> LearnedCNNEmbedder:
        return LearnedCNNEmbedder(epochs=2, batch_size=16, width=8, dim=16, threads=1)

    first = _context(train, val, cache, embedder=learned())
    assert first.image_settings.descriptor is False
    vectors = _raw(first, "val")
    embedder = first.memo["embed:embedder"]
    assert embedder.complete and embedder.seconds > 0
    assert first.memo[STATS_KEY.format(split="val")] == {"decoded": 0, "cached": 0, "computed": 8, "stored": 8}
    first.cache.close()
    second = _context(train, val, cache, embedder=learned())
    np.testing.assert_allclose(_raw(second, "val"), vectors, atol=1e-6)
    assert second.memo["embed:embedder"].net is None  # never trained: every vector came from the cache
    second.cache.close()
    cut = LearnedCNNEmbedder(epochs=50, max_seconds=0.0, batch_size=16, width=8, dim=16, threads=1)
    third = _context(train, val, tmp_path / "cache-cut", embedder=cut)
    _raw(third, "val")
    assert not cut.complete and cache_identity(cut) is None
    assert third.memo[STATS_KEY.format(split="val")]["stored"] == 0  # stopped by the clock: not reproducible


def test_configuration_decides_whether_the_decode_pass_describes() -> None:
    assert not decodes_descriptor(Config())
    on = Config(scanners={"embedding_neighbours": {"images": True}})
    assert decodes_descriptor(on) and image_settings(on).descriptor
    learned = Config(scanners={"embedding_neighbours": {"images": True, "embedder": "learned"}})
    assert not decodes_descriptor(learned) and not image_settings(learned).descriptor
    assert DecodeSettings(descriptor=True).key() == DecodeSettings().key()  # hash records stay shared


def test_scan_with_embedder_twice_gives_the_same_findings(tmp_path: Path) -> None:
    train, val, pairs = write_image_splits(tmp_path / "data", 40, 12, 3, seed=6)
    cache = tmp_path / "cache"
    reports = [splitcheck.scan(train=str(train), val=str(val), embedder="colour-gradient", cache_dir=cache)
               for _ in range(2)]
    found = [set(zip(f.evidence["a_id"], f.evidence["b_id"]))
             for report in reports for f in report.findings if f.code == "LK103"]
    assert len(found) == 2 and found[0] == found[1]
    # the three 49 %-area crops are found (the third, v0002, only through its training image's sub-windows), and
    # nothing else
    assert found[0] == pairs


def test_rescan_with_image_embeddings_reads_every_statistics_finding_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statistics scanners read this scan's embeddings; a rescan with the same embedder must still hit their memo
    (their key digests the vectors, not the embedder or index objects, whose repr holds a memory address)."""
    from splitcheck.scanners.base import registered_scanners

    import shutil

    root = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[2] / "fixtures" / "images", root)
    train, val = root / "train", root / "val"
    cache = tmp_path / "cache"
    memoised = [name for name, cls in registered_scanners().items() if cls.memoise]

    def scan() -> splitcheck.Report:
        return splitcheck.scan(train=train, val=val, embedder="colour-gradient", cache_dir=cache, config={})

    first = scan()
    assert {run.name: run.status for run in first.scanners if run.name in memoised} == dict.fromkeys(memoised, "ok")
    assert any(f.code == "LK103" for f in first.findings)  # the embeddings were computed and used

    def boom(self: object, context: object) -> None:
        raise RuntimeError("recomputed")

    for name in memoised:
        monkeypatch.setattr(registered_scanners()[name], "run", boom)
    second = scan()
    assert {run.name: run.status for run in second.scanners if run.name in memoised} == dict.fromkeys(memoised, "ok")
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
