"""False-alarm and detection rates of the split statistics (DS201, DS202, DF101, DF102) at their defaults.

For each modality (table, vector, text) it draws a synthetic labelled population, splits it at random
(i.i.d., 75% / 25%) many times and counts how often each rule fires: that is the false-alarm rate,
which must stay at or below 5%. It then plants problems and counts how often the right rule fires:

- ``shift``: validation items come from a shifted population (a table feature moved by 0.5 standard
  deviations, vectors moved by 0.5 along one axis, texts one third longer) -> DS201 and DS202;
- ``easier``: training labels are 25% noisy, validation labels 5% -> DF101;
- ``harder``: validation labels 40% noisy -> DF102.

Run:  python benchmarks/stats_false_alarms.py [--trials 200] [--planted-trials 20] [--modalities table,text]

The scanners run directly on a ScanContext (no leakage scanners), one process, one thread per fit.
The generators are also used by tests/stats/test_false_alarm_rate.py (a fast 30-split version).
"""

from __future__ import annotations

import argparse
import os
import string
import sys
import time
from collections import Counter
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.adversarial_validation import AdversarialValidationScanner
from splitcheck.scanners.difficulty_gap import DifficultyGapScanner
from splitcheck.scanners.feature_drift import FeatureDriftScanner

RULES = ("DS201", "DS202", "DF101", "DF102")
MODALITIES = ("table", "vector", "text")
SCENARIOS = ("iid", "shift", "easier", "harder")
#: Total items per trial, cycled over the trials (train gets 75%, val 25%).
SIZES = (400, 1200, 4000)
VAL_SHARE = 0.25
_WORDS = ["".join(np.random.default_rng(i).choice(list(string.ascii_lowercase), size=3 + i % 6)) for i in range(600)]


def _flip(y: np.ndarray, noise: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    y = y.copy()
    flip = rng.random(len(y)) < noise
    y[flip] = (y[flip] + rng.integers(1, n_classes, flip.sum())) % n_classes
    return y


def table_population(n: int, rng: np.random.Generator, *, noise: float = 0.15, shift: float = 0.0) -> pd.DataFrame:
    """Numeric (normal, log-normal, counts) and categorical features; a binary label from a logistic model."""
    a = rng.normal(size=n) + shift
    b = rng.lognormal(size=n)
    c = rng.poisson(3, size=n).astype(float)
    d = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], p=[0.5, 0.3, 0.2], size=n)
    letter = rng.choice(list("abcdefgh"), size=n)
    logit = 1.5 * (a - shift) - 0.8 * np.log(b) + 0.3 * (c - 3) + 0.8 * (colour == "red") - 0.4
    y = (logit + rng.logistic(size=n) * 0.5 > 0).astype(int)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "colour": colour, "letter": letter,
                         "label": _flip(y, noise, 2, rng)})


