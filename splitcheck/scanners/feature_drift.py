"""Property and feature drift: do the per-item properties of a split follow the reference's distribution?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Param, Rule, Scanner, in_range, register
from splitcheck.splits import Split
from splitcheck.stats.features import property_frames, subsample_rows
from splitcheck.stats.two_sample import drift_table


def one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def comparable_splits(context: ScanContext) -> list[Split]:
    """The reference split first, then every other split of the same kind (the ones the statistics compare)."""
    ref = context.reference
    return [ref] + [s for s in context.splits if s is not ref and s.modality == ref.modality]


def too_few_items(context: ScanContext, min_items: int) -> str | None:
    """Why the statistics cannot run (fewer than two splits of ``min_items``), or None."""
    if sum(len(s) >= min_items for s in context.splits) < 2:
        return f"needs at least two splits of {min_items} items"
    return None


@register
class FeatureDriftScanner(Scanner):
    """Compares the distribution of every per-item property or feature between each split and the reference.

    What it finds: table features (numeric and categorical), text properties (length, words, vocabulary),
    image properties (size, aspect, channels, format, brightness, contrast, sharpness) or vector
    coordinates whose distribution differs between a split and the reference split. Each feature gets a
    two-sample test (Kolmogorov-Smirnov for numbers, chi-square for categories), p-values adjusted for
    testing all features at once, an effect size (Wasserstein distance in standard deviations, or
    Cramér's V with the splits weighted equally) and the population stability index. A feature is
    reported when its adjusted p-value is below ``alpha`` *and* its effect size reaches the minimum, so
    huge splits do not flag negligible differences.
    Why it matters: a validation split whose images are brighter, whose texts are shorter or whose rows
    come from another range does not measure the population the model will meet, and can be easier or
    harder than training for reasons unrelated to the model.
    """

    name = "feature_drift"
    imports = ("scipy.stats",)
    memoise = True
    rules = {
        "DS201": Rule("feature-drift", Severity.WARNING,
                      "Per-item properties or features are distributed differently in a split than in the reference."),
    }
    params = {
        "alpha": Param(0.01, "Level for the p-values adjusted for testing many features; a feature is reported "
                       "only when its adjusted p-value is below it.", in_range(0.0, 1.0)),
        "correction": Param("bh", "Multiple-testing correction: bh (Benjamini-Hochberg), holm (Holm-Bonferroni) "
                            "or none.", one_of("bh", "holm", "none")),
        "min_effect_numeric": Param(0.1, "Smallest Wasserstein distance, in pooled standard deviations, for a "
                                    "numeric feature to be reported (0.1 = the values moved by a tenth of a "
                                    "standard deviation on average).", in_range(0.0, None)),
        "min_cramers_v": Param(0.1, "Smallest Cramér's V (splits weighted equally, 0..1) for a categorical feature "
                               "to be reported.", in_range(0.0, 1.0)),
        "psi_bins": Param(10, "Number of reference quantile bins for the population stability index of numeric "
                          "features.", in_range(2, None, integer=True)),
        "max_items": Param(100_000, "Items per split used for the tests; larger splits are subsampled at random "
                           "(the finding says so).", in_range(10, None, integer=True)),
        "max_categories": Param(50, "Most frequent values kept per categorical column; the rest are pooled.",
                                in_range(1, None, integer=True)),
        "min_items": Param(10, "Splits with fewer items than this are not compared.", in_range(2, None, integer=True)),
        "max_listed": Param(5, "How many drifting features the message names.", in_range(1, None, integer=True)),
        "random_state": Param(0, "Seed of the subsampling.", in_range(0, None, integer=True)),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        return super().skip_reason(context) or too_few_items(context, self.settings["min_items"])

    def run(self, context: ScanContext) -> list[Finding]:
        ref = context.reference
        splits = comparable_splits(context)
        rows = {s.name: subsample_rows(len(s), self.settings["max_items"], self.settings["random_state"])
                for s in splits}
        props = property_frames(splits, rows, image_properties=context.image_properties,
                                max_categories=self.settings["max_categories"],
                                random_state=self.settings["random_state"])
        findings = []
        for other in splits[1:]:
            if len(other) < self.settings["min_items"] or len(ref) < self.settings["min_items"]:
                continue
            finding = self._compare(context, props.frames[ref.name], props.frames[other.name], ref.name,
                                    other.name, props.description, props.excluded,
                                    subsampled=[s.name for s in (ref, other) if len(rows[s.name]) < len(s)])
            if finding is not None:
                findings.append(finding)
        return findings

    def _compare(self, context: ScanContext, ref: pd.DataFrame, other: pd.DataFrame, ref_name: str,
                 other_name: str, description: str, excluded: dict[str, str], subsampled: list[str]) -> Finding | None:
        table = drift_table(ref, other, correction=self.settings["correction"], psi_bins=self.settings["psi_bins"])
        if table.empty:
            return None
        threshold = np.where(table["kind"] == "numeric", self.settings["min_effect_numeric"],
                             self.settings["min_cramers_v"])
        table.insert(1, "drifted", (table["p_adjusted"] < self.settings["alpha"]) & (table["effect_size"] >= threshold))
        if not table["drifted"].any():
            return None
        table = table.sort_values("drifted", ascending=False, kind="stable").reset_index(drop=True)
        drifted = table[table["drifted"]]
        listed = "; ".join(_describe(row) for _, row in drifted.head(self.settings["max_listed"]).iterrows())
        more = f" and {len(drifted) - self.settings['max_listed']} more" if len(drifted) > self.settings["max_listed"] else ""
        notes = []
        if subsampled:
            notes.append(f"tested on {self.settings['max_items']} random items of {', '.join(subsampled)}")
        if excluded:
            notes.append("not compared: " + ", ".join(f"{k} ({v})" for k, v in excluded.items()))
        return self.finding(
            context, "DS201",
            title=f"{other_name} properties differ from {ref_name}",
            message=(f"{len(drifted)} of {len(table)} {description} differ between {other_name} and {ref_name}: "
                     f"{listed}{more}" + (f" ({'; '.join(notes)})" if notes else "")),
            splits=(other_name, ref_name),
            metrics={
                "n_features": float(len(table)),
                "n_drifted": float(len(drifted)),
                "max_effect_size": float(drifted["effect_size"].max()),
                "max_psi": float(drifted["psi"].max()),
                "min_p_adjusted": float(drifted["p_adjusted"].min()),
                "alpha": float(self.settings["alpha"]),
            },
            evidence=table,
            remediation=(f"Check how {other_name} was collected or selected (source, date range, device, filters); "
                         "re-split at random (stratified by these properties or by group) if it should come from "
                         f"the same population, or report metrics per {other_name} subgroup if the shift is real."),
        )


def _describe(row: pd.Series) -> str:
    if row["kind"] == "numeric":
        size = f"Wasserstein {row['effect_size']:.2f} sd, Cohen's d {row['cohens_d']:+.2f}"
    else:
        size = f"Cramér's V {row['effect_size']:.2f}"
    return (f"{row['feature']} ({size}, PSI {row['psi']:.2f}, adjusted p={row['p_adjusted']:.2g}; "
            f"{row['other_summary']} vs {row['reference_summary']})")
