from __future__ import annotations

from pathlib import Path

import numpy as np
from embed_synth import scene, write_image_splits
from PIL import Image

from splitcheck.context import ScanContext
from splitcheck.embed.context import configure, embedder_for
from splitcheck.embed.learned import LearnedCNNEmbedder
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner


def _pixels(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([np.asarray(scene(rng).resize((32, 32))) for _ in range(n)])


def test_training_is_deterministic_and_uses_labels() -> None:
    pixels = _pixels(48)
    labels = np.array([i % 3 for i in range(48)], dtype=object)
    a = LearnedCNNEmbedder(epochs=2, batch_size=16, width=8, dim=16, threads=1).fit_arrays(pixels, labels)
    b = LearnedCNNEmbedder(epochs=2, batch_size=16, width=8, dim=16, threads=1).fit_arrays(pixels, labels)
    assert len(a.history) == 2 and all(np.isfinite(a.history))
    assert a.net.classifier is not None and a.net.classifier.out_features == 3
    va, vb = a.embed(pixels[:5]), b.embed(pixels[:5])
    assert va.shape == (5, 16) and va.dtype == np.float32
    np.testing.assert_allclose(va, vb, atol=1e-5)
    assert a.identity == b.identity
    c = LearnedCNNEmbedder(epochs=2, batch_size=16, width=8, dim=16, threads=1).fit_arrays(pixels, None)
    assert c.net.classifier is None and c.identity != a.identity


def test_learned_embedder_runs_in_a_scan_and_finds_copies(tmp_path: Path) -> None:
    train, val, _ = write_image_splits(tmp_path, 60, 12, 0, seed=3)
    for i in (4, 17):  # a re-encoded and a mirrored copy
        image = Image.open(train / f"t{i:04d}.png")
        if i == 17:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        image.save(val / f"copy{i}.jpg" if i == 4 else val / f"copy{i}.png", quality=95)
    context = ScanContext([load_split("train", train), load_split("val", val)])
    configure(context, embedder=LearnedCNNEmbedder(epochs=3, batch_size=20, width=8, dim=32, threads=1))
    findings = EmbeddingNeighbourScanner(within_split=False).run(context)
    assert embedder_for(context).seconds > 0
    (lk103,) = [f for f in findings if f.code == "LK103"]
    assert {("copy4.jpg", "t0004.png"), ("copy17.png", "t0017.png")} <= set(zip(lk103.evidence["a_id"],
                                                                                 lk103.evidence["b_id"]))
    assert (lk103.evidence["method"] == "embedding:learned").all()
