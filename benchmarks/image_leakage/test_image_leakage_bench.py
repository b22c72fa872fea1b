"""Checks of the benchmark harness itself (not of splitcheck): generator, scoring, measuring, run.py.

Run with ``python -m pytest benchmarks/image_leakage -q -p no:cacheprovider`` (not part of tests/; a few
seconds).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate
from measure import run_measured
from score import Truth, at_precision, score, splitcheck_pairs

TRUTH = {
    "n_train": 10, "n_val": 6, "transforms": ["exact", "flip", "rotation"],
    "pairs": [
        {"val_id": "a/1.jpg", "train_id": "a/9.jpg", "transform": "exact"},
        {"val_id": "a/2.jpg", "train_id": "a/8.jpg", "transform": "flip"},
        {"val_id": "b/3.png", "train_id": "b/7.png", "transform": "flip"},
        {"val_id": "b/4.png", "train_id": "b/7.png", "transform": "rotation"},
    ],
    "distractors": [{"val_id": "b/5.png", "train_id": "b/6.png"}],
}


def test_score_counts_each_pair_once_and_splits_false_positives():
    truth = Truth.from_dict(TRUTH)
    predicted = [("a/1.jpg", "a/9.jpg"), ("a/1.jpg", "a/9.jpg"), ("b/3.png", "b/7.png"),
                 ("b/5.png", "b/6.png"), ("a/2.jpg", "b/7.png")]
    result = score(predicted, truth)
    assert (result.n_predicted, result.tp, result.fp, result.fp_distractor) == (4, 2, 2, 1)
    assert result.precision == pytest.approx(0.5)
    assert result.recall_all == pytest.approx(0.5)
    assert result.f1 == pytest.approx(0.5)
    assert result.recall == {"exact": 1.0, "flip": 0.5, "rotation": 0.0}
    assert result.missed == {"flip": [["a/2.jpg", "a/8.jpg"]], "rotation": [["b/4.png", "b/7.png"]]}
    assert result.false_positives == [["a/2.jpg", "b/7.png"], ["b/5.png", "b/6.png"]]


def test_a_peer_is_scored_at_its_loosest_cut_off_that_keeps_the_precision():
    truth = Truth.from_dict(TRUTH)
    similarities = [("a/1.jpg", "a/9.jpg", 0.99), ("a/1.jpg", "a/9.jpg", 0.5), ("b/3.png", "b/7.png", 0.97),
                    ("b/5.png", "b/6.png", 0.95), ("a/2.jpg", "a/8.jpg", 0.93), ("b/4.png", "b/7.png", 0.90)]
    cut, result = at_precision(similarities, truth, 0.75, higher_is_closer=True)
    # 0.93: 3 of 4 pairs true (0.75); 0.90 adds a fifth, true, pair: 4 of 5 (0.8) -> the loosest is 0.90
    assert cut == 0.90 and (result.tp, result.fp) == (4, 1)
    cut, result = at_precision(similarities, truth, 0.99, higher_is_closer=True)
    assert cut == 0.97 and (result.tp, result.fp) == (2, 0)
    distances = [(v, t, 1 - s) for v, t, s in similarities]
    assert at_precision(distances, truth, 0.99, higher_is_closer=False)[1].tp == 2
    assert at_precision([("b/5.png", "b/6.png", 1.0)], truth, 0.5, higher_is_closer=True) == (None, score([], truth))


def test_score_of_no_prediction_has_no_precision():
    result = score([], Truth.from_dict(TRUTH))
    assert result.precision is None and result.recall_all == 0.0 and result.f1 == 0.0


def test_splitcheck_pairs_reads_both_orientations_and_only_asked_codes():
    def finding(code: str, rows: list[list[object]]) -> dict[str, object]:
        return {"code": code, "evidence": {"columns": ["a_split", "a_id", "b_split", "b_id", "method", "distance",
                                                       "extra"], "rows": rows}}

    report = {"findings": [
        finding("LK101", [["val", "v1", "train", "t1", "bytes", 0.0, 1]]),
        finding("LK102", [["train", "t2", "val", "v2", "phash", 3.0, 1], ["val", "v3", "test", "x", "phash", 1, 1]]),
        finding("DQ201", [["val", "v9", "train", "t9", "bytes", 0.0, 1]]),
        {"code": "LK102", "evidence": None},
    ]}
    assert splitcheck_pairs(report) == {("v1", "t1"), ("v2", "t2")}
    assert splitcheck_pairs(report, ("LK101",)) == {("v1", "t1")}


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("set") / "data"
    generate.generate(24, 30, out, seed=3, size=64, copy_fraction=0.5, distractor_fraction=0.2, jobs=1, verbose=False)
    return out


def _load(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img.load()
        return img


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generated_set_matches_its_truth(tiny_set: Path):
    truth = json.loads((tiny_set / "truth.json").read_text())
    train = sorted(p.relative_to(tiny_set / "train").as_posix() for p in (tiny_set / "train").rglob("*.*"))
    val = sorted(p.relative_to(tiny_set / "val").as_posix() for p in (tiny_set / "val").rglob("*.*"))
    assert (len(train), len(val)) == (24, 30)
    assert len(truth["pairs"]) == 15 and len(truth["distractors"]) == 6 and truth["n_clean"] == 9
    # round robin over the eight transforms: 15 copies give each transform one or two
    counts = {t: sum(p["transform"] == t for p in truth["pairs"]) for t in generate.TRANSFORMS}
    assert sorted(counts.values()) == [1] + [2] * 7
    for pair in truth["pairs"] + truth["distractors"]:
        assert pair["val_id"] in val and pair["train_id"] in train
        assert pair["val_id"].split("/")[0] == pair["train_id"].split("/")[0]  # a copy keeps its class
    sides = [_load(tiny_set / "train" / t).size for t in train]
    assert min(min(s) for s in sides) >= 64 and max(max(s) for s in sides) <= round(64 * generate.SIZE_SPREAD)


def test_planted_copies_are_the_transforms_they_claim(tiny_set: Path):
    truth = json.loads((tiny_set / "truth.json").read_text())
    for pair in truth["pairs"]:
        src, dst = tiny_set / "train" / pair["train_id"], tiny_set / "val" / pair["val_id"]
        a, b = _load(src), _load(dst)
        kind, params = pair["transform"], pair["params"]
        if kind == "exact":
            assert _digest(src) == _digest(dst)
        elif kind == "jpeg":
            assert b.format == "JPEG" and _digest(src) != _digest(dst) and a.size == b.size
        elif kind == "resize":
            assert 0.5 <= params["factor"] <= 0.8
            assert b.size == (round(a.width * params["factor"]), round(a.height * params["factor"]))
        elif kind == "crop":
            assert 0.05 <= params["fraction_x"] <= 0.10 and 0.05 <= params["fraction_y"] <= 0.10
            assert b.size == (round(a.width * (1 - params["fraction_x"])), round(a.height * (1 - params["fraction_y"])))
        elif kind == "flip" and a.format == "PNG":  # lossless: pixel-exact mirror
            assert np.array_equal(np.asarray(ImageOps.mirror(a.convert("RGB"))), np.asarray(b.convert("RGB")))
        elif kind == "rotation":
            assert 3 <= abs(params["degrees"]) <= 5 and a.size == b.size
        elif kind == "noise":
            assert 5 <= params["sigma"] <= 10
        elif kind == "brightness":
            assert 0.1 <= abs(params["brightness"] - 1) <= 0.25 and 0.1 <= abs(params["contrast"] - 1) <= 0.25


def test_generation_is_deterministic(tiny_set: Path, tmp_path: Path):
    again = tmp_path / "again"
    generate.generate(24, 30, again, seed=3, size=64, copy_fraction=0.5, distractor_fraction=0.2, jobs=2,
                      verbose=False)
    first = {p.relative_to(tiny_set).as_posix(): _digest(p) for p in tiny_set.rglob("*") if p.is_file()}
    second = {p.relative_to(again).as_posix(): _digest(p) for p in again.rglob("*") if p.is_file()}
    assert first == second


def test_distractor_is_a_different_image_of_the_same_scene_family():
    rng = np.random.default_rng(0)
    scene = generate.random_scene(rng, "geometry", 96)
    near = generate.nearby_scene(scene, np.random.default_rng(1))
    assert (near.width, near.height, near.family) == (scene.width, scene.height, scene.family)
    shifts = [np.hypot(a.cx - b.cx, a.cy - b.cy) for a, b in zip(scene.shapes, near.shapes)]
    assert len(shifts) == len(scene.shapes) and min(shifts) >= 0.06 - 1e-9 and max(shifts) <= 0.15 + 1e-9
    assert not np.array_equal(np.asarray(generate.render(scene)), np.asarray(generate.render(near)))


def test_run_measured_reports_exit_code_and_memory_of_the_child():
    code = "import sys; b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); sys.exit(3)"
    m = run_measured([sys.executable, "-c", code])
    assert m.returncode == 3
    assert m.peak_rss_mb >= 80
    assert m.wall_s > 0


def test_run_scores_the_imagehash_loop_on_a_generated_set(tiny_set: Path, tmp_path: Path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(HERE / "run.py"), str(tiny_set), "--jobs", "1", "--peers", "imagehash",
                           "--no-splitcheck", "--work", str(tmp_path / "work"), "--json", str(out)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert set(results["tools"]) == {"decode floor", "imagehash loop"}
    assert results["tools"]["decode floor"]["n_images_seen"] == 54
    loop = results["tools"]["imagehash loop"]["score"]
    assert loop["recall"]["exact"] == 1.0  # identical bytes: Hamming distance 0
    assert loop["recall"]["flip"] == 0.0  # pHash is not mirror invariant
    assert "imagehash loop" in proc.stdout and "decode floor" in proc.stdout
