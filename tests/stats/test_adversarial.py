"""Adversarial validation: AUC with DeLong intervals, separating features, and the DS202 scanner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from splitcheck.context import ScanContext
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.adversarial_validation import AdversarialValidationScanner
from splitcheck.stats.adversarial import adversarial_validation, choose_classifier, delong, roc_auc


def test_delong_by_hand():
    # positives 0.9 0.8 0.4, negatives 0.5 0.3: 5 of 6 pairs ordered -> AUC 5/6
    # positive components [1, 1, 1/2] (var 1/12), negative components [2/3, 1] (var 1/18)
    auc, var = delong(np.array([1, 1, 1, 0, 0]), np.array([0.9, 0.8, 0.4, 0.5, 0.3]))
    assert auc == pytest.approx(5 / 6)
    assert var == pytest.approx((1 / 12) / 3 + (1 / 18) / 2)


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + 0.5 * y, 1)  # many ties
    assert roc_auc(y, scores) == pytest.approx(roc_auc_score(y, scores))


def test_delong_variance_matches_the_spread_of_the_auc():
    rng = np.random.default_rng(1)
    aucs, variances = [], []
    for _ in range(300):
        y = np.r_[np.ones(60), np.zeros(90)]
        scores = rng.normal(size=150) + 0.8 * y
        auc, var = delong(y, scores)
        aucs.append(auc)
        variances.append(var)
    assert np.std(aucs) == pytest.approx(np.sqrt(np.mean(variances)), rel=0.15)


def test_shifted_split_auc_is_near_the_analytic_value():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(3000, 4))
    other = rng.normal(size=(3000, 4))
    other[:, 2] += 1.0
    result = adversarial_validation(ref, other, classifier="logistic")
    expected = norm.cdf(1.0 / np.sqrt(2))  # best possible AUC for a unit mean shift: 0.760
    assert result.auc == pytest.approx(expected, abs=0.02)
    assert result.ci_low < expected < result.ci_high or abs(result.auc - expected) < 0.01
    # Hanley-McNeil standard error of an AUC of 0.76 with 3000 items per class
    a, n = expected, 3000
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (n * n))
    assert result.ci_high - result.ci_low == pytest.approx(2 * 1.96 * se, rel=0.15)
    importance = result.importance({f"x{j}": [j] for j in range(4)})
    assert importance.loc[0, "feature"] == "x2" and importance.loc[0, "auc_drop"] > 0.2
    assert importance["auc_drop"].iloc[1:].abs().max() < 0.02


def test_iid_rows_give_an_interval_around_one_half():
    rng = np.random.default_rng(3)
    result = adversarial_validation(rng.normal(size=(800, 5)), rng.normal(size=(300, 5)))
    assert result.classifier == "hgb"
    assert result.ci_low < 0.5 < result.ci_high
    assert len(result.fold_aucs) == 5 and result.auc == pytest.approx(np.mean(result.fold_aucs))


def test_gradient_boosting_sees_a_change_of_spread():
    rng = np.random.default_rng(4)
    ref, other = rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3))
    other[:, 0] *= 3.0
    assert adversarial_validation(ref, other, classifier="hgb").ci_low > 0.7
    assert adversarial_validation(ref, other, classifier="logistic").ci_low < 0.55  # a linear model cannot


def test_classifier_choice():
    assert choose_classifier(10) == "hgb" and choose_classifier(500) == "logistic"
    assert choose_classifier(10, "logistic") == "logistic"
    with pytest.raises(ValueError, match="classifier must be"):
        choose_classifier(10, "svm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 items"):
        adversarial_validation(np.zeros((5, 2)), np.zeros((1, 2)))


def table(n: int, rng: np.random.Generator, prefix: str, *, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"{prefix}{i}" for i in range(n)],
        "a": rng.normal(size=n), "b": rng.normal(size=n) + shift, "c": rng.exponential(size=n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "label": rng.integers(0, 2, n),
    })


def scan(train: pd.DataFrame, val: pd.DataFrame, **settings) -> tuple[list, ScanContext]:
    context = ScanContext([load_split("train", train, LoadOptions()), load_split("val", val, LoadOptions())])
    return AdversarialValidationScanner(**settings).run(context), context


def test_scanner_reports_the_separating_table_feature():
    rng = np.random.default_rng(5)
    (finding,) = scan(table(1500, rng, "t"), table(500, rng, "v", shift=0.8))[0]
    assert finding.code == "DS202" and finding.splits == ("val", "train")
    assert finding.evidence.loc[0, "feature"] == "b"
    assert set(finding.evidence["feature"]) == {"a", "b", "c", "colour"}  # one-hot colour judged as one feature
    assert 0.6 < finding.metrics["ci_low"] < finding.metrics["auc"] < finding.metrics["ci_high"]
    assert finding.metrics["subsampled"] == 0.0
    assert "separating best: b" in finding.message


def test_scanner_is_quiet_on_an_iid_split_and_keeps_the_numbers():
    rng = np.random.default_rng(6)
    findings, context = scan(table(1500, rng, "t"), table(500, rng, "v"))
    assert findings == []
    result = context.memo["adversarial_validation:val"]
    assert result.ci_low < 0.5 < result.ci_high


def test_scanner_subsamples_and_says_so():
    rng = np.random.default_rng(7)
    (finding,) = scan(table(3000, rng, "t"), table(1000, rng, "v", shift=1.5), max_items=400)[0]
    assert finding.metrics["n_reference"] == 400 and finding.metrics["n_other"] == 400
    assert finding.metrics["subsampled"] == 1.0
    assert "on 400 random items of train, val" in finding.message


def test_vector_splits_report_fold_aucs():
    rng = np.random.default_rng(8)
    train = load_split("train", rng.normal(size=(600, 8)), LoadOptions())
    shifted = rng.normal(size=(200, 8))
    shifted[:, 0] += 1.5
    (finding,) = AdversarialValidationScanner().run(ScanContext([train, load_split("val", shifted, LoadOptions())]))
    assert finding.evidence.columns.tolist() == ["fold", "auc"] and len(finding.evidence) == 5
    assert "vectors as given (8 dimensions)" in finding.message
