"""The HTML report: one self-contained file that opens offline and runs no script.

Layout, top to bottom: the verdict against the gate with counts by severity; the splits (sizes and class
mix); the ranked explanation of the loss curves when one is given; one card per finding, most severe
first, with its numbers, thumbnails of the pairs it names side by side (later split | earlier split, i.e.
validation | training, with distance and method), a histogram of the pair distances (threshold marked
when the finding's metrics carry one), class-share bars for a class-mix finding, and its evidence table;
then what each scanner did.

Safety: every string that comes from the user's data (file names, ids, labels, column names, split names,
messages that quote them) is escaped, and a Content-Security-Policy ``<meta>`` forbids every script,
every network fetch and every style except the report's own stylesheet (by hash): a file named
``<img src=x onerror=alert(1)>.png`` shows as text. Pictures are ``data:`` URIs made by
:mod:`splitcheck.reporters.thumbnails`; charts are inline SVG from :mod:`splitcheck.reporters.svg`.

The optional ``explanation`` (from ``splitcheck.explain``) is read tolerantly::

    {"hypotheses": [{"id": str, "score": float, "facts": [str] | {str: Any} | str, "action": str}],
     "curves": {"epoch": [...], "train": [...], "val": [...],
                "regions": [{"start": x, "end": x, "label": str} | {"at": x, "label": str}]}}

Missing or malformed parts are left out; they never stop the report.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.errors import InputError
from splitcheck.findings import Finding, Severity
from splitcheck.report import Report
from splitcheck.reporters.markdown import verdict_word
from splitcheck.reporters.svg import esc, grouped_bars, histogram, line_chart
from splitcheck.reporters.thumbnails import DEFAULT_MAX_SIDE, resolve_item_path, thumbnail_data_uri

#: Resolves (split name, item id) to the item's file, or None (for splits given in memory).
ItemPathResolver = Callable[[str, str], "str | Path | None"]

PAIR_COLUMNS = ("a_split", "a_id", "b_split", "b_id")
#: Metric names that carry the distance threshold a pair finding used, in order of preference.
THRESHOLD_METRICS = ("threshold", "distance_threshold", "max_distance")

CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f3f4f6;color:#111827;
line-height:1.4}
main{max-width:1100px;margin:0 auto;padding:16px}
header.verdict{padding:20px 24px;color:#fff}
header.verdict.fail{background:#b91c1c}header.verdict.pass{background:#15803d}
header.verdict.incomplete{background:#7c2d12}header.verdict.reported{background:#1f2937}
header.verdict h1{margin:0 0 6px 0;font-size:28px}
header.verdict p{margin:2px 0}
.counts span{display:inline-block;margin-right:14px;font-weight:600}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:20px;margin:0 0 10px 0}
article.finding{border-left:6px solid #9ca3af;background:#fff;border-radius:8px;padding:14px 18px;margin:14px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
article.sev-error{border-left-color:#dc2626}article.sev-warning{border-left-color:#d97706}
article.sev-info{border-left-color:#0284c7}article.baselined{opacity:.75}
article h3{margin:0 0 6px 0;font-size:17px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#fff;
margin-right:6px;vertical-align:middle}
.badge.error{background:#dc2626}.badge.warning{background:#d97706}.badge.info{background:#0284c7}
.badge.accepted{background:#6b7280}
.code{font-family:ui-monospace,monospace}
.message{margin:4px 0 8px 0}
dl.metrics{display:flex;flex-wrap:wrap;gap:4px 18px;margin:6px 0}
dl.metrics div{display:flex;gap:4px}dl.metrics dt{color:#6b7280}dl.metrics dd{margin:0;font-weight:600}
.pairs{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
figure.pair{margin:0;padding:8px;border:1px solid #e5e7eb;border-radius:6px;background:#f9fafb;width:292px}
.pair-images{display:flex;gap:8px}
.pair-images figure{margin:0;width:134px}
.pair-images img{width:128px;height:128px;object-fit:contain;background:#e5e7eb;display:block}
.pair-images figcaption{font-size:11px;word-break:break-all;color:#374151}
figure.pair > figcaption{font-size:12px;margin-top:4px;color:#111827}
.more{color:#6b7280;font-style:italic}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 8px;text-align:left;vertical-align:top;word-break:break-all}
th{color:#6b7280;font-weight:600}
.remediation{margin:8px 0 0 0;color:#374151}
.remediation b{color:#111827}
svg.chart{max-width:100%;height:auto;display:block;margin:8px 0}
ol.hypotheses li{margin-bottom:10px}
meter{width:140px;vertical-align:middle}
footer{color:#6b7280;font-size:12px;padding:8px 20px 24px}
"""

