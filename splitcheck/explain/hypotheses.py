"""The hypotheses ``explain`` weighs, each a function of the evidence returning a scored :class:`Hypothesis`.

Identifiers (stable; pipelines may act on them):

==================== ==============================================================================
``training_divergence`` the training loss is NaN/inf, explodes or rises: learning rate or a pipeline bug
``leakage``          validation items are copies of (or share groups/time with) training items
``class_mix``        validation holds a different class mix (often more of the easy classes)
``easier_validation`` validation items are easier than training items (cleaner labels, prototypical
                     items, a different distribution) beyond the class mix
``regularization``   dropout, augmentation, label smoothing or a logged penalty raise the training
                     loss only (evaluation runs the full network on clean inputs)
``epoch_timing``     the training loss is averaged over the epoch, the validation loss measured at its
                     end: half an epoch of progress apart
``noisy_validation`` the validation set is too small for its loss to be precise
``unstable_training`` the validation curve scatters more than its size explains (learning rate too
                     high late, small batches)
``overfitting``      validation loss rises after its minimum while training loss keeps falling
``healthy``          nothing above stands out: the curves look as they should
==================== ==============================================================================

Scores are in [0, 1]; each is a small, documented formula of the facts it lists (curve analyses, scan
findings, run metadata), so a reader can check it. ``healthy`` is ``1 -`` the strongest other score
(reduced by any gap that persists after the timing correction), so a run is called healthy only when no
cause stands out, and a healthy run is not forced into a cause.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from splitcheck.curves.analyse import CurveAnalysis
from splitcheck.curves.model import Run
from splitcheck.explain.scan import ScanEvidence

IDENTIFIERS = ("training_divergence", "leakage", "class_mix", "easier_validation", "regularization", "epoch_timing",
               "noisy_validation", "unstable_training", "overfitting", "healthy")

TITLES = {
    "training_divergence": "training diverges (learning rate or pipeline bug)",
    "leakage": "validation leaks training items",
    "class_mix": "validation has a different class mix",
    "easier_validation": "validation items are easier than training items",
    "regularization": "regularisation active only in training",
    "epoch_timing": "epoch timing: training loss averaged over the epoch, validation measured at its end",
    "noisy_validation": "validation set too small: its loss is noisy",
    "unstable_training": "unstable optimisation: validation scatters more than its size explains",
    "overfitting": "overfitting",
    "healthy": "healthy run",
}


@dataclass
class Hypothesis:
    """One candidate explanation: identifier, score in [0, 1], the facts behind it (with numbers), the
    action that would confirm or refute it, and the metrics the score was computed from."""

    id: str
    score: float
    facts: list[str] = field(default_factory=list)
    action: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return TITLES.get(self.id, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "score": round(float(self.score), 4), "facts": list(self.facts),
                "action": self.action, "sources": list(self.sources),
                "metrics": {k: (round(float(v), 6) if math.isfinite(float(v)) else None) for k, v in self.metrics.items()}}


@dataclass
class Evidence:
    """Everything the hypotheses read for one run."""

    run: Run
    analysis: CurveAnalysis
    metadata: dict[str, Any]
    scan: ScanEvidence | None

    @property
    def unit(self) -> str:
        return self.run.curves.unit

    # ----- derived quantities, each in [0, 1] -----------------------------------------------------------
    @property
    def below_salience(self) -> float:
        """How much the run is about 'validation below training': 0 when it happens at under a fifth of
        the evaluations (the usual first epochs), 1 from half of them."""
        return _clip((self.analysis.gap.share_below - 0.2) / 0.3)

    @property
    def persistent_gap(self) -> float:
        """Share of the second half where validation stays below training after the timing correction,
        weighted by the corrected gap at the end (full weight from a 10% gap)."""
        g = self.analysis.gap
        end = g.relative_gap_corrected_end if _finite(g.relative_gap_corrected_end) else g.relative_gap_end
        if not _finite(end):
            return 0.0
        return g.share_below_corrected_late * _clip(end / 0.10)

    @property
    def eval_gap(self) -> float:
        """Relative gap between the evaluation-mode training loss and validation late in the run (NaN if not
        logged): > 0 means the model finds validation easier than training items even in evaluation mode."""
        return self.analysis.gap.eval_gap_late

    @property
    def val_size(self) -> float:
        size = self.metadata.get("val_size")
        if size:
            return float(size)
        if self.scan is not None and _finite(self.scan.n_val):
            return self.scan.n_val
        return float("nan")

    def regularisers(self) -> tuple[float, list[str]]:
        """Strength in [0, 1] of the training-only regularisers in the metadata, and their descriptions."""
        m = self.metadata
        parts: list[tuple[float, str]] = []
        if m.get("dropout", 0) >= 0.05:
            parts.append((m["dropout"] / 0.3, f"dropout {m['dropout']:g}"))
        if m.get("augmentation"):
            text = m["augmentation"] if isinstance(m["augmentation"], str) else "on"
            parts.append((1.0, f"augmentation ({text})"))
        if m.get("label_smoothing", 0) > 0:
            parts.append((m["label_smoothing"] / 0.1, f"label smoothing {m['label_smoothing']:g}"))
        if m.get("weight_decay", 0) > 0 and m.get("weight_decay_in_loss"):
            parts.append((0.7, f"weight decay {m['weight_decay']:g} in the logged loss"))
        if not parts:
            return 0.0, []
        return _clip(max(p for p, _ in parts)), [d for _, d in parts]

    @property
    def has_metadata(self) -> bool:
        return any(k in self.metadata for k in ("dropout", "augmentation", "label_smoothing", "weight_decay"))


def _clip(value: float, lo: float = 0.0, hi: float = 1.0) -> float:
    if not _finite(value):
        return lo
    return float(min(max(value, lo), hi))


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _pct(value: float) -> str:
    return f"{value:.0%}"


# --------------------------------------------------------------------------------------------- hypotheses

def training_divergence(ev: Evidence) -> Hypothesis:
    """NaN/inf (0.95), an explosion or a rising training loss (0.9, 0.95 when it more than doubles), a loss
    stuck at the chance level ln(K) (0.85), a flat one (0.7)."""
    h = ev.analysis.health
    facts, score = [], 0.0
    if h.nonfinite:
        score = 0.95
        facts.append(f"{len(h.nonfinite)} logged losses are NaN or infinite, the first at {ev.unit} {h.first_nonfinite:g}")
    if h.exploded:
        score = max(score, 0.9)
        facts.append(f"the training loss jumps {h.spike_ratio:.3g}x at {ev.unit} {h.spike_at:g}")
    if h.increasing:
        score = max(score, 0.95 if h.rise > 1.0 else 0.9)
        facts.append(f"the smoothed training loss ends {_pct(h.rise)} above its minimum at {ev.unit} {h.minimum_at:g}")
    if h.at_chance:
        score = max(score, 0.85)
        facts.append(f"the training loss ends at {h.end_loss:.4g}, the chance level ln(K) = {h.chance_loss:.4g} of an "
                     "untrained classifier: nothing is learnt")
    if h.flat and not score:
        score = 0.7
        facts.append(f"the training loss falls only {_pct(h.progress)} after the first evaluation")
    if score and _finite(h.lr_growth) and h.lr_growth > 1.5:
        facts.append(f"the logged learning rate grew {h.lr_growth:.3g}x during the run")
    if not facts:
        facts.append("the training loss is finite and does not rise")
    return Hypothesis("training_divergence", score, facts,
                      "Lower the learning rate (or fix the schedule) and rerun; add gradient clipping. If the loss "
                      "still rises at a small learning rate, look for a pipeline bug (labels shuffled against inputs, "
                      "a loss of the wrong sign, NaN in the inputs).",
                      h.metrics(), ["curves"])


def leakage(ev: Evidence) -> Hypothesis:
    """From the scan: 0.5 + 0.45 x min(share of validation tied to training / 20%, 1) once 1% is leaked
    (below that, proportionally less). Without a scan, 0.35 x the persistent unexplained gap; with a
    clean scan, 0.02."""
    s = ev.scan
    metrics: dict[str, float] = {}
    if s is not None:
        metrics = {"leaked_share": s.leaked_share, "leaked_items": float(s.leaked_items), "n_val": s.n_val}
        if s.has_leakage:
            share = s.leaked_share
            score = 0.5 + 0.45 * _clip(share / 0.20) if share >= 0.01 else 0.5 * share / 0.01
            facts = [f"the scan ties {s.leaked_items} of {s.n_val:.0f} validation items ({_pct(share)}) to training "
                     f"({', '.join(sorted(set(s.leak_codes)))})"]
            g = ev.analysis.gap
            if g.n_below:
                facts.append(f"validation is below training at {g.n_below} of {g.n_points} evaluations")
            action = (f"Remove the {s.leaked_items} leaked validation items (`splitcheck scan` lists them) and "
                      "re-evaluate: the validation loss on the clean items is the honest one.")
            return Hypothesis("leakage", score, facts, action, metrics, ["scan"])
        return Hypothesis("leakage", 0.02, [f"the scan ({s.source or 'report'}) finds no training item in validation"],
                          "Nothing to do: the scan found no copies, shared groups or temporal overlap.", metrics, ["scan"])
    score = 0.35 * ev.persistent_gap
    facts = ["no scan report given: leakage is not measured"]
    if score > 0.05:
        facts.append(f"validation stays below training after the timing correction in "
                     f"{_pct(ev.analysis.gap.share_below_corrected_late)} of the second half")
    return Hypothesis("leakage", score, facts,
                      "Run `splitcheck scan TRAIN VAL --format json -o scan.json` and pass --scan scan.json.",
                      metrics, ["curves"])


def class_mix(ev: Evidence) -> Hypothesis:
    """From the scan: 0.45 + 0.45 x min((Jensen-Shannon distance - 0.05) / 0.15, 1) for a DS101 class
    shift (0.5 for classes missing from validation), + 0.05 when validation stays below training.
    Without a scan 0.25 x the persistent gap; with a scan showing no shift 0.02."""
    s = ev.scan
    if s is not None:
        metrics = {"js_distance": s.class_shift_js, "p_value": s.class_shift_p, "missing_classes": float(s.missing_classes)}
        if s.has_class_shift:
            score, facts = 0.0, []
            if _finite(s.class_shift_js):
                score = 0.45 + 0.45 * _clip((s.class_shift_js - 0.05) / 0.15)
                facts.append(f"class shares differ between {s.train_split} and {s.val_split} (Jensen-Shannon distance "
                             f"{s.class_shift_js:.3f}, chi-square p={s.class_shift_p:.2g})"
                             + (f"; most different: {s.class_drivers}" if s.class_drivers else ""))
            if s.missing_classes:
                score = max(score, 0.5)
                facts.append(f"{s.missing_classes} classes are missing from {s.val_split}")
            if ev.persistent_gap > 0.3 or (_finite(ev.eval_gap) and ev.eval_gap > 0.02):
                score += 0.05
                facts.append("validation stays below training, as a mix richer in easy classes would make it")
            return Hypothesis("class_mix", min(score, 0.95), facts,
                              "Compare the validation loss re-weighted to the training class shares (per-class losses), "
                              "or re-split with stratification and re-evaluate.", metrics, ["scan"])
        return Hypothesis("class_mix", 0.02, ["the scan finds the same class mix in both splits"],
                          "Nothing to do: class shares match.", metrics, ["scan"])
    return Hypothesis("class_mix", 0.25 * ev.persistent_gap, ["no scan report given: the class mix is not compared"],
                      "Run `splitcheck scan` with labels and pass --scan.", {}, ["curves"])


def easier_validation(ev: Evidence) -> Hypothesis:
    """The evaluation-mode training loss staying above validation is decisive (0.85 x how persistent).
    A DF101 difficulty finding gives 0.5 + 0.4 x min(gap_nats / 0.2, 1); feature drift adds support. By
    elimination (a persistent gap, a clean scan, no regulariser in the metadata) 0.7 x the persistent gap;
    with regularisers or without a scan, less."""
    g = ev.analysis.gap
    s = ev.scan
    facts: list[str] = []
    sources: list[str] = ["curves"]
    persistent = ev.persistent_gap
    metrics = {"persistent_gap": persistent, "eval_gap_late": ev.eval_gap, "mean_relative_gap_corrected":
               g.mean_relative_gap_corrected}
    score = 0.0
    if _finite(ev.eval_gap):
        sources.append("train_eval_loss")
        if ev.eval_gap > 0.02:
            score = 0.85 * _clip(max(persistent, g.share_below_late) / 0.5) * _clip(ev.eval_gap / 0.1)
            facts.append(f"even in evaluation mode, the training loss stays {_pct(ev.eval_gap)} above validation late "
                         "in the run: the model finds validation items easier")
        else:
            facts.append(f"in evaluation mode the training loss is at or below validation ({ev.eval_gap:+.0%}): the "
                         "validation items are not easier")
    data_cause = s is not None and (s.has_leakage or s.has_class_shift)
    if s is not None:
        sources.append("scan")
        if _finite(s.easier_gap_nats) and s.easier_gap_nats > 0:
            score = max(score, 0.5 + 0.4 * _clip(s.easier_gap_nats / 0.2))
            facts.append(f"a proxy model's loss is {s.easier_gap_nats:.3g} nats lower on validation than on training "
                         f"(DF101, CI low {s.easier_ci_low:.3g})")
        if _finite(s.drift_auc) and s.drift_auc > 0.6:
            score = max(score, 0.3 + 0.3 * _clip((s.drift_auc - 0.6) / 0.3)) if persistent > 0.3 else score
            facts.append(f"the splits are distinguishable (adversarial AUC {s.drift_auc:.2f})")
        elif s.drifted_features:
            facts.append(f"{s.drifted_features} features drift between the splits")
    if not _finite(ev.eval_gap) and persistent > 0:
        strength, _ = ev.regularisers()
        if s is not None and not data_cause and ev.has_metadata:
            weight = 0.7 * (1 - 0.7 * strength)
        elif s is not None and not data_cause:
            weight = 0.5
        elif s is None and ev.has_metadata:
            weight = 0.45 * (1 - 0.7 * strength)
        else:
            weight = 0.3
        score = max(score, weight * persistent)
        facts.append(f"validation stays below training after the timing correction in "
                     f"{_pct(g.share_below_corrected_late)} of the second half (corrected gap at the end "
                     f"{_pct(g.relative_gap_corrected_end) if _finite(g.relative_gap_corrected_end) else 'n/a'})")
        if s is not None and not data_cause:
            facts.append("the scan finds no leakage and no class shift to explain it")
        if ev.has_metadata and strength == 0:
            facts.append("the run settings list no training-only regulariser")
    if data_cause:
        score *= 0.6
    if not facts:
        facts.append("validation does not stay below training")
    return Hypothesis("easier_validation", _clip(score), facts,
                      "Log the training loss in evaluation mode on a fixed training subset (splitcheck.torch_helpers); "
                      "if it stays above the validation loss, compare per-item losses of a proxy model on both splits "
                      "(`splitcheck scan` difficulty findings) and re-split at random.", metrics, sources)


def regularization(ev: Evidence) -> Hypothesis:
    """A persistent gap with the evaluation-mode training loss at or below validation: 0.9 x persistence.
    Otherwise persistence x (0.5 + 0.4 x regulariser strength) when the metadata lists dropout,
    augmentation, label smoothing or a logged penalty; 0.4 x persistence when no metadata was given (the
    most common cause, but unconfirmed);
    0.1 x persistence when the metadata lists none. An evaluation-mode training loss above validation
    refutes it (x 0.15)."""
    strength, parts = ev.regularisers()
    persistent = ev.persistent_gap
    g = ev.analysis.gap
    facts: list[str] = []
    sources = ["curves"]
    metrics = {"regulariser_strength": strength, "persistent_gap": persistent, "eval_gap_late": ev.eval_gap}
    if parts:
        facts.append("training-only regularisers in the run settings: " + ", ".join(parts))
        sources.append("run-config")
    if persistent > 0:
        facts.append(f"validation stays below training after the timing correction in "
                     f"{_pct(g.share_below_corrected_late)} of the second half (gap at the end "
                     f"{_pct(g.relative_gap_corrected_end) if _finite(g.relative_gap_corrected_end) else 'n/a'})")
    if strength > 0:
        score = persistent * (0.5 + 0.4 * strength)
    elif ev.has_metadata:
        score = 0.1 * persistent
        facts.append("the run settings list no dropout, augmentation, label smoothing or logged penalty")
    else:
        score = 0.4 * persistent
        facts.append("no run settings given: dropout, augmentation and label smoothing are unknown")
    if _finite(ev.eval_gap):
        sources.append("train_eval_loss")
        if ev.eval_gap <= 0.02 and persistent > 0:
            score = max(score, 0.9 * _clip(persistent / 0.5))
            facts.append(f"in evaluation mode the training loss is at or below validation ({ev.eval_gap:+.0%}) while the "
                         "logged training loss is above it: the gap comes from training mode")
        elif ev.eval_gap > 0.02:
            score *= 0.15
            facts.append(f"in evaluation mode the training loss is still {_pct(ev.eval_gap)} above validation: "
                         "regularisation does not explain the gap")
    if not facts:
        facts.append("validation does not stay below training")
    return Hypothesis("regularization", _clip(score), facts,
                      "Log the training loss in evaluation mode at epoch end (splitcheck.torch_helpers.EvalModeTrainLoss) "
                      "or rerun briefly with the regularisers off: the gap should close.", metrics, sources)


def epoch_timing(ev: Evidence) -> Hypothesis:
    """salience of 'validation below training' x share of the gap the timing correction removes x
    (1 - half the gap that persists late, see ``Evidence.persistent_gap``)."""
    g = ev.analysis.gap
    facts: list[str] = []
    metrics = {"share_below": g.share_below, "explained_by_timing": g.explained_by_timing,
               "share_below_corrected_late": g.share_below_corrected_late}
    if g.correction in {"as-logged", "none"}:
        reason = ("the training loss is measured at the evaluation moments: no timing lag"
                  if g.correction == "as-logged" else "no training curve to correct")
        return Hypothesis("epoch_timing", 0.0, [reason], "", metrics, ["curves"])
    if g.n_below == 0:
        return Hypothesis("epoch_timing", 0.0, ["validation is never below training"], "", metrics, ["curves"])
    explained = g.explained_by_timing if _finite(g.explained_by_timing) else 0.0
    score = ev.below_salience * explained * (1 - 0.5 * ev.persistent_gap)
    method = ("the step-level training losses" if g.correction == "steps"
              else "the epoch curve shifted by half an epoch")
    facts.append(f"validation is below training at {g.n_below} of {g.n_points} evaluations "
                 f"({ev.unit}s {g.first_below:g}-{g.last_below:g}), by up to {_pct(g.max_relative_gap)}")
    facts.append(f"estimating the training loss at the evaluation moments from {method} removes "
                 f"{_pct(explained)} of that gap ({g.n_below_corrected} evaluations remain below)")
    if _finite(ev.eval_gap) and abs(ev.eval_gap) <= 0.05:
        facts.append(f"the evaluation-mode training loss matches validation ({ev.eval_gap:+.0%})")
    if ev.below_salience == 0:
        facts.append("it happens only in the first evaluations, while the loss falls fastest: expected")
    return Hypothesis("epoch_timing", _clip(score), facts,
                      "Compare validation with the training loss at the end of each epoch (step-level logs, or "
                      "splitcheck.torch_helpers.EvalModeTrainLoss): the gap should vanish.", metrics, ["curves"])


def noisy_validation(ev: Evidence) -> Hypothesis:
    """0.9 x min((standard error / level - 0.3) / 0.4, 1) when the validation size is known; 0.3 x
    min(scatter / 0.08, 1) when it is not and the curve scatters."""
    f = ev.analysis.fluctuation
    metrics = f.metrics()
    size = ev.val_size
    if _finite(f.expected):
        score = 0.9 * _clip((f.expected - 0.3) / 0.4)
        facts = [f"{size:.0f} validation items: the mean loss has a standard error of about {f.standard_error:.3g}, "
                 f"{_pct(f.expected)} of its level {f.level:.3g}"]
        if _finite(f.scatter):
            facts.append(f"the validation curve scatters {f.scatter:.1%} around its trend")
        g = ev.analysis.gap
        if g.n_below and f.standard_error > 0 and score > 0:
            facts.append("differences between training and validation smaller than about "
                         f"{2 * f.standard_error:.3g} are within that noise")
        return Hypothesis("noisy_validation", score, facts,
                          "Evaluate on more items (or k-fold cross-validation) and compare the curves again; choose the "
                          "stopping epoch on a smoothed curve.", metrics, ["curves", "run-config" if
                                                                             ev.metadata.get("val_size") else "scan"])
    score = 0.3 * _clip(f.scatter / 0.08) if _finite(f.scatter) and f.scatter > 0.04 else 0.0
    facts = ["validation size unknown (give val_size in --run-config, or --scan)"]
    if _finite(f.scatter):
        facts.append(f"the validation curve scatters {f.scatter:.1%} around its trend")
    return Hypothesis("noisy_validation", score, facts, "Give the validation size to compare the scatter with its "
                      "expected noise.", metrics, ["curves"])


def unstable_training(ev: Evidence) -> Hypothesis:
    """0.6 + 0.3 x min((scatter / expected - 1.5) / 3, 1) when the scatter exceeds what the validation size
    explains; 0.4 when the size is unknown; a third of that when the run diverges (that verdict covers it)."""
    f = ev.analysis.fluctuation
    metrics = f.metrics()
    if f.verdict != "excessive":
        facts = [f"the validation curve scatters {f.scatter:.1%} around its trend" if _finite(f.scatter)
                 else "too few evaluations to measure the scatter"]
        return Hypothesis("unstable_training", 0.0, facts, "", metrics, ["curves"])
    if _finite(f.ratio):
        score = 0.6 + 0.3 * _clip((f.ratio - 1.5) / 3)
        facts = [f"the validation curve scatters {f.scatter:.1%} around its trend, {f.ratio:.1f}x the "
                 f"{f.expected:.1%} its {f.val_size:.0f} items explain"]
    else:
        score = 0.4
        facts = [f"the validation curve scatters {f.scatter:.1%} around its trend (validation size unknown)"]
    if _finite(f.train_scatter):
        facts.append(f"the training curve scatters {f.train_scatter:.1%}")
    lr = ev.metadata.get("learning_rate")
    if lr:
        facts.append(f"learning rate {lr:g}" + (f", schedule {ev.metadata['lr_schedule']}" if ev.metadata.get("lr_schedule")
                                                 else ""))
    if ev.analysis.health.diverged:
        score /= 3
    return Hypothesis("unstable_training", score, facts,
                      "Decay the learning rate late in training (or reduce on plateau), use larger batches or weight "
                      "averaging, and check that the scatter shrinks.", metrics, ["curves"])


def overfitting(ev: Evidence) -> Hypothesis:
    """0.6 + 0.3 x min(rise / 30%, 1) when the smoothed validation loss rises after its minimum while the
    training loss falls; + 0.05 when the final validation loss is more than 5x the training loss."""
    o = ev.analysis.overfitting
    metrics = o.metrics()
    if not o.detected:
        facts = ["the smoothed validation loss does not rise after its minimum"]
        if o.rise > 0:
            facts = [f"the smoothed validation loss ends {_pct(o.rise)} above its minimum: within the tolerance"]
        return Hypothesis("overfitting", 0.0, facts, "", metrics, ["curves"])
    score = 0.6 + 0.3 * _clip(o.rise / 0.30)
    facts = [f"the smoothed validation loss rises {_pct(o.rise)} from its minimum {o.val_min:.4g} at {ev.unit} "
             f"{o.onset:g} to {o.val_end:.4g} at the end"]
    if _finite(o.train_change_after_onset):
        facts.append(f"meanwhile the training loss changes by {o.train_change_after_onset:+.0%}")
    if _finite(o.final_ratio) and o.final_ratio > 5:
        score += 0.05
        facts.append(f"the final validation loss is {o.final_ratio:.3g}x the training loss")
    facts.append(f"recommended stop: {ev.unit} {o.recommended_stop:g} (first evaluation within reach of the smoothed "
                 "minimum)")
    return Hypothesis("overfitting", _clip(score), facts,
                      f"Stop at {ev.unit} {o.recommended_stop:g} (early stopping on the smoothed validation loss) and "
                      "add regularisation (dropout, weight decay, augmentation) or training data; the rise should "
                      "shrink.", metrics, ["curves"])


HYPOTHESES: dict[str, Callable[[Evidence], Hypothesis]] = {
    "training_divergence": training_divergence,
    "leakage": leakage,
    "class_mix": class_mix,
    "easier_validation": easier_validation,
    "regularization": regularization,
    "epoch_timing": epoch_timing,
    "noisy_validation": noisy_validation,
    "unstable_training": unstable_training,
    "overfitting": overfitting,
}


def healthy(ev: Evidence, others: list[Hypothesis]) -> Hypothesis:
    """1 - the strongest other score, times (1 - 0.8 x the gap that persists after the timing correction)."""
    strongest = max((h.score for h in others), default=0.0)
    score = (1 - strongest) * (1 - 0.8 * ev.persistent_gap)
    facts = []
    g = ev.analysis.gap
    if g.n_below and ev.below_salience == 0:
        facts.append(f"validation is below training only at {ev.unit}s {g.first_below:g}-{g.last_below:g}, while the "
                     "loss falls fastest (epoch timing, expected)")
    p = ev.analysis.progress
    if p.still_improving:
        facts.append(f"still improving at the end ({_pct(p.tail_drop)} over the last part): training longer would help")
    if p.saturated:
        facts.append(f"saturated from {ev.unit} {p.plateau_start:g} of {p.end:g}: fewer {ev.unit}s would do")
    for h in sorted(others, key=lambda h: -h.score)[:1]:
        if h.score > 0.2:
            facts.append(f"strongest concern: {h.id} (score {h.score:.2f})")
    if not facts:
        facts.append("no hypothesis stands out")
    return Hypothesis("healthy", _clip(score), facts, "Nothing to fix; keep the settings.",
                      {"strongest_other": strongest, "persistent_gap": ev.persistent_gap}, ["curves"])


#: Explanations of a gap between the curves; a diverging run's gap means nothing, so they are damped.
GAP_CAUSES = ("regularization", "epoch_timing", "easier_validation", "class_mix", "overfitting")


def evaluate(ev: Evidence) -> list[Hypothesis]:
    """Every hypothesis for one run, ranked by score (ties keep the catalogue order)."""
    scored = [fn(ev) for fn in HYPOTHESES.values()]
    if ev.analysis.health.diverged or ev.analysis.health.at_chance:
        for h in scored:
            if h.id in GAP_CAUSES and h.score > 0:
                h.score *= 0.5
                h.facts.append("halved: the training diverges, so the gap between the curves says little")
    scored.append(healthy(ev, scored))
    order = {name: i for i, name in enumerate(IDENTIFIERS)}
    return sorted(scored, key=lambda h: (-round(h.score, 6), order.get(h.id, 99)))
