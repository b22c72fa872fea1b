"""Group leakage: the same group id (patient, user, session, source video) in two splits."""

from __future__ import annotations

import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Rule, Scanner, register


@register
class GroupOverlapScanner(Scanner):
    """Finds group ids present in more than one split.

    What it finds: every group id (given by ``--group-column``) that has items in two splits, with how
    many items each side holds.
    Why it matters: items of one group (the same patient, user, recording) are correlated; a model that
    saw some of them in training recognises the group in validation, so validation overstates how well
    it generalises to new groups.
    """

    name = "group_overlap"
    rules = {
        "LK201": Rule("cross-split-group-overlap", Severity.ERROR,
                      "The same group id has items in two splits."),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        with_groups = [s for s in context.splits if s.has_groups]
        if len(with_groups) < 2:
            return "needs a group column (--group-column) in at least two splits"
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        findings = []
        for a, b in context.split_pairs():
            if not (a.has_groups and b.has_groups):
                continue
            ga = a.items["group"].dropna().astype(str)
            gb = b.items["group"].dropna().astype(str)
            count_a, count_b = ga.value_counts(), gb.value_counts()
            shared = sorted(set(count_a.index) & set(count_b.index))
            if not shared:
                continue
            evidence = pd.DataFrame({
                "group": shared,
                "a_split": a.name, "a_items": [int(count_a[g]) for g in shared],
                "b_split": b.name, "b_items": [int(count_b[g]) for g in shared],
            })
            n_items_a = int(evidence["a_items"].sum())
            n_groups_a = int(ga.nunique())
            ratio_items = n_items_a / len(a)
            findings.append(self.finding(
                context, "LK201",
                title=f"groups shared by {a.name} and {b.name}",
                message=(f"{len(shared)} of {n_groups_a} {a.name} groups ({len(shared) / n_groups_a:.1%}) also "
                         f"appear in {b.name}; they hold {n_items_a} of {len(a)} {a.name} items ({ratio_items:.1%})"),
                splits=(a.name, b.name),
                metrics={"n_groups": float(len(shared)), "ratio_groups": len(shared) / n_groups_a,
                         "n_items_affected": float(n_items_a), "ratio_affected": ratio_items},
                evidence=evidence,
                remediation=("Split by group (e.g. sklearn.model_selection.GroupShuffleSplit) so every group "
                             f"sits in one split; or drop the {n_items_a} {a.name} items of shared groups."),
            ))
        return findings
