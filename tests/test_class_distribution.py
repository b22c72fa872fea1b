from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import splitcheck as sc


def labelled(counts: dict[str, int], prefix: str, rng) -> pd.DataFrame:
    labels = [c for c, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(len(labels))],
                         "x": rng.normal(size=len(labels)), "label": labels})


def test_shift_names_the_driving_classes():
    rng = np.random.default_rng(0)
    train = labelled({"cat": 500, "dog": 350, "fox": 150}, "t", rng)
    val = labelled({"cat": 40, "dog": 80, "fox": 80}, "v", rng)
    report = sc.scan(train=train, val=val, config={})
    (finding,) = report.by_code("DS101")
    assert finding.evidence["class"].tolist()[0] == "fox"  # largest standardised residual
    assert finding.metrics["p_value"] < 1e-10
    assert finding.metrics["js_distance"] == pytest.approx(0.3027, abs=1e-3)  # sqrt of JSD 0.0917 bits, by hand
    assert "fox 15%->40%" in finding.message


def test_same_mix_is_quiet_and_tiny_differences_on_huge_splits_too():
    rng = np.random.default_rng(0)
    train = labelled({"a": 50_000, "b": 50_000}, "t", rng)
    val = labelled({"a": 20_600, "b": 19_400}, "v", rng)  # significant, but JS distance ~0.02
    report = sc.scan(train=train, val=val, config={})
    assert report.by_code("DS101") == []
    strict = sc.scan(train=train, val=val, config={"class-distribution": {"min-js-distance": 0.0}})
    assert len(strict.by_code("DS101")) == 1


def test_missing_and_rare_classes():
    rng = np.random.default_rng(0)
    train = labelled({"a": 30, "b": 30, "c": 30}, "t", rng)
    val = labelled({"a": 10, "b": 3, "d": 10}, "v", rng)
    report = sc.scan(train=train, val=val, config={})
    missing = {f.splits[0]: f.evidence["class"].tolist() for f in report.by_code("DS102")}
    assert missing == {"train": ["d"], "val": ["c"]}
    (rare,) = report.by_code("DS103")
    assert rare.evidence.values.tolist() == [["val", "b", 3]]


def test_bad_config_value_is_a_config_error():
    with pytest.raises(sc.ConfigError, match="alpha must be a number <= 1.0"):
        sc.scan(train=np.zeros((2, 2)), val=np.ones((2, 2)), config={"class-distribution": {"alpha": 3}})


def test_chi_square_and_jensen_shannon_match_scipy():
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    from splitcheck.scanners.class_distribution import _chi2_contingency, _jensen_shannon

    rng = np.random.default_rng(0)
    for _ in range(300):
        observed = rng.integers(0, 200, (2, int(rng.integers(2, 12))))
        observed[:, :2] += 1
        chi2, p_value, dof, expected = chi2_contingency(observed, correction=False)
        ours = _chi2_contingency(observed)
        assert ours[0] == pytest.approx(chi2, rel=1e-12) and ours[1] == pytest.approx(p_value, rel=1e-9, abs=1e-300)
        assert ours[2] == dof and np.allclose(ours[3], expected)
        shares = observed / observed.sum(axis=1, keepdims=True)
        assert _jensen_shannon(shares[0], shares[1]) == pytest.approx(jensenshannon(shares[0], shares[1], base=2),
                                                                      abs=1e-12)
