"""Explain loss curves: why validation beats training, fluctuates or overfits, ranked with numbers.

>>> import splitcheck as sc
>>> result = sc.explain("lightning_logs/", scan="scan.json", run_config="run.yaml")   # doctest: +SKIP
>>> result.hypotheses[0].id, result.hypotheses[0].score                             # doctest: +SKIP
('regularization', 0.86)

See :mod:`splitcheck.explain.hypotheses` for the identifiers and how each is scored,
:mod:`splitcheck.curves.metadata` for the run-configuration keys, and
:mod:`splitcheck.explain.scan` for what is read from a scan report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from splitcheck.curves.analyse import analyse
from splitcheck.curves.metadata import load_mapping, normalise
from splitcheck.curves.model import Run
from splitcheck.curves.readers import read_logs
from splitcheck.errors import InputError
from splitcheck.explain.explanation import EXPLAIN_SCHEMA_VERSION, Explanation, RunExplanation
from splitcheck.explain.hypotheses import IDENTIFIERS, Evidence, Hypothesis, evaluate
from splitcheck.explain.scan import ScanEvidence, load_scan

__all__ = ["EXPLAIN_SCHEMA_VERSION", "IDENTIFIERS", "Explanation", "Hypothesis", "RunExplanation", "ScanEvidence",
           "explain"]


def explain(
    logs_or_runs: str | Path | Run | Sequence[Run],
    *,
    scan: Any = None,
    run_config: str | Path | Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    **column_overrides: str,
) -> Explanation:
    """Rank the explanations of the loss curves in ``logs_or_runs``.

    ``logs_or_runs`` is a log file, a folder of runs, a :class:`~splitcheck.curves.Run` or a list of
    them. ``scan`` is a scan report (path to the JSON of ``splitcheck scan --format json``, a
    :class:`~splitcheck.report.Report` or its ``to_dict()``). ``run_config`` is a JSON/YAML file or a
    mapping of run settings (keys in :mod:`splitcheck.curves.metadata`); it overrides what is read beside
    the logs. ``settings`` overrides curve-analysis thresholds (:data:`splitcheck.curves.rules.PARAMS`);
    ``train_column=``, ``val_column=``, ``epoch_column=``, ``step_column=`` name log columns.
    """
    runs = _runs(logs_or_runs, column_overrides)
    evidence = load_scan(scan) if scan is not None else None
    explicit = _run_config(run_config)
    explained = []
    for run in runs:
        metadata = {**run.metadata, **explicit}
        size = metadata.get("val_size")
        if size is None and evidence is not None and math.isfinite(evidence.n_val):
            size = evidence.n_val
        analysis = analyse(run, settings=settings, val_size=size, val_loss_std=metadata.get("val_loss_std"),
                           n_classes=metadata.get("n_classes"))
        hypotheses = evaluate(Evidence(run=run, analysis=analysis, metadata=metadata, scan=evidence))
        explained.append(RunExplanation(analysis=analysis, hypotheses=hypotheses, metadata=metadata))
    return Explanation(runs=explained, scan=evidence)


def _runs(logs_or_runs: Any, overrides: Mapping[str, str]) -> list[Run]:
    unknown = set(overrides) - {"train_column", "val_column", "epoch_column", "step_column"}
    if unknown:
        raise InputError(f"unknown keyword(s) {', '.join(sorted(unknown))}; column overrides are train_column, "
                         "val_column, epoch_column and step_column")
    if isinstance(logs_or_runs, Run):
        return [logs_or_runs]
    if isinstance(logs_or_runs, (str, Path)):
        return read_logs(logs_or_runs, **overrides)
    if isinstance(logs_or_runs, Sequence) and logs_or_runs and all(isinstance(r, Run) for r in logs_or_runs):
        return list(logs_or_runs)
    raise InputError(f"explain needs a log path, a Run or a list of Runs; got {type(logs_or_runs).__name__}")


def _run_config(run_config: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    if run_config is None:
        return {}
    if isinstance(run_config, Mapping):
        return normalise(run_config, strict=True, source="run_config")
    raw = load_mapping(run_config)
    return normalise(raw, strict=True, source=str(run_config))
