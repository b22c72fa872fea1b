"""Rule codes of the loss-curve analyses (``LC...``) and the settings every analysis reads.

Each setting is a :class:`~splitcheck.scanners.base.Param` with its default and a sentence saying what
it means; :func:`resolve` merges user overrides and validates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from splitcheck.errors import ConfigError
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Param, Rule, in_range

RULES: dict[str, Rule] = {
    "LC101": Rule("validation-below-training", Severity.INFO,
                  "The validation loss is below the training loss at some evaluations."),
    "LC102": Rule("gap-persists-after-timing-correction", Severity.WARNING,
                  "The validation loss stays below the training loss after correcting for epoch timing."),
    "LC201": Rule("overfitting-onset", Severity.WARNING,
                  "The smoothed validation loss rises after its minimum while the training loss keeps falling."),
    "LC301": Rule("validation-fluctuation-excessive", Severity.WARNING,
                  "The validation curve scatters around its trend more than its size explains."),
    "LC302": Rule("validation-set-small", Severity.WARNING,
                  "The validation set is too small for its mean loss to be a precise estimate."),
    "LC401": Rule("loss-not-finite", Severity.ERROR, "A logged loss is NaN or infinite."),
    "LC402": Rule("training-loss-increasing", Severity.ERROR,
                  "The training loss rises or explodes: divergence or a pipeline bug."),
    "LC403": Rule("training-loss-flat", Severity.WARNING, "The training loss does not decrease: nothing is learnt."),
    "LC501": Rule("still-improving", Severity.INFO, "The loss is still falling at the end: training longer would help."),
    "LC502": Rule("saturated-early", Severity.INFO,
                  "The validation loss reached its plateau long before the end: fewer epochs would do."),
}

PARAMS: dict[str, Param] = {
    "min_relative_gap": Param(0.02, "An evaluation counts as 'validation below training' when the training loss "
                              "exceeds the validation loss by more than this fraction of the training loss.",
                              in_range(0.0, 1.0)),
    "smoothing_points": Param(5, "Evaluations in each local log-linear fit that smooths a curve before looking "
                              "for its minimum or plateau.", in_range(3, None, integer=True)),
    "min_rise": Param(0.05, "Smallest rise of the smoothed validation loss above its minimum, as a fraction of "
                      "the minimum, that counts as overfitting.", in_range(0.0, None)),
    "rise_noise_factor": Param(3.0, "The overfitting rise must also exceed this many times the validation curve's "
                               "relative scatter, so that noise is not read as a rise.", in_range(0.0, None)),
    "min_points_after_minimum": Param(3, "Evaluations needed after the smoothed minimum before a rise counts as "
                                      "sustained.", in_range(1, None, integer=True)),
    "stop_tolerance": Param(0.02, "The recommended stopping epoch is the first whose smoothed validation loss is "
                            "within this fraction of the smoothed minimum.", in_range(0.0, 1.0)),
    "item_loss_scale": Param(2.0, "Without a measured per-item standard deviation (run-config val_loss_std), the "
                             "per-item validation loss is taken to have standard deviation sqrt(scale x mean): "
                             "cross-entropy concentrates on few misclassified items costing about 2 nats each.",
                             in_range(0.0, None)),
    "small_validation_se": Param(0.5, "The validation set is reported as small (LC302) when the standard error of "
                                 "its mean loss exceeds this fraction of the loss.", in_range(0.0, None)),
    "excess_noise_ratio": Param(1.5, "The validation scatter is excessive (LC301) when it exceeds this many times "
                                "the standard error the validation size predicts.", in_range(0.0, None)),
    "min_scatter": Param(0.03, "Relative scatter (standard deviation of log-loss around the trend) below which a "
                         "validation curve is never called fluctuating.", in_range(0.0, None)),
    "spike_factor": Param(20.0, "A training loss more than this many times its neighbour's is an explosion.",
                          in_range(1.0, None)),
    "max_train_rise": Param(0.25, "A smoothed training loss ending more than this fraction above its minimum is "
                            "'increasing' (divergence or a bug).", in_range(0.0, None)),
    "min_progress": Param(0.05, "A training loss falling by less than this fraction from its second evaluation "
                          "to its best is 'flat' (nothing learnt).", in_range(0.0, 1.0)),
    "chance_tolerance": Param(0.05, "With the number of classes K known (run-config n_classes), a training and "
                              "validation loss ending within this fraction below ln(K) or above it is 'at chance'.",
                              in_range(0.0, 1.0)),
    "tail_fraction": Param(0.2, "Share of the run (at least 3 evaluations) whose slope decides 'still improving'.",
                           in_range(0.0, 1.0)),
    "improving_drop": Param(0.03, "The validation (or training) loss is 'still improving' when its smoothed value "
                            "fell by more than this fraction over the tail of the run.", in_range(0.0, 1.0)),
    "plateau_tolerance": Param(0.03, "An evaluation is on the plateau when its smoothed validation loss is within "
                               "this fraction of the best smoothed value.", in_range(0.0, 1.0)),
    "saturation_fraction": Param(0.5, "'Saturated early' (LC502) when the plateau starts before this share of the "
                                 "run.", in_range(0.0, 1.0)),
}


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults of :data:`PARAMS` updated with ``overrides`` (``ConfigError`` on an unknown key or a bad value)."""
    settings = {key: p.default for key, p in PARAMS.items()}
    for key, value in (overrides or {}).items():
        name = key.replace("-", "_")
        if name not in PARAMS:
            raise ConfigError(f"unknown curve setting {key!r}; known: {', '.join(sorted(PARAMS))}")
        check = PARAMS[name].check
        problem = check(value) if check else None
        if problem:
            raise ConfigError(f"curve setting {key!r} {problem}; got {value!r}")
        settings[name] = value
    return settings


def finding(code: str, *, run: str, severity: Severity | None = None, **fields: Any) -> Finding:
    """A finding of rule ``code`` about run ``run`` (its name goes in ``splits`` so reporters show it)."""
    rule = RULES[code]
    return Finding(code=code, name=rule.name, severity=severity or rule.severity, scanner="curves",
                   splits=(run,), **fields)
