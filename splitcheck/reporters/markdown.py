"""A Markdown summary sized for a pull-request comment: verdict line, table of findings, first pairs.

Every string from the user's data is escaped for GitHub-flavoured Markdown: pipes cannot break a
table, backticks cannot open code spans, ``<``/``>``/``&`` are entities (no raw HTML), and ``*_[]\\``
lose their meaning. User strings are never put inside code spans (where a backslash is literal).
The whole comment stays well below GitHub's 65,536-character limit: at most ``max_findings`` rows and
``max_pairs`` pairs per finding, each followed by "and N more".
"""

from __future__ import annotations

import re
from typing import Any

from splitcheck.findings import Finding, Severity
from splitcheck.report import Report
from splitcheck.reporters.svg import clean_text

SEVERITY_MARK = {Severity.ERROR: "\U0001f534 error", Severity.WARNING: "\U0001f7e0 warning",
                 Severity.INFO: "\U0001f535 info"}
VERDICT_MARK = {"PASS": "\u2705", "FAIL": "\u274c", "INCOMPLETE": "\u26a0\ufe0f", "REPORTED": "\u2139\ufe0f"}

_SPECIAL = re.compile(r"([\\`*_\[\]|#~!])")


def verdict_word(report: Report) -> str:
    """PASS / FAIL against the gate; INCOMPLETE when a scanner failed; REPORTED when there is no gate."""
    if report.failed_scanners:
        return "INCOMPLETE"
    if report.fail_on == "never":
        return "REPORTED"
    return "PASS" if report.ok else "FAIL"


def md_escape(text: Any) -> str:
    """``text`` as literal Markdown inline text (one line; table-safe)."""
    out = clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _SPECIAL.sub(r"\\\1", out)
    return " ".join(out.split())


def render_markdown(report: Report, *, max_findings: int = 30, max_pairs: int = 5, title: str = "splitcheck") -> str:
    """The report as Markdown for a pull-request comment."""
    verdict = verdict_word(report)
    counts = report.counts()
    tally = ", ".join(f"{counts[s.value]} {s.value}{'s' if counts[s.value] != 1 and s is not Severity.INFO else ''}"
                      for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    gate = "no gate" if report.fail_on == "never" else f"gate: fail on {report.fail_on}"
    lines = [f"### {VERDICT_MARK[verdict]} {md_escape(title)}: {verdict}", "",
             f"{tally} ({gate}). Splits: " + ", ".join(
                 f"{md_escape(s.get('name', ''))} ({s.get('n_items', '?')} items)" for s in report.splits) + "."]
    n_baselined = sum(f.baselined for f in report.findings)
    if n_baselined:
        lines += ["", f"{n_baselined} finding(s) accepted by the baseline are listed but do not fail the gate."]
    for run in report.failed_scanners:
        lines += ["", f"**Scanner {md_escape(run.name)} failed:** {md_escape(run.reason)}"]
    findings = sorted(report.findings, key=lambda f: (f.baselined, -f.severity.rank))
    if not findings:
        lines += ["", "No problems found."]
        return "\n".join(lines) + "\n"
    lines += ["", "| severity | code | rule | splits | finding |", "|---|---|---|---|---|"]
    for finding in findings[:max_findings]:
        severity = SEVERITY_MARK[finding.severity] + (" (baselined)" if finding.baselined else "")
        lines.append(f"| {severity} | `{_code(finding.code)}` | {md_escape(finding.name)} | "
                     f"{md_escape(', '.join(finding.splits))} | {md_escape(finding.message)} |")
    if len(findings) > max_findings:
        lines.append(f"\nand {len(findings) - max_findings} more findings (all of them in --format json or html)")
    for finding in findings[:max_findings]:
        pairs = _pairs(finding, max_pairs)
        if pairs:
            lines += ["", *pairs]
    return "\n".join(lines) + "\n"


def _pairs(finding: Finding, max_pairs: int) -> list[str]:
    evidence = finding.evidence
    if evidence is None or len(evidence) == 0 or max_pairs <= 0:
        return []
    if not {"a_split", "a_id", "b_split", "b_id"} <= set(evidence.columns):
        return []
    extra = [c for c in ("method", "distance") if c in evidence.columns]
    summary = f"{_code(finding.code)}: first {min(max_pairs, len(evidence))} of {len(evidence)} pairs"
    lines = [f"<details><summary>{summary}</summary>", "",
             "| item | paired with | " + "".join(f"{c} | " for c in extra),
             "|---|---|" + "---|" * len(extra)]
    for row in evidence.head(max_pairs).itertuples(index=False):
        rec = dict(zip(evidence.columns, row))
        cells = [f"{md_escape(rec['a_split'])}: {md_escape(rec['a_id'])}",
                 f"{md_escape(rec['b_split'])}: {md_escape(rec['b_id'])}",
                 *(md_escape(_number(rec[c])) for c in extra)]
        lines.append("| " + " | ".join(cells) + " |")
    if len(evidence) > max_pairs:
        lines.append(f"\nand {len(evidence) - max_pairs} more")
    lines += ["", "</details>"]
    return lines


def _code(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", code)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)
