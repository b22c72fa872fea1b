"""Score predicted (val id, train id) pairs against a generated set's ``truth.json``.

A predicted pair is a true positive when it is a planted copy pair. Every other predicted pair is a false
positive (the generator plants no genuine duplicates inside a split or between unrelated images); false
positives that join a distractor to the training image it was derived from are counted separately
(``fp_distractor``), since those are the near misses the distractors exist to provoke.

- ``recall[transform]``: planted pairs of that transform found / planted pairs of that transform.
- ``recall_all``: all planted pairs found / planted pairs.
- ``precision``: true positives / distinct predicted pairs (``None`` when nothing was predicted).
- ``f1``: harmonic mean of precision and overall recall (0 when either is 0 or undefined).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Truth:
    """The planted pairs of one generated set."""

    pairs: dict[tuple[str, str], str]  # (val id, train id) -> transform
    distractors: set[tuple[str, str]]
    transforms: list[str]
    n_train: int
    n_val: int

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Truth:
        pairs = {(p["val_id"], p["train_id"]): p["transform"] for p in data["pairs"]}
        distractors = {(d["val_id"], d["train_id"]) for d in data.get("distractors", [])}
        return cls(pairs=pairs, distractors=distractors, transforms=list(data["transforms"]),
                   n_train=int(data["n_train"]), n_val=int(data["n_val"]))

    def planted_count(self, transform: str) -> int:
        return sum(1 for t in self.pairs.values() if t == transform)


@dataclass
class Score:
    """How one tool's pairs compare with the truth. See the module docstring for each number."""

    n_predicted: int
    tp: int
    fp: int
    fp_distractor: int
    precision: float | None
    recall_all: float
    f1: float
    recall: dict[str, float | None] = field(default_factory=dict)
    missed: dict[str, list[list[str]]] = field(default_factory=dict)
    false_positives: list[list[str]] = field(default_factory=list)

    def to_dict(self, max_listed: int = 50) -> dict[str, Any]:
        return {"n_predicted": self.n_predicted, "tp": self.tp, "fp": self.fp, "fp_distractor": self.fp_distractor,
                "precision": self.precision, "recall_all": self.recall_all, "f1": self.f1, "recall": self.recall,
                "missed": {k: v[:max_listed] for k, v in self.missed.items()},
                "false_positives": self.false_positives[:max_listed]}


def score(predicted: Iterable[tuple[str, str]], truth: Truth) -> Score:
    """Score distinct ``(val_id, train_id)`` pairs (duplicates in ``predicted`` count once)."""
    pred = {(str(v), str(t)) for v, t in predicted}
    hits = pred & truth.pairs.keys()
    fps = sorted(pred - truth.pairs.keys())
    recall: dict[str, float | None] = {}
    missed: dict[str, list[list[str]]] = {}
    for transform in truth.transforms:
        planted = [pair for pair, t in truth.pairs.items() if t == transform]
        recall[transform] = (sum(pair in hits for pair in planted) / len(planted)) if planted else None
        lost = sorted(list(pair) for pair in planted if pair not in hits)
        if lost:
            missed[transform] = lost
    precision = len(hits) / len(pred) if pred else None
    recall_all = len(hits) / len(truth.pairs) if truth.pairs else 0.0
    f1 = 2 * precision * recall_all / (precision + recall_all) if precision and recall_all else 0.0
    return Score(n_predicted=len(pred), tp=len(hits), fp=len(fps),
                 fp_distractor=sum(pair in truth.distractors for pair in fps), precision=precision,
                 recall_all=recall_all, f1=f1, recall=recall, missed=missed, false_positives=[list(p) for p in fps])


def splitcheck_pairs(report: dict[str, Any], codes: tuple[str, ...] = ("LK101", "LK102")) -> set[tuple[str, str]]:
    """(val id, train id) pairs of a splitcheck JSON report's cross-split findings with one of ``codes``.

    Evidence is ``{"columns": [...], "rows": [[...], ...]}`` whose columns start a_split, a_id, b_split, b_id;
    a pair is kept when it joins ``val`` and ``train`` (either way round).
    """
    pairs: set[tuple[str, str]] = set()
    for finding in report.get("findings", []):
        if finding.get("code") not in codes or not finding.get("evidence"):
            continue
        columns = finding["evidence"]["columns"]
        ia, iaid, ib, ibid = (columns.index(c) for c in ("a_split", "a_id", "b_split", "b_id"))
        for row in finding["evidence"]["rows"]:
            a, b = row[ia], row[ib]
            if (a, b) == ("val", "train"):
                pairs.add((str(row[iaid]), str(row[ibid])))
            elif (a, b) == ("train", "val"):
                pairs.add((str(row[ibid]), str(row[iaid])))
    return pairs


def at_precision(scored: Iterable[tuple[str, str, float]], truth: Truth, min_precision: float,
                 higher_is_closer: bool) -> tuple[float | None, Score]:
    """A peer at its own best operating point: the loosest cut-off of its pair scores (similarity or distance)
    whose pairs still have precision >= ``min_precision``; returns (cut-off, score there).

    Lets a tool whose default threshold trades precision for recall be compared at the precision the
    targets ask for. (None, empty score) when no cut-off reaches it.
    """
    best: dict[tuple[str, str], float] = {}
    for v, t, value in scored:
        key, value = (str(v), str(t)), float(value)
        if key not in best or (value > best[key] if higher_is_closer else value < best[key]):
            best[key] = value
    cuts = sorted(set(best.values()), reverse=higher_is_closer)
    chosen: float | None = None
    hits = total = 0
    for cut in cuts:  # from the strictest to the loosest cut-off, counting the pairs each adds
        added = [k for k, value in best.items() if value == cut]
        total += len(added)
        hits += sum(k in truth.pairs for k in added)
        if hits / total >= min_precision:
            chosen = cut
    if chosen is None:
        return None, score([], truth)
    keep = [k for k, value in best.items() if (value >= chosen if higher_is_closer else value <= chosen)]
    return chosen, score(keep, truth)
