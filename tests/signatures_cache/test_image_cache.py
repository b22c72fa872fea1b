"""The signature cache in a real scan: rescans hit, renamed files hit, changed files are recomputed."""

from __future__ import annotations

import os
import shutil

import numpy as np
from click.testing import CliRunner
from PIL import Image

import splitcheck
from splitcheck.cli import main
from splitcheck.scanners.base import registered_scanners


def notes(report, split):
    return next(s["notes"] for s in report.splits if s["name"] == split)


def test_rescan_rename_and_change(image_splits, tmp_path, rng):
    cache = tmp_path / "cache"
    kwargs = dict(train=image_splits["train"], val=image_splits["val"], config={}, cache_dir=cache)
    first = splitcheck.scan(**kwargs)
    assert "images: 20 decoded, 0 from the signature cache" in notes(first, "train")
    second = splitcheck.scan(**kwargs)
    assert "images: 0 decoded, 20 from the signature cache" in notes(second, "train")
    assert "images: 0 decoded, 10 from the signature cache" in notes(second, "val")
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    # a renamed file is found by its content; a changed file is decoded again
    os.rename(image_splits["train"] / "cat/cat_00.png", image_splits["train"] / "cat/renamed.png")
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(image_splits["train"] / "dog/dog_00.png")
    third = splitcheck.scan(**kwargs)
    assert "images: 1 decoded, 19 from the signature cache" in notes(third, "train")


def test_no_cache_writes_nothing_and_cache_commands(image_splits, tmp_path):
    cache = tmp_path / "cache"
    first = splitcheck.scan(train=image_splits["train"], val=image_splits["val"], config={}, cache_dir=cache,
                            use_cache=False)
    assert not cache.exists()
    memoised = [r.name for r in first.scanners if r.status == "ok" and registered_scanners()[r.name].memoise]
    assert memoised == ["near_duplicates", "class_distribution", "feature_drift", "difficulty_gap"]  # not: adversarial
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(image_splits["train"]), str(image_splits["val"]), "--cache-dir",
                                  str(cache), "--no-progress"])
    assert result.exit_code == 0, result.output
    info = runner.invoke(main, ["cache", "info", "--cache-dir", str(cache)])
    assert info.exit_code == 0
    assert "files: 30" in info.output
    # 30 images + 3 memoised pair searches (val-train, train, val) + the findings of the 4 memoised scanners
    assert "signatures: 37" in info.output
    cleared = runner.invoke(main, ["cache", "clear", "--cache-dir", str(cache)])
    assert cleared.exit_code == 0 and "MB freed" in cleared.output
    info = runner.invoke(main, ["cache", "info", "--cache-dir", str(cache)])
    assert "signatures: 0" in info.output


def test_other_settings_do_not_reuse_signatures(image_splits, tmp_path):
    cache = tmp_path / "cache"
    kwargs = dict(train=image_splits["train"], val=image_splits["val"], cache_dir=cache)
    splitcheck.scan(**kwargs, config={})
    other = splitcheck.scan(**kwargs, config={"near-duplicates": {"hash-size": 16}})
    assert "images: 20 decoded, 0 from the signature cache" in notes(other, "train")


def test_copied_dataset_hits_by_content(image_splits, tmp_path):
    cache = tmp_path / "cache"
    splitcheck.scan(train=image_splits["train"], val=image_splits["val"], config={}, cache_dir=cache)
    copy = tmp_path / "copy"
    shutil.copytree(image_splits["train"], copy / "train")
    shutil.copytree(image_splits["val"], copy / "val")
    report = splitcheck.scan(train=copy / "train", val=copy / "val", config={}, cache_dir=cache)
    assert "images: 0 decoded, 20 from the signature cache" in notes(report, "train")