def vector_population(n: int, rng: np.random.Generator, *, noise: float = 0.15, shift: float = 0.0,
                      dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters in ``dim`` dimensions (overlapping); label = cluster, with label noise."""
    centres = np.random.default_rng(99).normal(scale=0.6, size=(3, dim))
    y = rng.integers(0, 3, n)
    x = centres[y] + rng.normal(size=(n, dim))
    x[:, 0] += shift
    return x, _flip(y, noise, 3, rng)


def text_population(n: int, rng: np.random.Generator, *, noise: float = 0.15, shift: float = 0.0) -> pd.DataFrame:
    """Three topics over a 600-word vocabulary; each text mixes topic words and common words."""
    y = rng.integers(0, 3, n)
    lengths = rng.poisson(12, n) + 3
    lengths = np.round(lengths * (1.0 + shift)).astype(int)
    texts = []
    for label, length in zip(y, lengths):
        topic = rng.integers(label * 100, label * 100 + 100, length)
        common = rng.integers(300, 600, length)
        words = np.where(rng.random(length) < 0.4, topic, common)
        texts.append(" ".join(_WORDS[w] for w in words).capitalize() + ".")
    return pd.DataFrame({"text": texts, "label": _flip(y, noise, 3, rng)})


def make_splits(modality: str, n: int, rng: np.random.Generator, *, scenario: str = "iid") -> list:
    """Random train/val splits of one synthetic population; ``scenario`` plants a problem in val."""
    n_val = round(n * VAL_SHARE)
    n_train = n - n_val
    train_noise, val_noise, shift = 0.15, 0.15, 0.0
    if scenario == "easier":
        train_noise, val_noise = 0.25, 0.05
    elif scenario == "harder":
        val_noise = 0.40
    elif scenario == "shift":
        shift = {"table": 0.5, "vector": 0.5, "text": 1 / 3}[modality]
    if scenario == "iid":  # one population, split at random
        parts = _population(modality, n, rng, 0.15, 0.0)
        order = rng.permutation(n)
        train, val = _take(parts, order[:n_train]), _take(parts, order[n_train:])
    else:
        train = _population(modality, n_train, rng, train_noise, 0.0)
        val = _population(modality, n_val, rng, val_noise, shift)
    return [_as_split("train", train), _as_split("val", val)]


def _population(modality: str, n: int, rng: np.random.Generator, noise: float, shift: float):  # type: ignore[no-untyped-def]
    if modality == "table":
        return table_population(n, rng, noise=noise, shift=shift)
    if modality == "vector":
        return vector_population(n, rng, noise=noise, shift=shift)
    return text_population(n, rng, noise=noise, shift=shift)


def _take(parts, rows):  # type: ignore[no-untyped-def]
    if isinstance(parts, tuple):
        return parts[0][rows], parts[1][rows]
    return parts.iloc[rows].reset_index(drop=True)


def _as_split(name: str, parts):  # type: ignore[no-untyped-def]
    if isinstance(parts, tuple):
        return load_split(name, parts, LoadOptions())
    frame = parts.copy()
    frame.insert(0, "id", [f"{name}{i}" for i in range(len(frame))])
    return load_split(name, frame, LoadOptions())


def run_scanners(splits: list) -> list[str]:
    """Rule codes the three statistics scanners emit on these splits, at their default settings."""
    context = ScanContext(splits)
    codes = []
    for cls in (FeatureDriftScanner, AdversarialValidationScanner, DifficultyGapScanner):
        scanner = cls()
        if scanner.skip_reason(context) is None:
            codes.extend(f.code for f in scanner.run(context))
    return codes


def rates(modality: str, scenario: str, trials: int, seed: int, *, sizes: tuple[int, ...] = SIZES,
          progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Share of ``trials`` in which each rule fired (split sizes cycle over ``sizes``)."""
    counts: Counter[str] = Counter()
    for trial in range(trials):
        rng = np.random.default_rng([seed, trial, MODALITIES.index(modality), SCENARIOS.index(scenario)])
        codes = set(run_scanners(make_splits(modality, sizes[trial % len(sizes)], rng, scenario=scenario)))
        counts.update(codes)
        if progress and (trial + 1) % 20 == 0:
            progress(f"{modality} {scenario} {sizes}: {trial + 1}/{trials}")
    return {rule: counts[rule] / trials for rule in RULES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="i.i.d. random splits per modality")
    parser.add_argument("--planted-trials", type=int, default=20,
                        help="trials per planted scenario, modality and split size")
    parser.add_argument("--modalities", default="table,vector,text")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)
    rows = []
    for modality in args.modalities.split(","):
        started = time.perf_counter()
        row = {"modality": modality, "scenario": "iid", "items": "/".join(map(str, SIZES)), "trials": args.trials,
               **rates(modality, "iid", args.trials, args.seed, progress=say)}
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        for scenario in ("shift", "easier", "harder") if args.planted_trials > 0 else ():
            for size in SIZES:
                started = time.perf_counter()
                row = {"modality": modality, "scenario": scenario, "items": str(size), "trials": args.planted_trials,
                       **rates(modality, scenario, args.planted_trials, args.seed, sizes=(size,), progress=say)}
                row["seconds"] = round(time.perf_counter() - started, 1)
                rows.append(row)
    table = pd.DataFrame(rows)
    print(f"train {1 - VAL_SHARE:.0%} / val {VAL_SHARE:.0%} of the items; cells = share of trials in which the "
          "rule fired (iid rows: false alarms; planted rows: shift -> DS201/DS202, easier -> DF101, "
          "harder -> DF102)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    iid = table[table["scenario"] == "iid"]
    worst = float(iid[list(RULES)].to_numpy().max()) if len(iid) else 0.0
    print(f"worst false-alarm rate over rules and modalities: {worst:.3f} (must be <= 0.05)")
    return 0 if worst <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
