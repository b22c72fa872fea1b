"""Each curve analysis on constructed curves whose answer is known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from splitcheck.curves import Run
from splitcheck.curves.analyse import analyse
from splitcheck.curves.gap import train_at_evaluations
from splitcheck.curves.rules import resolve
from splitcheck.curves.smoothing import relative_scatter
from splitcheck.errors import ConfigError

B = 0.5  # decay rate per epoch of the constructed loss L(t) = 2 exp(-B t)


def loss(t: np.ndarray | float) -> np.ndarray:
    return 2.0 * np.exp(-B * np.asarray(t, float))


def epoch_means(n: int) -> np.ndarray:
    """Exact mean of L over each epoch (e - 1, e]: what a framework logs as the epoch's training loss."""
    e = np.arange(1, n + 1)
    return 2.0 * (np.exp(-B * (e - 1)) - np.exp(-B * e)) / B


def test_timing_correction_by_half_epoch_shift_is_exact_for_an_exponential() -> None:
    n = 10
    run = Run.from_arrays(epoch_means(n), loss(np.arange(1, n + 1)))
    corrected, method = train_at_evaluations(run.curves)
    assert method == "shift"
    # log-linear interpolation between interval centres: L(e) x sinh(u)/u with u = B/2, for every epoch
    factor = math.sinh(B / 2) / (B / 2)
    np.testing.assert_allclose(corrected, loss(np.arange(1, n + 1)) * factor, rtol=1e-9)
    gap = analyse(run).gap
    raw = 1 - 1 / (math.exp(B / 2) * factor)  # (mean - end) / mean
    assert gap.n_below == n and gap.max_relative_gap == pytest.approx(raw, rel=1e-9)
    assert gap.n_below_corrected == 0  # the 1.04% left is below the 2% tolerance
    assert gap.explained_by_timing == pytest.approx(1 - (factor - 1) / (math.exp(B / 2) * factor - 1), rel=1e-9)


def test_timing_correction_from_step_losses() -> None:
    n, spe = 8, 20
    t = np.arange(1, n * spe + 1) / spe
    steps = loss(t)
    means = steps.reshape(n, spe).mean(axis=1)
    run = Run.from_arrays(means, loss(np.arange(1, n + 1)), step_loss=steps, steps_per_epoch=spe)
    corrected, method = train_at_evaluations(run.curves)
    assert method == "steps"
    # the slope is read exactly from the steps; the discrete mean differs from the continuous one by < 1.3%
    np.testing.assert_allclose(corrected, loss(np.arange(1, n + 1)), rtol=0.013)
    gap = analyse(run).gap
    assert gap.n_below == n and gap.n_below_corrected == 0 and gap.explained_by_timing > 0.95


def test_persistent_gap_is_not_explained_by_timing() -> None:
    n = 30
    end = 0.3 + loss(np.arange(1, n + 1))
    run = Run.from_arrays(epoch_means(n) + 0.3, 0.7 * end)  # validation 30% below the end-of-epoch loss
    gap = analyse(run).gap
    assert gap.n_below == n and gap.share_below_late == 1.0
    assert gap.share_below_corrected_late == 1.0
    assert gap.relative_gap_corrected_end == pytest.approx(0.3, abs=0.01)
    assert gap.explained_by_timing < 0.2
    codes = [f.code for f in analyse(run).findings if f.code.startswith("LC1")]
    assert codes == ["LC101", "LC102"]


def test_eval_mode_training_loss_is_compared_with_validation() -> None:
    n = 12
    end = loss(np.arange(1, n + 1)) + 0.2
    run = Run.from_arrays(end * 1.5, end, train_eval_loss=end * 1.2)
    gap = analyse(run).gap
    assert gap.eval_gap_mean == pytest.approx(1 - 1 / 1.2, rel=1e-9)
    assert gap.eval_share_above_val == 1.0


def test_overfitting_onset_and_recommended_stop_on_a_noisy_curve() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(1, 81, dtype=float)
    val = (0.2 + 0.0004 * (t - 30) ** 2) * np.exp(rng.normal(0, 0.01, len(t)))
    train = 2 * np.exp(-t / 10)
    over = analyse(Run.from_arrays(train, val)).overfitting
    assert over.detected
    assert abs(over.onset - 30) <= 2
    # first epoch whose smoothed loss is within 2% of the minimum: 0.0004 d^2 <= 0.004 -> d <= 3.2
    assert 26 <= over.recommended_stop <= 30
    assert over.rise == pytest.approx((0.2 + 0.0004 * 50 ** 2) / 0.2 - 1, rel=0.05)
    assert over.train_change_after_onset < -0.9


