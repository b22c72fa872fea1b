from __future__ import annotations

import math

import numpy as np
import pytest

from splitcheck.embed.calibration import calibrate


def test_z_and_thresholds_follow_the_reference_log_distances() -> None:
    # reference distances 1 - s: 0.5 (x5), 0.25 (x8), 1.0 (x8) -> log-d median log(0.5), MAD log(2)
    ref = np.array([0.5] * 5 + [0.75] * 8 + [0.0] * 8)
    cal = calibrate(ref, z_threshold=3.0, min_similarity=0.2)
    assert cal.calibrated and cal.n_reference == 21
    assert cal.center == pytest.approx(math.log(0.5))
    assert cal.scale == pytest.approx(1.4826 * math.log(2))
    # similarity 0.875 -> distance 1/8 -> two halvings below the median distance
    assert cal.z(np.array([0.875]))[0] == pytest.approx(2 * math.log(2) / (1.4826 * math.log(2)))
    expected_rel = 1 - math.exp(math.log(0.5) - 3.0 * 1.4826 * math.log(2))
    assert cal.relative_threshold == pytest.approx(expected_rel)
    assert cal.threshold == pytest.approx(expected_rel)
    flags = cal.flags(np.array([expected_rel - 1e-4, expected_rel + 1e-4, 1.0]))
    assert flags.tolist() == [False, True, True]
    np.testing.assert_allclose(cal.reference_share(np.array([0.75, 0.5, 0.9, -1.0])), [8 / 21, 13 / 21, 0.0, 1.0])


def test_floor_wins_when_it_is_higher() -> None:
    ref = np.linspace(-0.5, 0.2, 100)
    cal = calibrate(ref, z_threshold=1.0, min_similarity=0.95)
    assert cal.relative_threshold < 0.95
    assert cal.threshold == 0.95
    assert cal.flags(np.array([0.94, 0.96])).tolist() == [False, True]


def test_a_few_copies_inside_the_reference_do_not_move_it() -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.2, 0.6, 1000)
    dirty = clean.copy()
    dirty[:30] = 1.0  # 3 % of training items have an exact copy in training
    a = calibrate(clean, z_threshold=5, min_similarity=0.0)
    b = calibrate(dirty, z_threshold=5, min_similarity=0.0)
    assert abs(a.relative_threshold - b.relative_threshold) < 0.02


def test_small_reference_falls_back_to_the_floor() -> None:
    cal = calibrate(np.array([0.1, 0.2, 0.3]), z_threshold=5, min_similarity=0.8)
    assert not cal.calibrated
    assert math.isnan(cal.relative_threshold)
    assert cal.threshold == 0.8
    assert cal.flags(np.array([0.79, 0.81])).tolist() == [False, True]
