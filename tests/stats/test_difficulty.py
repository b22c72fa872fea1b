"""Difficulty statistics (k-NN agreement, cross-fitted proxy losses, bootstrap) and DF101/DF102."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import splitcheck as sc
from splitcheck.context import ScanContext
from splitcheck.findings import Severity
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.adversarial_validation import shared_feature_space
from splitcheck.scanners.difficulty_gap import DifficultyGapScanner
from splitcheck.scanners.exact_duplicates import ExactDuplicateScanner
from splitcheck.stats.difficulty import bootstrap_mean_difference, knn_label_agreement, proxy_losses


def test_knn_agreement_by_hand_excludes_the_item_itself():
    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    y = np.array(["a", "a", "b", "b", "b", "a"])
    assert knn_label_agreement(x, y, k=2).tolist() == [0.5, 0.5, 0.0, 0.5, 0.5, 0.0]
    queries = np.array([[0.4], [11.6]])
    assert knn_label_agreement(x, y, queries, np.array(["a", "b"]), k=2).tolist() == [1.0, 0.5]


def test_knn_agreement_keeps_an_exact_duplicate_neighbour():
    x = np.array([[0.0], [0.0], [5.0], [9.0]])
    y = np.array(["a", "b", "a", "a"])
    assert knn_label_agreement(x, y, k=1)[:2].tolist() == [0.0, 0.0]  # each sees the other copy, not itself


def test_proxy_losses_on_unlearnable_labels_are_ln2_on_both_sides():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3000, 3)), rng.integers(0, 2, 3000)
    x_val, y_val = rng.normal(size=(1000, 3)), rng.integers(0, 2, 1000)
    losses = proxy_losses(x, y, {"val": (x_val, y_val)})
    assert losses.train.mean() == pytest.approx(np.log(2), abs=0.01)
    assert losses.others["val"].mean() == pytest.approx(np.log(2), abs=0.01)
    assert losses.classes.tolist() == ["0", "1"] and losses.n_folds == 5


def test_proxy_losses_refuse_unusable_labels():
    x = np.zeros((12, 2))
    with pytest.raises(ValueError, match="at least 5 training items"):
        proxy_losses(x, np.array(["a"] * 9 + ["b"] * 3), {})
    with pytest.raises(ValueError, match=r"labels of val not in the training split: \['c'\]"):
        proxy_losses(x, np.array(["a"] * 6 + ["b"] * 6), {"val": (np.zeros((1, 2)), np.array(["c"]))})


def test_bootstrap_interval_width_matches_the_pooled_standard_error():
    rng = np.random.default_rng(1)
    a, b = rng.exponential(1.0, 2000), rng.exponential(1.0, 500)
    diff, low, high = bootstrap_mean_difference(a, b, n_boot=4000, level=0.95)
    assert diff == pytest.approx(a.mean() - b.mean())
    pooled = np.concatenate([a, b])
    se = pooled.std() * np.sqrt(1 / a.size + 1 / b.size)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert low < diff < high
    shifted = bootstrap_mean_difference(a + 0.5, b, n_boot=1000)
    assert shifted[1] > 0.3  # clearly above zero
    assert np.isnan(bootstrap_mean_difference(a, np.array([]))[0])


def population(n: int, rng: np.random.Generator, prefix: str, noise: float) -> pd.DataFrame:
    x = rng.normal(size=(n, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    flip = rng.random(n) < noise
    y[flip] = 1 - y[flip]
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame.insert(0, "id", [f"{prefix}{i}" for i in range(n)])
    frame["label"] = y
    return frame


def context_of(train: pd.DataFrame, val: pd.DataFrame) -> ScanContext:
    return ScanContext([load_split("train", train, LoadOptions()), load_split("val", val, LoadOptions())])


def test_cleaner_validation_labels_are_reported_as_easier():
    rng = np.random.default_rng(2)
    train, val = population(2000, rng, "t", noise=0.25), population(600, rng, "v", noise=0.0)
    (finding,) = DifficultyGapScanner().run(context_of(train, val))
    m = finding.metrics
    assert finding.code == "DF101" and finding.severity is Severity.WARNING and finding.splits == ("val", "train")
    assert m["gap_nats"] == pytest.approx(m["train_loss"] - m["val_loss"])
    assert m["ci_low"] > 0.05 and m["gap_nats"] > 0.15
    assert m["knn_agreement_val"] > m["knn_agreement_train"] + 0.1
    assert m["n_train"] == 2000 and m["n_val"] == 600 and m["n_val_leaked"] == 0
    assert np.isnan(m["val_loss_leaked"])
    assert abs(m["class_mix_share"]) < 0.2  # balanced classes: not the class mix
    assert finding.evidence["class"].tolist() == ["0", "1"]
    assert finding.evidence["train_count"].sum() == 2000 and finding.evidence["val_count"].sum() == 600
    assert {"train_loss", "val_loss", "train_knn_agreement", "val_knn_agreement"} <= set(finding.evidence.columns)
    assert "val is easier than train" in finding.message


def test_noisier_validation_labels_are_reported_as_harder():
    rng = np.random.default_rng(3)
    train, val = population(2000, rng, "t", noise=0.05), population(600, rng, "v", noise=0.35)
    (finding,) = DifficultyGapScanner().run(context_of(train, val))
    assert finding.code == "DF102" and finding.severity is Severity.INFO
    assert finding.metrics["ci_high"] < 0 and finding.metrics["gap_nats"] < -0.2


def test_iid_split_is_quiet_and_the_numbers_are_kept():
    rng = np.random.default_rng(4)
    frame = population(2400, rng, "i", noise=0.15)
    context = context_of(frame.iloc[:1800], frame.iloc[1800:])
    assert DifficultyGapScanner().run(context) == []
    m = context.memo["difficulty_gap:val"]
    assert m["ci_low"] < 0 < m["ci_high"]
    assert m["knn_agreement_train"] == pytest.approx(m["knn_agreement_val"], abs=0.05)


def test_class_mix_explains_a_gap_when_validation_holds_more_of_the_easy_class():
    rng = np.random.default_rng(5)

    def mixed(n_easy: int, n_hard: int, prefix: str) -> pd.DataFrame:
        easy = pd.DataFrame({"a": rng.normal(3.0, 0.5, n_easy), "label": "easy"})  # far from the others
        hard = pd.DataFrame({"a": rng.normal(0.0, 1.0, n_hard), "label": rng.choice(["h1", "h2"], n_hard)})
        out = pd.concat([easy, hard], ignore_index=True)
        out.insert(0, "id", [f"{prefix}{i}" for i in range(len(out))])
        return out

    (finding,) = DifficultyGapScanner().run(context_of(mixed(600, 1400, "t"), mixed(420, 180, "v")))
    m = finding.metrics
    assert finding.code == "DF101"
    assert m["class_mix_share"] > 0.8  # nearly all of the gap comes from the class shares
    assert m["class_mix_nats"] + (m["train_loss"] - m["val_loss_reweighted"]) == pytest.approx(m["gap_nats"])


def test_leaked_items_are_left_out_and_reported_apart():
    rng = np.random.default_rng(6)
    train, fresh = population(1500, rng, "t", noise=0.2), population(400, rng, "v", noise=0.2)
    copies = train.iloc[:30].copy()
    copies["id"] = [f"copy{i}" for i in range(30)]
    context = context_of(train, pd.concat([fresh, copies], ignore_index=True))
    context.findings.extend(ExactDuplicateScanner().run(context))
    assert context.leaked_ids("val") == {f"copy{i}" for i in range(30)}
    DifficultyGapScanner().run(context)
    leaky = context.memo["difficulty_gap:val"]

    clean_context = context_of(train, fresh)
    DifficultyGapScanner().run(clean_context)
    clean = clean_context.memo["difficulty_gap:val"]
    for key in ("gap_nats", "ci_low", "ci_high", "val_loss", "knn_agreement_val", "knn_agreement_train", "n_val"):
        assert leaky[key] == pytest.approx(clean[key]), key
    assert leaky["n_val_leaked"] == 30 and clean["n_val_leaked"] == 0
    # each copy's twin in train has the same label: it is one of its nearest neighbours
    assert leaky["knn_agreement_val_leaked"] > leaky["knn_agreement_val"]
    assert leaky["gap_nats_leaked"] == pytest.approx(leaky["train_loss"] - leaky["val_loss_leaked"])


def test_classes_too_rare_for_the_folds_are_left_out_and_counted():
    rng = np.random.default_rng(7)
    train, val = population(600, rng, "t", noise=0.1), population(200, rng, "v", noise=0.1)
    train["label"] = train["label"].astype(object)
    val["label"] = val["label"].astype(object)
    train.loc[:2, "label"] = "rare"  # 3 training items < 5 folds
    val.loc[:1, "label"] = "rare"
    context = context_of(train, val)
    space, rows = shared_feature_space(context, context.splits, max_items=20_000, svd_components=64, random_state=0)
    measured = DifficultyGapScanner().measure(space, rows, context.splits[0], context.splits[1], set())
    assert measured is not None
    assert measured.n_excluded == 2 and measured.metrics["n_train"] == 597 and measured.metrics["n_val"] == 198


def test_skip_reasons():
    rng = np.random.default_rng(8)
    unlabelled = population(100, rng, "t", noise=0.0).drop(columns=["label"])
    context = context_of(unlabelled, population(50, rng, "v", noise=0.0).drop(columns=["label"]))
    assert "needs labels" in DifficultyGapScanner().skip_reason(context)


def test_image_splits_run_end_to_end_on_embeddings(image_splits: dict[str, Path]):
    settings = {"min-items": 4}
    report = sc.scan(train=image_splits["train"], val=image_splits["val"], config={
        "difficulty-gap": settings, "adversarial-validation": settings, "feature-drift": settings})
    runs = {run.name: run for run in report.scanners}
    for name in ("feature_drift", "adversarial_validation", "difficulty_gap"):
        assert runs[name].status == "ok", (name, runs[name].reason)
    assert not [f for f in report.findings if f.code in ("DS201", "DS202", "DF101")]  # random images, one population


def test_labels_read_as_floats_match_integer_labels():
    rng = np.random.default_rng(9)
    train, val = population(2000, rng, "t", noise=0.25), population(600, rng, "v", noise=0.0)
    val["label"] = val["label"].astype(float)
    val.loc[0, "label"] = np.nan  # a gap makes the loader read the column as floats: 1.0, 0.0
    (finding,) = DifficultyGapScanner().run(context_of(train, val))
    assert finding.code == "DF101" and finding.metrics["n_val"] == 599
    assert finding.evidence["class"].tolist() == ["0", "1"]