@pytest.mark.parametrize("seed", range(5))
def test_noise_alone_is_not_overfitting(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(1, 61, dtype=float)
    val = (0.3 + loss(t)) * np.exp(rng.normal(0, 0.02, len(t)))
    result = analyse(Run.from_arrays(0.25 + loss(t), val))
    assert not result.overfitting.detected
    assert "LC201" not in [f.code for f in result.findings]


def test_relative_scatter_measures_multiplicative_noise() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(1, 201, dtype=float)
    noisy = (0.3 + loss(t)) * np.exp(rng.normal(0, 0.05, len(t)))
    assert relative_scatter(noisy) == pytest.approx(0.05, rel=0.15)
    assert relative_scatter(0.3 + loss(t)) < 0.01
    assert math.isnan(relative_scatter(np.array([1.0, 0.9, 0.8])))


def test_fluctuation_against_the_noise_the_validation_size_predicts() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(1, 61, dtype=float)
    val = (0.3 + loss(t)) * np.exp(rng.normal(0, 0.05, len(t)))
    run = Run.from_arrays(0.25 + loss(t), val)
    big = analyse(run, val_size=10_000).fluctuation
    # standard error of the mean of 10,000 items: sqrt(2 x level) / 100, relative to the level
    assert big.expected == pytest.approx(math.sqrt(2 * big.level) / 100 / big.level, rel=1e-9)
    assert big.verdict == "excessive" and big.ratio > 1.5
    small = analyse(run, val_size=20).fluctuation
    assert small.verdict == "small-validation"
    assert small.standard_error == pytest.approx(math.sqrt(2 * small.level) / math.sqrt(20), rel=1e-9)
    measured = analyse(run, val_size=10_000, val_loss_std=100.0).fluctuation
    assert measured.item_sd == 100.0 and measured.verdict == "small-validation"
    smooth = analyse(Run.from_arrays(0.25 + loss(t), 0.3 + loss(t)), val_size=10_000).fluctuation
    assert smooth.verdict == "stable"
    assert [f.code for f in analyse(run, val_size=10_000).findings if f.code.startswith("LC3")] == ["LC301"]
    assert [f.code for f in analyse(run, val_size=20).findings if f.code.startswith("LC3")] == ["LC302"]


def test_nan_loss_is_reported_with_its_first_epoch() -> None:
    train = [2.0, 1.5, 1.2, float("nan"), float("nan")]
    result = analyse(Run.from_arrays(train, [1.8, 1.4, 1.1, float("nan"), float("inf")]))
    assert result.health.nonfinite == [("train", 4.0), ("val", 4.0), ("train", 5.0), ("val", 5.0)]
    (lc401,) = [f for f in result.findings if f.code == "LC401"]
    assert lc401.severity.value == "error" and "the first at epoch 4" in lc401.message


def test_rising_and_exploding_training_loss() -> None:
    t = np.arange(1, 21, dtype=float)
    rising = np.concatenate([loss(t[:8]), loss(8) * np.geomspace(1, 8, 12)])
    health = analyse(Run.from_arrays(rising, rising * 1.1)).health
    assert health.increasing and health.rise > 4 and 8 <= health.minimum_at <= 10
    spiky = loss(t).copy()
    spiky[10] *= 100
    health = analyse(Run.from_arrays(spiky, spiky)).health
    assert health.exploded and health.spike_at == 11.0 and health.spike_ratio == pytest.approx(100 * math.exp(B))
    assert not analyse(Run.from_arrays(loss(t), loss(t))).health.diverged


def test_loss_at_chance_level_means_nothing_is_learnt() -> None:
    flat = np.full(15, math.log(10)) * np.linspace(1.08, 1.0, 15)
    run = Run.from_arrays(flat, flat + 0.01, metadata={"n_classes": 10})
    health = analyse(run).health
    assert health.at_chance and health.chance_loss == pytest.approx(math.log(10))
    assert [f.code for f in analyse(run).findings if f.code.startswith("LC4")] == ["LC403"]
    assert not analyse(Run.from_arrays(loss(np.arange(1, 16)), loss(np.arange(1, 16)), metadata={"n_classes": 10})
                       ).health.at_chance


def test_still_improving_and_saturated() -> None:
    t = np.arange(1, 21, dtype=float)
    improving = analyse(Run.from_arrays(0.1 + np.exp(-t / 15), 0.1 + np.exp(-t / 15))).progress
    assert improving.still_improving and improving.tail_drop > 0.1
    t = np.arange(1, 61, dtype=float)
    early = 0.1 + np.exp(-t)
    saturated = analyse(Run.from_arrays(early, early)).progress
    assert saturated.saturated and not saturated.still_improving
    # raw values come within 3% of the floor 0.1 from t = 6 (e^-6 = 0.0025); the log-linear smoothing of a
    # convex curve lifts that point slightly, so the plateau starts at 6 or 7
    assert saturated.plateau_start in (6.0, 7.0)
    codes = [f.code for f in analyse(Run.from_arrays(early, early)).findings]
    assert "LC502" in codes and "LC501" not in codes


def test_settings_are_validated() -> None:
    assert resolve({"min-rise": 0.2})["min_rise"] == 0.2
    with pytest.raises(ConfigError, match="unknown curve setting 'nope'"):
        resolve({"nope": 1})
    with pytest.raises(ConfigError, match="'smoothing_points' must be an integer >= 3; got 1"):
        resolve({"smoothing_points": 1})
