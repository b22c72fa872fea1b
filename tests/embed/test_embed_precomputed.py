from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from splitcheck.context import ScanContext
from splitcheck.embed.context import configure, embeddings_for
from splitcheck.embed.precomputed import load_precomputed
from splitcheck.errors import InputError
from splitcheck.loaders.vectors import split_from_array
from splitcheck.scanners.embedding_neighbours import EmbeddingNeighbourScanner

IDS = np.array(["a", "b", "c"], dtype=object)


def test_npy_rows_follow_item_order(tmp_path: Path) -> None:
    x = np.arange(6, dtype=np.float64).reshape(3, 2)
    np.save(tmp_path / "e.npy", x)
    out = load_precomputed(tmp_path / "e.npy", IDS, split_name="val")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)


def test_npy_count_mismatch_names_file_and_counts(tmp_path: Path) -> None:
    np.save(tmp_path / "e.npy", np.ones((4, 2)))
    with pytest.raises(InputError, match=r"e\.npy: 4 embedding rows but split 'val' has 3 items"):
        load_precomputed(tmp_path / "e.npy", IDS, split_name="val")


def test_nan_and_inf_rows_name_file_and_row(tmp_path: Path) -> None:
    x = np.ones((3, 2))
    x[1, 0] = np.nan
    x[2, 1] = np.inf
    np.save(tmp_path / "bad.npy", x)
    with pytest.raises(InputError, match=r"bad\.npy, row 1: vector holds NaN \(2 bad rows in all\)"):
        load_precomputed(tmp_path / "bad.npy", IDS, split_name="train")


def test_parquet_is_aligned_by_id_with_a_list_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["c", "a", "b", "z"], "embedding": [[3.0, 3.0], [1.0, 1.0], [2.0, 2.0], [9.0, 9.0]]})
    frame.to_parquet(tmp_path / "e.parquet")
    out = load_precomputed(tmp_path / "e.parquet", IDS, split_name="val")
    np.testing.assert_array_equal(out, [[1, 1], [2, 2], [3, 3]])


def test_parquet_with_numeric_columns_and_a_missing_id(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "f0": [1.0, 2.0], "f1": [0.0, 1.0]})
    frame.to_parquet(tmp_path / "e.parquet")
    with pytest.raises(InputError, match=r"no vector for 1 of the 3 items of split 'val' \(first missing id: 'c'\)"):
        load_precomputed(tmp_path / "e.parquet", IDS, split_name="val")


def test_ragged_vectors_and_duplicate_ids(tmp_path: Path) -> None:
    pd.DataFrame({"id": ["a", "b", "c"], "v": [[1.0, 2.0], [1.0], [3.0, 4.0]]}).to_parquet(tmp_path / "r.parquet")
    with pytest.raises(InputError, match=r"r\.parquet, row 1: vector of length 1, but row 0 has 2"):
        load_precomputed(tmp_path / "r.parquet", IDS, split_name="val")
    pd.DataFrame({"id": ["a", "b", "a"], "f": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match=r"d\.parquet: id 'a' appears more than once"):
        load_precomputed(tmp_path / "d.parquet", IDS, split_name="val")


def test_npz_with_ids_is_aligned(tmp_path: Path) -> None:
    np.savez(tmp_path / "e.npz", embeddings=np.array([[2.0], [1.0], [3.0]]), ids=np.array(["b", "a", "c"]))
    np.testing.assert_array_equal(load_precomputed(tmp_path / "e.npz", IDS, split_name="val"), [[1], [2], [3]])


def _splits(n_train: int = 40, n_val: int = 10):
    return [split_from_array("train", np.zeros((n_train, 1)), source="t"),
            split_from_array("val", np.zeros((n_val, 1)), source="v")]


def test_dimension_mismatch_between_splits(tmp_path: Path) -> None:
    np.save(tmp_path / "train.npy", np.ones((40, 8)))
    np.save(tmp_path / "val.npy", np.ones((10, 4)))
    context = ScanContext(_splits())
    configure(context, embeddings={"train": tmp_path / "train.npy", "val": tmp_path / "val.npy"})
    with pytest.raises(InputError, match=r"split 'train' \(.*train\.npy\) have dimension 8 but those of split 'val' "
                                         r"\(.*val\.npy\) have 4"):
        embeddings_for(context, context.splits[0])


def test_embeddings_must_cover_every_split(tmp_path: Path) -> None:
    context = ScanContext(_splits())
    with pytest.raises(InputError, match="given for train but not for val"):
        configure(context, embeddings={"train": np.ones((40, 3))})
    with pytest.raises(InputError, match="split 'holdout', which is not a split"):
        configure(context, embeddings={"holdout": np.ones((40, 3))})


def test_scanner_uses_precomputed_vectors_and_finds_the_planted_neighbours(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    train = rng.standard_normal((300, 16))
    val = rng.standard_normal((60, 16))
    planted = {0: 17, 1: 200, 2: 299}
    for v, t in planted.items():
        val[v] = train[t] + 0.05 * rng.standard_normal(16)
    np.save(tmp_path / "train.npy", train)
    np.save(tmp_path / "val.npy", val)
    context = ScanContext(_splits(300, 60))
    configure(context, embeddings={"train": str(tmp_path / "train.npy"), "val": str(tmp_path / "val.npy")})
    findings = EmbeddingNeighbourScanner(min_similarity=0.0).run(context)
    (lk103,) = [f for f in findings if f.code == "LK103"]
    ev = lk103.evidence
    assert list(ev.columns[:6]) == ["a_split", "a_id", "b_split", "b_id", "method", "distance"]
    assert set(zip(ev["a_id"], ev["b_id"])) == {(str(v), str(t)) for v, t in planted.items()}
    assert (ev["method"] == "embedding:precomputed").all()
    cos = [float(val[v] @ train[t] / np.linalg.norm(val[v]) / np.linalg.norm(train[t])) for v, t in planted.items()]
    np.testing.assert_allclose(sorted(ev["similarity"]), sorted(cos), atol=1e-5)
    np.testing.assert_allclose(ev["distance"], 1 - ev["similarity"], atol=1e-9)
    assert lk103.metrics["n_affected"] == 3 and lk103.metrics["reference_n"] == 300
