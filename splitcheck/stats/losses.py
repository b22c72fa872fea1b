"""Per-sample losses from the user's own model, and how much of a train/val loss gap the class mix explains.

A losses file (``--losses FILE``: CSV, TSV, Parquet or JSONL) has one row per item and the columns
``id`` and ``loss``, optionally ``split`` (which split the id belongs to) and ``epoch`` (only the last
epoch of each split is used). Without a ``split`` column each id is looked up in every split and must
belong to exactly one.

Class-mix decomposition of a gap ``train_loss - val_loss`` (positive = validation loss lower):

- ``val_loss_reweighted`` = the validation per-class mean losses weighted by the *training* class shares
  (over the classes both splits hold): what the validation loss would be with the training class mix;
- ``class_mix_nats`` = ``val_loss_reweighted - val_loss``: the part of the gap due to the class shares;
- ``within_class_nats`` = ``train_loss - val_loss_reweighted``: the part left within classes;
- ``class_mix_share`` = ``class_mix_nats / gap`` (the two parts add up to the gap exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from splitcheck.errors import InputError
from splitcheck.loaders.tables import read_table

#: Below this absolute gap (nats) the class-mix share is not defined (reported as NaN).
MIN_GAP_FOR_SHARE = 1e-9


@dataclass(frozen=True)
class ClassMix:
    """Decomposition of ``train_loss - val_loss`` into a class-mix part and a within-class part (nats)."""

    train_loss: float
    val_loss: float
    val_loss_reweighted: float
    gap_nats: float
    class_mix_nats: float
    within_class_nats: float
    class_mix_share: float


def read_losses(path: str | Path) -> pd.DataFrame:
    """Read a per-sample losses file into columns ``id`` (str), ``loss`` (float), ``split`` (str or None),
    ``epoch`` (float or NaN). Raises :class:`InputError` naming the file, row and column on bad input."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: losses file not found")
    frame = read_table(path)
    lower = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("id", "loss") if c not in lower]
    if missing:
        raise InputError(f"{path}: a losses file needs the columns id and loss (optional: split, epoch); "
                         f"missing {', '.join(missing)}; columns are: {', '.join(map(str, frame.columns))}")
    ids = frame[lower["id"]]
    if ids.isna().any():
        raise InputError(f"{path}, row {_first(ids.isna())}: column {lower['id']!r} is empty")
    loss = pd.to_numeric(frame[lower["loss"]], errors="coerce").astype(float)
    bad = ~np.isfinite(loss.to_numpy())
    if bad.any():
        row = _first(pd.Series(bad))
        raise InputError(f"{path}, row {row}: column {lower['loss']!r} has {frame[lower['loss']].iloc[row]!r}, "
                         "not a finite number")
    out = pd.DataFrame({"id": ids.map(_id_text).astype(object), "loss": loss.to_numpy()})
    if "split" in lower:
        split = frame[lower["split"]]
        if split.isna().any():
            raise InputError(f"{path}, row {_first(split.isna())}: column {lower['split']!r} is empty")
        out["split"] = split.astype(str).to_numpy(dtype=object)
    else:
        out["split"] = None
    if "epoch" in lower:
        epoch = pd.to_numeric(frame[lower["epoch"]], errors="coerce").astype(float)
        bad_epoch = epoch.isna() & frame[lower["epoch"]].notna()
        if bad_epoch.any():
            row = _first(bad_epoch)
            raise InputError(f"{path}, row {row}: column {lower['epoch']!r} has "
                             f"{frame[lower['epoch']].iloc[row]!r}, not a number")
        out["epoch"] = epoch.to_numpy()
    else:
        out["epoch"] = np.nan
    if len(out) == 0:
        raise InputError(f"{path}: the losses file has no rows")
    return out


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def assign_splits(losses: pd.DataFrame, split_ids: Mapping[str, Sequence[str]], *, source: str = "losses") -> pd.DataFrame:
    """Keep the last epoch of each split and fill in the ``split`` of every row from the ids.

    Rows whose split column names a split that is not scanned, or whose id is in no split, are dropped
    (the returned frame's ``attrs['unmatched']`` counts them). Raises :class:`InputError` when an id without
    a split column is in several splits, when the same (split, id) appears twice in one epoch, or when
    no row matches an item.
    """
    members = {name: set(map(str, ids)) for name, ids in split_ids.items()}
    frame = losses.copy()
    if frame["split"].isna().all():
        where = frame["id"].map(lambda i: [n for n, ids in members.items() if i in ids])
        ambiguous = where.map(len) > 1
        if ambiguous.any():
            row = _first(ambiguous)
            raise InputError(f"{source}, row {row}: id {frame['id'].iloc[row]!r} is in splits "
                             f"{', '.join(where.iloc[row])}; add a split column to the losses file")
        frame["split"] = where.map(lambda w: w[0] if w else None)
    known = np.array([s is not None and i in members.get(s, set()) for s, i in zip(frame["split"], frame["id"])],
                     dtype=bool)
    unmatched = int((~known).sum())
    frame = frame[known]
    if frame.empty:
        raise InputError(f"{source}: no row matches an item of the scanned splits (by id"
                         + (" and split" if losses["split"].notna().any() else "") + ")")
    if frame["epoch"].notna().any():
        last = frame.groupby("split")["epoch"].transform("max")
        frame = frame[(frame["epoch"] == last) | frame["epoch"].isna() & last.isna()]
    dup = frame.duplicated(["split", "id"])
    if dup.any():
        first = frame[dup].iloc[0]
        raise InputError(f"{source}: item {first['id']!r} of split {first['split']!r} has more than one loss"
                         + (" in the same epoch" if pd.notna(first["epoch"]) else "")
                         + "; give one row per item (and epoch)")
    frame = frame.reset_index(drop=True)
    frame.attrs["unmatched"] = unmatched
    return frame


