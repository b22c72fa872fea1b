"""File names with spaces, non-ASCII, newlines, control characters, invalid UTF-8 and leading dashes: found,
named exactly in the reports (JSON, JUnit XML stays valid), and usable as CLI arguments (``--``, ``./-train``)."""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from hardening_corpus import write_images

from splitcheck.cli import main

#: file name on disk (str, or bytes when not valid UTF-8) -> the id reports give it
NAMES = {
    "with space.png": "with space.png",
    "ñandú €.png": "ñandú €.png",
    unicodedata.normalize("NFD", "café.png"): unicodedata.normalize("NFD", "café.png"),
    "new\nline.png": "new\nline.png",
    "tab\tand\rcr.png": "tab\tand\rcr.png",
    "esc\x1b]0;pwned\x07.png": "esc\x1b]0;pwned\x07.png",
    "-leading-dash.png": "-leading-dash.png",
    "--help.png": "--help.png",
    b"latin1-\xe9t\xe9.png": "latin1-\\xe9t\\xe9.png",
}


def _plant(tmp_path, rng):
    """train/c has every odd name; val/c has a copy of each (prefixed ``copy_``) and two unrelated images."""
    train, val = tmp_path / "train" / "c", tmp_path / "val" / "c"
    write_images(train, rng, 3, prefix="plain")
    write_images(val, rng, 2, prefix="other")
    expected = set()
    for disk_name, shown in NAMES.items():
        name = os.fsdecode(disk_name)
        write_images(tmp_path / "scratch", rng, 1)
        shutil.move(tmp_path / "scratch" / "img_000.png", train / name)
        shutil.copy(train / name, val / f"copy_{name}")
        expected.add((f"c/copy_{shown}", f"c/{shown}"))
    return expected


def test_odd_names_are_found_and_named_exactly(tmp_path, monkeypatch):
    expected = _plant(tmp_path, np.random.default_rng(11))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "train", "val", "--format", "json", "--no-progress"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    (lk,) = [f for f in data["findings"] if f["code"] == "LK101"]
    rows = [dict(zip(lk["evidence"]["columns"], r)) for r in lk["evidence"]["rows"]]
    assert {(r["a_id"], r["b_id"]) for r in rows} == expected
    assert {r["method"] for r in rows} == {"bytes"}
    assert not [f for f in data["findings"] if f["code"] == "DQ101"]
    terminal = runner.invoke(main, ["scan", "train", "val", "--no-progress", "--max-rows", "50"])
    assert terminal.exit_code == 1 and "c/copy_latin1-\\xe9t\\xe9.png" in terminal.stdout
    # JUnit XML parses (a raw control character would make it invalid XML) and names the copy, the control
    # characters replaced
    junit = runner.invoke(main, ["scan", "train", "val", "--no-progress", "--format", "junit", "-o", "r.xml"])
    assert junit.exit_code == 1
    assert "c/copy_esc?]0;pwned?.png" in ET.tostring(ET.parse("r.xml").getroot(), encoding="unicode")


@pytest.mark.parametrize("spelling", [["--", "-train", "-val"], ["./-train", "./-val"]])
def test_split_folders_with_leading_dashes_on_the_command_line(tmp_path, monkeypatch, spelling):
    rng = np.random.default_rng(12)
    write_images(tmp_path / "-train" / "c", rng, 4)
    write_images(tmp_path / "-val" / "c", rng, 2, prefix="v")
    shutil.copy(tmp_path / "-train/c/img_001.png", tmp_path / "-val/c/leak.png")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["scan", "--format", "json", "--no-progress", *spelling])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert [s["source"] for s in data["splits"]] == ["-train", "-val"]
    (lk,) = [f for f in data["findings"] if f["code"] == "LK101"]
    assert lk["evidence"]["rows"][0][:4] == ["val", "c/leak.png", "train", "c/img_001.png"]


def test_a_folder_named_like_an_option_after_double_dash(tmp_path, monkeypatch):
    rng = np.random.default_rng(13)
    write_images(tmp_path / "--help" / "c", rng, 3)
    write_images(tmp_path / "val" / "c", rng, 2, prefix="v")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["scan", "--no-progress", "--", "--help", "val"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("splitcheck scanned train (3 image items), val (2 image items)")


def test_names_that_collide_once_escaped_are_refused(tmp_path):
    rng = np.random.default_rng(14)
    write_images(tmp_path / "train", rng, 2)
    os.rename(tmp_path / "train/img_000.png", os.fsdecode(bytes(tmp_path / "train") + b"/a\xffb.png"))
    os.rename(tmp_path / "train/img_001.png", tmp_path / "train/a\\xffb.png")
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "train"), "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr == (f"splitcheck: error: {tmp_path / 'train'}: two file names read the same once their "
                             "bytes that are not UTF-8 are escaped ('a\\\\xffb.png'); rename one of them\n")
