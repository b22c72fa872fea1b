"""Two-sample tests, effect sizes and multiple-testing correction for comparing a split with the reference.

A p-value alone says little on large splits (every tiny difference becomes significant), so every test
here comes with an effect size that does not grow with the number of items:

- numeric values: the Kolmogorov-Smirnov test, Cohen's d, and the Wasserstein (earth mover's) distance
  divided by the pooled standard deviation ("by how many standard deviations must the values move to
  turn one distribution into the other");
- categorical values: the chi-square test of homogeneity and Cramér's V computed with both splits
  weighted equally (so that a small validation split does not dilute it; 0 = same shares, 1 = no
  category in common);
- both: the population stability index (PSI; < 0.1 usually read as stable, > 0.25 as a major shift).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Correction = Literal["bh", "holm", "none"]

#: Pseudo-count added to every bin of the population stability index, so empty bins stay finite.
PSI_PSEUDO_COUNT = 0.5


@dataclass(frozen=True)
class Comparison:
    """One feature compared between the reference and another split.

    ``effect_size`` is the number judged against a threshold: ``wasserstein_std`` for numeric
    features, ``cramers_v`` (splits weighted equally) for categorical ones.
    """

    feature: str
    kind: str  # "numeric" or "categorical"
    test: str  # "ks" or "chi2"
    statistic: float
    p_value: float
    effect_size: float
    effect_measure: str
    psi: float
    cohens_d: float
    reference_summary: str
    other_summary: str
    n_reference: int
    n_other: int


def pooled_std(a: np.ndarray, b: np.ndarray) -> float:
    """Square root of the mean of the two sample variances (each split weighted equally)."""
    va = float(np.var(a, ddof=1)) if a.size > 1 else 0.0
    vb = float(np.var(b, ddof=1)) if b.size > 1 else 0.0
    return float(np.sqrt((va + vb) / 2.0))


def cohens_d(reference: np.ndarray, other: np.ndarray) -> float:
    """Difference of means (other minus reference) in pooled standard deviations."""
    sd = pooled_std(reference, other)
    diff = float(np.mean(other) - np.mean(reference))
    if sd == 0.0:
        return 0.0 if diff == 0.0 else float(np.sign(diff) * np.inf)
    return diff / sd


def wasserstein_std(reference: np.ndarray, other: np.ndarray) -> float:
    """Wasserstein-1 distance between the two samples, in pooled standard deviations (>= 0).

    A shift of the mean by 0.3 standard deviations gives 0.3; doubling the spread of a normal variable
    gives about 0.5. Unlike Cohen's d it also sees changes of spread and shape.
    """
    from scipy.stats import wasserstein_distance
    distance = float(wasserstein_distance(reference, other))
    sd = pooled_std(reference, other)
    if sd == 0.0:
        return 0.0 if distance == 0.0 else float(np.inf)
    return distance / sd


def ks_test(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Two-sided Kolmogorov-Smirnov statistic (largest gap between the two CDFs) and p-value."""
    from scipy.stats import ks_2samp
    with warnings.catch_warnings():  # scipy warns when it falls back from the exact to the asymptotic p-value
        warnings.simplefilter("ignore", RuntimeWarning)
        result = ks_2samp(reference, other, alternative="two-sided", method="auto")
    return float(result.statistic), float(result.pvalue)


def psi_numeric(reference: np.ndarray, other: np.ndarray, bins: int = 10) -> float:
    """Population stability index over ``bins`` quantile bins of the reference.

    ``sum((q - p) * ln(q / p))`` with ``p`` the reference shares and ``q`` the other split's shares per
    bin (pseudo-count 0.5 per bin). Note that on small splits the PSI of two i.i.d. samples is about
    ``(bins - 1) * (1/n_reference + 1/n_other)``, not zero.
    """
    edges = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1)
    other_counts = np.bincount(np.searchsorted(edges, other, side="right"), minlength=edges.size + 1)
    return _psi_from_counts(ref_counts, other_counts)


def _psi_from_counts(ref_counts: np.ndarray, other_counts: np.ndarray) -> float:
    p = (ref_counts + PSI_PSEUDO_COUNT) / (ref_counts.sum() + PSI_PSEUDO_COUNT * ref_counts.size)
    q = (other_counts + PSI_PSEUDO_COUNT) / (other_counts.sum() + PSI_PSEUDO_COUNT * other_counts.size)
    return float(np.sum((q - p) * np.log(q / p)))


def chi_square_test(ref_counts: np.ndarray, other_counts: np.ndarray) -> tuple[float, float, int]:
    """Chi-square test of homogeneity of a 2 x k table of category counts: (statistic, p-value, dof).

    Categories whose expected count is below 5 in either split are pooled into one cell first, so that
    the chi-square approximation holds.
    """
    from scipy.stats import chi2 as chi2_distribution
    table = _pool_sparse(np.vstack([ref_counts, other_counts]).astype(float))
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return statistic, float(chi2_distribution.sf(statistic, dof)), dof


def _pool_sparse(table: np.ndarray) -> np.ndarray:
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / max(table.sum(), 1.0)
    sparse = (expected < 5).any(axis=0)
    if not sparse.any():
        return table
    pooled = table[:, sparse].sum(axis=1, keepdims=True)
    return np.hstack([table[:, ~sparse], pooled])


