"""Sub-windows and the orientation part of the default image descriptor, and the owner-grouped search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from embed_synth import scene, strong_crop, write_train_scenes
from PIL import Image, ImageEnhance

from splitcheck.context import ScanContext
from splitcheck.embed.images import ColourGradientEmbedder
from splitcheck.embed.views import grouped_search
from splitcheck.index.knn import KnnIndex
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_views_are_the_whole_vector_then_windows_that_match_their_crops() -> None:
    rng = np.random.default_rng(0)
    batch = np.stack([np.asarray(scene(rng)) for _ in range(6)])
    e = ColourGradientEmbedder()
    views = e.embed_views(batch).reshape(6, 6, e.raw_dim)
    np.testing.assert_array_equal(views[:, 0], e.embed(batch))
    # window 0 is the top-left 48 px square: described like that square on its own (borders differ slightly)
    alone = e.embed(np.ascontiguousarray(batch[:, :48, :48]))
    assert _cosine(views[:, 1], alone).min() > 0.98
    assert _cosine(views[:, 1], views[:, 0]).max() < 0.98  # and is not the whole image
    # mirroring the image swaps the left and right windows; the centre window stays (orientation and absolute
    # colour exactly; the windows' relative colour is binned on every other pixel, which mirroring shifts by one)
    mirrored = ColourGradientEmbedder().embed_views(np.ascontiguousarray(batch[:, :, ::-1])).reshape(6, 6, -1)
    n_colour = e.colour_bins ** 2 + 4  # colour cells (1x1 then 2x2) hold absolute then relative bins
    cells = np.arange(e.raw_dim - e.parts["orientation"].stop) % (2 * n_colour) < n_colour
    exact = np.r_[np.ones(e.parts["orientation"].stop, bool), cells]
    for a, b in ((0, 0), (1, 2), (2, 1), (3, 4), (4, 3), (5, 5)):
        np.testing.assert_allclose(mirrored[:, a][:, exact], views[:, b][:, exact], atol=1e-5)
        assert _cosine(mirrored[:, a], views[:, b]).min() > 0.99
    np.testing.assert_allclose(mirrored[:, 0], views[:, 0], atol=1e-5)
    assert ColourGradientEmbedder(windows=0).identity != e.identity
    assert ColourGradientEmbedder(windows=0).embed_views(batch).shape == (6, e.raw_dim)
    with pytest.raises(ValueError, match="windows must be 0 or 5"):
        ColourGradientEmbedder(windows=3)


def test_grouped_search_is_the_best_window_of_each_distinct_owner() -> None:
    rng = np.random.default_rng(1)
    n, per, dim = 50, 6, 16
    base = rng.normal(size=(n * per, dim)).astype(np.float32)
    owners = np.repeat(np.arange(n), per)
    queries = rng.normal(size=(30, dim)).astype(np.float32)
    index = KnnIndex(base, "flat")
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    best = (q @ unit.T).reshape(30, n, per).max(axis=2)
    result = grouped_search(index, owners, per, queries, 3)
    expected = np.argsort(-best, axis=1)[:, :3]
    np.testing.assert_array_equal(result.indices, expected)
    np.testing.assert_allclose(result.similarities, np.take_along_axis(best, expected, axis=1), atol=1e-5)
    # leave-one-out: a query that is an owner's own window never returns that owner
    own = np.arange(0, 30)
    loo = grouped_search(index, owners, per, base[own * per], 1, self_owners=own)
    best_self = (unit[own * per] @ unit.T).reshape(30, n, per).max(axis=2)
    best_self[np.arange(30), own] = -np.inf
    np.testing.assert_array_equal(loo.indices[:, 0], best_self.argmax(axis=1))
    np.testing.assert_allclose(loo.similarities[:, 0], best_self.max(axis=1), atol=1e-5)


def _recoloured(image: Image.Image) -> Image.Image:
    """Colour channels rotated (a strong hue change) and 15 % brighter: the colour histograms move, the luminance
    edges do not."""
    r, g, b = image.split()
    return ImageEnhance.Brightness(Image.merge("RGB", (g, b, r))).enhance(1.15)


@pytest.fixture(scope="module")
def hard_copies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, set[tuple[str, str]]]]:
    """600 train scenes; 60 val: 5 strong crops (36 % of the area), 5 recoloured copies, 50 new scenes."""
    root = tmp_path_factory.mktemp("hard")
    rng = np.random.default_rng(11)
    train = write_train_scenes(root, rng, 600, digits=4)
    sources = rng.choice(600, 10, replace=False)
    planted: dict[str, set[tuple[str, str]]] = {"crop": set(), "recolour": set()}
    for j in range(60):
        if j < 10:
            kind = "crop" if j < 5 else "recolour"
            source = train[sources[j]]
            image = strong_crop(source, rng, keep=0.6) if kind == "crop" else _recoloured(source)
            planted[kind].add((f"v{j:04d}.png", f"t{sources[j]:04d}.png"))
        else:
            image = scene(rng)
        image.save(root / "val" / f"v{j:04d}.png")
    return root / "train", root / "val", planted


def _lk103(train: Path, val: Path, **settings: object) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    context = ScanContext([load_split("train", train), load_split("val", val)])
    found = [f for f in EmbeddingNeighbourScanner(**settings).run(context) if f.code == "LK103"]
    if not found:
        return set(), {}
    ev = found[0].evidence
    pairs = list(zip(ev["a_id"], ev["b_id"]))
    return set(pairs), dict(zip(pairs, ev["method"]))


def test_crops_are_found_through_windows_and_jitter_through_the_orientation_part(hard_copies) -> None:  # type: ignore[no-untyped-def]
    train, val, planted = hard_copies
    # z >= 6.5, not the default 5: this generator's scenes are all alike (random shapes on a gradient) and three new
    # val scenes reach z 5.7-5.8 against some training image's window; the planted copies score z 10-52
    found, methods = _lk103(train, val, z_threshold=6.5)
    assert found == planted["crop"] | planted["recolour"]
    assert {methods[p] for p in planted["recolour"]} == {"embedding:colour-gradient/orientation"}
    assert {methods[p] for p in planted["crop"]} == {"embedding:colour-gradient"}
    # without the windows or the part, those copies are missed
    without_windows, _ = _lk103(train, val, z_threshold=6.5, windows=False, parts=False)
    assert without_windows < found and not planted["recolour"] & without_windows
    assert len(planted["crop"] & without_windows) < len(planted["crop"])
    # the part search needs part-min-items earlier items
    no_part, _ = _lk103(train, val, z_threshold=6.5, part_min_items=601)
    assert no_part == planted["crop"]
