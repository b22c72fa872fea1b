"""Adversarial validation: can a classifier tell which split an item comes from?

A classifier is trained, with stratified k-fold cross-validation, to tell reference items (label 0)
from the other split's items (label 1). Its ROC AUC on the held-out folds is the probability that a
random item of the other split scores higher than a random reference item: 0.5 means the two splits are
indistinguishable (same population), 1.0 means they are perfectly separable. The confidence interval
comes from DeLong's variance of each fold's AUC, combined over the folds.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from splitcheck.stats.threads import limited_threads

Classifier = Literal["auto", "hgb", "logistic"]
#: Gradient boosting stops early (on 15% of its training rows) from this many training rows on.
EARLY_STOPPING_FROM = 200
#: With ``classifier="auto"``, gradient boosting is used up to this many features, logistic regression above.
AUTO_MAX_TREE_FEATURES = 128


@dataclass
class AdversarialResult:
    """Cross-validated AUC of telling the other split from the reference, with its confidence interval."""

    auc: float
    ci_low: float
    ci_high: float
    fold_aucs: list[float]
    n_reference: int
    n_other: int
    classifier: str
    level: float
    _held_out: list[tuple[Any, np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)

    def importance(self, groups: Mapping[str, list[int]], random_state: int | None = 0) -> pd.DataFrame:
        """How much the held-out AUC drops when one feature (a group of columns) is shuffled.

        Columns: feature, auc_drop (mean over folds; larger = separates the splits more), auc_drop_sd.
        """
        rng = np.random.default_rng(random_state)
        drops: dict[str, list[float]] = {name: [] for name in groups}
        for model, x, y in self._held_out:
            with limited_threads(len(x)):
                base = roc_auc(y, _scores(model, x))
                for name, columns in groups.items():
                    shuffled = x.copy()
                    order = rng.permutation(len(x))
                    shuffled[:, columns] = x[order][:, columns]
                    drops[name].append(base - roc_auc(y, _scores(model, shuffled)))
        frame = pd.DataFrame({
            "feature": list(drops),
            "auc_drop": [float(np.mean(v)) if v else 0.0 for v in drops.values()],
            "auc_drop_sd": [float(np.std(v)) if v else 0.0 for v in drops.values()],
        })
        return frame.sort_values("auc_drop", ascending=False, kind="stable").reset_index(drop=True)


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties count one half)."""
    return delong(y_true, scores)[0]


def delong(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC AUC and DeLong's estimate of its variance (label 1 = positive)."""
    from scipy.stats import rankdata
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    pos, neg = s[y], s[~y]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        return 0.5, 0.0
    ranks_all = rankdata(np.concatenate([pos, neg]))
    ranks_pos, ranks_neg = rankdata(pos), rankdata(neg)
    auc = float((ranks_all[:m].sum() - m * (m + 1) / 2.0) / (m * n))
    v_pos = (ranks_all[:m] - ranks_pos) / n  # share of negatives each positive beats
    v_neg = 1.0 - (ranks_all[m:] - ranks_neg) / m  # share of positives that beat each negative
    var_pos = float(np.var(v_pos, ddof=1)) if m > 1 else 0.0
    var_neg = float(np.var(v_neg, ddof=1)) if n > 1 else 0.0
    return auc, var_pos / m + var_neg / n


def choose_classifier(n_features: int, classifier: Classifier = "auto") -> str:
    """``hgb`` (histogram gradient boosting: sees non-linear and spread differences) or ``logistic``."""
    if classifier == "auto":
        return "hgb" if n_features <= AUTO_MAX_TREE_FEATURES else "logistic"
    if classifier not in ("hgb", "logistic"):
        raise ValueError(f"classifier must be auto, hgb or logistic; got {classifier!r}")
    return classifier


def _make_model(kind: str, random_state: int | None, n_fit: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if kind == "hgb":
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                              min_samples_leaf=20, l2_regularization=1.0,
                                              early_stopping=n_fit >= EARLY_STOPPING_FROM,
                                              validation_fraction=0.15, n_iter_no_change=10,
                                              random_state=random_state)
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _scores(model: Any, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1]


def adversarial_validation(
    x_reference: np.ndarray,
    x_other: np.ndarray,
    *,
    n_folds: int = 5,
    classifier: Classifier = "auto",
    level: float = 0.95,
    random_state: int | None = 0,
) -> AdversarialResult:
    """Cross-validated AUC of a classifier telling ``x_other`` rows from ``x_reference`` rows.

    The AUC is the mean of the per-fold AUCs; its variance is the sum of the folds' DeLong variances
    divided by the squared number of folds; the interval is the normal one at ``level``, clipped to [0, 1].
    """
    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold
    x = np.vstack([x_reference, x_other]).astype(float)
    y = np.concatenate([np.zeros(len(x_reference), dtype=int), np.ones(len(x_other), dtype=int)])
    folds = min(n_folds, len(x_reference), len(x_other))
    if folds < 2:
        raise ValueError("adversarial validation needs at least 2 items in each split")
    kind = choose_classifier(x.shape[1], classifier)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    aucs, variances, held_out = [], [], []
    for train_idx, test_idx in splitter.split(x, y):
        model = _make_model(kind, random_state, len(train_idx))
        with warnings.catch_warnings(), limited_threads(len(x)):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x[train_idx], y[train_idx])
            auc, var = delong(y[test_idx], _scores(model, x[test_idx]))
        aucs.append(auc)
        variances.append(var)
        held_out.append((model, x[test_idx], y[test_idx]))
    mean_auc = float(np.mean(aucs))
    se = float(np.sqrt(np.sum(variances))) / folds
    z = float(norm.ppf(0.5 + level / 2.0))
    return AdversarialResult(
        auc=mean_auc, ci_low=max(0.0, mean_auc - z * se), ci_high=min(1.0, mean_auc + z * se),
        fold_aucs=[float(a) for a in aucs], n_reference=len(x_reference), n_other=len(x_other),
        classifier=kind, level=level, _held_out=held_out,
    )
