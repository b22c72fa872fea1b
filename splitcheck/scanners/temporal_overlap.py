"""Temporal leakage: items of a later split older than the newest item of the reference split."""

from __future__ import annotations

import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Rule, Scanner, register


@register
class TemporalOverlapScanner(Scanner):
    """Finds validation/test items dated before the newest training item.

    What it finds: with a time column (``--time-column``), the items of each other split whose time is
    earlier than the newest time in the reference split (``train``), and by how much.
    Why it matters: a model meant to predict the future must be validated on data that comes after its
    training data; overlapping periods let it use information from the future and overstate accuracy.
    """

    name = "temporal_overlap"
    rules = {
        "LK301": Rule("temporal-overlap", Severity.ERROR,
                      "Items of a later split are older than the newest item of the training split."),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        if not context.reference.has_times:
            return "needs a time column (--time-column) in the training split"
        if not any(s.has_times for s in context.splits if s is not context.reference):
            return "needs a time column (--time-column) in a split other than training"
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        ref = context.reference
        ref_times = ref.items["time"].dropna()
        newest = ref_times.max()
        findings = []
        for split in context.splits:
            if split is ref or not split.has_times:
                continue
            times = split.items["time"]
            if _is_datetime(times) != _is_datetime(ref_times):
                continue
            older = times.notna() & (times < newest)
            if not older.any():
                continue
            rows = split.items[older]
            gap = newest - rows["time"]
            evidence = pd.DataFrame({"split": split.name, "id": rows["id"].to_numpy(),
                                     "time": rows["time"].astype(str).to_numpy(),
                                     "before_newest_train_by": _gap_text(gap)})
            evidence = evidence.iloc[(-_gap_value(gap)).argsort(kind="stable")].reset_index(drop=True)
            n = int(older.sum())
            worst = gap.max()
            findings.append(self.finding(
                context, "LK301",
                title=f"{split.name} items older than the newest {ref.name} item",
                message=(f"{n} of {len(split)} {split.name} items ({n / len(split):.1%}) are older than the newest "
                         f"{ref.name} item ({newest}); the oldest by {_one_gap(worst)}"),
                splits=(split.name, ref.name),
                metrics={"n_affected": float(n), "ratio_affected": n / len(split),
                         "max_gap": float(_gap_value(pd.Series([worst])).iloc[0])},
                evidence=evidence,
                remediation=(f"Split by time: put every {split.name} item after {newest}, "
                             f"or move the {n} older items to {ref.name}."),
            ))
        return findings


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


def _gap_value(gap: pd.Series) -> pd.Series:
    """Gaps as numbers: seconds for datetimes, the raw difference for numeric times."""
    if pd.api.types.is_timedelta64_dtype(gap.dtype):
        return gap.dt.total_seconds()
    return gap.astype("float64")


def _gap_text(gap: pd.Series) -> list[str]:
    return [_one_gap(g) for g in gap]


def _one_gap(gap: object) -> str:
    if isinstance(gap, pd.Timedelta):
        if gap.components.hours == gap.components.minutes == gap.components.seconds == 0:
            return f"{gap.days} days"
        return str(gap)
    return f"{gap:g}"
