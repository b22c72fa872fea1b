"""``splitcheck fix``: write cleaned split manifests to a new folder, never touching the user's files.

The fix works on image splits (image folders, manifests or path lists). It scans the splits, plans what
to change, and writes one manifest per split, ``<OUTPUT>/<split>.csv`` with the columns ``path,label``
pointing at the original files, plus ``<OUTPUT>/changes.csv`` listing every item that was dropped or
moved and why (rule code). Strategies:

- ``drop``: drop every item of a later split (val, test) that a leakage finding (``LK...``) ties to an
  earlier split: exact or near copies, shared groups, items older than the training data;
- ``move``: move those items into the training (first) split instead, so nothing is thrown away;
- ``dedupe``: keep one item per duplicate cluster: a later-split copy of an earlier-split item is dropped
  (the earlier split keeps its copy) and, inside each split, every copy but the first of a cluster of
  identical items (``DQ201``) is dropped. Group and time findings are left alone.

Paths are absolute by default; ``relative=True`` writes them relative to the output folder, the
folder a manifest reader (splitcheck included) resolves them from. The output folder must be new or
empty and must not lie inside a split's folder.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.errors import InputError
from splitcheck.report import Report
from splitcheck.splits import Split

STRATEGIES = ("drop", "move", "dedupe")


@dataclass(frozen=True)
class Change:
    """One item dropped from, or moved out of, a split, and the rule code that asked for it."""

    split: str
    id: str
    action: str  # "drop" or "move"
    reason: str  # rule code(s), e.g. "LK101"
    to_split: str = ""


@dataclass
class FixPlan:
    """What ``fix`` will write: the kept items of every split (in order) and the changes."""

    strategy: str
    splits: dict[str, list[tuple[str, str, Any]]] = field(default_factory=dict)  # name -> [(id, path, label)]
    changes: list[Change] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """One line per split ("val: 10 -> 9 items (1 dropped)") and a total."""
        lines = []
        for name, items in self.splits.items():
            dropped = sum(c.split == name and c.action == "drop" for c in self.changes)
            moved_out = sum(c.split == name and c.action == "move" for c in self.changes)
            moved_in = sum(c.to_split == name for c in self.changes)
            detail = ", ".join(part for part in (
                f"{dropped} dropped" if dropped else "", f"{moved_out} moved out" if moved_out else "",
                f"{moved_in} moved in" if moved_in else "") if part) or "unchanged"
            lines.append(f"{name}: {self.before[name]} -> {len(items)} items ({detail})")
        lines.append(f"{len(self.changes)} item(s) changed (strategy: {self.strategy})")
        return lines


def plan_fix(splits: list[Split], report: Report, strategy: str = "drop") -> FixPlan:
    """Plan the cleaned manifests of ``splits`` (the first is training) from the findings of ``report``."""
    if strategy not in STRATEGIES:
        raise InputError(f"unknown fix strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    for split in splits:
        if split.modality != "image" or split.paths is None:
            raise InputError(f"split {split.name!r} ({split.source}) holds {split.modality} items; fix writes image "
                             "manifests and needs image splits (folders, manifests or path lists)")
    reference = splits[0]
    remove: dict[str, dict[str, set[str]]] = {s.name: {} for s in splits}  # split -> id -> codes

    def mark(split: str, item: str, code: str) -> None:
        if split in remove:
            remove[split].setdefault(item, set()).add(code)

    if strategy in ("drop", "move"):
        context = ScanContext(splits)
        context.findings = list(report.findings)
        for split in splits[1:]:
            for item in context.leaked_ids(split.name):
                codes = _codes_naming(report, split.name, item)
                remove[split.name].setdefault(item, set()).update(codes or {"LK"})
    else:
        for finding in report.findings:
            evidence = finding.evidence
            if evidence is None or not len(evidence):
                continue
            if finding.code.startswith("LK1") and {"a_split", "a_id"} <= set(evidence.columns):
                for split_name, item in zip(evidence["a_split"].astype(str), evidence["a_id"].astype(str)):
                    mark(split_name, item, finding.code)
            elif finding.code.startswith("DQ") and {"split", "id", "cluster"} <= set(evidence.columns):
                for split_name, item, cluster in zip(evidence["split"].astype(str), evidence["id"].astype(str),
                                                     evidence["cluster"].astype(str)):
                    if item != cluster:
                        mark(split_name, item, finding.code)

    plan = FixPlan(strategy=strategy)
    moved: list[tuple[str, str, Any]] = []
    in_reference = {os.path.abspath(p) for p in reference.paths or []}
    for split in splits:
        plan.before[split.name] = len(split)
        kept = []
        for item, path, label in zip(split.ids, split.paths, split.items["label"]):
            codes = remove[split.name].get(str(item))
            if codes is None:
                kept.append((str(item), path, label))
                continue
            # a file the training manifest already lists is dropped rather than listed twice
            movable = split is not reference and os.path.abspath(path) not in in_reference
            action = "move" if strategy == "move" and movable else "drop"
            plan.changes.append(Change(split.name, str(item), action, ",".join(sorted(codes)),
                                       reference.name if action == "move" else ""))
            if action == "move":
                moved.append((f"{split.name}/{item}", path, label))
        plan.splits[split.name] = kept
    plan.splits[reference.name].extend(moved)
    return plan


def check_output_dir(output: Path, splits: list[Split]) -> None:
    """Refuse an output folder that exists and is not empty, or that lies inside (or is) a split's folder."""
    target = output.resolve()
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: exists and is not a folder; give a new folder for the cleaned manifests")
    if output.is_dir() and any(output.iterdir()):
        raise InputError(f"{output}: folder is not empty; give a new or empty folder for the cleaned manifests")
    for split in splits:
        for root in _split_roots(split):
            if target == root or root in target.parents:
                raise InputError(f"{output}: lies inside the folder of split {split.name!r} ({root}); "
                                 "write the cleaned manifests outside the data")


