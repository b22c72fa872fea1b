"""Hand-made inline SVG charts for the HTML report: histograms, grouped bars, line charts.

Why not matplotlib: the report needs three plain chart shapes, and hand-made SVG gives them with no
new dependency (matplotlib and its fonts are tens of megabytes and slow to import), no writes outside
the output (matplotlib caches fonts under the user's home), byte-for-byte deterministic output, a few
kilobytes per chart, and full control over escaping: every text that reaches the SVG (class names,
split names, labels) goes through :func:`html.escape` here, in one place. The charts use presentation
attributes (``fill=``, ``stroke=``) rather than ``style=`` attributes, so the report's strict
Content-Security-Policy needs no ``'unsafe-inline'`` for them.

Every chart is a ``<svg role="img">`` with a ``<title>``; bars carry ``data-value`` attributes with the
number they draw (the tests read them back).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Colours for series, in order (colour-blind-safe Okabe-Ito palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

WIDTH, HEIGHT = 560, 220
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 24, 40


def esc(text: Any) -> str:
    """``text`` safe inside SVG/HTML text and attribute values (see :func:`clean_text`)."""
    return html.escape(clean_text(text), quote=True)


def clean_text(text: Any) -> str:
    """``text`` as a string that encodes to UTF-8: lone surrogates (undecodable file names) become ``?``,
    control characters other than tab and newline become ``?``."""
    out = str(text).encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("?", out)


def histogram(values: Sequence[float] | np.ndarray, *, title: str, x_label: str, bins: int | None = None,
              threshold: float | None = None, threshold_label: str = "threshold") -> str:
    """Counts of ``values`` in equal-width bins; ``threshold`` drawn as a dashed vertical line.

    ``bins=None`` chooses: one bin per integer when every value (and the threshold) is a whole number
    spanning at most 60 (Hamming distances), else 20 bins.
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    lo = float(data.min()) if data.size else 0.0
    hi = float(data.max()) if data.size else 1.0
    if threshold is not None and math.isfinite(threshold):
        lo, hi = min(lo, threshold), max(hi, threshold)
    whole = bool(np.all(data == np.round(data))) and float(lo).is_integer() and float(hi).is_integer()
    if bins is None and whole and hi - lo <= 60:
        bins, lo, hi = int(hi - lo) + 1, lo - 0.5, hi + 0.5
    bins = bins or 20
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(data, bins=bins, range=(lo, hi))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice(max(int(counts.max()) if counts.size else 0, 1))
    parts = [_open(title), _axes(0, top, y_label="pairs")]
    for count, left_edge, right_edge in zip(counts, edges[:-1], edges[1:]):
        x0 = LEFT + (left_edge - lo) / (hi - lo) * plot_w
        x1 = LEFT + (right_edge - lo) / (hi - lo) * plot_w
        h = count / top * plot_h
        tip = f"{left_edge:.4g} to {right_edge:.4g}: {int(count)}"
        parts.append(f'<rect class="bar" x="{x0 + 0.5:.2f}" y="{TOP + plot_h - h:.2f}" '
                     f'width="{max(x1 - x0 - 1, 0.5):.2f}" height="{h:.2f}" fill="{PALETTE[0]}" '
                     f'data-value="{int(count)}" data-range="{left_edge:.6g}-{right_edge:.6g}">'
                     f"<title>{esc(tip)}</title></rect>")
    parts.append(_x_ticks(lo, hi, x_label))
    if threshold is not None and math.isfinite(threshold):
        x = LEFT + (threshold - lo) / (hi - lo) * plot_w
        parts.append(f'<line class="threshold" x1="{x:.2f}" x2="{x:.2f}" y1="{TOP}" y2="{TOP + plot_h}" '
                     f'stroke="#D55E00" stroke-width="2" stroke-dasharray="5 3" data-value="{threshold:.6g}"/>')
        right = x > LEFT + 0.7 * plot_w  # label on the left of a line near the right edge
        parts.append(f'<text x="{x - 4 if right else x + 4:.2f}" y="{TOP + 12}" font-size="11" fill="#D55E00" '
                     f'text-anchor="{"end" if right else "start"}">{esc(threshold_label)} {threshold:.4g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str,
                 y_label: str, percent: bool = False) -> str:
    """One group of bars per category, one bar per series (e.g. class shares per split)."""
    names = list(series)
    n_cat, n_ser = len(categories), max(len(names), 1)
    values = [[float(v) for v in series[name]] for name in names]
    top = max([v for row in values for v in row if math.isfinite(v)] + [0.0])
    top = _nice(top) if top > 0 else 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(n_cat, 1)
    bar_w = max(group_w * 0.8 / n_ser, 1.0)
    parts = [_open(title), _axes(0, top, y_label=y_label, percent=percent)]
    for i, category in enumerate(categories):
        for j, name in enumerate(names):
            value = values[j][i]
            h = (value / top * plot_h) if math.isfinite(value) else 0.0
            x = LEFT + i * group_w + group_w * 0.1 + j * bar_w
            shown = f"{value:.1%}" if percent else f"{value:.4g}"
            parts.append(f'<rect class="bar" x="{x:.2f}" y="{TOP + plot_h - h:.2f}" width="{bar_w:.2f}" '
                         f'height="{h:.2f}" fill="{PALETTE[j % len(PALETTE)]}" data-series="{esc(name)}" '
                         f'data-category="{esc(category)}" data-value="{value:.6g}">'
                         f"<title>{esc(name)} / {esc(category)}: {shown}</title></rect>")
        if n_cat <= 24:
            cx = LEFT + (i + 0.5) * group_w
            parts.append(_text(cx, TOP + plot_h + 14, esc(_short(category, max(int(group_w / 6), 3))), "middle"))
    parts.append(_legend(names))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(x: Sequence[float], series: Mapping[str, Sequence[float | None]], *, title: str, x_label: str,
               y_label: str, regions: Sequence[Mapping[str, Any]] = ()) -> str:
    """Lines over ``x`` (missing values break a line), with shaded regions and vertical markers.

    Each region is ``{"start": x0, "end": x1, "label": text}`` (a shaded band) or ``{"at": x, "label":
    text}`` (a vertical line); unusable regions are left out.
    """
    xs = np.asarray([float(v) for v in x], dtype=np.float64)
    ys = {name: np.asarray([np.nan if v is None else float(v) for v in vals], dtype=np.float64)
          for name, vals in series.items()}
    finite_y = np.concatenate([v[np.isfinite(v)] for v in ys.values()] or [np.zeros(0)])
    x_lo, x_hi = (float(xs.min()), float(xs.max())) if xs.size else (0.0, 1.0)
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    y_lo = float(finite_y.min()) if finite_y.size else 0.0
    y_hi = float(finite_y.max()) if finite_y.size else 1.0
    if y_hi <= y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = (y_hi - y_lo) * 0.05
    y_lo, y_hi = y_lo - pad, y_hi + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(v: float) -> float:
        return LEFT + (v - x_lo) / (x_hi - x_lo) * plot_w

    def py(v: float) -> float:
        return TOP + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h

    parts = [_open(title)]
    for k, region in enumerate(regions):
        label = esc(region.get("label") or region.get("kind") or "")
        start, end, at = _num(region.get("start")), _num(region.get("end")), _num(region.get("at", region.get("epoch")))
        if start is not None and end is not None:
            a, b = sorted((max(min(start, x_hi), x_lo), max(min(end, x_hi), x_lo)))
            parts.append(f'<rect class="region" x="{px(a):.2f}" y="{TOP}" width="{max(px(b) - px(a), 1):.2f}" '
                         f'height="{plot_h}" fill="{PALETTE[(k + 2) % len(PALETTE)]}" fill-opacity="0.15">'
                         f'<title>{label}</title></rect>')
            parts.append(_text(px(a) + 3, TOP + 12 + 12 * (k % 3), label))
        elif at is not None and x_lo <= at <= x_hi:
            parts.append(f'<line class="marker" x1="{px(at):.2f}" x2="{px(at):.2f}" y1="{TOP}" y2="{TOP + plot_h}" '
                         f'stroke="#374151" stroke-dasharray="4 3"><title>{label}</title></line>')
            parts.append(_text(px(at) + 3, TOP + 12 + 12 * (k % 3), label))
    parts.append(_axes(y_lo, y_hi, y_label=y_label))
    for j, (name, values) in enumerate(ys.items()):
        colour = PALETTE[j % len(PALETTE)]
        for segment in _segments(xs, values):
            points = " ".join(f"{px(a):.2f},{py(b):.2f}" for a, b in segment)
            parts.append(f'<polyline class="line" points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                         f'data-series="{esc(name)}"/>')
    parts.append(_x_ticks(x_lo, x_hi, x_label))
    parts.append(_legend(list(ys)))
    parts.append("</svg>")
    return "".join(parts)


def _open(title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="system-ui, sans-serif"><title>{esc(title)}</title>'
            f'<text x="{LEFT}" y="14" font-size="12" font-weight="bold" fill="#111827">{esc(title)}</text>')


def _axes(lo: float, hi: float, *, y_label: str, percent: bool = False) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#6b7280"/>',
             f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#6b7280"/>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = TOP + plot_h - plot_h * k / 4
        text = f"{v:.0%}" if percent else f"{v:.3g}"
        parts.append(_text(LEFT - 4, y + 3, text, "end"))
    parts.append(f'<text x="12" y="{TOP + plot_h / 2:.2f}" font-size="10" fill="#374151" text-anchor="middle" '
                 f'transform="rotate(-90 12 {TOP + plot_h / 2:.2f})">{esc(y_label)}</text>')
    return "".join(parts)


def _x_ticks(lo: float, hi: float, x_label: str) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = []
    for k in range(6):
        v = lo + (hi - lo) * k / 5
        x = LEFT + plot_w * k / 5
        parts.append(_text(x, TOP + plot_h + 14, f"{v:.3g}", "middle"))
    parts.append(f'<text x="{LEFT + plot_w / 2:.2f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle" '
                 f'fill="#374151">{esc(x_label)}</text>')
    return "".join(parts)


def _text(x: float, y: float, escaped: str, anchor: str = "start") -> str:
    """A small grey label; ``escaped`` must already be escaped (or be splitcheck's own digits)."""
    return f'<text x="{x:.2f}" y="{y:.2f}" font-size="10" text-anchor="{anchor}" fill="#374151">{escaped}</text>'


def _legend(names: list[str]) -> str:
    parts = []
    x = WIDTH - RIGHT
    for j, name in reversed(list(enumerate(names))):
        label = _short(name, 18)
        x -= 14 + 6.5 * len(label)
        parts.append(f'<rect x="{x:.2f}" y="6" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{x + 13:.2f}" y="15" font-size="10" fill="#374151">{esc(label)}</text>')
    return "".join(parts)


def _segments(xs: np.ndarray, ys: np.ndarray) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for a, b in zip(xs, ys):
        if math.isfinite(a) and math.isfinite(b):
            current.append((float(a), float(b)))
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return segments


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "\u2026"


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 4, 5, 10 times a power of ten that is >= ``value`` (a round axis top)."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 4.0, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power
