"""Baselines: a file of accepted findings, so that a gate fails only on new ones.

``splitcheck scan ... --write-baseline splitcheck-baseline.json`` records every finding of the scan;
``--baseline splitcheck-baseline.json`` then marks the findings it accepts (``Finding.baselined``) and
the gate ignores them. A finding is matched by its rule code and the items it names, never by its
message text (messages carry numbers that change when unrelated items are added):

- the *items* of a finding are the rows of its evidence reduced to their identity columns
  (split names, item ids, group ids, class names: :data:`IDENTITY_COLUMNS`); measurements such as a
  distance, a count or a share are left out;
- a finding whose evidence names no item is matched by code and splits; rows naming classes or groups
  but no split (e.g. a class-mix shift) are tied to the finding's splits;
- a finding is accepted when *every* item it names is in the baseline under the same code. One new
  leaked pair in a finding that otherwise lists accepted pairs makes the whole finding count again.

The file is JSON (``{"tool": "splitcheck", "kind": "baseline", "version": 1, "findings": [...]}``), sorted
so that it diffs well under version control.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitcheck.errors import InputError
from splitcheck.findings import Finding
from splitcheck.report import Report

#: Version of the baseline file layout; a file with another version is refused.
BASELINE_VERSION = 1

#: Evidence columns that identify an item (kept in the baseline); all other columns are measurements.
IDENTITY_COLUMNS = ("split", "id", "a_split", "a_id", "b_split", "b_id", "group", "class", "column", "feature")

ItemKey = tuple[tuple[str, str], ...]


@dataclass
class Baseline:
    """Accepted findings: for each rule code, the set of item keys accepted under it."""

    accepted: dict[str, set[ItemKey]] = field(default_factory=dict)
    source: str = "<memory>"

    def accepts(self, finding: Finding) -> bool:
        """True when every item ``finding`` names is accepted under its code."""
        keys = finding_keys(finding)
        return keys <= self.accepted.get(finding.code, set())

    def __len__(self) -> int:
        return sum(len(v) for v in self.accepted.values())


def finding_keys(finding: Finding) -> set[ItemKey]:
    """The identity of each item a finding names, as sorted ``(column, value)`` tuples.

    A finding without identity columns in its evidence gets one key made of its splits; evidence rows that
    name no split get the finding's splits added, so that a class accepted for val is not accepted for test.
    """
    evidence = finding.evidence
    columns = [c for c in IDENTITY_COLUMNS if evidence is not None and c in evidence.columns]
    if evidence is None or not columns or len(evidence) == 0:
        return {(("splits", ",".join(finding.splits)),)}
    # evidence that names no split (a class, a group) is tied to the finding's splits
    extra = () if {"split", "a_split", "b_split"} & set(columns) else (("splits", ",".join(finding.splits)),)
    keys = set()
    for row in evidence[columns].itertuples(index=False):
        keys.add(tuple(sorted([*((col, _text(value)) for col, value in zip(columns, row)), *extra])))
    return keys


def baseline_from_report(report: Report) -> Baseline:
    """A baseline accepting every finding of ``report``."""
    accepted: dict[str, set[ItemKey]] = {}
    for finding in report.findings:
        accepted.setdefault(finding.code, set()).update(finding_keys(finding))
    return Baseline(accepted)


def write_baseline(report: Report, path: str | Path) -> int:
    """Record every finding of ``report`` in ``path`` (JSON); returns the number of findings recorded.

    Raises :class:`InputError` when the file cannot be written.
    """
    entries = []
    for finding in report.findings:
        keys = sorted(finding_keys(finding))
        columns = sorted({col for key in keys for col, _ in key})
        entries.append({
            "code": finding.code,
            "name": finding.name,
            "splits": list(finding.splits),
            "title": finding.title,  # for people reading the file; never used to match
            "columns": columns,
            "items": [[dict(key).get(col) for col in columns] for key in keys],
        })
    entries.sort(key=lambda e: (e["code"], e["splits"], e["items"]))
    document = {"tool": "splitcheck", "kind": "baseline", "version": BASELINE_VERSION, "findings": entries}
    try:
        Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None
    return len(entries)


def read_baseline(path: str | Path) -> Baseline:
    """Read a baseline file. Raises :class:`InputError` naming the file and what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: baseline file not found (write one with --write-baseline {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the baseline: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: baseline is not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict) or document.get("kind") != "baseline" or document.get("tool") != "splitcheck":
        raise InputError(f'{path}: not a splitcheck baseline (expected "tool": "splitcheck", "kind": "baseline")')
    if document.get("version") != BASELINE_VERSION:
        raise InputError(f"{path}: baseline version {document.get('version')!r} is not supported "
                         f"(this splitcheck reads version {BASELINE_VERSION}); write it again with --write-baseline")
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise InputError(f"{path}: baseline has no \"findings\" list")
    accepted: dict[str, set[ItemKey]] = {}
    for number, entry in enumerate(entries):
        code, keys = _entry_keys(entry, path, number)
        accepted.setdefault(code, set()).update(keys)
    return Baseline(accepted, source=str(path))


def apply_baseline(report: Report, baseline: Baseline) -> Report:
    """A copy of ``report`` whose findings accepted by ``baseline`` are marked ``baselined``.

    The findings stay in the report (renderers show them as accepted); ``Report.gated_findings``, ``ok``
    and ``exit_code`` leave them out. The input report is not modified.
    """
    findings = [dataclasses.replace(f, baselined=baseline.accepts(f)) for f in report.findings]
    return dataclasses.replace(report, findings=findings)


def _entry_keys(entry: Any, path: str | Path, number: int) -> tuple[str, set[ItemKey]]:
    where = f"{path}: findings[{number}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
        raise InputError(f"{where} needs a \"code\" (rule code such as LK101)")
    columns, items = entry.get("columns"), entry.get("items")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InputError(f"{where} needs \"columns\", a list of column names")
    if not isinstance(items, list) or not all(isinstance(i, list) and len(i) == len(columns) for i in items):
        raise InputError(f"{where} needs \"items\", a list of rows with one value per column ({len(columns)})")
    keys = {tuple(sorted((col, _text(value)) for col, value in zip(columns, item) if value is not None))
            for item in items}
    return entry["code"].upper(), keys


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