def cramers_v_balanced(ref_counts: np.ndarray, other_counts: np.ndarray) -> float:
    """Cramér's V of the 2 x k table of category shares with both splits weighted equally (0..1).

    For two splits it equals ``sqrt(sum((q - p)**2 / (p + q)) / 2)``, with ``p`` and ``q`` the category
    shares; it does not depend on the split sizes. 0 = same shares, 1 = no category in common.
    """
    p = ref_counts / max(ref_counts.sum(), 1)
    q = other_counts / max(other_counts.sum(), 1)
    keep = (p + q) > 0
    return float(np.sqrt(np.sum((q[keep] - p[keep]) ** 2 / (p[keep] + q[keep])) / 2.0))


def compare_numeric(feature: str, reference: np.ndarray, other: np.ndarray, *, psi_bins: int = 10) -> Comparison:
    """KS test, Wasserstein distance in std units, Cohen's d and PSI of one numeric feature (NaN dropped)."""
    a = np.asarray(reference, dtype=float)
    b = np.asarray(other, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return Comparison(feature, "numeric", "ks", 0.0, 1.0, 0.0, "wasserstein_std", 0.0, 0.0,
                          _numeric_summary(a), _numeric_summary(b), int(a.size), int(b.size))
    statistic, p_value = ks_test(a, b)
    return Comparison(
        feature=feature, kind="numeric", test="ks", statistic=statistic, p_value=p_value,
        effect_size=wasserstein_std(a, b), effect_measure="wasserstein_std",
        psi=psi_numeric(a, b, psi_bins), cohens_d=cohens_d(a, b),
        reference_summary=_numeric_summary(a), other_summary=_numeric_summary(b),
        n_reference=int(a.size), n_other=int(b.size),
    )


def compare_categorical(feature: str, reference: pd.Series, other: pd.Series) -> Comparison:
    """Chi-square test, balanced Cramér's V and PSI of one categorical feature (missing = a category)."""
    a = reference.astype(object).where(reference.notna(), "<missing>").astype(str)
    b = other.astype(object).where(other.notna(), "<missing>").astype(str)
    categories = sorted(set(a.unique()) | set(b.unique()))
    ref_counts = a.value_counts().reindex(categories, fill_value=0).to_numpy()
    other_counts = b.value_counts().reindex(categories, fill_value=0).to_numpy()
    statistic, p_value, _ = chi_square_test(ref_counts, other_counts)
    return Comparison(
        feature=feature, kind="categorical", test="chi2", statistic=statistic, p_value=p_value,
        effect_size=cramers_v_balanced(ref_counts, other_counts), effect_measure="cramers_v",
        psi=_psi_from_counts(ref_counts, other_counts), cohens_d=float("nan"),
        reference_summary=_categorical_summary(a), other_summary=_categorical_summary(b),
        n_reference=int(a.size), n_other=int(b.size),
    )


def _numeric_summary(values: np.ndarray) -> str:
    if values.size == 0:
        return "no values"
    return f"median {np.median(values):.4g}, IQR {np.subtract(*np.percentile(values, [75, 25])):.4g}"


def _categorical_summary(values: pd.Series) -> str:
    shares = values.value_counts(normalize=True).head(3)
    return ", ".join(f"{k} {v:.0%}" for k, v in shares.items())


def adjust_p_values(p_values: np.ndarray, method: Correction = "bh") -> np.ndarray:
    """P-values adjusted for testing many features at once.

    ``bh``: Benjamini-Hochberg (controls the expected share of false discoveries; under no drift at all
    it also bounds the chance of any false alarm by the level); ``holm``: Holm-Bonferroni (controls the
    chance of any false alarm); ``none``: unchanged.
    """
    from scipy.stats import false_discovery_control
    p = np.asarray(p_values, dtype=float)
    if p.size == 0 or method == "none":
        return p.copy()
    if method == "bh":
        return np.asarray(false_discovery_control(p, method="bh"), dtype=float)
    if method == "holm":
        return holm(p)
    raise ValueError(f"correction must be one of bh, holm, none; got {method!r}")


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def drift_table(
    reference: pd.DataFrame,
    other: pd.DataFrame,
    *,
    correction: Correction = "bh",
    psi_bins: int = 10,
) -> pd.DataFrame:
    """Compare every column shared by two property frames; one row per feature, largest effect first.

    Numeric columns (float/int) get :func:`compare_numeric`, the others :func:`compare_categorical`.
    Columns: feature, kind, test, statistic, p_value, p_adjusted, effect_size, effect_measure, psi,
    cohens_d, reference_summary, other_summary, n_reference, n_other.
    """
    rows = []
    for column in [c for c in reference.columns if c in other.columns]:
        ref, oth = reference[column], other[column]
        if _is_numeric(ref) and _is_numeric(oth):
            rows.append(compare_numeric(column, ref.to_numpy(dtype=float, na_value=np.nan),
                                        oth.to_numpy(dtype=float, na_value=np.nan), psi_bins=psi_bins))
        else:
            rows.append(compare_categorical(column, ref, oth))
    columns = ["feature", "kind", "test", "statistic", "p_value", "p_adjusted", "effect_size", "effect_measure",
               "psi", "cohens_d", "reference_summary", "other_summary", "n_reference", "n_other"]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame([r.__dict__ for r in rows])
    table["p_adjusted"] = adjust_p_values(table["p_value"].to_numpy(), correction)
    table = table[columns]
    order = np.lexsort((table["p_value"].to_numpy(), -table["effect_size"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)
