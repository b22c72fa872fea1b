"""``write_report``: every format to a file or to standard output, nothing else on standard output."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

import splitcheck as sc
from splitcheck.cli_reports import REPORT_FORMATS, write_report
from splitcheck.errors import ConfigError, InputError


@pytest.fixture
def report(image_splits):
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog/leak.png")
    return sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})


def check(fmt: str, text: str) -> None:
    """What each format must look like: parseable and carrying the LK101 finding."""
    if fmt == "json":
        assert json.loads(text)["findings"][0]["code"] == "LK101"
    elif fmt == "junit":
        suite = ET.fromstring(text).find("testsuite")
        assert [c.get("name") for c in suite if c.find("failure") is not None] == ["LK101 cross-split-exact-duplicate"]
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and 'data-code="LK101"' in text
    elif fmt == "markdown":
        assert text.startswith("### \u274c splitcheck: FAIL") and "`LK101`" in text
    else:
        assert "LK101" in text and "FAIL" in text


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_each_format_to_a_file_and_to_stdout(report, fmt, tmp_path, capsys):
    out = tmp_path / f"report.{fmt}"
    write_report(report, fmt, str(out))
    assert capsys.readouterr().out == ""
    check(fmt, out.read_text(encoding="utf-8"))
    write_report(report, fmt, None)
    captured = capsys.readouterr()
    check(fmt, captured.out)
    assert captured.err == ""


def test_errors(report, tmp_path):
    with pytest.raises(InputError, match="cannot write the report"):
        write_report(report, "markdown", str(tmp_path / "missing" / "r.md"))
    with pytest.raises(ConfigError, match="unknown report format 'pdf'"):
        write_report(report, "pdf", str(tmp_path / "r.pdf"))
