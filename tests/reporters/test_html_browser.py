"""The HTML report rendered by a real browser (Debian's chromium, headless, offline).

CI installs chromium (``.ci/run``); without it this test fails with the install command, it is never skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import splitcheck as sc
from splitcheck.reporters.html import write_html

XSS = "<img src=x onerror=alert(1)>.png"
HOSTILE_CLASS = "<svg onload=alert(2)>"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium found: install it with 'apt-get install -y chromium chromium-driver' "
                "(.ci/run does this in CI)")


def run_browser(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


class Dom(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.titles: list[str] = []  # the document's, then each chart's <title>
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag == "title":
            self._in_title = True
            self.titles.append("")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_title:
            self.titles[-1] += data


@pytest.fixture
def hostile_report(image_splits, tmp_path) -> Path:
    """A report on splits with a leaked file under an XSS name and a class folder named like markup."""
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog" / XSS)
    for split, n in (("train", 3), ("val", 1)):
        folder = image_splits[split] / HOSTILE_CLASS
        folder.mkdir()
        for i in range(n):
            Image.fromarray(np.full((24, 24, 3), 40 * i + 20 * (split == "val"), dtype=np.uint8)).save(
                folder / f"{i}.png")
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    assert report.by_code("LK101")
    out = tmp_path / "report.html"
    explanation = {"hypotheses": [{"id": "leakage", "score": 0.8, "facts": ["1 item"], "action": "remove it"}],
                   "curves": {"epoch": [1, 2, 3], "train": [1.0, 0.7, 0.5], "val": [0.8, 0.6, 0.55],
                              "regions": [{"start": 1, "end": 2, "label": "val below train"}]}}
    write_html(report, out, explanation=explanation)
    return out


def test_report_renders_in_chromium_without_running_anything(hostile_report, tmp_path):
    report_url = hostile_report.resolve().as_uri()
    done = run_browser(tmp_path / "profile", "--dump-dom", report_url)
    dom = Dom(done.stdout)
    assert dom.titles[0] == "splitcheck report: FAIL"
    cards = [a for tag, a in dom.elements if tag == "article" and "finding" in (a.get("class") or "")]
    expected = hostile_report.read_text(encoding="utf-8").count('<article class="finding')
    assert len(cards) == expected >= 1
    text = "".join(dom.text)
    assert XSS in text and HOSTILE_CLASS in text  # shown as text...
    assert not any(tag in ("script", "iframe", "object", "embed") for tag, _ in dom.elements)
    assert not any(name.startswith("on") for _, attrs in dom.elements for name in attrs)  # ...never as markup
    images = [a for tag, a in dom.elements if tag == "img"]
    assert images and all((a.get("src") or "").startswith("data:image/") for a in images)
    # no console message at all: no script error, no Content-Security-Policy violation (styles apply by hash)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_screenshot_is_not_blank(hostile_report, tmp_path):
    shot = tmp_path / "shot.png"
    run_browser(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,1400",
                hostile_report.resolve().as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    assert pixels.shape == (1400, 1000, 3)
    assert pixels.std() > 20  # a blank or single-colour page has ~0
    top = pixels[:40, :, :].reshape(-1, 3).mean(axis=0)  # the verdict banner is red on a failing gate
    assert top[0] > 150 and top[1] < 80 and top[2] < 80, top
    assert re.fullmatch(r".*\.png", shot.name)