#: Only the stylesheet above may apply (by hash); no script, no fetch, no frame, no form, no base URL.
CSP = ("default-src 'none'; img-src data:; style-src 'sha256-"
       + base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
       + "'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'")


def render_html(
    report: Report,
    *,
    explanation: Mapping[str, Any] | None = None,
    max_pairs: int = 12,
    max_rows: int = 50,
    max_thumbnails: int = 300,
    thumbnails: bool = True,
    item_path: ItemPathResolver | None = None,
    max_side: int = DEFAULT_MAX_SIDE,
) -> str:
    """The report as one HTML document (a string).

    ``max_pairs`` pairs per finding are shown as thumbnails and ``max_rows`` evidence rows as a table,
    each followed by "and N more"; at most ``max_thumbnails`` pictures in the whole file keep it small.
    ``item_path`` overrides how an item's file is found (default: from the split's folder or manifest).
    """
    state = _State(report, thumbnails=thumbnails, budget=max_thumbnails, item_path=item_path, max_side=max_side)
    verdict = verdict_word(report)
    findings = sorted(report.findings, key=lambda f: (f.baselined, -f.severity.rank))
    body = [
        _header(report, verdict),
        "<main>",
        _splits_section(report),
        _explanation_section(explanation),
        '<section class="findings-section"><h2>Findings</h2>',
        "".join(_finding_card(f, i, state, max_pairs, max_rows) for i, f in enumerate(findings, start=1))
        or '<p class="none">No problems found.</p>',
        "</section>",
        _scanners_section(report),
        "</main>",
        _footer(report),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>splitcheck report: {esc(verdict)}</title><style>{CSS}</style></head>\n<body>"
        + "\n".join(part for part in body if part)
        + "</body></html>\n"
    )


def write_html(report: Report, path: str | Path, **options: Any) -> None:
    """Write :func:`render_html` to ``path``. Raises :class:`InputError` when the file cannot be written."""
    text = render_html(report, **options)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report: {exc.strerror or exc}") from None


class _State:
    """Per-render settings and the thumbnail budget."""

    def __init__(self, report: Report, *, thumbnails: bool, budget: int, item_path: ItemPathResolver | None,
                 max_side: int) -> None:
        self.summaries = {str(s.get("name")): s for s in report.splits}
        self.thumbnails = thumbnails
        self.budget = budget
        self.item_path = item_path
        self.max_side = max_side

    def picture(self, split: str, item_id: str) -> str | None:
        """A data URI for the item, or None when the budget is spent or thumbnails are off."""
        if not self.thumbnails or self.budget <= 0:
            return None
        self.budget -= 1
        if self.item_path is not None:
            path = self.item_path(split, item_id)
        else:
            summary = self.summaries.get(split)
            path = resolve_item_path(summary, item_id) if summary is not None else None
        return thumbnail_data_uri(path, max_side=self.max_side)


