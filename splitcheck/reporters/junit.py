"""JUnit XML for CI systems: one test case per rule, a failure for each rule with findings at or over the gate.

Mapping (one ``<testsuite name="splitcheck">``, one ``<testcase>`` per rule code of every scanner, plus any
code found that no registered scanner declares):

- findings at or over the gate (``--fail-on``), not accepted by a baseline: ``<failure>`` with every
  such finding's message and its first evidence rows;
- findings below the gate or accepted by a baseline: the test case passes; they are listed in
  ``<system-out>``;
- rules of a scanner that was skipped (with its reason) or that the configuration ignores: ``<skipped>``;
- rules of a scanner that crashed: ``<error>`` with the exception.

Text that XML 1.0 cannot carry (control characters, undecodable file names) is replaced by ``?``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from splitcheck.findings import Finding
from splitcheck.report import Report
from splitcheck.reporters.svg import clean_text


def render_junit(report: Report, *, max_rows: int = 20) -> str:
    """The report as a JUnit XML document (a string, UTF-8 declared)."""
    from splitcheck.scanners import registered_scanners

    scanners = registered_scanners()
    runs = {r.name: r for r in report.scanners}
    gated = {id(f) for f in report.gated_findings()}
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_code[finding.code].append(finding)
    ignored = [str(c) for c in (report.config.get("ignore") or [])] if isinstance(report.config, dict) else []

    cases: list[tuple[str, str, str]] = []  # (scanner name, code, rule name)
    declared: set[str] = set()
    for name, cls in scanners.items():
        for code, rule in cls.rules.items():
            cases.append((name, code, rule.name))
            declared.add(code)
    for code, found in sorted(by_code.items()):
        if code not in declared:
            cases.append((found[0].scanner or "other", code, found[0].name))

    suite = ET.Element("testsuite", name="splitcheck")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="fail_on", value=report.fail_on)
    for key, value in report.versions.items():
        ET.SubElement(properties, "property", name=f"version.{_x(key)}", value=_x(value))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for scanner, code, rule_name in cases:
        run = runs.get(scanner)
        found = by_code.get(code, [])
        case = ET.SubElement(suite, "testcase", classname=f"splitcheck.{scanner}", name=f"{code} {rule_name}",
                             time=f"{run.seconds if run else 0.0:.3f}")
        totals["tests"] += 1
        failing = [f for f in found if id(f) in gated]
        passing = [f for f in found if id(f) not in gated]
        if run is not None and run.status == "failed":
            error = ET.SubElement(case, "error", message=_x(f"scanner {scanner} failed: {run.reason}"),
                                  type="ScannerError")
            error.text = _x(run.reason)
            totals["errors"] += 1
        elif failing:
            failure = ET.SubElement(case, "failure", type=failing[0].severity.value,
                                    message=_x(f"{len(failing)} finding(s): " + "; ".join(f.message for f in failing)))
            failure.text = "\n\n".join(_details(f, max_rows) for f in failing)
            totals["failures"] += 1
        elif not found and any(code.startswith(prefix) for prefix in ignored):
            ET.SubElement(case, "skipped", message="ignored by the configuration")
            totals["skipped"] += 1
        elif run is not None and run.status == "skipped":
            ET.SubElement(case, "skipped", message=_x(run.reason))
            totals["skipped"] += 1
        elif run is None and not found:
            ET.SubElement(case, "skipped", message="scanner did not run")
            totals["skipped"] += 1
        if passing:
            out = ET.SubElement(case, "system-out")
            out.text = "\n\n".join(("[baselined] " if f.baselined else f"[{f.severity.value}, below the gate] ")
                                   + _details(f, max_rows) for f in passing)
    for key, value in totals.items():
        suite.set(key, str(value))
    suite.set("time", f"{report.timings.get('total', 0.0):.3f}")
    root = ET.Element("testsuites", name="splitcheck", **{k: str(v) for k, v in totals.items()})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _details(finding: Finding, max_rows: int) -> str:
    lines = [f"{finding.code} {finding.name} ({finding.severity.value}): {finding.message}"]
    evidence = finding.evidence
    if evidence is not None and len(evidence) and max_rows > 0:
        lines.append("  " + "\t".join(str(c) for c in evidence.columns))
        for row in evidence.head(max_rows).itertuples(index=False):
            lines.append("  " + "\t".join(str(v) for v in row))
        if len(evidence) > max_rows:
            lines.append(f"  ... and {len(evidence) - max_rows} more (all of them in --format json)")
    if finding.remediation:
        lines.append(f"fix: {finding.remediation}")
    return _x("\n".join(lines))


def _x(text: object) -> str:
    """Text XML 1.0 can carry (tab and newline kept)."""
    return clean_text(text)
