"""Faults around the signature cache: an interrupted scan (SIGINT) keeps what it computed and a re-run gives
the same findings; a corrupt database is rebuilt with a warning; damaged records are recomputed; two scans
share one cache at the same time; an unusable cache folder turns the cache off with a warning."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hardening_corpus import write_images
from PIL import Image

import splitcheck
from splitcheck.scanner_memo import MEMO_ALGO
from splitcheck.signatures.cache import DB_NAME, CacheWarning

N_TRAIN, N_VAL = 160, 24


def _scan_command(data: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "splitcheck", "scan", str(data / "train"), str(data / "val"), "--no-progress",
            "--format", "json", "--output", str(output), *extra]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "SPLITCHECK_CACHE_DIR": str(cache)}


def _count(db: Path, table: str = "signatures", where: str = "") -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _from_cache(report: dict) -> int:
    total = 0
    for split in report["splits"]:
        (note,) = [n for n in split["notes"] if n.startswith("images: ")]
        total += int(note.split(", ")[1].split(" ")[0])
    return total


def _scan_json(root: Path, **kwargs: object) -> dict:
    return json.loads(splitcheck.scan(train=root / "train", val=root / "val", config={}, **kwargs).to_json())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """160 + 24 distinct 64 px PNGs (stored uncompressed) and one leak; the findings of an uncached scan."""
    root = tmp_path_factory.mktemp("interrupt")
    rng = np.random.default_rng(31)
    for split, n in (("train", N_TRAIN), ("val", N_VAL)):
        folder = root / split / "c"
        folder.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
                folder / f"{i:03d}.png", compress_level=0)
    shutil.copy(root / "train/c/007.png", root / "val/c/leak.png")
    baseline = _scan_json(root, use_cache=False, jobs=1)
    assert [f["code"] for f in baseline["findings"]] == ["LK101"]
    return root, baseline


@pytest.mark.parametrize("target", ["process", "process-group"])
def test_interrupted_scan_keeps_its_work_and_a_rerun_matches(dataset, tmp_path, target):
    """SIGINT once the first chunk is in the cache: exit 130 with one line; the finished chunks stay cached
    and a re-run reuses exactly them and reports the findings of an uninterrupted scan."""
    root, baseline = dataset
    cache = tmp_path / "cache"
    db = cache / DB_NAME
    output = tmp_path / "interrupted.json"
    # the scan gets the default Ctrl-C disposition even where this test inherited SIGINT ignored (a job started
    # with & from a script, under nohup): Python turns SIGINT into KeyboardInterrupt only if it is not ignored
    process = subprocess.Popen(_scan_command(root, output, "--jobs", "2"), env=_env(cache), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and _count(db) == 0 and time.monotonic() < deadline:
            time.sleep(0.002)
        assert process.poll() is None, "the scan ended before any chunk was stored: nothing to interrupt"
        if target == "process":
            os.kill(process.pid, signal.SIGINT)
        else:  # what Ctrl-C in a terminal does: every process of the job, workers included
            os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)  # a hang after Ctrl-C fails here
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130
    assert stderr == "splitcheck: interrupted\n" and stdout == ""
    assert not output.exists()
    assert list(cache.glob("*corrupt*")) == []
    stored = _count(db, where="WHERE algo LIKE 'img-%'")  # image records (not pair lists or memoised findings)
    assert 0 < stored < N_TRAIN + N_VAL + 1
    assert _count(db, "files") >= stored

    rerun = _scan_json(root, cache_dir=cache, jobs=2)
    # every finished chunk is reused, nothing else: the stored records, plus the val leak (a byte copy of a
    # train image, whose record is in the cache by the time val is scanned)
    assert _from_cache(rerun) == stored + 1
    assert rerun["findings"] == baseline["findings"]
    # every distinct image, the memoised pair lists, and the findings of the near-duplicate and 4 statistics scanners
    assert _count(db, where=f"WHERE algo != '{MEMO_ALGO}'") == N_TRAIN + N_VAL + 3
    assert _count(db, where=f"WHERE algo = '{MEMO_ALGO}'") == 5


def test_two_scans_share_one_cache_at_the_same_time(dataset, tmp_path):
    root, baseline = dataset
    cache = tmp_path / "cache"
    outputs = [tmp_path / "a.json", tmp_path / "b.json"]
    processes = [subprocess.Popen(_scan_command(root, out, "--jobs", "1"), env=_env(cache), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for out in outputs]
    try:
        results = [p.communicate(timeout=300) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in processes] == [1, 1]
    assert [err for _, err in results] == ["", ""]  # no "cache busy" or "corrupt" warning
    for out in outputs:
        assert json.loads(out.read_text())["findings"] == baseline["findings"]
    third = _scan_json(root, cache_dir=cache, jobs=1)
    assert _from_cache(third) == N_TRAIN + N_VAL + 1
    assert third["findings"] == baseline["findings"]


@pytest.fixture
def small(tmp_path):
    rng = np.random.default_rng(32)
    write_images(tmp_path / "train" / "c", rng, 12)
    write_images(tmp_path / "val" / "c", rng, 5, prefix="v")
    shutil.copy(tmp_path / "train/c/img_003.png", tmp_path / "val/c/leak.png")
    return {"train": tmp_path / "train", "val": tmp_path / "val", "config": {}}


def _findings(report) -> list[dict]:
    return [f.to_dict() for f in report.findings]


def _notes(report) -> list[str]:
    return [n for s in report.splits for n in s["notes"] if n.startswith("images: ")]


def test_corrupt_database_is_rebuilt_with_a_warning_and_the_scan_is_unchanged(small, tmp_path):
    expected = _findings(splitcheck.scan(**small, use_cache=False))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / DB_NAME).write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    with pytest.warns(CacheWarning, match=r"is corrupt .*; moved to signatures-v1.sqlite.corrupt-\d+ and rebuilt"):
        first = splitcheck.scan(**small, cache_dir=cache)
    assert _findings(first) == expected
    assert len(list(cache.glob(f"{DB_NAME}.corrupt-*"))) == 1
    second = splitcheck.scan(**small, cache_dir=cache)  # the rebuilt cache works: no warning, all hits
    assert _findings(second) == expected
    assert _notes(second) == ["images: 0 decoded, 12 from the signature cache",
                              "images: 0 decoded, 6 from the signature cache"]


def test_damaged_cached_records_are_recomputed(small, tmp_path):
    cache = tmp_path / "cache"
    expected = _findings(splitcheck.scan(**small, cache_dir=cache))
    with sqlite3.connect(cache / DB_NAME) as conn:
        damaged = conn.execute(
            "UPDATE signatures SET payload = substr(payload, 1, 20) WHERE algo LIKE 'img-%'").rowcount
    assert damaged == 17  # 18 images, the leak being a byte copy
    again = splitcheck.scan(**small, cache_dir=cache)
    assert _findings(again) == expected
    # the leak's record, recomputed with train and stored at once, is found again for val
    assert _notes(again) == ["images: 12 decoded, 0 from the signature cache",
                             "images: 5 decoded, 1 from the signature cache"]
    assert _notes(splitcheck.scan(**small, cache_dir=cache)) == ["images: 0 decoded, 12 from the signature cache",
                                                                 "images: 0 decoded, 6 from the signature cache"]


def test_unusable_cache_folder_runs_without_cache(small, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    expected = _findings(splitcheck.scan(**small, use_cache=False))
    with pytest.warns(CacheWarning, match=r"signature cache .* unusable .*; running without cache"):
        report = splitcheck.scan(**small, cache_dir=blocker / "cache")
    assert _findings(report) == expected
    assert blocker.read_text() == "a file where the cache folder should be"