def per_class_means(losses: np.ndarray, labels: np.ndarray) -> pd.Series:
    """Mean loss per class label (index sorted)."""
    return pd.Series(np.asarray(losses, dtype=float)).groupby(np.asarray(labels).astype(str)).mean().sort_index()


def reweighted_loss(losses: np.ndarray, labels: np.ndarray, priors: Mapping[str, float]) -> float:
    """Mean of the per-class mean losses weighted by ``priors`` (renormalised over the classes present)."""
    means = per_class_means(losses, labels)
    weights = pd.Series({str(k): float(v) for k, v in priors.items()}).reindex(means.index).fillna(0.0)
    if weights.sum() <= 0:
        return float("nan")
    return float((means * weights).sum() / weights.sum())


def class_shares(labels: np.ndarray) -> dict[str, float]:
    values = pd.Series(np.asarray(labels).astype(str))
    return {str(k): float(v) for k, v in values.value_counts(normalize=True).sort_index().items()}


def class_mix_impact(
    train_losses: np.ndarray, train_labels: np.ndarray, val_losses: np.ndarray, val_labels: np.ndarray
) -> ClassMix:
    """How much of ``mean(train_losses) - mean(val_losses)`` the difference in class shares accounts for."""
    train_loss = float(np.mean(train_losses))
    val_loss = float(np.mean(val_losses))
    rw = reweighted_loss(val_losses, val_labels, class_shares(train_labels))
    gap = train_loss - val_loss
    mix = rw - val_loss
    share = mix / gap if abs(gap) > MIN_GAP_FOR_SHARE else float("nan")
    return ClassMix(train_loss, val_loss, rw, gap, mix, train_loss - rw, share)


def per_class_table(
    labels: Mapping[str, np.ndarray], values: Mapping[str, Mapping[str, np.ndarray]]
) -> pd.DataFrame:
    """One row per class: ``<split>_count``, ``<split>_share`` and ``<split>_<value>`` (mean) per split.

    ``labels`` maps split name to its item labels; ``values`` maps a value name (``loss``,
    ``knn_agreement``) to split name to the per-item values aligned with those labels.
    """
    classes = sorted(set().union(*(set(np.asarray(v).astype(str)) for v in labels.values())))
    table = pd.DataFrame({"class": classes})
    for split, y in labels.items():
        y = np.asarray(y).astype(str)
        counts = pd.Series(y).value_counts().reindex(classes, fill_value=0)
        table[f"{split}_count"] = counts.to_numpy()
        table[f"{split}_share"] = counts.to_numpy() / max(len(y), 1)
        for value_name, per_split in values.items():
            if split in per_split:
                table[f"{split}_{value_name}"] = per_class_means(per_split[split], y).reindex(classes).to_numpy()
    return table
