"""What ``explain`` takes from a scan report (the JSON of ``splitcheck scan --format json``, a
:class:`~splitcheck.report.Report`, or its ``to_dict()``).

Findings are read defensively, by code prefix and metric keys, so that reports from newer scanners
still help and unknown codes are ignored:

* ``LK...`` (leakage: ``LK1xx`` item pairs, ``LK201`` groups, ``LK301`` time): the validation items tied
  to training — distinct ids from the evidence (``a_split``/``a_id``, or ``split``/``id``), else the
  metrics ``ratio_affected`` / ``n_affected`` / ``n_items_affected``; divided by the validation size.
* ``DS101`` (class shares differ): ``js_distance``, ``p_value``; ``DS102`` (classes missing from a split).
* ``DS2xx`` (feature drift, distinguishable splits): ``auc``, ``max_effect_size``, ``n_drifted``.
* ``DF1xx`` (difficulty): ``DF101`` validation easier, with ``gap_nats`` (training minus validation
  proxy loss, in nats), ``ci_low``/``ci_high``; ``DF102`` validation harder; ``DF103`` leaked items
  scoring a lower loss.
* ``splits``: ``n_items`` of the validation split (its size) and of the training split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitcheck.errors import InputError

VAL_NAMES = ("val", "validation", "valid", "dev", "eval")


@dataclass
class ScanEvidence:
    """Numbers from a scan report that bear on the loss curves (NaN / empty when absent)."""

    source: str = ""
    val_split: str = ""
    train_split: str = ""
    n_val: float = float("nan")
    n_train: float = float("nan")
    leaked_share: float = 0.0
    leaked_items: int = 0
    leak_codes: list[str] = field(default_factory=list)
    class_shift_js: float = float("nan")
    class_shift_p: float = float("nan")
    class_drivers: str = ""
    missing_classes: int = 0
    easier_gap_nats: float = float("nan")
    easier_ci_low: float = float("nan")
    harder_gap_nats: float = float("nan")
    drift_auc: float = float("nan")
    drifted_features: int = 0
    codes: list[str] = field(default_factory=list)

    @property
    def has_leakage(self) -> bool:
        return self.leaked_items > 0 or self.leaked_share > 0

    @property
    def has_class_shift(self) -> bool:
        return _known(self.class_shift_js) or self.missing_classes > 0


def load_scan(scan: Any) -> ScanEvidence:
    """Read a scan report given as a path, a mapping (``Report.to_dict()``) or a ``Report``."""
    source = ""
    if isinstance(scan, (str, Path)):
        path = Path(scan)
        source = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"{path}: cannot read the scan report: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: the scan report is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    elif isinstance(scan, Mapping):
        data = dict(scan)
    elif hasattr(scan, "to_dict"):
        data = scan.to_dict()
        source = "Report"
    else:
        raise InputError(f"scan must be a report path, a Report or its to_dict(); got {type(scan).__name__}")
    if not isinstance(data, Mapping) or not isinstance(data.get("findings", []), list):
        raise InputError(f"{source or 'scan'}: not a splitcheck scan report (expected 'findings' and 'splits')")
    return _evidence(data, source)


def _evidence(data: Mapping[str, Any], source: str) -> ScanEvidence:
    ev = ScanEvidence(source=source)
    splits = [s for s in data.get("splits", []) if isinstance(s, Mapping) and "name" in s]
    names = [str(s["name"]) for s in splits]
    ev.train_split = "train" if "train" in names else (names[0] if names else "train")
    ev.val_split = next((n for n in VAL_NAMES if n in names), next((n for n in names if n != ev.train_split), "val"))
    for s in splits:
        if str(s["name"]) == ev.val_split and isinstance(s.get("n_items"), (int, float)):
            ev.n_val = float(s["n_items"])
        if str(s["name"]) == ev.train_split and isinstance(s.get("n_items"), (int, float)):
            ev.n_train = float(s["n_items"])
    leaked_ids: set[str] = set()
    ratios: list[float] = []
    for f in data.get("findings", []):
        if not isinstance(f, Mapping):
            continue
        code = str(f.get("code", ""))
        metrics = f.get("metrics") or {}
        metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        f_splits = [str(s) for s in f.get("splits", [])]
        ev.codes.append(code)
        involves_val = not f_splits or ev.val_split in f_splits
        with_train = not f_splits or (ev.val_split in f_splits and (ev.train_split in f_splits or len(f_splits) == 1))
        if code.startswith("LK") and with_train:
            ids = _val_ids(f.get("evidence"), ev.val_split)
            if ids:
                leaked_ids.update(ids)
            else:
                for key in ("ratio_affected", "ratio_items", "ratio"):
                    if key in metrics:
                        ratios.append(float(metrics[key]))
                        break
                else:
                    for key in ("n_affected", "n_items_affected", "n_items"):
                        if key in metrics and _known(ev.n_val) and ev.n_val > 0:
                            ratios.append(float(metrics[key]) / ev.n_val)
                            break
            ev.leak_codes.append(code)
        elif code == "DS101" and involves_val:
            js = metrics.get("js_distance")
            if js is not None and not (_known(ev.class_shift_js) and ev.class_shift_js >= js):
                ev.class_shift_js = float(js)
                ev.class_shift_p = float(metrics.get("p_value", float("nan")))
                ev.class_drivers = str(f.get("message", "")).split("most different:")[-1].strip() \
                    if "most different:" in str(f.get("message", "")) else ""
        elif code == "DS102" and ev.val_split in f_splits:
            ev.missing_classes += int(metrics.get("n_classes", 1))
        elif code.startswith("DS2") and involves_val:
            if "auc" in metrics:
                auc = float(metrics["auc"])
                ev.drift_auc = max(auc, ev.drift_auc) if _known(ev.drift_auc) else auc
            if "n_drifted" in metrics:
                ev.drifted_features = max(ev.drifted_features, int(metrics["n_drifted"]))
        elif code.startswith("DF") and involves_val:
            gap = metrics.get("gap_nats")
            if gap is None:
                continue
            if code == "DF102" or gap < 0:
                ev.harder_gap_nats = float(gap)
            elif code != "DF103":
                ev.easier_gap_nats = float(gap)
                ev.easier_ci_low = float(metrics.get("ci_low", float("nan")))
    if leaked_ids:
        ev.leaked_items = len(leaked_ids)
        if _known(ev.n_val) and ev.n_val > 0:
            ratios.append(len(leaked_ids) / ev.n_val)
    if ratios:
        ev.leaked_share = min(1.0, max(ratios))
        if not ev.leaked_items and _known(ev.n_val):
            ev.leaked_items = round(ev.leaked_share * ev.n_val)
    return ev


def _known(value: float) -> bool:
    return math.isfinite(value)


def _val_ids(evidence: Any, val_split: str) -> set[str]:
    if not isinstance(evidence, Mapping):
        return set()
    columns = [str(c) for c in evidence.get("columns", [])]
    rows = evidence.get("rows", [])
    if not isinstance(rows, list):
        return set()
    for split_col, id_col in (("a_split", "a_id"), ("split", "id")):
        if split_col in columns and id_col in columns:
            si, ii = columns.index(split_col), columns.index(id_col)
            return {str(r[ii]) for r in rows if isinstance(r, list) and len(r) > max(si, ii) and str(r[si]) == val_split}
    return set()
