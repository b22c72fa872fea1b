from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from splitcheck.config import validate_params
from splitcheck.context import ScanContext
from splitcheck.embed.context import configure
from splitcheck.errors import ConfigError
from splitcheck.findings import Finding, Severity
from splitcheck.loaders.vectors import split_from_array
from splitcheck.report import Report
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

SCHEMA = Path(__file__).resolve().parents[2] / "splitcheck" / "schemas" / "report.schema.json"


def _vectors(seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, 24))
    train = centres[rng.integers(0, 20, 500)] + 0.8 * rng.standard_normal((500, 24))
    val = centres[rng.integers(0, 20, 100)] + 0.8 * rng.standard_normal((100, 24))
    planted = {3: 10, 50: 400, 99: 0}
    for v, t in planted.items():
        val[v] = train[t] + 0.03 * rng.standard_normal(24)
    return train, val, planted


def _context(train: np.ndarray, val: np.ndarray, **kw) -> ScanContext:  # type: ignore[no-untyped-def]
    labels_t = kw.pop("labels_t", None)
    labels_v = kw.pop("labels_v", None)
    return ScanContext([split_from_array("train", train, labels=labels_t, source="t"),
                        split_from_array("val", val, labels=labels_v, source="v")], **kw)


def test_raw_vectors_pairs_ranks_and_thresholds() -> None:
    train, val, _ = _vectors()
    train[11] = train[10] + 0.01  # a second close neighbour for val item 3, at rank 2
    context = _context(train, val)
    (lk103,) = [f for f in EmbeddingNeighbourScanner(within_split=False).run(context) if f.code == "LK103"]
    ev = lk103.evidence
    assert list(ev.columns) == ["a_split", "a_id", "b_split", "b_id", "method", "distance", "similarity", "rank",
                                "z_score", "reference_share"]
    pairs = set(zip(ev["a_id"], ev["b_id"], ev["rank"]))
    assert pairs == {("3", "10", 1), ("3", "11", 2), ("50", "400", 1), ("99", "0", 1)} or \
        pairs == {("3", "11", 1), ("3", "10", 2), ("50", "400", 1), ("99", "0", 1)}
    assert (ev["method"] == "embedding:raw").all()
    t = lk103.metrics["similarity_threshold"]
    assert t == max(lk103.metrics["relative_threshold"], lk103.metrics["min_similarity"])
    assert (ev["similarity"] >= t).all()
    assert lk103.metrics["n_affected"] == 3 and lk103.metrics["n_pairs"] == 4
    assert lk103.metrics["ratio_affected"] == pytest.approx(0.03)
    assert lk103.metrics["reference_n"] == 500
    assert lk103.severity is Severity.WARNING  # a candidate to review; hash and digest matches are the errors
    assert f"cosine >= {t:.3f}" in lk103.message and "z >= 5" in lk103.message


def test_nothing_is_found_in_disjoint_splits() -> None:
    train, val, _ = _vectors()
    rng = np.random.default_rng(9)
    val = rng.standard_normal((100, 24)) * 3
    assert EmbeddingNeighbourScanner(within_split=False).run(_context(train, val)) == []


def test_pairs_already_reported_by_another_scanner_are_not_repeated() -> None:
    train, val, _ = _vectors()
    context = _context(train, val)
    exact = pd.DataFrame({"a_split": ["val"], "a_id": ["50"], "b_split": ["train"], "b_id": ["400"],
                          "method": ["bytes"], "distance": [0.0]})
    context.findings.append(Finding("LK101", "cross-split-exact-duplicate", Severity.ERROR, "t", "m",
                                    splits=("val", "train"), evidence=exact, scanner="exact_duplicates"))
    (lk103,) = [f for f in EmbeddingNeighbourScanner(within_split=False).run(context) if f.code == "LK103"]
    assert set(zip(lk103.evidence["a_id"], lk103.evidence["b_id"])) == {("3", "10"), ("99", "0")}
    assert lk103.metrics["n_pairs_already_reported"] == 1


def test_within_split_copies_are_info_findings() -> None:
    train, val, _ = _vectors()
    train[200] = train[123] * 1.0001
    (dq203,) = [f for f in EmbeddingNeighbourScanner().run(_context(train, val)) if f.splits == ("train",)]
    assert dq203.code == "DQ203" and dq203.severity is Severity.INFO
    assert list(zip(dq203.evidence["a_id"], dq203.evidence["b_id"])) == [("123", "200")]


def test_every_split_pair_is_compared_and_test_is_calibrated_on_its_earlier_split() -> None:
    train, val, _ = _vectors()
    rng = np.random.default_rng(2)
    test = rng.standard_normal((50, 24)) * 3
    test[7] = val[60] + 0.01
    context = ScanContext([split_from_array(n, a, source=n) for n, a in (("train", train), ("val", val), ("test", test))])
    found = {(f.splits, tuple(zip(f.evidence["a_id"], f.evidence["b_id"])))
             for f in EmbeddingNeighbourScanner(within_split=False).run(context)}
    assert (("test", "val"), (("7", "60"),)) in found
    assert any(s == ("val", "train") for s, _ in found)
    assert all(s != ("test", "train") for s, _ in found)


def test_findings_fit_the_report_schema() -> None:
    train, val, _ = _vectors()
    labels_t = np.arange(500) % 3
    labels_v = np.arange(100) % 3
    findings = EmbeddingNeighbourScanner().run(_context(train, val, labels_t=labels_t, labels_v=labels_v))
    report = Report(findings=findings, splits=[])
    jsonschema.validate(json.loads(report.to_json()), json.loads(SCHEMA.read_text()))
    lk103 = report.by_code("LK103")[0]
    assert {"a_label", "b_label"} <= set(lk103.evidence.columns)
    assert any(k.startswith("ratio_affected_class:") for k in lk103.metrics)


def test_scanner_settings_are_validated_and_embedder_setting_applies() -> None:
    with pytest.raises(ConfigError, match="z-threshold must be a number >= 0.0"):
        validate_params(EmbeddingNeighbourScanner, {"z-threshold": -1}, source="f", where="w")
    with pytest.raises(ConfigError, match="index must be one of auto, flat, ivf, ivfpq, hnsw"):
        validate_params(EmbeddingNeighbourScanner, {"index": "annoy"}, source="f", where="w")
    assert validate_params(EmbeddingNeighbourScanner, {"k": 3, "min-similarity": 0.8}, source="f", where="w") == \
        {"k": 3, "min_similarity": 0.8}
    train, val, _ = _vectors()
    context = _context(train, val)
    with pytest.raises(Exception, match="unknown embedder 'tfidf' for vector splits"):
        EmbeddingNeighbourScanner(embedder="tfidf").run(context)
    context = _context(train, val)
    configure(context, embedder="raw")  # the API/CLI choice wins over the scanner setting
    assert EmbeddingNeighbourScanner(embedder="tfidf", within_split=False).run(context)


def test_skips_a_single_split() -> None:
    train, _, _ = _vectors()
    context = ScanContext([split_from_array("train", train, source="t")])
    assert EmbeddingNeighbourScanner().skip_reason(context) == "needs at least two splits"
