"""Shared fixtures: small splits built on disk in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import random_image


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own signature cache folder (never the user's ~/.cache)."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SPLITCHECK_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def image_splits(tmp_path: Path, rng: np.random.Generator) -> dict[str, Path]:
    """train/ and val/ ImageFolder trees of random PNGs, 2 classes, 10 + 5 per class, no duplicates."""
    roots = {}
    for split, per_class in (("train", 10), ("val", 5)):
        for cls in ("cat", "dog"):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(per_class):
                random_image(rng).save(folder / f"{cls}_{i:02d}.png")
        roots[split] = tmp_path / split
    return roots
