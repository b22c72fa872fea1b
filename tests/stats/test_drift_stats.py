"""Two-sample statistics and the feature-drift scanner (DS201)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from splitcheck.context import ScanContext
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.feature_drift import FeatureDriftScanner
from splitcheck.splits import Split, make_items
from splitcheck.stats.features import property_frames, text_properties
from splitcheck.stats.two_sample import (
    adjust_p_values,
    chi_square_test,
    cohens_d,
    compare_categorical,
    cramers_v_balanced,
    drift_table,
    holm,
    psi_numeric,
    wasserstein_std,
)


def frame(n: int, rng: np.random.Generator, prefix: str, *, shift: float = 0.0, colours=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"{prefix}{i}" for i in range(n)],
        "age": rng.normal(40, 10, n) + 10 * shift,
        "income": rng.lognormal(10, 1, n),
        "visits": rng.poisson(3, n),
        "colour": rng.choice(["red", "green", "blue"], p=list(colours), size=n),
        "label": rng.integers(0, 2, n),
    })


def run_drift(train: pd.DataFrame, val: pd.DataFrame, **settings) -> list:
    splits = [load_split("train", train, LoadOptions()), load_split("val", val, LoadOptions())]
    return FeatureDriftScanner(**settings).run(ScanContext(splits))


# -- statistics ---------------------------------------------------------------------------------------------


def test_effect_sizes_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([3.0, 4.0, 5.0, 6.0])
    sd = np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)  # both variances 5/3
    assert cohens_d(a, b) == pytest.approx(2.0 / sd)
    assert wasserstein_std(a, b) == pytest.approx(2.0 / sd)  # every value moved by 2
    assert cohens_d(b, b) == 0.0 and wasserstein_std(b, b) == 0.0
    assert wasserstein_std(np.ones(5), np.full(5, 2.0)) == np.inf  # constant but different


def test_wasserstein_sees_a_change_of_spread_that_cohens_d_misses():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 200_000), rng.normal(0, 2, 200_000)
    # E|X - 2X| = sqrt(2/pi) for the quantile coupling; pooled sd = sqrt(2.5)
    assert wasserstein_std(a, b) == pytest.approx(np.sqrt(2 / np.pi) / np.sqrt(2.5), abs=0.01)
    assert abs(cohens_d(a, b)) < 0.01


def test_psi_by_hand():
    reference = np.arange(100, dtype=float)  # deciles 0-9, 10-19, ...
    other = np.concatenate([np.arange(0, 50, dtype=float), np.arange(0, 50, dtype=float)])  # all in bins 1-5
    p = np.full(10, 10.5 / 105)
    q = np.array([20.5] * 5 + [0.5] * 5) / 105
    assert psi_numeric(reference, other) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert psi_numeric(reference, reference) == pytest.approx(0.0)


def test_chi_square_and_balanced_cramers_v_by_hand():
    ref, other = np.array([50, 50]), np.array([30, 70])
    statistic, p_value, dof = chi_square_test(ref, other)
    # expected 40/60 per row: sum (o-e)^2/e = 2 * (100/40 + 100/60)
    assert statistic == pytest.approx(2 * (100 / 40 + 100 / 60))
    assert dof == 1 and p_value == pytest.approx(0.003892, abs=1e-6)  # chi2(1).sf(8.333)
    assert cramers_v_balanced(ref, other) == pytest.approx(np.sqrt((0.04 / 0.8 + 0.04 / 1.2) / 2))
    # the balanced V does not depend on the split sizes; disjoint categories give 1
    assert cramers_v_balanced(ref * 10, other) == pytest.approx(cramers_v_balanced(ref, other))
    assert cramers_v_balanced(np.array([5, 0]), np.array([0, 7])) == pytest.approx(1.0)


def test_sparse_categories_are_pooled_before_the_chi_square():
    # categories c and d have expected counts below 5: pooled into one cell -> 2 degrees of freedom
    _, _, dof = chi_square_test(np.array([40, 40, 1, 2]), np.array([40, 40, 2, 1]))
    assert dof == 2


def test_categorical_comparison_counts_missing_as_a_category():
    result = compare_categorical("c", pd.Series(["a"] * 50 + [None] * 50), pd.Series(["a"] * 100))
    assert result.effect_size == pytest.approx(np.sqrt((0.25 / 1.5 + 0.25 / 0.5) / 2))


def test_holm_and_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.20])
    assert holm(p).tolist() == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert adjust_p_values(p, "bh").tolist() == pytest.approx([0.04, 0.0533333, 0.0533333, 0.20])
    assert adjust_p_values(p, "none").tolist() == p.tolist()
    with pytest.raises(ValueError, match="correction must be one of"):
        adjust_p_values(p, "bonferroni")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-12, max_value=1.0), min_size=1, max_size=30))
def test_adjusted_p_values_are_monotone_and_never_below_the_raw_ones(values):
    p = np.array(values)
    for method in ("bh", "holm"):
        adjusted = adjust_p_values(p, method)
        assert np.all(adjusted >= p - 1e-12) and np.all(adjusted <= 1.0 + 1e-12)
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(adjusted[order]) >= -1e-12)
    assert np.all(adjust_p_values(p, "bh") <= adjust_p_values(p, "holm") + 1e-12)


def test_drift_table_matches_scipy_and_ranks_by_effect():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)})
    other = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300) + 0.8})
    table = drift_table(ref, other)
    assert table["feature"].tolist() == ["y", "x"]
    expected = ks_2samp(ref["y"], other["y"])
    assert table.loc[0, "statistic"] == pytest.approx(expected.statistic)
    assert table.loc[0, "p_value"] == pytest.approx(expected.pvalue)
    assert table.loc[0, "p_adjusted"] == pytest.approx(min(1.0, expected.pvalue * 2))  # BH with the smallest p


# -- properties ---------------------------------------------------------------------------------------------


def test_text_properties_by_hand():
    props = text_properties(["The cat saw the CAT 2 times", ""])
    row = props.iloc[0]
    assert row["n_chars"] == 27 and row["n_words"] == 7
    assert row["type_token_ratio"] == pytest.approx(5 / 7)  # the, cat, saw, 2, times
    assert row["mean_word_length"] == pytest.approx(21 / 7)
    assert row["uppercase_share"] == pytest.approx(4 / 20)  # T, C, A, T of 20 letters
    assert row["digit_share"] == pytest.approx(1 / 27)
    assert props.iloc[1]["n_words"] == 0 and np.isnan(props.iloc[1]["type_token_ratio"])


def test_id_like_table_columns_are_left_out():
    rng = np.random.default_rng(0)
    train = frame(100, rng, "t").assign(uuid=[f"u{i}" for i in range(100)])
    val = frame(40, rng, "v").assign(uuid=[f"w{i}" for i in range(40)])
    splits = [load_split("train", train, LoadOptions()), load_split("val", val, LoadOptions())]
    props = property_frames(splits)
    assert list(props.frames["train"].columns) == ["age", "income", "visits", "colour"]
    assert props.excluded == {"uuid": "140 distinct values in 140 rows (an id or free text)"}


# -- the scanner --------------------------------------------------------------------------------------------


def test_planted_numeric_shift_is_reported_with_its_numbers():
    rng = np.random.default_rng(2)
    (finding,) = run_drift(frame(5000, rng, "t"), frame(2000, rng, "v", shift=0.5))
    assert finding.code == "DS201" and finding.splits == ("val", "train")
    drifted = finding.evidence[finding.evidence["drifted"]]
    assert drifted["feature"].tolist() == ["age"]
    assert drifted["effect_size"].iloc[0] == pytest.approx(0.5, abs=0.06)  # moved by 0.5 sd
    assert drifted["cohens_d"].iloc[0] == pytest.approx(0.5, abs=0.06)
    assert finding.metrics["n_drifted"] == 1 and finding.metrics["n_features"] == 4
    assert "age (Wasserstein 0.5" in finding.message


def test_planted_categorical_shift_is_reported():
    rng = np.random.default_rng(3)
    (finding,) = run_drift(frame(2000, rng, "t"), frame(500, rng, "v", colours=(0.2, 0.3, 0.5)))
    drifted = finding.evidence[finding.evidence["drifted"]]
    assert drifted["feature"].tolist() == ["colour"]
    assert drifted["effect_measure"].iloc[0] == "cramers_v"
    expected = cramers_v_balanced(np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2]))  # blue, green, red
    assert drifted["effect_size"].iloc[0] == pytest.approx(expected, abs=0.05)


def test_iid_split_is_quiet_and_a_negligible_shift_on_huge_splits_too():
    rng = np.random.default_rng(4)
    assert run_drift(frame(3000, rng, "t"), frame(1000, rng, "v")) == []
    big_train, big_val = frame(100_000, rng, "t"), frame(100_000, rng, "v", shift=0.04)
    assert run_drift(big_train, big_val) == []  # KS p is tiny but the shift is 0.04 sd
    (strict,) = run_drift(big_train, big_val, min_effect_numeric=0.0)
    assert strict.evidence.loc[0, "feature"] == "age" and strict.evidence.loc[0, "p_adjusted"] < 1e-6


def test_subsampling_is_said_in_the_message():
    rng = np.random.default_rng(5)
    (finding,) = run_drift(frame(3000, rng, "t"), frame(800, rng, "v", shift=1.0), max_items=500)
    assert finding.evidence.loc[0, "n_reference"] == 500 and finding.evidence.loc[0, "n_other"] == 500
    assert "tested on 500 random items of train, val" in finding.message


def test_text_splits_longer_texts_drift():
    rng = np.random.default_rng(6)
    words = [f"w{i}" for i in range(200)]

    def texts(n: int, mean_len: int, prefix: str) -> pd.DataFrame:
        return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)],
                             "text": [" ".join(rng.choice(words, rng.poisson(mean_len) + 1)) for _ in range(n)]})

    (finding,) = run_drift(texts(600, 10, "t"), texts(200, 16, "v"))
    drifted = set(finding.evidence.loc[finding.evidence["drifted"], "feature"])
    assert {"n_chars", "n_words"} <= drifted
    assert "text properties" in finding.message
    assert run_drift(texts(600, 10, "t"), texts(200, 10, "v")) == []


class _ImageContext(ScanContext):
    """A context whose image properties come from frames built by the test (no image files)."""

    def __init__(self, splits: list[Split], properties: dict[str, pd.DataFrame]) -> None:
        super().__init__(splits)
        self._properties = properties

    def image_properties(self, split: Split) -> pd.DataFrame:
        return self._properties[split.name]


def image_properties(n: int, rng: np.random.Generator, brightness: float) -> pd.DataFrame:
    return pd.DataFrame({
        "width": rng.choice([32.0, 64.0], n), "height": np.full(n, 32.0), "n_frames": np.ones(n),
        "brightness": rng.normal(brightness, 20, n), "contrast": rng.normal(50, 10, n),
        "sharpness": rng.gamma(2.0, 10.0, n), "mode": rng.choice(["RGB", "L"], n, p=[0.9, 0.1]), "format": "PNG",
    })


def image_split(name: str, n: int) -> Split:
    return Split(name=name, modality="image", items=make_items([f"{name}/{i}.png" for i in range(n)]),
                 paths=[f"/nowhere/{name}/{i}.png" for i in range(n)])


def test_brighter_validation_images_drift_and_unreadable_rows_are_skipped():
    rng = np.random.default_rng(7)
    props = {"train": image_properties(600, rng, 120.0), "val": image_properties(200, rng, 140.0)}
    props["train"].loc[[3, 4], ["width", "height", "brightness", "mode"]] = [np.nan, np.nan, np.nan, None]
    context = _ImageContext([image_split("train", 600), image_split("val", 200)], props)
    (finding,) = FeatureDriftScanner().run(context)
    evidence = finding.evidence.set_index("feature")
    assert evidence.index[evidence["drifted"]].tolist() == ["brightness"]
    assert evidence.loc["brightness", "n_reference"] == 598  # the two unreadable rows
    assert evidence.loc["brightness", "cohens_d"] == pytest.approx(1.0, abs=0.2)
    assert {"aspect", "channels", "pixels", "mode", "format"} <= set(evidence.index)
    props["val"] = image_properties(200, rng, 120.0)
    assert FeatureDriftScanner().run(_ImageContext([image_split("train", 600), image_split("val", 200)], props)) == []
