from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from embed_synth import scene, write_image_splits, write_train_scenes
from PIL import Image

from splitcheck.context import ScanContext
from splitcheck.embed.context import configure, embeddings_for, resolve_embedder
from splitcheck.embed.images import (
    CallableImageEmbedder,
    ColourGradientEmbedder,
    _weights_file,
    named_image_embedder,
    torch_embedder,
    torchscript_embedder,
)
from splitcheck.errors import InputError, MissingExtraError
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner


def test_colour_gradient_is_mirror_invariant_and_sized() -> None:
    rng = np.random.default_rng(0)
    batch = np.stack([np.asarray(scene(rng)) for _ in range(5)])
    e = ColourGradientEmbedder()
    out = e.embed(batch)
    assert out.shape == (5, e.raw_dim) and out.dtype == np.float32
    np.testing.assert_allclose(out, e.embed(np.ascontiguousarray(batch[:, :, ::-1])), atol=1e-5)
    assert not np.allclose(out[0], out[1])
    assert e.identity == ColourGradientEmbedder().identity != ColourGradientEmbedder(colour_bins=4).identity


def test_strong_crops_are_found_exactly_with_no_false_pair(tmp_path: Path) -> None:
    """160 train + 40 val scenes; 8 val images are crops keeping 49 % of a train image's area."""
    train, val, planted = write_image_splits(tmp_path, 160, 40, 8, seed=0)
    context = ScanContext([load_split("train", train), load_split("val", val)])
    findings = EmbeddingNeighbourScanner().run(context)
    lk103 = [f for f in findings if f.code == "LK103"]
    assert len(lk103) == 1
    ev = lk103[0].evidence
    assert set(zip(ev["a_id"], ev["b_id"])) == planted
    assert (ev["method"] == "embedding:colour-gradient").all()
    assert (ev["rank"] == 1).all()
    threshold = lk103[0].metrics["similarity_threshold"]
    assert (ev["similarity"] >= threshold).all() and (ev["z_score"] >= 5).all()
    assert lk103[0].metrics["n_affected"] == 8 and lk103[0].metrics["ratio_affected"] == pytest.approx(0.2)
    assert not [f for f in findings if f.code == "DQ203"]


class TinyImageNet(torch.nn.Module):
    """A fixed 'network': average-pool to 8x8 colour thumbnails, centred per image (a tiny-image embedder)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1) * self.scale
        return t - t.mean(dim=1, keepdim=True)


def _copies_dataset(root: Path) -> tuple[Path, Path, set[tuple[str, str]]]:
    """train scenes; val: 4 JPEG re-encodes of train scenes at half size, 16 new scenes."""
    rng = np.random.default_rng(5)
    train = write_train_scenes(root, rng, 60, digits=2)
    pairs = set()
    for j in range(20):
        if j < 4:
            train[10 * j].resize((32, 32)).save(root / "val" / f"v{j:02d}.jpg", quality=85)
            pairs.add((f"v{j:02d}.jpg", f"t{10 * j:02d}.png"))
        else:
            scene(rng).save(root / "val" / f"v{j:02d}.png")
    return root / "train", root / "val", pairs


def test_a_torch_module_is_used_as_the_embedder(tmp_path: Path) -> None:
    train, val, planted = _copies_dataset(tmp_path)
    context = ScanContext([load_split("train", train), load_split("val", val)])
    net = TinyImageNet()
    configure(context, embedder=torch_embedder(net, input_size=32, name="tiny"))
    vectors = embeddings_for(context, context.splits[1])
    assert vectors.shape == (20, 192)
    findings = EmbeddingNeighbourScanner().run(context)
    (lk103,) = [f for f in findings if f.code == "LK103"]
    assert set(zip(lk103.evidence["a_id"], lk103.evidence["b_id"])) == planted
    assert (lk103.evidence["method"] == "embedding:tiny").all()


def test_module_identity_follows_weights_and_torchscript_matches(tmp_path: Path) -> None:
    net = TinyImageNet()
    a = torch_embedder(net, input_size=32)
    net2 = TinyImageNet()
    net2.scale.data.fill_(2.0)
    assert a.identity != torch_embedder(net2, input_size=32).identity
    assert resolve_embedder(net, "image").identity == torch_embedder(net).identity
    path = tmp_path / "tiny.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated in torch 2.13
        torch.jit.script(net).save(str(path))
    scripted = resolve_embedder(str(path), "image")
    scripted.input_size = 32
    batch = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(scripted.embed(batch), a.embed(batch), atol=1e-5)
    assert scripted.identity.startswith("torchscript:tiny.pt:")


def test_bad_torchscript_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.pt: TorchScript file not found"):
        torchscript_embedder(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match=r"junk\.pt: not a TorchScript file"):
        torchscript_embedder(tmp_path / "junk.pt")


def test_named_models_never_download_and_say_what_is_missing(tmp_path: Path) -> None:
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(InputError) as info:
        _weights_file(None, expected, "torchvision:resnet18", "https://example.invalid/resnet18-f37072fd.pth")
    message = str(info.value)
    assert f"weights file {expected} not found" in message and "never downloads" in message
    assert "torchvision:resnet18@/path/to/file" in message
    for spec in ("torchvision:resnet18", "timm:resnet18", "open_clip:ViT-B-32@/x.bin"):
        try:
            named_image_embedder(spec)
        except MissingExtraError as exc:  # the library is not installed here
            assert "pip install" in str(exc)
        except InputError as exc:  # installed, but the weights are not on disk
            assert "not found" in str(exc) or "give the weights file" in str(exc)
        else:  # pragma: no cover - weights present on this machine
            pass
    with pytest.raises(InputError, match="unknown library 'keras'"):
        named_image_embedder("keras:resnet")
    with pytest.raises(InputError, match="unknown embedder 'tfidf' for image splits"):
        resolve_embedder("tfidf", "image")


def test_callable_embedder_output_is_checked(tmp_path: Path) -> None:
    bad = CallableImageEmbedder(lambda b: np.full((len(b), 4), np.nan), input_size=16, name="nan-model")
    with pytest.raises(InputError, match="embedder nan-model returned NaN or inf in 2 of 2 rows"):
        bad.embed(np.zeros((2, 16, 16, 3), np.uint8))
    short = CallableImageEmbedder(lambda b: np.zeros((1, 4)), input_size=16, name="short")
    with pytest.raises(InputError, match=r"returned shape \(1, 4\) for a batch of 2 items"):
        short.embed(np.zeros((2, 16, 16, 3), np.uint8))


def test_unreadable_images_get_zero_vectors_and_match_nothing(tmp_path: Path) -> None:
    train, val, _ = write_image_splits(tmp_path, 40, 10, 0, seed=2)
    (val / "broken.png").write_bytes(b"\x89PNG truncated")
    Image.open(train / "t0001.png").save(val / "copy.png")
    context = ScanContext([load_split("train", train), load_split("val", val)])
    vectors = embeddings_for(context, context.splits[1])
    ids = list(context.splits[1].ids)
    assert not vectors[ids.index("broken.png")].any()
    findings = EmbeddingNeighbourScanner().run(context)
    (lk103,) = [f for f in findings if f.code == "LK103"]
    assert list(zip(lk103.evidence["a_id"], lk103.evidence["b_id"])) == [("copy.png", "t0001.png")]
    assert lk103.evidence["distance"].iloc[0] == pytest.approx(0.0, abs=1e-5)
