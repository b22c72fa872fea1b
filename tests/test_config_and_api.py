from __future__ import annotations

import shutil

import pytest

import splitcheck as sc
from splitcheck.config import load_config


def test_public_names_are_sorted_and_importable():
    assert sc.__all__ == sorted(sc.__all__)
    for name in sc.__all__:
        assert hasattr(sc, name)


def test_pyproject_table_is_read_and_unknown_keys_name_the_key(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.splitcheck]\nfail-on = "warning"\nignore = ["ds103"]\n'
        '[tool.splitcheck.class-distribution]\nmin-class-count = 2\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    config = load_config()
    assert config.fail_on == "warning" and config.ignore == ["DS103"]
    assert config.scanners == {"class_distribution": {"min_class_count": 2}}
    assert config.source == str(tmp_path / "pyproject.toml")

    (tmp_path / "splitcheck.toml").write_text("fail_on = 'error'\ntreshold = 3\n")
    with pytest.raises(sc.ConfigError, match=r"splitcheck.toml: unknown key 'treshold' in top level"):
        load_config()


def test_unknown_rule_code_and_setting(tmp_path):
    path = tmp_path / "splitcheck.toml"
    path.write_text("[severity]\nLK999 = 'error'\n")
    with pytest.raises(sc.ConfigError, match="unknown rule code 'LK999'"):
        load_config(path)
    path.write_text("[class-distribution]\nalpah = 0.1\n")
    with pytest.raises(sc.ConfigError, match="unknown setting 'alpah' in top level.class-distribution"):
        load_config(path)


def test_check_raises_leakage_error_with_the_report(image_splits):
    sc.check(train=image_splits["train"], val=image_splits["val"], config={})  # clean: no raise
    shutil.copy(image_splits["train"] / "cat/cat_00.png", image_splits["val"] / "cat/x.png")
    with pytest.raises(sc.LeakageError, match="1 finding") as info:
        sc.check(train=image_splits["train"], val=image_splits["val"], config={})
    assert info.value.report.by_code("LK101")[0].evidence["a_id"].tolist() == ["cat/x.png"]


def test_crashing_scanner_is_recorded_and_the_rest_runs(image_splits, monkeypatch):
    from splitcheck.scanners.class_distribution import ClassDistributionScanner

    def boom(self, context):
        raise RuntimeError("kaput")

    monkeypatch.setattr(ClassDistributionScanner, "run", boom)
    shutil.copy(image_splits["train"] / "cat/cat_00.png", image_splits["val"] / "cat/x.png")
    report = sc.scan(train=image_splits["train"], val=image_splits["val"], config={})
    failed = [r for r in report.scanners if r.status == "failed"]
    assert [(r.name, r.reason) for r in failed] == [("class_distribution", "RuntimeError: kaput")]
    assert report.by_code("LK101") and report.exit_code == sc.ExitCode.INTERNAL_ERROR


def test_unreadable_items_are_listed_and_scan_completes(image_splits):
    val = image_splits["val"]
    (val / "cat/empty.png").write_bytes(b"")
    (val / "cat/text.jpg").write_text("hello")
    good = (image_splits["train"] / "dog/dog_00.png").read_bytes()
    (val / "dog/truncated.png").write_bytes(good[: len(good) // 3])
    shutil.copy(image_splits["train"] / "dog/dog_01.png", val / "dog/leak.png")
    report = sc.scan(train=image_splits["train"], val=val, config={})
    (dq,) = report.by_code("DQ101")
    reasons = dict(zip(dq.evidence["id"], dq.evidence["reason"]))
    assert set(reasons) == {"cat/empty.png", "cat/text.jpg", "dog/truncated.png"}
    assert reasons["cat/empty.png"] == "empty file (0 bytes)"
    assert reasons["cat/text.jpg"].startswith("not an image")
    assert reasons["dog/truncated.png"].startswith("corrupt or truncated image")
    assert report.by_code("LK101")[0].evidence["a_id"].tolist() == ["dog/leak.png"]


def test_decompression_bomb_is_refused(image_splits):
    from PIL import Image

    Image.new("L", (3000, 3000)).save(image_splits["val"] / "cat/bomb.png")
    report = sc.scan(train=image_splits["train"], val=image_splits["val"], config={"max-image-pixels": 1_000_000})
    (dq,) = report.by_code("DQ101")
    assert dq.evidence["reason"].tolist() == [
        "refused: 3000x3000 pixels is over the limit of 1000000 (decompression bomb?)"]
