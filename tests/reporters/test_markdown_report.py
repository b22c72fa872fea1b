"""The Markdown summary for pull-request comments: verdict, findings table, first pairs, escaping."""

from __future__ import annotations

import re
import shutil

import splitcheck as sc
from splitcheck.reporters.markdown import md_escape, render_markdown

HOSTILE = "x|y`z*<b>_.png"


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_failing_scan_gives_verdict_table_and_escaped_pairs(image_splits):
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog" / HOSTILE)
    shutil.copy(image_splits["train"] / "dog/dog_04.png", image_splits["val"] / "cat/leak2.png")
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    text = render_markdown(report, max_pairs=1)
    lines = text.splitlines()
    assert lines[0] == "### \u274c splitcheck: FAIL"
    counts = report.counts()
    assert lines[2].startswith(f"{counts['error']} error")
    assert "train (20 items), val (12 items)" in lines[2]
    header = lines.index("| severity | code | rule | splits | finding |")
    rows = []
    for line in lines[header + 2:]:
        if not line.startswith("| "):
            break
        rows.append(line)
    assert [re.search(r"`(\w+)`", r).group(1) for r in rows] == [f.code for f in report.findings]
    assert all(unescaped_pipes(r) == 6 for r in rows)  # five cells, whatever the file names hold
    (lk,) = report.by_code("LK101")
    pair_rows = [line for line in lines if line.startswith("| val: ")]
    assert len(pair_rows) >= 1 and all(unescaped_pipes(r) == 5 for r in pair_rows)
    first = lk.evidence.iloc[0]
    assert pair_rows[0].startswith(f"| val: {md_escape(first['a_id'])} | train: {md_escape(first['b_id'])} |")
    assert f"and {len(lk.evidence) - 1} more" in text
    full = render_markdown(report)
    assert "| val: dog/x\\|y\\`z\\*&lt;b&gt;\\_.png | train: cat/cat\\_02.png | bytes | 0 |" in full
    assert "<b>" not in full and "and 1 more" not in full


def test_clean_scan_passes(image_splits):
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    text = render_markdown(report)
    assert text.splitlines()[0] == "### \u2705 splitcheck: PASS"
    assert text.rstrip().endswith("No problems found.")


def test_markdown_escaping():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("`code`") == "\\`code\\`"
    assert md_escape("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert md_escape("[link](http://x) *b* _i_ \\") == "\\[link\\](http://x) \\*b\\* \\_i\\_ \\\\"
    assert md_escape("two\nlines\r\tand  tabs") == "two lines and tabs"
    assert md_escape("a&amp;") == "a&amp;amp;"
    assert md_escape("bad\udcffname\x1b") == "bad?name?"


def test_finding_rows_are_capped(image_splits):
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog/leak.png")
    shutil.copy(image_splits["train"] / "cat/cat_03.png", image_splits["train"] / "cat/cat_03_copy.png")
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={}, fail_on="info")
    assert len(report.findings) >= 2
    text = render_markdown(report, max_findings=1)
    assert f"and {len(report.findings) - 1} more findings" in text
    assert sum(1 for line in text.splitlines() if re.match(r"\| \S+ (error|warning|info)", line)) == 1
