"""Class distribution: are the label shares the same in every split, and is every class represented?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Param, Rule, Scanner, in_range, register


@register
class ClassDistributionScanner(Scanner):
    """Compares class counts and shares between splits.

    What it finds: a class mix that differs between the training split and another split (chi-square
    test of homogeneity and Jensen-Shannon distance, naming the classes that drive the difference);
    classes missing from a split; classes with very few items in a split.
    Why it matters: a validation split holding more of the easy classes reports a lower loss than
    training for reasons that have nothing to do with the model; a class absent from validation is
    never evaluated.
    """

    name = "class_distribution"
    memoise = True
    rules = {
        "DS101": Rule("class-distribution-shift", Severity.WARNING,
                      "Class shares differ between the training split and another split."),
        "DS102": Rule("class-missing-from-split", Severity.WARNING,
                      "A class present in one split has no item in another."),
        "DS103": Rule("class-too-rare", Severity.INFO,
                      "A class has fewer items in a split than the minimum for a stable estimate."),
    }
    params = {
        "alpha": Param(0.01, "Significance level of the chi-square test; DS101 needs p below it.",
                       in_range(0.0, 1.0)),
        "min_js_distance": Param(0.05, "Smallest Jensen-Shannon distance (base 2, 0..1) between class shares "
                                 "that DS101 reports, so that large splits do not flag negligible differences.",
                                 in_range(0.0, 1.0)),
        "min_class_count": Param(5, "A class with fewer items than this in a split is reported (DS103).",
                                 in_range(0, None, integer=True)),
        "max_drivers": Param(5, "How many classes the DS101 message names as driving the difference.",
                             in_range(1, None, integer=True)),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        if sum(s.has_labels for s in context.splits) < 2:
            return "needs labels in at least two splits (class folders or --label-column)"
        return None

    def run(self, context: ScanContext) -> list[Finding]:
        labelled = [s for s in context.splits if s.has_labels]
        counts = pd.DataFrame({s.name: s.items["label"].dropna().astype(str).value_counts() for s in labelled})
        counts = counts.fillna(0).astype(int).sort_index()
        ref = context.reference if context.reference.has_labels else labelled[0]
        findings: list[Finding] = []
        for split in labelled:
            if split is not ref:
                shift = self._shift(context, counts, ref.name, split.name)
                if shift:
                    findings.append(shift)
        findings.extend(self._missing(context, counts, ref.name))
        rare = self._rare(context, counts)
        if rare:
            findings.append(rare)
        return findings

    def _shift(self, context: ScanContext, counts: pd.DataFrame, ref: str, other: str) -> Finding | None:
        table = counts[[ref, other]]
        table = table[(table > 0).any(axis=1)]
        if len(table) < 2:
            return None
        observed = table.to_numpy().T  # 2 x k
        chi2, p_value, dof, expected = _chi2_contingency(observed)
        shares = observed / observed.sum(axis=1, keepdims=True)
        js = _jensen_shannon(shares[0], shares[1])
        if not (p_value < self.settings["alpha"] and js >= self.settings["min_js_distance"]):
            return None
        residual = (observed[1] - expected[1]) / np.sqrt(expected[1])
        evidence = pd.DataFrame({
            "class": table.index.astype(str),
            f"{ref}_count": observed[0], f"{ref}_share": shares[0],
            f"{other}_count": observed[1], f"{other}_share": shares[1],
            "share_difference": shares[1] - shares[0],
            "std_residual": residual,
        })
        evidence = evidence.iloc[np.argsort(-np.abs(residual), kind="stable")].reset_index(drop=True)
        drivers = ", ".join(
            f"{row['class']} {row[f'{ref}_share']:.0%}->{row[f'{other}_share']:.0%}"
            for _, row in evidence.head(self.settings["max_drivers"]).iterrows()
        )
        return self.finding(
            context, "DS101",
            title=f"class mix of {other} differs from {ref}",
            message=(f"class shares differ between {ref} and {other} (chi-square p={p_value:.2g}, "
                     f"Jensen-Shannon distance {js:.3f}); most different: {drivers}"),
            splits=(other, ref),
            metrics={"chi2": float(chi2), "p_value": float(p_value), "dof": float(dof), "js_distance": js},
            evidence=evidence,
            remediation=("Use a stratified split (e.g. sklearn StratifiedShuffleSplit) or report per-class and "
                         f"class-reweighted metrics; compare {other} loss re-weighted to {ref} class shares."),
        )

    def _missing(self, context: ScanContext, counts: pd.DataFrame, ref: str) -> list[Finding]:
        findings = []
        for split in counts.columns:
            absent = counts.index[(counts[split] == 0) & (counts.drop(columns=[split]) > 0).any(axis=1)]
            if len(absent) == 0:
                continue
            present_in = {c: [s for s in counts.columns if counts.at[c, s] > 0] for c in absent}
            evidence = pd.DataFrame({"split": split, "class": list(absent),
                                     "present_in": [", ".join(present_in[c]) for c in absent]})
            why = ("the model is trained on classes it is never evaluated on" if split != ref
                   else "the other splits hold classes the model never trains on")
            findings.append(self.finding(
                context, "DS102",
                title=f"classes missing from {split}",
                message=f"{len(absent)} classes have no item in {split}: {', '.join(map(str, absent[:10]))}"
                        + (" ..." if len(absent) > 10 else "") + f" ({why})",
                splits=(split,),
                metrics={"n_classes": float(len(absent))},
                evidence=evidence,
                remediation="Re-split with stratification so every class appears in every split, or drop the classes.",
            ))
        return findings

    def _rare(self, context: ScanContext, counts: pd.DataFrame) -> Finding | None:
        minimum = self.settings["min_class_count"]
        long = counts.stack().rename("count").reset_index()
        long.columns = ["class", "split", "count"]
        rare = long[(long["count"] > 0) & (long["count"] < minimum)]
        if rare.empty:
            return None
        rare = rare[["split", "class", "count"]].sort_values(["split", "count", "class"]).reset_index(drop=True)
        return self.finding(
            context, "DS103",
            title="classes with very few items",
            message=f"{len(rare)} (split, class) cells have fewer than {minimum} items: "
                    + ", ".join(f"{r.split}/{r['class']}={r['count']}" for _, r in rare.head(8).iterrows())
                    + (" ..." if len(rare) > 8 else ""),
            splits=tuple(sorted(set(rare["split"]))),
            metrics={"n_cells": float(len(rare)), "min_class_count": float(minimum)},
            evidence=rare,
            remediation="Collect more items of these classes or merge them; per-class metrics on them are noise.",
        )


def _chi2_contingency(observed: np.ndarray) -> tuple[float, float, int, np.ndarray]:
    """Pearson's chi-square test of independence (as ``scipy.stats.chi2_contingency(correction=False)``).

    Written out because importing scipy.stats costs about half a second of every scan's start.
    """
    from scipy.special import chdtrc

    observed = observed.astype(np.float64)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return chi2, float(chdtrc(dof, chi2)), dof, expected


def _jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance in bits (as ``scipy.spatial.distance.jensenshannon(p, q, base=2)``)."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        keep = a > 0
        return float((a[keep] * np.log(a[keep] / m[keep])).sum())

    return float(np.sqrt(max(0.0, (kl(p) + kl(q)) / 2 / np.log(2))))
