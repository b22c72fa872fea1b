"""On 2,400 images, `scan --executor dask` with the multi-index hashing search reports exactly the near-copy
pairs (LK102, DQ202) of a local scan with faiss flat search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")

from helpers import blocky, transformed

from splitcheck.cli import main

N_TRAIN, N_VAL, N_COPIES, N_INSIDE = 1_800, 600, 120, 30


@pytest.fixture(scope="module")
def image_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str]]]:
    """1,800 training images (30 of them near-copies of others) and 600 validation images (120 near-copies of
    training images: brighter, mirrored, noisy, lower contrast). Returns the folder and the planted pairs."""
    root = tmp_path_factory.mktemp("multihash")
    rng = np.random.default_rng(2026)
    train = [blocky(rng) for _ in range(N_TRAIN - N_INSIDE)]
    train += [transformed(train[k], k, rng) for k in range(N_INSIDE)]
    (root / "train/a").mkdir(parents=True)
    (root / "val/a").mkdir(parents=True)
    for i, image in enumerate(train):
        image.save(root / f"train/a/{i:04d}.png")
    planted = []
    for i in range(N_VAL):
        if i < N_COPIES:
            source = 100 + 11 * i
            transformed(train[source], i, rng).save(root / f"val/a/{i:04d}.png")
            planted.append((f"a/{i:04d}.png", f"a/{source:04d}.png"))
        else:
            blocky(rng).save(root / f"val/a/{i:04d}.png")
    return root, planted


def near_findings(root: Path, tmp_path: Path, index: str, *extra: str) -> dict[str, list[dict]]:
    config = tmp_path / f"{index}.toml"
    config.write_text(f'[near-duplicates]\nindex = "{index}"\n', encoding="utf-8")
    out = tmp_path / f"{index}.json"
    result = CliRunner().invoke(main, ["scan", str(root / "train"), str(root / "val"), "--format", "json",
                                       "--output", str(out), "--config", str(config), "--no-cache",
                                       "--no-progress", "--exit-zero", *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    found: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        if finding["code"] in ("LK102", "DQ202"):
            columns = finding["evidence"]["columns"]
            found[finding["code"]] = sorted((dict(zip(columns, row)) for row in finding["evidence"]["rows"]), key=str)
    return found


def test_dask_multihash_scan_reports_the_local_flat_scans_pairs(image_set, tmp_path: Path):
    root, planted = image_set
    flat = near_findings(root, tmp_path, "flat", "-j", "1")
    fast = near_findings(root, tmp_path, "multihash", "--executor", "dask", "-j", "2")
    assert set(flat) == set(fast) == {"LK102", "DQ202"}
    assert flat == fast
    pairs = {(row["a_id"], row["b_id"]) for row in flat["LK102"]}
    assert set(planted) <= pairs and len(pairs) <= len(planted) + 5
    assert len(flat["DQ202"]) >= 2 * N_INSIDE