def _header(report: Report, verdict: str) -> str:
    counts = report.counts()
    n_baselined = sum(f.baselined for f in report.findings)
    tally = "".join(f'<span class="count-{s.value}">{counts[s.value]} {s.value}'
                    f'{"s" if counts[s.value] != 1 and s is not Severity.INFO else ""}</span>'
                    for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    n_gated = len(report.gated_findings())
    gate = ("no gate (fail on never)" if report.fail_on == "never"
            else f"gate: fail on {esc(report.fail_on)} or worse; {n_gated} finding(s) at or over it")
    lines = [f'<header class="verdict {verdict.lower()}"><h1 id="verdict">{esc(verdict)}</h1>',
             f'<p class="counts">{tally}</p>', f"<p>{gate}</p>"]
    if n_baselined:
        lines.append(f"<p>{n_baselined} finding(s) accepted by the baseline are shown but not gated.</p>")
    if report.failed_scanners:
        names = ", ".join(esc(r.name) for r in report.failed_scanners)
        lines.append(f"<p>The scan is incomplete: scanner(s) {names} failed.</p>")
    lines.append("</header>")
    return "".join(lines)


def _splits_section(report: Report) -> str:
    if not report.splits:
        return ""
    rows = "".join(
        f"<tr><td>{esc(s.get('name', ''))}</td><td>{esc(s.get('modality', ''))}</td>"
        f"<td>{_int(s.get('n_items'))}</td><td>{_int(s.get('n_labels'))}</td><td>{esc(s.get('source', ''))}</td></tr>"
        for s in report.splits
    )
    parts = [('<section class="splits"><h2>Splits</h2><table><tr><th>split</th><th>modality</th><th>items</th>'
              f"<th>classes</th><th>source</th></tr>{rows}</table>")]
    with_counts = [s for s in report.splits if isinstance(s.get("class_counts"), Mapping) and s["class_counts"]]
    classes = sorted({str(c) for s in with_counts for c in s["class_counts"]})
    if with_counts and len(classes) <= 40:
        series = {}
        for s in with_counts:
            total = sum(int(v) for v in s["class_counts"].values()) or 1
            series[str(s.get("name"))] = [int(s["class_counts"].get(c, 0)) / total for c in classes]
        parts.append(grouped_bars(classes, series, title="Class shares per split", y_label="share of split",
                                  percent=True))
    elif len(classes) > 40:
        parts.append(f'<p class="more">{len(classes)} classes: too many to draw; see the JSON report.</p>')
    parts.append("</section>")
    return "".join(parts)


def _finding_card(finding: Finding, number: int, state: _State, max_pairs: int, max_rows: int) -> str:
    sev = finding.severity.value
    classes = f"finding sev-{sev}" + (" baselined" if finding.baselined else "")
    accepted = '<span class="badge accepted">accepted (baseline)</span>' if finding.baselined else ""
    parts = [
        f'<article class="{classes}" id="finding-{number}" data-code="{esc(finding.code)}">',
        (f'<h3><span class="badge {sev}">{sev.upper()}</span>{accepted}<span class="code">{esc(finding.code)}</span> '
         f"{esc(finding.name)}: {esc(finding.title)}</h3>"),
        f'<p class="message">{esc(finding.message)}</p>',
        _metrics(finding.metrics),
    ]
    evidence = finding.evidence
    if evidence is not None and len(evidence):
        if all(c in evidence.columns for c in PAIR_COLUMNS):
            parts.append(_pairs(evidence, state, max_pairs))
            parts.append(_distance_histogram(finding, evidence))
        if finding.code == "DS101":
            parts.append(_class_share_bars(evidence, finding))
        parts.append(_evidence_table(evidence, max_rows))
    if finding.remediation:
        parts.append(f'<p class="remediation"><b>Fix:</b> {esc(finding.remediation)}</p>')
    parts.append("</article>")
    return "".join(p for p in parts if p)


def _metrics(metrics: Mapping[str, Any]) -> str:
    if not metrics:
        return ""
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(_metric(k, v))}</dd></div>" for k, v in metrics.items())
    return f'<dl class="metrics">{items}</dl>'


