"""The input tree is byte-for-byte unchanged (same paths, same bytes, no new file) after every command:
scan in every report format, baselines, fix --dry-run and fix, and demo."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hardening_corpus import write_images
from helpers import FIXTURES, tree_digest

from splitcheck.cli import main


@pytest.fixture
def inputs(tmp_path):
    """data/: image folders with a leak and a corrupt file, a manifest, tables, text and vectors."""
    data = tmp_path / "data"
    rng = np.random.default_rng(41)
    write_images(data / "train" / "a", rng, 6)
    write_images(data / "train" / "b", rng, 6, prefix="b")
    write_images(data / "val" / "a", rng, 3, prefix="v")
    shutil.copy(data / "train/a/img_002.png", data / "val/a/leak.png")
    (data / "val/a/corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (data / "manifest.csv").write_text("path,label\n" + "".join(f"val/a/v_{i:03d}.png,a\n" for i in range(3)))
    (data / "train.csv").write_text(
        "id,x,label,when\n" + "".join(f"t{i},{i},{i % 2},2020-01-{i + 1:02d}\n" for i in range(8)))
    (data / "val.csv").write_text("id,x,label,when\nv1,3,1,2020-01-02\nv2,99,0,2020-02-01\n")
    (data / "train.jsonl").write_text('{"text": "Hello world", "label": 1}\n{"text": "other", "label": 0}\n')
    (data / "val.jsonl").write_text('{"text": "hello   WORLD", "label": 1}\n')
    np.save(data / "train.npy", rng.normal(size=(10, 4)))
    np.save(data / "val.npy", rng.normal(size=(4, 4)))
    return data


def _run(*args: object, code: int | None = None) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code if code is not None else result.exit_code in (0, 1), (args, result.output)
    return result.output


def test_scan_in_every_format_leaves_the_data_unchanged(inputs, tmp_path):
    before = tree_digest(inputs)
    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("terminal", "json", "markdown", "junit", "html"):
        _run("scan", inputs / "train", inputs / "val", "--format", fmt, "-o", out / f"report.{fmt}", "--no-progress",
             code=1)
    _run("scan", inputs / "train", inputs / "manifest.csv", "--no-progress", "--write-baseline", out / "base.json",
         code=0)
    _run("scan", inputs / "train", inputs / "val", "--no-progress", "--baseline", out / "base.json", code=1)
    _run("scan", inputs / "train.csv", inputs / "val.csv", "--time-column", "when", "--no-progress", code=1)
    _run("scan", inputs / "train.jsonl", inputs / "val.jsonl", "--no-progress", code=1)  # a case/space variant
    _run("scan", inputs / "train.npy", inputs / "val.npy", "--no-progress")
    assert tree_digest(inputs) == before
    assert sorted(p.name for p in out.iterdir()) == ["base.json", "report.html", "report.json", "report.junit",
                                                     "report.markdown", "report.terminal"]


def test_fix_dry_run_and_fix_leave_the_data_unchanged(inputs, tmp_path):
    before = tree_digest(inputs)
    output = tmp_path / "cleaned"
    dry = _run("fix", inputs / "train", inputs / "val", "-o", output, "--dry-run", "--no-progress")
    assert "dry run: nothing written" in dry and "drop val/a/leak.png" in dry
    assert not output.exists()
    _run("fix", inputs / "train", inputs / "val", "-o", output, "--strategy", "move", "--no-progress")
    assert sorted(p.name for p in output.iterdir()) == ["changes.csv", "train.csv", "val.csv"]
    inside = _run("fix", inputs / "train", inputs / "val", "-o", inputs / "val" / "cleaned", "--no-progress", code=2)
    assert "lies inside the folder of split 'val'" in inside
    assert tree_digest(inputs) == before


def test_demo_leaves_the_fixtures_unchanged(tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    before = tree_digest(fixtures)
    output = _run("demo", "--fixtures", fixtures, code=0)
    assert "=== Image folders with planted copies ===" in output and "LK101" in output
    assert tree_digest(fixtures) == before
    assert tree_digest(Path(FIXTURES)) == before  # and the repository's own copy was never touched either
