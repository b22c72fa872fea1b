"""A fast version of benchmarks/stats_false_alarms.py: 30 i.i.d. random splits at the default thresholds.

The benchmark runs 200 splits per modality; here 12 table, 12 vector (400 and 1200 items) and 6 text splits
(400 items) must give at most one alarm per rule in total (3%), and planted problems on 1200 items must be
found.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "stats_false_alarms.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stats_false_alarms", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("stats_false_alarms", module)
    spec.loader.exec_module(module)
    return module


def test_thirty_iid_splits_raise_at_most_one_alarm_per_rule(bench: ModuleType):
    fired = {rule: 0 for rule in bench.RULES}
    for modality, trials, sizes in (("table", 12, (400, 1200)), ("vector", 12, (400, 1200)), ("text", 6, (400,))):
        rates = bench.rates(modality, "iid", trials, seed=11, sizes=sizes)
        for rule, rate in rates.items():
            fired[rule] += round(rate * trials)
    assert all(count <= 1 for count in fired.values()), fired


@pytest.mark.parametrize(("scenario", "rules"), [("shift", {"DS201", "DS202"}), ("easier", {"DF101"}),
                                                 ("harder", {"DF102"})])
def test_planted_problems_are_found(bench: ModuleType, scenario: str, rules: set[str]):
    rng = np.random.default_rng(12)
    codes = set(bench.run_scanners(bench.make_splits("table", 1200, rng, scenario=scenario)))
    assert codes == rules
