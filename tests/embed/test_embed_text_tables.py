from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from splitcheck.context import ScanContext
from splitcheck.embed.context import configure, embeddings_for
from splitcheck.embed.tables import TableEmbedder
from splitcheck.embed.text import TfidfSvdEmbedder
from splitcheck.errors import InputError
from splitcheck.loaders import load_split
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

SYLLABLES = ["ka", "lo", "mi", "ren", "su", "ta", "vo", "zin", "pe", "dar", "qu", "el", "nor", "bi", "sha", "tu"]


def _sentences(rng: np.random.Generator, n: int) -> list[str]:
    words = sorted({"".join(rng.choice(SYLLABLES, int(rng.integers(2, 5)))) for _ in range(2000)})
    return [" ".join(rng.choice(words, int(rng.integers(9, 15)))).capitalize() + "." for _ in range(n)]


def _paraphrase(text: str, rng: np.random.Generator) -> str:
    """Drop one word, swap two neighbours, transpose two letters, change the ending."""
    words = text.rstrip(".").split()
    del words[int(rng.integers(1, len(words)))]
    i = int(rng.integers(0, len(words) - 1))
    words[i], words[i + 1] = words[i + 1], words[i]
    j = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[j]
    words[j] = w[0] + w[2] + w[1] + w[3:] if len(w) > 3 else w
    return " ".join(words) + "!"


def test_paraphrased_sentences_are_found_exactly() -> None:
    rng = np.random.default_rng(11)
    train = _sentences(rng, 300)
    val = _sentences(rng, 60)
    planted = {0: 5, 1: 77, 2: 150, 3: 299, 4: 12}
    for v, t in planted.items():
        val[v] = _paraphrase(train[t], rng)
    context = ScanContext([load_split("train", pd.DataFrame({"text": train})),
                           load_split("val", pd.DataFrame({"text": val}))])
    findings = EmbeddingNeighbourScanner().run(context)
    (lk103,) = [f for f in findings if f.code == "LK103"]
    ev = lk103.evidence
    assert set(zip(ev["a_id"], ev["b_id"])) == {(str(v), str(t)) for v, t in planted.items()}
    assert (ev["method"] == "embedding:tfidf").all()
    assert lk103.metrics["reference_n"] == 300
    assert not [f for f in findings if f.code == "DQ203"]


def test_tfidf_is_fit_on_every_split_and_has_a_stable_identity() -> None:
    e = TfidfSvdEmbedder(dim=8).fit_texts(["alpha beta", "gamma delta", "alpha gamma", "beta delta", "omega"])
    assert e.dim == 4  # at most n_texts - 1 components
    out = e.embed(["alpha beta", ""])
    assert out.shape == (2, 4) and out.dtype == np.float32
    same = TfidfSvdEmbedder(dim=8).fit_texts(["alpha beta", "gamma delta", "alpha gamma", "beta delta", "omega"])
    other = TfidfSvdEmbedder(dim=8).fit_texts(["x y", "y z", "z x", "w v", "v u"])
    assert e.identity == same.identity != other.identity
    np.testing.assert_allclose(same.embed(["alpha beta"]), out[:1], atol=1e-6)


def _table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        **{f"x{j}": np.round(rng.normal(50, 10, n), 2) for j in range(8)},
        "count": rng.integers(0, 100, n).astype(float),
        "colour": rng.choice(["red", "green", "blue", "black", "white"], n),
        "size": rng.choice(["s", "m", "l", "xl"], n),
        "label": rng.integers(0, 3, n),
    })


def test_perturbed_rows_and_label_conflicts_are_found() -> None:
    rng = np.random.default_rng(4)
    train = _table(rng, 400)
    val = _table(rng, 80)
    planted = {0: 3, 1: 100, 2: 250, 3: 399}
    for v, t in planted.items():
        row = train.iloc[t].copy()
        row["x1"] = round(row["x1"] * 1.02, 2)
        row["x5"] = round(row["x5"] * 0.98, 2)
        row["colour"] = "green" if row["colour"] != "green" else "red"  # one field changed
        val.iloc[v] = row
    conflict = train.iloc[7].copy()
    conflict["label"] = (conflict["label"] + 1) % 3  # identical features, another label
    val.iloc[4] = conflict
    val = val.infer_objects()
    context = ScanContext([load_split("train", train), load_split("val", val)])
    findings = EmbeddingNeighbourScanner().run(context)
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"LK103", "LK104"}
    expected = {(str(v), str(t)) for v, t in planted.items()} | {("4", "7")}
    assert set(zip(by_code["LK103"].evidence["a_id"], by_code["LK103"].evidence["b_id"])) == expected
    lk104 = by_code["LK104"].evidence
    conflicts = {(a, b) for a, b, la, lb in zip(lk104["a_id"], lk104["b_id"], lk104["a_label"], lk104["b_label"])}
    truth = {(str(v), str(t)) for v, t in [*planted.items(), (4, 7)]
             if val.at[v, "label"] != train.at[t, "label"]}
    assert ("4", "7") in truth and conflicts == truth
    assert by_code["LK104"].metrics["n_identical"] == 1
    per_class = {k: v for k, v in by_code["LK103"].metrics.items() if k.startswith("ratio_affected_class:")}
    counts = val["label"].astype(str).value_counts()
    flagged = val.loc[[0, 1, 2, 3, 4], "label"].astype(str).value_counts()
    assert per_class == pytest.approx({f"ratio_affected_class:{k}": flagged[k] / counts[k] for k in flagged.index})


def test_table_embedder_handles_missing_unseen_dates_and_booleans() -> None:
    ref = pd.DataFrame({
        "n": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        "flag": [True, False, True, False, True, True],
        "when": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01", "2020-05-01", None]),
        "cat": ["a", "b", None, "a", "b", "c"],
        "const": [7, 7, 7, 7, 7, 7],
    })
    e = TableEmbedder(bins=4).fit_frame(ref)
    assert [c["name"] for c in e.columns_] == ["n", "flag", "when", "cat"]
    out = e.embed(pd.DataFrame({"n": [np.nan, 3.0], "flag": [True, False],
                                "when": pd.to_datetime(["2020-03-01", None]), "cat": ["zzz", " A "]}))
    assert out.shape == (2, e.dim) and np.isfinite(out).all()
    # every column block has unit length, so each row has norm 1 (4 columns / sqrt(4))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    same = e.embed(ref.iloc[[0]])
    assert float(same[0] @ e.embed(ref.iloc[[0]])[0]) == pytest.approx(1.0)
    with pytest.raises(InputError, match="no usable feature column"):
        TableEmbedder().fit_frame(pd.DataFrame({"c": [1, 1, 1]}))


def test_configure_rejects_an_embedder_of_another_modality() -> None:
    frame = pd.DataFrame({"text": ["a b c", "d e f"] * 15})
    context = ScanContext([load_split("train", frame), load_split("val", frame.copy())])
    configure(context, embedder=TableEmbedder())
    with pytest.raises(InputError, match="embeds table items, but the splits hold text items"):
        embeddings_for(context, context.splits[0])
