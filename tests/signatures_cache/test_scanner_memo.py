"""The statistics scanners' findings are memoised in the signature cache and recomputed when an input changes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import splitcheck
from splitcheck.scanner_memo import MEMO_ALGO
from splitcheck.scanners.base import registered_scanners
from splitcheck.signatures.cache import DB_NAME

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
MEMOISED = [name for name, cls in registered_scanners().items() if cls.memoise]


@pytest.fixture()
def splits(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(FIXTURES, root)
    for image in (root / "val" / "ship").iterdir():  # no ships left in val: the class mix differs (DS101)
        image.rename(root / "val" / "bird" / image.name)
    return root


def _scan(root: Path, cache: Path) -> splitcheck.Report:
    return splitcheck.scan(train=root / "train", val=root / "val", cache_dir=cache, config={})


def _statuses(report: splitcheck.Report) -> dict[str, str]:
    return {run.name: run.status for run in report.scanners if run.name in MEMOISED}


def _refuse_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, context):
        raise RuntimeError("recomputed")

    for name in MEMOISED:
        monkeypatch.setattr(registered_scanners()[name], "run", boom)


def test_rescan_reads_the_statistics_findings_and_a_changed_input_recomputes_them(splits, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = _scan(splits, cache)
    assert MEMOISED == ["near_duplicates", "class_distribution", "feature_drift", "adversarial_validation",
                        "difficulty_gap"]
    assert _statuses(first) == dict.fromkeys(MEMOISED, "ok")
    statistics = [f for f in first.findings if f.scanner in MEMOISED]
    assert {f.code for f in statistics} >= {"DS101"} and any(f.evidence is not None for f in statistics)

    _refuse_to_run(monkeypatch)  # from here on, running a statistics scanner fails it
    second = _scan(splits, cache)
    assert _statuses(second) == dict.fromkeys(MEMOISED, "ok")
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]

    # one validation image moves to another class: its label changes, every statistics scanner reruns
    moved = min((splits / "val" / "car").iterdir())
    moved.rename(splits / "val" / "flower" / moved.name)
    third = _scan(splits, cache)
    assert _statuses(third) == dict.fromkeys(MEMOISED, "failed")
    assert {run.reason for run in third.scanners if run.name in MEMOISED} == {"RuntimeError: recomputed"}


def test_a_damaged_memo_is_recomputed(splits, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = _scan(splits, cache)
    conn = sqlite3.connect(cache / DB_NAME)
    with conn:
        damaged = conn.execute("UPDATE signatures SET payload = ? WHERE algo = ?", (b"\x07garbage", MEMO_ALGO)).rowcount
    conn.close()
    assert damaged == len(MEMOISED)
    second = _scan(splits, cache)  # the damaged rows are recomputed and stored again
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    _refuse_to_run(monkeypatch)
    third = _scan(splits, cache)
    assert _statuses(third) == dict.fromkeys(MEMOISED, "ok")