def write_fix(plan: FixPlan, output: Path, *, relative: bool = False) -> list[Path]:
    """Write ``<output>/<split>.csv`` for every split and ``<output>/changes.csv``; returns the files written."""
    output.mkdir(parents=True, exist_ok=True)
    base = os.path.abspath(output)
    written = []
    for name, items in plan.splits.items():
        file = output / f"{_file_name(name)}.csv"
        with open(file, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label"])
            for _item, path, label in items:
                absolute = os.path.abspath(path)
                shown = Path(os.path.relpath(absolute, base)).as_posix() if relative else absolute
                writer.writerow([shown, _label_text(label)])
        written.append(file)
    changes = output / "changes.csv"
    with open(changes, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "id", "action", "to_split", "reason"])
        for change in plan.changes:
            writer.writerow([change.split, change.id, change.action, change.to_split, change.reason])
    written.append(changes)
    return written


def run_fix(splits: list[Split], report: Report, output: Path, *, strategy: str = "drop", dry_run: bool = False,
            relative: bool = False, echo: Callable[[str], None] = print) -> FixPlan:
    """Check the output folder, plan, and (unless ``dry_run``) write; the plan and summary go to ``echo``."""
    check_output_dir(output, splits)
    plan = plan_fix(splits, report, strategy)
    if dry_run:
        echo(f"dry run: nothing written; would write {len(plan.splits) + 1} files to {output}")
        for change in plan.changes:
            where = f" -> {change.to_split}" if change.action == "move" else ""
            echo(f"  {change.action} {change.split}/{change.id}{where} ({change.reason})")
    else:
        files = write_fix(plan, output, relative=relative)
        echo(f"wrote {len(files)} files to {output}: " + ", ".join(f.name for f in files))
    for line in plan.summary_lines():
        echo(line)
    return plan


def _codes_naming(report: Report, split: str, item: str) -> set[str]:
    codes = set()
    for finding in report.findings:
        evidence = finding.evidence
        if not finding.code.startswith("LK") or evidence is None or split not in finding.splits:
            continue
        for split_col, id_col in (("a_split", "a_id"), ("split", "id")):
            if {split_col, id_col} <= set(evidence.columns):
                hit = (evidence[split_col].astype(str) == split) & (evidence[id_col].astype(str) == item)
                if hit.any():
                    codes.add(finding.code)
        if "group" in evidence.columns and "a_split" in evidence.columns and "a_id" not in evidence.columns:
            codes.add(finding.code)  # group findings name groups, not items
    return codes


def _split_roots(split: Split) -> list[Path]:
    roots = []
    if split.root is not None:
        roots.append(Path(split.root).resolve())
    source = Path(split.source) if split.source and not split.source.startswith("<") else None
    if source is not None and source.exists():
        roots.append((source if source.is_dir() else source.parent).resolve())
    return roots


def _file_name(name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip(".")
    return safe or "split"


def _label_text(value: Any) -> str:
    """A label as written in the manifest: empty when missing, ``3`` rather than ``3.0``."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
