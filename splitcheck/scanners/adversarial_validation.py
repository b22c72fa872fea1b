"""Adversarial validation: can a classifier tell a split's items from the reference's?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Param, Rule, Scanner, in_range, register
from splitcheck.scanners.feature_drift import comparable_splits, one_of, too_few_items
from splitcheck.splits import Split
from splitcheck.stats.adversarial import AdversarialResult, adversarial_validation
from splitcheck.stats.features import FeatureSpace, feature_space, subsample_rows


def shared_feature_space(context: ScanContext, splits: Sequence[Split], *, max_items: int, svd_components: int,
                         random_state: int) -> tuple[FeatureSpace, dict[str, np.ndarray]]:
    """The feature matrices of (subsampled) ``splits``, computed once per scan and kept in ``context.memo``.

    Embeddings are used where they exist: vectors the user gave for every split (``--embeddings``), and
    for image splits the embeddings the embedding scanner computed in this scan; otherwise the encodings of
    :mod:`splitcheck.stats.features` (for images: the cheap properties of the one decode). Returns the space and the item positions used per split.
    """
    key = ("stats.feature_space", tuple(s.name for s in splits), max_items, svd_components, random_state)
    if key not in context.memo:
        rows = {s.name: subsample_rows(len(s), max_items, random_state) for s in splits}
        embeddings, method = _embeddings(context, splits)
        space = feature_space(splits, rows, image_properties=context.image_properties, embeddings=embeddings,
                              embedding_name=method, svd_components=svd_components, random_state=random_state)
        context.memo[key] = (space, rows)
    return context.memo[key]  # type: ignore[no-any-return]


def _embeddings(context: ScanContext, splits: Sequence[Split]) -> tuple[dict[str, np.ndarray] | None, str]:
    """Per-split embeddings when the user gave them, or for images; (None, "") otherwise."""
    try:
        from splitcheck.embed.context import PRECOMPUTED_KEY, embedding_method, embeddings_for
    except ImportError:  # the embedding package is optional here
        return None, ""
    if PRECOMPUTED_KEY not in context.memo:
        # image embeddings only when the embedding scanner already computed them for this scan (decoding every
        # image again just for these statistics would cost more than the whole leakage scan)
        computed = any(isinstance(k, str) and k.startswith(f"embed:{splits[0].name}:") for k in context.memo)
        if splits[0].modality != "image" or not computed:
            return None, ""
    vectors = {s.name: np.asarray(embeddings_for(context, s), dtype=float) for s in splits}
    return vectors, embedding_method(context)


@register
class AdversarialValidationScanner(Scanner):
    """Trains a classifier to tell each split's items from the reference split's items.

    What it finds: splits that a classifier (gradient boosting on table features, image properties and
    text TF-IDF; logistic regression on wide vectors) separates from the reference better than chance.
    The number is the cross-validated ROC AUC: 0.5 = the two splits look like one population, 1.0 =
    every item can be told apart. The warning needs the lower end of the AUC's confidence interval above
    ``min_auc``, so small splits do not raise it by luck. For tables and texts the evidence ranks the
    features by how much the AUC drops when each is shuffled.
    Why it matters: when a model can tell validation from training, validation does not come from the
    population the model was trained on, and its loss says little about generalisation.
    """

    name = "adversarial_validation"
    imports = ("scipy.stats", "sklearn.ensemble", "sklearn.linear_model", "sklearn.pipeline", "sklearn.preprocessing",
               "sklearn.model_selection")
    memoise = True
    rules = {
        "DS202": Rule("distinguishable-splits", Severity.WARNING,
                      "A classifier tells a split's items from the reference split's items better than chance."),
    }
    params = {
        "min_auc": Param(0.55, "DS202 is raised when the lower end of the AUC confidence interval exceeds this "
                         "(0.5 = indistinguishable splits).", in_range(0.5, 1.0)),
        "level": Param(0.95, "Confidence level of the AUC interval.", in_range(0.5, 0.9999)),
        "n_folds": Param(5, "Cross-validation folds.", in_range(2, 20, integer=True)),
        "classifier": Param("auto", "hgb (gradient boosting), logistic, or auto (gradient boosting up to 128 "
                            "features, logistic regression above).", one_of("auto", "hgb", "logistic")),
        "max_items": Param(20_000, "Items per split used; larger splits are subsampled at random (the finding "
                           "says so).", in_range(10, None, integer=True)),
        "min_items": Param(20, "Splits with fewer items than this are not compared.", in_range(4, None, integer=True)),
        "svd_components": Param(64, "Dimensions kept from the TF-IDF character n-grams of text splits.",
                                in_range(1, None, integer=True)),
        "max_listed": Param(5, "How many separating features the message names.", in_range(1, None, integer=True)),
        "random_state": Param(0, "Seed of the subsampling, the folds and the classifier.",
                              in_range(0, None, integer=True)),
    }

    def skip_reason(self, context: ScanContext) -> str | None:
        return super().skip_reason(context) or too_few_items(context, self.settings["min_items"])

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
            if min(len(rows[other.name]), len(rows[ref.name])) < self.settings["min_items"]:
                continue
            result = adversarial_validation(space.matrices[ref.name], space.matrices[other.name],
                                            n_folds=self.settings["n_folds"], classifier=self.settings["classifier"],
                                            level=self.settings["level"], random_state=self.settings["random_state"])
            context.memo[f"adversarial_validation:{other.name}"] = result
            if result.ci_low <= self.settings["min_auc"]:
                continue
            subsampled = [s.name for s in (ref, other) if len(rows[s.name]) < len(s)]
            findings.append(self._finding(context, ref.name, other.name, result, space, subsampled))
        return findings

    def _finding(self, context: ScanContext, ref: str, other: str, result: AdversarialResult, space: FeatureSpace,
                 subsampled: list[str]) -> Finding:
        if space.groups:
            evidence = result.importance(space.groups, random_state=self.settings["random_state"])
            top = evidence[evidence["auc_drop"] > 0].head(self.settings["max_listed"])
            drivers = ("; separating best: " + ", ".join(f"{r.feature} (AUC -{r.auc_drop:.3f} when shuffled)"
                                                         for r in top.itertuples())) if len(top) else ""
        else:
            evidence = pd.DataFrame({"fold": np.arange(1, len(result.fold_aucs) + 1), "auc": result.fold_aucs})
            drivers = ""
        note = f" (on {self.settings['max_items']} random items of {', '.join(subsampled)})" if subsampled else ""
        level = f"{result.level:.0%}"
        return self.finding(
            context, "DS202",
            title=f"a classifier tells {other} from {ref}",
            message=(f"a {_classifier_name(result.classifier)} on {space.description} tells {other} items from "
                     f"{ref} items with cross-validated ROC AUC {result.auc:.3f} ({level} CI {result.ci_low:.3f}-"
                     f"{result.ci_high:.3f}; 0.5 = same population){note}{drivers}"),
            splits=(other, ref),
            metrics={"auc": result.auc, "ci_low": result.ci_low, "ci_high": result.ci_high,
                     "n_reference": float(result.n_reference), "n_other": float(result.n_other),
                     "min_auc": float(self.settings["min_auc"]), "subsampled": float(bool(subsampled))},
            evidence=evidence,
            remediation=(f"{other} is not drawn from the same population as {ref}: look at the separating features "
                         "(and DS201 drift findings), check how each split was collected, and re-split at random "
                         "(by group where items are related) if both should represent one population."),
        )


def _classifier_name(kind: str) -> str:
    return "gradient-boosting classifier" if kind == "hgb" else "logistic regression"