def _pairs(evidence: pd.DataFrame, state: _State, max_pairs: int) -> str:
    shown = evidence.head(max_pairs)
    figures = []
    for row in shown.itertuples(index=False):
        rec = dict(zip(evidence.columns, row))
        sides = []
        for split_col, id_col in (("a_split", "a_id"), ("b_split", "b_id")):
            split, item = str(rec[split_col]), str(rec[id_col])
            uri = state.picture(split, item)
            picture = (f'<img src="{esc(uri)}" alt="{esc(split)}: {esc(item)}" width="128" height="128">'
                       if uri else "")
            sides.append(f"<figure>{picture}<figcaption><b>{esc(split)}</b> {esc(item)}</figcaption></figure>")
        detail = []
        if "distance" in rec:
            detail.append(f"distance {esc(_number(rec['distance']))}")
        if "method" in rec:
            detail.append(f"method {esc(rec['method'])}")
        figures.append(f'<figure class="pair"><div class="pair-images">{"".join(sides)}</div>'
                       f"<figcaption>{' · '.join(detail)}</figcaption></figure>")
    more = len(evidence) - len(shown)
    tail = f'<p class="more">and {more} more pair{"s" if more != 1 else ""}</p>' if more > 0 else ""
    return f'<div class="pairs">{"".join(figures)}</div>{tail}'


def _distance_histogram(finding: Finding, evidence: pd.DataFrame) -> str:
    if "distance" not in evidence.columns:
        return ""
    distances = pd.to_numeric(evidence["distance"], errors="coerce").dropna().to_numpy(dtype=float)
    threshold = next((float(finding.metrics[k]) for k in THRESHOLD_METRICS
                      if isinstance(finding.metrics.get(k), (int, float)) and math.isfinite(finding.metrics[k])), None)
    if distances.size == 0 or (len(set(distances.tolist())) < 2 and threshold is None):
        return ""
    method = ""
    if "method" in evidence.columns:
        methods = sorted({str(m) for m in evidence["method"]})
        method = f" ({', '.join(methods[:3])})"
    return histogram(distances, title=f"Distances of the {len(distances)} pairs{method}", x_label="distance",
                     threshold=threshold)


def _class_share_bars(evidence: pd.DataFrame, finding: Finding) -> str:
    share_columns = [c for c in evidence.columns if str(c).endswith("_share") and c != "share_difference"]
    if "class" not in evidence.columns or not share_columns:
        return ""
    top = evidence.head(30)
    series = {str(c)[: -len("_share")]: pd.to_numeric(top[c], errors="coerce").fillna(0.0).tolist()
              for c in share_columns}
    note = f" (the {len(top)} most different of {len(evidence)})" if len(evidence) > len(top) else ""
    return grouped_bars([str(c) for c in top["class"]], series, title=f"Class shares{note}",
                        y_label="share of split", percent=True)


