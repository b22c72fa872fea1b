"""The HTML report: structure, escaping, thumbnails, charts and the tolerant explanation section."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
from helpers import random_image
from PIL import Image

import splitcheck as sc
from splitcheck.errors import InputError
from splitcheck.reporters.html import render_html, write_html
from splitcheck.reporters.svg import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, grouped_bars, histogram, line_chart
from splitcheck.reporters.thumbnails import resolve_item_path, thumbnail_data_uri

XSS = "<img src=x onerror=alert(1)>.png"


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the <style> content."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        self.text.append(data)

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())]


@pytest.fixture
def leaky(image_splits):
    """Two val items copied from train, one of them under a hostile file name."""
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog" / XSS)
    shutil.copy(image_splits["train"] / "dog/dog_04.png", image_splits["val"] / "cat/leak2.png")
    return image_splits


def test_cards_escaping_and_csp(leaky):
    report = sc.scan(train=str(leaky["train"]), val=str(leaky["val"]), config={})
    text = render_html(report)
    page = Page(text)
    cards = page.find("article", "finding")
    assert len(cards) == len(report.findings) >= 1
    assert [c["data-code"] for c in cards] == [f.code for f in report.findings]
    # the hostile name is text, never markup
    assert XSS in "".join(page.text)
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in text
    assert not any("onerror" in attrs for _, attrs in page.tags)
    assert not page.find("script")
    images = page.find("img")
    assert len(images) == 4  # two pairs, val | train
    assert all(set(a) == {"src", "alt", "width", "height"} for a in images)
    assert all(a["src"].startswith("data:image/jpeg;base64,") for a in images)
    # CSP: no script, and the only style allowed is the document's own stylesheet, by hash
    (meta,) = [a for a in page.find("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    policy = meta["content"]
    assert "script-src 'none'" in policy and "default-src 'none'" in policy and "img-src data:" in policy
    digest = base64.b64encode(hashlib.sha256(page.style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert not any("style" in attrs for _, attrs in page.tags)
    title = re.search(r"<title>(.*?)</title>", text).group(1)
    assert title == "splitcheck report: FAIL"


def test_pairs_are_capped_with_a_count_of_the_rest(leaky):
    report = sc.scan(train=str(leaky["train"]), val=str(leaky["val"]), config={})
    (lk,) = report.by_code("LK101")
    assert len(lk.evidence) == 2
    page = Page(render_html(report, max_pairs=1))
    assert len(page.find("figure", "pair")) == 1
    assert "and 1 more pair" in "".join(page.text)
    assert len(Page(render_html(report, thumbnails=False)).find("img")) == 0


def test_thumbnail_is_a_small_jpeg_of_the_image(tmp_path, rng):
    source = tmp_path / "big.png"
    array = np.zeros((300, 200, 3), dtype=np.uint8)
    array[:, :, 0] = 200
    array[:, :, 2] = 40
    Image.fromarray(array).save(source)
    uri = thumbnail_data_uri(source, max_side=64)
    assert uri.startswith("data:image/jpeg;base64,")
    thumb = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert thumb.format == "JPEG" and thumb.size == (43, 64)
    mean = np.asarray(thumb, dtype=float).reshape(-1, 3).mean(axis=0)
    assert np.allclose(mean, [200, 0, 40], atol=6)


def test_thumbnail_placeholders(tmp_path):
    def reason(uri: str) -> str:
        assert uri.startswith("data:image/svg+xml;base64,")
        return re.search(r">([a-z ]+)</text>", base64.b64decode(uri.split(",", 1)[1]).decode()).group(1)

    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    Image.new("RGB", (20, 20)).save(tmp_path / "wide.png")
    assert reason(thumbnail_data_uri(tmp_path / "broken.png")) == "unreadable"
    assert reason(thumbnail_data_uri(tmp_path / "missing.png")) == "not found"
    assert reason(thumbnail_data_uri(None)) == "no file"
    assert reason(thumbnail_data_uri(tmp_path / "wide.png", max_pixels=399)) == "too large"
    assert reason(thumbnail_data_uri(tmp_path / "wide.png", max_file_bytes=10)) == "too large"


def test_item_paths_stay_inside_an_image_folder(tmp_path, rng):
    root = tmp_path / "val"
    (root / "cat").mkdir(parents=True)
    random_image(rng).save(root / "cat/a.png")
    random_image(rng).save(tmp_path / "outside.png")
    summary = {"name": "val", "modality": "image", "source": str(root)}
    assert resolve_item_path(summary, "cat/a.png") == (root / "cat/a.png").resolve()
    assert resolve_item_path(summary, "../outside.png") is None
    assert resolve_item_path(summary, "cat/missing.png") is None
    manifest = {"name": "val", "modality": "image", "source": str(tmp_path / "val.csv")}
    assert resolve_item_path(manifest, "outside.png") == tmp_path / "outside.png"
    assert resolve_item_path({**summary, "modality": "table"}, "cat/a.png") is None


def test_histogram_bars_count_the_values_and_mark_the_threshold():
    values = [0, 0, 1, 5, 5, 5, 9, 10]
    svg = histogram(values, title="d", x_label="distance", bins=5, threshold=4.0)
    bars = [int(v) for v in re.findall(r'class="bar"[^>]*data-value="(\d+)"', svg)]
    assert bars == np.histogram(values, bins=5, range=(0, 10))[0].tolist() == [3, 0, 3, 0, 2]
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', svg)]
    assert heights[0] == pytest.approx(heights[2]) and heights[4] == pytest.approx(heights[0] * 2 / 3)
    x = float(re.search(r'class="threshold" x1="([\d.]+)"', svg).group(1))
    assert x == pytest.approx(LEFT + 0.4 * (WIDTH - LEFT - RIGHT), abs=0.01)


def test_grouped_bars_escape_labels():
    svg = grouped_bars(["<b>cat</b>", "dog"], {"train": [0.5, 0.5], "v&l": [0.9, 0.1]}, title="t", y_label="s",
                       percent=True)
    assert "<b>" not in svg and "&lt;b&gt;cat&lt;/b&gt;" in svg and 'data-series="v&amp;l"' in svg
    values = [float(v) for v in re.findall(r'data-value="([\d.]+)"', svg)]
    assert values == [0.5, 0.9, 0.5, 0.1]


def test_class_mix_finding_draws_shares_per_split(tmp_path, rng):
    for split, counts in (("train", {"cat": 10, "dog": 10}), ("val", {"cat": 14, "dog": 1})):
        for cls, n in counts.items():
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                random_image(rng).save(tmp_path / split / cls / f"{i}.png")
    report = sc.scan(train=str(tmp_path / "train"), val=str(tmp_path / "val"), config={})
    assert len(report.by_code("DS101")) == 1
    text = render_html(report)
    card = text[text.index('data-code="DS101"'):]
    card = card[: card.index("</article>")]
    bars = re.findall(r'data-series="(\w+)" data-category="(\w+)" data-value="([\d.e-]+)"', card)
    shares = {(s, c): float(v) for s, c, v in bars}
    assert shares == pytest.approx({("train", "cat"): 0.5, ("val", "cat"): 14 / 15,
                                    ("train", "dog"): 0.5, ("val", "dog"): 1 / 15}, abs=1e-6)


def test_explanation_section_ranks_hypotheses_and_draws_curves(image_splits):
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    explanation = {
        "hypotheses": [{"id": "epoch-timing", "score": 0.3, "facts": {"shift": 0.5}, "action": "shift the curve"},
                       {"id": "leakage", "score": 0.9, "facts": ["12 of 500 <val> items leaked"],
                        "action": "remove them"}],
        "curves": {"epoch": [1, 2, 3, 4, 5], "train": [1.0, 0.8, 0.6, 0.5, 0.45], "val": [0.9, 0.7, None, 0.6, 0.7],
                   "regions": [{"start": 1, "end": 2, "label": "val below train"}, {"at": 4, "label": "stop"}]},
    }
    text = render_html(report, explanation=explanation)
    page = Page(text)
    assert [t for t in page.text if t in ("leakage", "epoch-timing")] == ["leakage", "epoch-timing"]
    assert "12 of 500 <val> items leaked" in "".join(page.text)
    assert len(page.find("polyline")) == 3  # train, and val broken in two by the missing point
    assert len(page.find("rect", "region")) == 1 and len(page.find("line", "marker")) == 1
    assert page.find("meter")[0]["value"] == "0.9"


def test_malformed_explanation_is_left_out(image_splits):
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    for bad in ({"hypotheses": "oops", "curves": {"epoch": "x"}}, {"curves": {"epoch": [1, 2], "train": ["a", 1]}},
                ["not", "a", "mapping"], {"hypotheses": [None, 3]}):
        text = render_html(report, explanation=bad)
        assert Page(text).find("article", "finding") == []
        assert "No problems found." in text


def test_line_chart_ignores_unusable_regions():
    svg = line_chart([0, 1, 2], {"train": [1, 2, 3]}, title="t", x_label="e", y_label="l",
                     regions=[{"start": "a", "end": 1}, {"at": 99}, {"label": "x"}])
    assert 'class="region"' not in svg and 'class="marker"' not in svg
    assert HEIGHT - BOTTOM > TOP


def test_write_html_names_the_path_it_cannot_write(image_splits, tmp_path):
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    target = tmp_path / "no-such-folder" / "r.html"
    with pytest.raises(InputError, match=re.escape(f"{target}: cannot write the report")):
        write_html(report, target)
    write_html(report, tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_whole_distances_get_one_bin_per_value():
    svg = histogram([0, 0, 2, 3, 3, 3], title="d", x_label="bits", threshold=5)
    ranges = re.findall(r'data-range="([-\d.]+)-([-\d.]+)"', svg)
    assert [(float(a), float(b)) for a, b in ranges] == [(k - 0.5, k + 0.5) for k in range(6)]
    assert [int(v) for v in re.findall(r'class="bar"[^>]*data-value="(\d+)"', svg)] == [2, 0, 1, 3, 0, 0]
    assert 'text-anchor="end">threshold 5<' in svg  # near the right edge the label sits left of the line
