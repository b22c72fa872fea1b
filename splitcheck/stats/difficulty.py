"""How hard each split is for a simple model, measured so that the splits are compared fairly.

- **k-NN label agreement**: for each item, the share of its ``k`` nearest *training* items (the item
  itself excluded) that carry its label. High agreement = the label is easy to guess from similar items.
- **Proxy-model loss**: a logistic regression is cross-fitted on the training split (k folds). Each
  training item's loss comes from the fold model that did not see it (out-of-fold); each other item's
  loss is the mean of its losses under the same k fold models. Both sides are thus scored by models
  trained on the same amount of data that never saw them, and under an i.i.d. split both mean losses
  estimate the same number. Losses are log-losses in nats (``-ln p(true label)``).
- **Gap**: mean training out-of-fold loss minus mean loss of the other split, with a bootstrap
  confidence interval (items resampled within each split). Positive = the other split is easier.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from splitcheck.stats.threads import limited_threads

#: Probabilities are clipped to at least this before taking the log (caps one item's loss at ~34.5 nats).
MIN_PROBABILITY = 1e-15
#: Items resampled per bootstrap batch (bounds memory: batch x items indices).
_BOOTSTRAP_BATCH = 100


def knn_label_agreement(
    train_x: np.ndarray,
    train_y: np.ndarray,
    query_x: np.ndarray | None = None,
    query_y: np.ndarray | None = None,
    *,
    k: int = 10,
) -> np.ndarray:
    """Per query item, the share of its ``k`` nearest training items (Euclidean) with the same label.

    With ``query_x`` None the training items themselves are the queries and each is excluded from its
    own neighbours (by position, so an exact duplicate elsewhere in training still counts).
    """
    from sklearn.neighbors import NearestNeighbors
    train_x = np.asarray(train_x, dtype=float)
    train_y = np.asarray(train_y)
    self_query = query_x is None
    n_train = len(train_x)
    k = min(k, n_train - 1 if self_query else n_train)
    if k < 1:
        raise ValueError("k-NN label agreement needs at least 2 training items")
    with limited_threads(n_train):
        index = NearestNeighbors(n_neighbors=k + 1 if self_query else k).fit(train_x)
        if self_query:
            _, neighbours = index.kneighbors(train_x)
            neighbours = _drop_self(neighbours, k)
            labels = train_y
        else:
            _, neighbours = index.kneighbors(np.asarray(query_x, dtype=float))
            labels = np.asarray(query_y)
    return (train_y[neighbours] == labels[:, None]).mean(axis=1)


def _drop_self(neighbours: np.ndarray, k: int) -> np.ndarray:
    """Remove each row's own position from its k+1 neighbours (or the last one when ties hid it)."""
    rows = np.arange(len(neighbours))
    is_self = neighbours == rows[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(neighbours, dtype=bool)
    keep[rows, drop] = False
    return neighbours[keep].reshape(len(neighbours), k)


@dataclass
class ProxyLosses:
    """Per-item log-losses (nats) of the cross-fitted proxy model."""

    train: np.ndarray  # out-of-fold loss of each training item
    others: dict[str, np.ndarray]  # mean loss under the fold models of each item of the other splits
    classes: np.ndarray
    n_folds: int


def proxy_losses(
    train_x: np.ndarray,
    train_y: np.ndarray,
    others: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    n_folds: int = 5,
    C: float = 1.0,
    random_state: int | None = 0,
) -> ProxyLosses:
    """Out-of-fold losses on training items and fold-averaged losses on the other splits' items.

    Every class must have at least ``n_folds`` training items, and every label of ``others`` must be a
    training class (the caller leaves the rest out and says so).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    train_x = np.asarray(train_x, dtype=float)
    train_y = np.asarray(train_y).astype(str)
    classes, counts = np.unique(train_y, return_counts=True)
    if len(classes) < 2:
        raise ValueError("the proxy model needs at least 2 classes in the training split")
    if counts.min() < n_folds:
        raise ValueError(f"every class needs at least {n_folds} training items")
    position = {c: i for i, c in enumerate(classes)}
    train_codes = np.array([position[c] for c in train_y])
    other_codes = {}
    for name, (_, y) in others.items():
        y = np.asarray(y).astype(str)
        unknown = sorted(str(c) for c in set(y) - set(position))
        if unknown:
            raise ValueError(f"labels of {name} not in the training split: {unknown[:5]}")
        other_codes[name] = np.array([position[c] for c in y], dtype=int)
    train_loss = np.zeros(len(train_x))
    other_loss = {name: np.zeros(len(x)) for name, (x, _) in others.items()}
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for fit_idx, held_idx in splitter.split(train_x, train_codes):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
        with warnings.catch_warnings(), limited_threads(len(train_x)):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(train_x[fit_idx], train_codes[fit_idx])
            train_loss[held_idx] = _log_loss(model, train_x[held_idx], train_codes[held_idx], len(classes))
            for name, (x, _) in others.items():
                if len(x):
                    other_loss[name] += _log_loss(model, np.asarray(x, dtype=float), other_codes[name],
                                                  len(classes))
    return ProxyLosses(train_loss, {k: v / n_folds for k, v in other_loss.items()}, classes, n_folds)


def _log_loss(model: object, x: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    proba = np.zeros((len(x), n_classes))
    proba[:, model.classes_] = model.predict_proba(x)  # type: ignore[attr-defined]
    return -np.log(np.clip(proba[np.arange(len(x)), codes], MIN_PROBABILITY, 1.0))


def bootstrap_mean_difference(
    a: np.ndarray,
    b: np.ndarray,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    pooled: bool = True,
    random_state: int | None = 0,
) -> tuple[float, float, float]:
    """``mean(a) - mean(b)`` and a bootstrap confidence interval at ``level``.

    With ``pooled`` (the default) both samples are resampled from their pooled values, which gives the
    scatter the difference would have if the two samples came from one population, and the interval is
    the difference minus that scatter's quantiles. Losses are skewed (a few items have large losses), so
    a sample that happens to hold few of them has both a low mean and a small spread; resampling each
    sample on its own (``pooled=False``: percentile interval) then gives it a too narrow interval exactly
    when its mean is luckily low, and false alarms go up.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        return float("nan"), float("nan"), float("nan")
    diff = float(a.mean() - b.mean())
    rng = np.random.default_rng(random_state)
    source_a, source_b = (np.concatenate([a, b]),) * 2 if pooled else (a, b)
    draws = []
    for start in range(0, n_boot, _BOOTSTRAP_BATCH):
        size = min(_BOOTSTRAP_BATCH, n_boot - start)
        mean_a = source_a[rng.integers(0, source_a.size, (size, a.size))].mean(axis=1)
        mean_b = source_b[rng.integers(0, source_b.size, (size, b.size))].mean(axis=1)
        draws.append(mean_a - mean_b)
    values = np.concatenate(draws)
    tail = (1.0 - level) / 2.0
    q_low, q_high = np.quantile(values, [tail, 1.0 - tail])
    if pooled:
        return diff, float(diff - q_high), float(diff - q_low)
    return diff, float(q_low), float(q_high)
