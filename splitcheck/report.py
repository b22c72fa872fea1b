"""The Report: findings, per-split summaries, scanner runs, configuration, versions, timings."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitcheck.findings import Finding, Severity

#: Version of the JSON report layout (``splitcheck/schemas/report.schema.json``). Bumped on any
#: incompatible change; additions keep the major number.
SCHEMA_VERSION = "1.0"


class ExitCode(enum.IntEnum):
    """Exit codes of the command line (and of ``Report.exit_code``)."""

    OK = 0  #: no finding at or above the gate
    FINDINGS = 1  #: findings at or above the gate (``--fail-on``)
    USAGE_ERROR = 2  #: bad usage, configuration or unusable input
    INTERNAL_ERROR = 3  #: a bug in splitcheck, or a scanner that crashed


@dataclass
class ScannerRun:
    """What one scanner did: ``ok``, ``skipped`` (with the reason) or ``failed`` (with the error)."""

    name: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    n_findings: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason,
                "seconds": round(self.seconds, 4), "params": self.params, "n_findings": self.n_findings}


@dataclass
class Report:
    """The result of a scan. ``ok`` is False when a finding reaches the gate (``fail_on``)."""

    findings: list[Finding]
    splits: list[dict[str, Any]]
    scanners: list[ScannerRun] = field(default_factory=list)
    fail_on: str = "error"
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_html(self, path: str | Path, *, explanation: dict[str, Any] | None = None) -> None:
        """Write the self-contained HTML report (opens offline; thumbnails of image pairs inline)."""
        from splitcheck.reporters.html import write_html

        write_html(self, path, explanation=explanation)

    def gated_findings(self) -> list[Finding]:
        """Findings at or above the gate, leaving out those a baseline accepts (``Finding.baselined``)."""
        if self.fail_on == "never":
            return []
        gate = Severity(self.fail_on).rank
        return [f for f in self.findings if f.severity.rank >= gate and not f.baselined]

    @property
    def ok(self) -> bool:
        return not self.gated_findings()

    @property
    def failed_scanners(self) -> list[ScannerRun]:
        return [s for s in self.scanners if s.status == "failed"]

    @property
    def exit_code(self) -> ExitCode:
        if self.failed_scanners:
            return ExitCode.INTERNAL_ERROR
        return ExitCode.OK if self.ok else ExitCode.FINDINGS

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": "splitcheck",
            "ok": self.ok,
            "fail_on": self.fail_on,
            "counts": self.counts(),
            "splits": self.splits,
            "findings": [f.to_dict() for f in self.findings],
            "scanners": [s.to_dict() for s in self.scanners],
            "config": self.config,
            "versions": self.versions,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")
