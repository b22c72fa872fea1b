"""The embedding scanner picks its search index by split size (exact-max, ivfpq-above) and the approximate
indexes find the same planted near-copies as exact search."""

from __future__ import annotations

import numpy as np
import pytest

from splitcheck.config import validate_params
from splitcheck.context import ScanContext
from splitcheck.index.knn import KnnIndex
from splitcheck.loaders.vectors import split_from_array
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

PLANTED = 30


@pytest.fixture(scope="module")
def splits() -> tuple[np.ndarray, np.ndarray, set[tuple[str, str]]]:
    """4,000 clustered training vectors, 800 validation vectors of which 30 are near-copies of training ones."""
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((80, 32))
    train = centres[rng.integers(0, 80, 4000)] + 0.8 * rng.standard_normal((4000, 32))
    val = centres[rng.integers(0, 80, 800)] + 0.8 * rng.standard_normal((800, 32))
    rows = rng.choice(800, PLANTED, replace=False)
    sources = rng.choice(4000, PLANTED, replace=False)
    val[rows] = train[sources] + 0.03 * rng.standard_normal((PLANTED, 32))
    return train, val, {(str(r), str(s)) for r, s in zip(rows, sources)}


def scan(train: np.ndarray, val: np.ndarray, **settings: object) -> tuple[set[tuple[str, str]], set[str]]:
    """LK103 pairs (val id, train id) and the methods of the indexes the scan built."""
    context = ScanContext([split_from_array("train", train, source="t"), split_from_array("val", val, source="v")])
    findings = EmbeddingNeighbourScanner(within_split=False, **settings).run(context)
    (lk103,) = [f for f in findings if f.code == "LK103"]
    methods = {v.method for v in context.memo.values() if isinstance(v, KnnIndex)}
    return set(zip(lk103.evidence["a_id"], lk103.evidence["b_id"])), methods


def test_auto_picks_ivfpq_above_its_threshold_and_finds_the_exact_pairs(splits):
    train, val, planted = splits
    exact, exact_methods = scan(train, val, index="flat")
    assert exact == planted and exact_methods == {"flat"}
    approx, methods = scan(train, val, exact_max=1000, ivfpq_above=3999)  # 4,000 training items: above both
    assert methods == {"ivfpq"}
    assert approx == exact


def test_auto_picks_ivf_between_the_thresholds_and_flat_below(splits):
    train, val, planted = splits
    pairs, methods = scan(train, val, exact_max=1000, ivfpq_above=4000)
    assert methods == {"ivf"} and pairs == planted
    pairs, methods = scan(train, val)  # defaults: 4,000 items are searched exactly
    assert methods == {"flat"} and pairs == planted


def test_thresholds_are_config_keys_with_defaults():
    assert validate_params(EmbeddingNeighbourScanner, {"exact-max": 10, "ivfpq-above": 20}, source="f",
                           where="w") == {"exact_max": 10, "ivfpq_above": 20}
    defaults = EmbeddingNeighbourScanner().settings
    assert defaults["exact_max"] == 50_000 and defaults["ivfpq_above"] == 1_000_000
