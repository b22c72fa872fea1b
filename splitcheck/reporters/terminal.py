"""Human-readable report for a terminal: coloured on a TTY, plain otherwise (``NO_COLOR`` respected)."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from splitcheck.findings import Finding, Severity
from splitcheck.loaders.values import printable
from splitcheck.report import Report

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render_terminal(report: Report, file: IO[str] | None = None, *, max_rows: int = 10,
                    color: bool | None = None, width: int | None = None) -> None:
    console = Console(file=file, highlight=False, soft_wrap=True, width=width,
                      no_color=None if color is None else not color,
                      force_terminal=color if color else None)
    if width is None and not console.is_terminal:
        console.width = 160  # piped or redirected: do not wrap at 80 columns
    names = ", ".join(f"{s['name']} ({s['n_items']} {s['modality']} items)" for s in report.splits)
    console.print(f"[bold]splitcheck[/] scanned {escape(names)}")
    if not report.findings:
        console.print("No problems found.")
    for finding in report.findings:
        _finding(console, finding, max_rows)
    for run in report.scanners:
        if run.status == "failed":
            console.print(f"[bold red]scanner {run.name} failed:[/] {escape(run.reason)}")
    skipped = [r for r in report.scanners if r.status == "skipped"]
    if skipped:
        console.print("[dim]skipped: " + escape("; ".join(f"{r.name} ({r.reason})" for r in skipped)) + "[/]")
    counts = report.counts()
    tally = ", ".join(f"{counts[s.value]} {s.value}" + ("s" if counts[s.value] != 1 else "")
                      for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    if report.failed_scanners:
        verdict = "[bold red]INCOMPLETE[/]"
    elif report.fail_on == "never":
        verdict = "[bold]REPORTED[/]"
    else:
        verdict = "[bold green]PASS[/]" if report.ok else "[bold red]FAIL[/]"
    n_baselined = sum(f.baselined for f in report.findings)
    baselined = f", {n_baselined} accepted by baseline" if n_baselined else ""
    console.print(f"{verdict}: {tally}{baselined} (gate: fail on {report.fail_on})")


def _finding(console: Console, finding: Finding, max_rows: int) -> None:
    style = STYLE[finding.severity]
    console.print()
    accepted = " [dim](accepted by baseline)[/]" if finding.baselined else ""
    console.print(f"[{style}]{finding.severity.value.upper()}[/] [bold]{finding.code}[/] {finding.name}: "
                  f"{escape(printable(finding.message))}{accepted}")
    evidence = finding.evidence
    if evidence is not None and len(evidence) and max_rows > 0:
        shown = evidence.head(max_rows)
        cells = {str(c): [_cell(v) for v in shown[c]] for c in shown.columns}
        columns, used = [], 0
        for name, values in cells.items():  # as many whole columns as fit: wrapped ids are hard to read
            width = max(len(name), *(len(v) for v in values)) + 2
            if columns and used + width > console.width:
                break
            columns.append(name)
            used += width
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="dim")
        for name in columns:
            table.add_column(name, overflow="fold")
        for k in range(len(shown)):
            table.add_row(*(escape(cells[name][k]) for name in columns))
        console.print(table)
        hidden = [name for name in cells if name not in columns]
        if hidden:
            console.print(f"  [dim]({len(hidden)} more columns: {escape(', '.join(hidden))}; all in --format json)[/]")
        if len(evidence) > max_rows:
            console.print(f"  ... and {len(evidence) - max_rows} more (all of them in --format json)")
    if finding.remediation:
        console.print(f"  [dim]fix:[/] {escape(finding.remediation)}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return printable(str(value))  # a file name's ESC or newline must not reach the terminal raw