def _evidence_table(evidence: pd.DataFrame, max_rows: int) -> str:
    if max_rows <= 0:
        return ""
    shown = evidence.head(max_rows)
    head = "".join(f"<th>{esc(c)}</th>" for c in evidence.columns)
    rows = "".join("<tr>" + "".join(f"<td>{esc(_number(v))}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    more = len(evidence) - len(shown)
    tail = f'<p class="more">and {more} more rows (all of them in --format json)</p>' if more > 0 else ""
    return (f"<details><summary>Evidence: {len(evidence)} row{'s' if len(evidence) != 1 else ''}</summary>"
            f"<table><tr>{head}</tr>{rows}</table>{tail}</details>")


def _explanation_section(explanation: Mapping[str, Any] | None) -> str:
    if not isinstance(explanation, Mapping):
        return ""
    parts = ['<section class="explanation"><h2>Why the curves look like this</h2>']
    curves = explanation.get("curves")
    if isinstance(curves, Mapping):
        parts.append(_curves_chart(curves))
    hypotheses = explanation.get("hypotheses")
    if isinstance(hypotheses, Sequence) and not isinstance(hypotheses, (str, bytes)):
        ranked = sorted((h for h in hypotheses if isinstance(h, Mapping)),
                        key=lambda h: -(_finite(h.get("score")) if _finite(h.get("score")) is not None else -math.inf))
        items = []
        for hyp in ranked:
            score = _finite(hyp.get("score"))
            meter = ""
            if score is not None:
                meter = (f' <meter min="0" max="1" value="{score:.4g}"></meter>' if 0 <= score <= 1 else "")
                meter = f" score {score:.3g}{meter}"
            facts = _facts(hyp.get("facts"))
            action = hyp.get("action")
            items.append(f'<li class="hypothesis"><b>{esc(hyp.get("id", "hypothesis"))}</b>{meter}{facts}'
                         + (f'<p class="action"><b>Confirm:</b> {esc(action)}</p>' if action else "") + "</li>")
        if items:
            parts.append(f'<ol class="hypotheses">{"".join(items)}</ol>')
    if len(parts) == 1:
        return ""
    parts.append("</section>")
    return "".join(parts)


def _curves_chart(curves: Mapping[str, Any]) -> str:
    axis = next((k for k in ("epoch", "step") if _is_list(curves.get(k))), None)
    series = {str(k): v for k, v in curves.items() if k not in ("epoch", "step", "regions") and _is_list(v)}
    series = {k: [_finite(x) for x in v] for k, v in series.items()}
    if not series:
        return ""
    length = max(len(v) for v in series.values())
    x = [_finite(v) for v in curves[axis]] if axis else list(range(length))
    if any(v is None for v in x):
        return ""
    n = min(len(x), length)
    series = {k: (v + [None] * length)[:n] for k, v in series.items()}
    regions = []
    raw_regions = curves.get("regions")
    if _is_list(raw_regions):
        for region in raw_regions:
            if isinstance(region, Mapping):
                region = dict(region)
                region.setdefault("start", region.get("from"))
                region.setdefault("end", region.get("to"))
                regions.append(region)
    return line_chart(x[:n], series, title="Loss curves", x_label=axis or "point", y_label="loss", regions=regions)


def _facts(facts: Any) -> str:
    if facts is None:
        return ""
    if isinstance(facts, Mapping):
        lines = [f"{k}: {_number(v)}" for k, v in facts.items()]
    elif isinstance(facts, (str, bytes)):
        lines = [str(facts)]
    elif _is_list(facts):
        lines = [str(f) for f in facts]
    else:
        lines = [str(facts)]
    return "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>" if lines else ""


def _scanners_section(report: Report) -> str:
    if not report.scanners:
        return ""
    rows = "".join(
        f'<tr class="status-{esc(r.status)}"><td>{esc(r.name)}</td><td>{esc(r.status)}</td><td>{esc(r.reason)}</td>'
        f"<td>{r.n_findings}</td><td>{r.seconds:.2f}</td></tr>"
        for r in report.scanners
    )
    return ('<section class="scanners"><h2>Scanners</h2><table><tr><th>scanner</th><th>status</th><th>reason</th>'
            f"<th>findings</th><th>seconds</th></tr>{rows}</table></section>")


def _footer(report: Report) -> str:
    versions = ", ".join(f"{esc(k)} {esc(v)}" for k, v in report.versions.items())
    source = report.config.get("source", "defaults") if isinstance(report.config, Mapping) else "defaults"
    warnings = "".join(f"<p>warning: {esc(w)}</p>" for w in report.warnings)
    return (f"<footer>{warnings}<p>Generated by splitcheck. Configuration: {esc(source)}.</p>"
            f"<p>{versions}</p></footer>")


def _metric(name: str, value: Any) -> str:
    """A metric as shown: ratios (names starting ``ratio``) as percentages, other numbers as :func:`_number`."""
    number = _finite(value)
    if str(name).startswith("ratio") and number is not None and 0 <= number <= 1:
        return f"{number:.1%}"
    return _number(value)


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _number(value.item())
        except (ValueError, AttributeError):
            pass
    return str(value)


def _int(value: Any) -> str:
    return str(value) if isinstance(value, int) else esc(value if value is not None else "")


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _is_list(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, (str, bytes))) or isinstance(value, np.ndarray)
