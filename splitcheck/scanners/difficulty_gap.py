"""Difficulty gap: is a split easier (or harder) than training for a simple model, leakage aside?

Also home of :func:`loss_findings`, which reads the user's own per-sample losses (``--losses FILE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.adversarial_validation import shared_feature_space
from splitcheck.scanners.base import Param, Rule, Scanner, in_range, register
from splitcheck.scanners.feature_drift import comparable_splits
from splitcheck.splits import Split
from splitcheck.stats.difficulty import bootstrap_mean_difference, knn_label_agreement, proxy_losses
from splitcheck.stats.features import FeatureSpace
from splitcheck.stats.losses import (
    assign_splits,
    class_mix_impact,
    class_shares,
    per_class_table,
    read_losses,
    reweighted_loss,
)


@dataclass
class _Measured:
    """The difficulty numbers of one split against the reference (``metrics`` become the finding's)."""

    metrics: dict[str, float]
    per_class: pd.DataFrame
    n_excluded: int
    subsampled: list[str]


@register
class DifficultyGapScanner(Scanner):
    """Measures how hard each labelled split is for a simple model compared with training.

    What it finds: a split on which a proxy model (logistic regression on the features, cross-fitted on
    training) has a lower loss than on training's own held-out items (DF101, "validation is easier"), or
    a higher one (DF102). The gap is in nats with a bootstrap confidence interval; the finding is raised
    only when the interval excludes zero and the gap reaches ``min_gap_nats``. It also reports the k-NN
    label agreement of each split (share of an item's nearest training items with its label), per class,
    and how much of the gap the class mix explains. Items that the leakage scanners tie to training are
    left out of these numbers and reported separately, so "easier" and "leaked" are told apart.
    Why it matters: a validation loss below the training loss is often not leakage but a validation
    split with cleaner labels, easier items or more of the easy classes; the model then looks better
    than it is.
    """

    name = "difficulty_gap"
    imports = ("sklearn.neighbors", "sklearn.linear_model", "sklearn.pipeline", "sklearn.preprocessing",
               "sklearn.model_selection")
    memoise = True
    rules = {
        "DF101": Rule("validation-easier", Severity.WARNING,
                      "A simple model's loss is lower on a split than on training's held-out items (leakage aside)."),
        "DF102": Rule("validation-harder", Severity.INFO,
                      "A simple model's loss is higher on a split than on training's held-out items."),
        "DF103": Rule("leaked-items-lower-loss", Severity.WARNING,
                      "In the user's per-sample losses, leaked items of a split have a lower loss than clean ones."),
        "DF104": Rule("per-sample-loss-summary", Severity.INFO,
                      "The user's per-sample losses per split: clean vs leaked, per class, re-weighted to training "
                      "class shares, and the share of the train/val gap due to the class mix."),
    }
    params = {
        "k": Param(10, "Neighbours per item for the k-NN label agreement.", in_range(1, None, integer=True)),
        "n_folds": Param(5, "Folds of the cross-fitted proxy model; classes with fewer training items are left "
                         "out of the proxy numbers.", in_range(2, 20, integer=True)),
        "C": Param(1.0, "Inverse L2 regularisation strength of the logistic-regression proxy model.",
                   in_range(1e-6, None)),
        "level": Param(0.99, "Confidence level of the bootstrap intervals. 0.99 because resampling items ignores "
                       "the randomness of the fitted proxy models, so intervals run slightly narrow on small splits "
                       "(false-alarm rates measured in benchmarks/stats_false_alarms.py).", in_range(0.5, 0.9999)),
        "n_boot": Param(1000, "Bootstrap resamples for the intervals.", in_range(100, None, integer=True)),
        "min_gap_nats": Param(0.02, "Smallest absolute loss gap (nats) for DF101/DF102, on top of the interval "
                              "excluding zero, so huge splits do not flag negligible gaps.", in_range(0.0, None)),
        "min_relative_loss_drop": Param(0.1, "DF103 needs the leaked items' mean loss at least this share below "
                                        "the clean items' (0.1 = 10% lower), on top of the interval excluding "
                                        "zero.", in_range(0.0, 1.0)),
        "max_items": Param(20_000, "Items per split used; larger splits are subsampled at random (the finding "
                           "says so).", in_range(10, None, integer=True)),
        "min_items": Param(20, "Splits (after leaving out leaked items) with fewer labelled items than this are "
                           "not measured.", in_range(4, None, integer=True)),
        "svd_components": Param(64, "Dimensions kept from the TF-IDF character n-grams of text splits.",
                                in_range(1, None, integer=True)),
        "random_state": Param(0, "Seed of the subsampling, the folds and the bootstrap.",
                              in_range(0, None, integer=True)),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        reason = super().skip_reason(context)
        if reason:
            return reason
        ref = context.reference
        if not ref.has_labels or not any(s.has_labels for s in context.splits if s is not ref):
            return "needs labels in the reference split and in another split (class folders or --label-column)"
        return None

    # -- the scanner ------------------------------------------------------------------------------------

    def run(self, context: ScanContext) -> list[Finding]:
        ref = context.reference
        splits = comparable_splits(context)
        space, rows = shared_feature_space(context, splits, max_items=self.settings["max_items"],
                                           svd_components=self.settings["svd_components"],
                                           random_state=self.settings["random_state"])
        if not space.names:
            return []
        findings = []
        for other in splits[1:]:
            if not other.has_labels:
                continue
            measured = self.measure(space, rows, ref, other, context.leaked_ids(other.name))
            if measured is None:
                continue
            context.memo[f"difficulty_gap:{other.name}"] = measured.metrics
            finding = self._finding(context, ref.name, other.name, measured, space.description)
            if finding is not None:
                findings.append(finding)
        return findings

    def measure(self, space: FeatureSpace, rows: dict[str, np.ndarray], ref: Split, other: Split,
                leaked: set[str]) -> _Measured | None:
        """The difficulty numbers of ``other`` against ``ref`` (None when too few items can be used)."""
        s = self.settings
        y_ref = _labels(ref, rows[ref.name])
        y_oth = _labels(other, rows[other.name])
        classes, counts = np.unique(y_ref[y_ref != ""], return_counts=True)
        usable = set(classes[counts >= s["n_folds"]])
        if len(usable) < 2:
            return None
        in_ref = np.isin(y_ref, list(usable))
        labelled = y_oth != ""
        in_oth = labelled & np.isin(y_oth, list(usable))
        x_ref, y_ref = space.matrices[ref.name][in_ref], y_ref[in_ref]
        x_oth, y_oth = space.matrices[other.name][in_oth], y_oth[in_oth]
        ids = other.ids[rows[other.name]][in_oth].astype(str)
        is_leaked = np.isin(ids, list(leaked)) if leaked else np.zeros(len(ids), dtype=bool)
        clean = ~is_leaked
        if len(y_ref) < s["min_items"] or clean.sum() < s["min_items"]:
            return None
        agree_ref = knn_label_agreement(x_ref, y_ref, k=s["k"])
        agree_oth = knn_label_agreement(x_ref, y_ref, x_oth, y_oth, k=s["k"])
        proxy = proxy_losses(x_ref, y_ref, {other.name: (x_oth, y_oth)}, n_folds=s["n_folds"], C=s["C"],
                             random_state=s["random_state"])
        loss_ref, loss_oth = proxy.train, proxy.others[other.name]
        gap, low, high = bootstrap_mean_difference(loss_ref, loss_oth[clean], n_boot=s["n_boot"], level=s["level"],
                                                   random_state=s["random_state"])
        mix = class_mix_impact(loss_ref, y_ref, loss_oth[clean], y_oth[clean])
        n_leaked = int(is_leaked.sum())
        leaked_loss = float(loss_oth[is_leaked].mean()) if n_leaked else float("nan")
        metrics = {
            "gap_nats": gap, "ci_low": low, "ci_high": high, "level": float(s["level"]),
            "train_loss": float(loss_ref.mean()), "val_loss": float(loss_oth[clean].mean()),
            "knn_agreement_train": float(agree_ref.mean()), "knn_agreement_val": float(agree_oth[clean].mean()),
            "n_train": float(len(y_ref)), "n_val": float(clean.sum()), "n_val_leaked": float(n_leaked),
            "val_loss_leaked": leaked_loss,
            "gap_nats_leaked": float(loss_ref.mean()) - leaked_loss if n_leaked else float("nan"),
            "knn_agreement_val_leaked": float(agree_oth[is_leaked].mean()) if n_leaked else float("nan"),
            "val_loss_reweighted": mix.val_loss_reweighted, "class_mix_nats": mix.class_mix_nats,
            "class_mix_share": mix.class_mix_share, "k": float(s["k"]),
        }
        per_class = per_class_table(
            {ref.name: y_ref, other.name: y_oth[clean]},
            {"loss": {ref.name: loss_ref, other.name: loss_oth[clean]},
             "knn_agreement": {ref.name: agree_ref, other.name: agree_oth[clean]}},
        )
        if n_leaked:
            leaked_table = per_class_table({f"{other.name}_leaked": y_oth[is_leaked]},
                                           {"loss": {f"{other.name}_leaked": loss_oth[is_leaked]}})
            per_class = per_class.merge(leaked_table.drop(columns=[f"{other.name}_leaked_share"]), on="class",
                                        how="left")
            per_class[f"{other.name}_leaked_count"] = per_class[f"{other.name}_leaked_count"].fillna(0).astype(int)
        n_excluded = int(labelled.sum() - in_oth.sum())
        subsampled = [sp.name for sp in (ref, other) if len(rows[sp.name]) < len(sp)]
        return _Measured(metrics, per_class, n_excluded, subsampled)

    def _finding(self, context: ScanContext, ref: str, other: str, measured: _Measured,
                 description: str) -> Finding | None:
        m = measured.metrics
        if m["ci_low"] > 0 and m["gap_nats"] >= self.settings["min_gap_nats"]:
            code, word = "DF101", "easier"
        elif m["ci_high"] < 0 and -m["gap_nats"] >= self.settings["min_gap_nats"]:
            code, word = "DF102", "harder"
        else:
            return None
        level = f"{m['level']:.0%}"
        parts = [(
            f"{other} is {word} than {ref} for a proxy model (logistic regression on {description}): its loss is "
            f"{'lower' if code == 'DF101' else 'higher'} by {abs(m['gap_nats']):.3f} nats ({level} CI "
            f"{m['ci_low']:+.3f} to {m['ci_high']:+.3f}; {ref} out-of-fold {m['train_loss']:.3f} vs {other} "
            f"{m['val_loss']:.3f} nats); k-NN label agreement {m['knn_agreement_train']:.2f} in {ref} vs "
            f"{m['knn_agreement_val']:.2f} in {other}"
        )]
        if np.isfinite(m["class_mix_share"]):
            parts.append(f"the class mix accounts for {_signed(m['class_mix_nats'])} nats "
                         f"({_signed(100 * m['class_mix_share'], 0)}%) of the gap ({other} loss re-weighted to {ref} "
                         f"class shares: {m['val_loss_reweighted']:.3f})")
        if m["n_val_leaked"]:
            parts.append(f"{int(m['n_val_leaked'])} leaked {other} items were left out (their loss "
                         f"{m['val_loss_leaked']:.3f} nats, k-NN agreement {m['knn_agreement_val_leaked']:.2f})")
        if measured.n_excluded:
            parts.append(f"{measured.n_excluded} {other} items of classes with fewer than "
                         f"{self.settings['n_folds']} {ref} items were left out")
        if measured.subsampled:
            parts.append(f"measured on {self.settings['max_items']} random items of {', '.join(measured.subsampled)}")
        if code == "DF101":
            remediation = (f"Before trusting {other} metrics, compare label quality and selection of {other} and {ref} "
                           "(the per-class table shows where the gap comes from); re-split at random, stratified by "
                           f"class, if {other} should be like {ref}; report {other} loss re-weighted to {ref} class "
                           "shares.")
        else:
            remediation = (f"{other} is harder than {ref}: check its label quality and whether it holds items unlike "
                           f"training (see DS201/DS202); expect {other} loss above training loss.")
        return self.finding(
            context, code,
            title=f"{other} is {word} than {ref} for a simple model",
            message="; ".join(parts),
            splits=(other, ref),
            metrics=dict(m),
            evidence=measured.per_class,
            remediation=remediation,
        )

    # -- the user's per-sample losses ---------------------------------------------------------------------

    def loss_findings(self, context: ScanContext, path: str | Path) -> list[Finding]:
        """Findings from a per-sample losses file: DF104 per split in the file, DF103 when leaked items are easier."""
        losses = assign_splits(read_losses(path), {s.name: list(s.ids) for s in context.splits}, source=str(path))
        ref = context.reference
        by_split = {name: frame for name, frame in losses.groupby("split", sort=False)}
        ref_frame = by_split.get(ref.name)
        findings: list[Finding] = []
        for split in context.splits:
            if split is ref or split.name not in by_split:
                continue
            findings.extend(self._loss_split(context, ref, split, by_split[split.name], ref_frame,
                                             int(losses.attrs.get("unmatched", 0)), str(path)))
        return findings

    def _loss_split(self, context: ScanContext, ref: Split, split: Split, frame: pd.DataFrame,
                    ref_frame: pd.DataFrame | None, unmatched: int, source: str) -> list[Finding]:
        s = self.settings
        labels = _label_lookup(split)
        values = frame["loss"].to_numpy(dtype=float)
        y = frame["id"].map(labels).fillna("").to_numpy(dtype=object).astype(str)
        leaked = np.isin(frame["id"].to_numpy(dtype=object).astype(str), list(context.leaked_ids(split.name)))
        clean = ~leaked
        metrics: dict[str, float] = {
            "val_loss": float(values.mean()), "n_val": float(len(values)),
            "val_loss_clean": float(values[clean].mean()) if clean.any() else float("nan"),
            "n_val_clean": float(clean.sum()),
            "val_loss_leaked": float(values[leaked].mean()) if leaked.any() else float("nan"),
            "n_val_leaked": float(leaked.sum()),
            "n_unmatched": float(unmatched),
        }
        findings = []
        parts = [f"{split.name} mean loss {metrics['val_loss']:.4g} over {len(values)} items"]
        if leaked.any() and clean.sum() >= 2 and leaked.sum() >= 2:
            diff, low, high = bootstrap_mean_difference(values[clean], values[leaked], n_boot=s["n_boot"],
                                                        level=s["level"], random_state=s["random_state"])
            relative = diff / metrics["val_loss_clean"] if metrics["val_loss_clean"] > 0 else float("nan")
            metrics.update({"leaked_loss_drop": diff, "leaked_ci_low": low, "leaked_ci_high": high,
                            "leaked_relative_drop": relative})
            parts.append(f"clean items {metrics['val_loss_clean']:.4g} vs leaked items {metrics['val_loss_leaked']:.4g} "
                         f"({int(leaked.sum())} items)")
            if low > 0 and np.isfinite(relative) and relative >= s["min_relative_loss_drop"]:
                findings.append(self.finding(
                    context, "DF103",
                    title=f"leaked {split.name} items have a lower loss",
                    message=(f"the {int(leaked.sum())} leaked {split.name} items have mean loss "
                             f"{metrics['val_loss_leaked']:.4g} vs {metrics['val_loss_clean']:.4g} on the "
                             f"{int(clean.sum())} clean items ({relative:.0%} lower; {s['level']:.0%} CI of the "
                             f"difference {low:.4g} to {high:.4g}): leakage lowers the reported {split.name} loss"),
                    splits=(split.name, ref.name),
                    metrics=dict(metrics),
                    evidence=pd.DataFrame({"id": frame["id"].to_numpy()[leaked], "split": split.name,
                                           "label": y[leaked], "loss": values[leaked]}),
                    remediation=(f"Remove the leaked items from {split.name} (see the LK findings) and report the "
                                 f"{split.name} loss on clean items: {metrics['val_loss_clean']:.4g}."),
                ))
        has_labels = (y != "").any() and ref.has_labels
        table_labels: dict[str, np.ndarray] = {}
        table_values: dict[str, dict[str, np.ndarray]] = {"loss": {}}
        if has_labels:
            priors = class_shares(ref.items["label"].dropna().map(_label_text).to_numpy())
            labelled = clean & (y != "")
            metrics["val_loss_reweighted"] = reweighted_loss(values[labelled], y[labelled], priors)
            parts.append(f"re-weighted to {ref.name} class shares {metrics['val_loss_reweighted']:.4g}")
            table_labels[split.name] = y[labelled]
            table_values["loss"][split.name] = values[labelled]
            if ref_frame is not None and len(ref_frame):
                y_ref = ref_frame["id"].map(_label_lookup(ref)).fillna("").to_numpy(dtype=object).astype(str)
                ref_values = ref_frame["loss"].to_numpy(dtype=float)
                ok = y_ref != ""
                if ok.any() and labelled.any():
                    mix = class_mix_impact(ref_values[ok], y_ref[ok], values[labelled], y[labelled])
                    metrics.update({"train_loss": mix.train_loss, "gap": mix.gap_nats,
                                    "class_mix": mix.class_mix_nats, "class_mix_share": mix.class_mix_share})
                    share = f" ({mix.class_mix_share:.0%})" if np.isfinite(mix.class_mix_share) else ""
                    parts.append(f"{ref.name} {mix.train_loss:.4g}: the class mix accounts for {mix.class_mix_nats:+.4g}"
                                 f"{share} of the {mix.gap_nats:+.4g} train-minus-{split.name} gap")
                    table_labels[ref.name] = y_ref[ok]
                    table_values["loss"][ref.name] = ref_values[ok]
        if unmatched:
            parts.append(f"{unmatched} rows of the losses file match no scanned item and were ignored")
        evidence = per_class_table(table_labels, table_values) if table_labels else None
        findings.append(self.finding(
            context, "DF104",
            title=f"per-sample losses of {split.name}",
            message="; ".join(parts) + f" (from {source})",
            splits=(split.name, ref.name),
            metrics=metrics,
            evidence=evidence,
            remediation=(f"Quote the {split.name} loss on clean items and re-weighted to {ref.name} class shares next "
                         "to the raw one; if they differ, the raw number reflects leakage or the class mix, not the "
                         "model."),
        ))
        return findings


def loss_findings(context: ScanContext, path: str | Path, **settings: Any) -> list[Finding]:
    """Findings (DF103, DF104) from the user's per-sample losses file ``path`` (``--losses FILE``).

    Call it after the scanners have run (it reads ``context.leaked_ids``); ``settings`` are the
    ``difficulty_gap`` scanner settings. Raises :class:`splitcheck.InputError` for an unusable file.
    """
    return DifficultyGapScanner(**settings).loss_findings(context, path)


def _labels(split: Split, rows: np.ndarray) -> np.ndarray:
    """Labels of the chosen rows as strings ('' where missing)."""
    labels = split.items["label"].iloc[rows]
    return labels.map(_label_text).to_numpy(dtype=object).astype(str)


def _label_text(value: Any) -> str:
    """A label as text: '' when missing, ``1.0`` read as ``1`` (a label column with gaps is read as floats)."""
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _signed(value: float, digits: int = 3) -> str:
    """``+0.123`` / ``-0.123``, without a negative zero."""
    rounded = round(value, digits)
    return f"{rounded + 0.0:+.{digits}f}"


def _label_lookup(split: Split) -> dict[str, str]:
    items = split.items.dropna(subset=["label"])
    return dict(zip(items["id"].astype(str), items["label"].map(_label_text)))
