"""Per-sample losses files (--losses): reading, matching, class-mix impact, DF103 and DF104."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from splitcheck.context import ScanContext
from splitcheck.errors import InputError
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.scanners.difficulty_gap import loss_findings
from splitcheck.scanners.exact_duplicates import ExactDuplicateScanner
from splitcheck.stats.losses import assign_splits, class_mix_impact, per_class_table, read_losses, reweighted_loss


def write(tmp_path: Path, text: str, name: str = "losses.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_losses_normalises_columns(tmp_path: Path):
    frame = read_losses(write(tmp_path, "ID,Loss,Split,Epoch\n1,0.5,val,3\nb,1.25,train,3\n"))
    assert frame["id"].tolist() == ["1", "b"] and frame["loss"].tolist() == [0.5, 1.25]
    assert frame["split"].tolist() == ["val", "train"] and frame["epoch"].tolist() == [3.0, 3.0]
    parquet = tmp_path / "l.parquet"
    pd.DataFrame({"id": ["x"], "loss": [0.1]}).to_parquet(parquet)
    assert read_losses(parquet)[["id", "loss"]].values.tolist() == [["x", 0.1]]


@pytest.mark.parametrize(("text", "message"), [
    ("id,value\n1,0.5\n", r"losses.csv: a losses file needs the columns id and loss .* missing loss; columns are: id, value"),
    ("id,loss\n1,0.5\n2,abc\n", r"losses.csv, row 1: column 'loss' has 'abc', not a finite number"),
    ("id,loss\n1,0.5\n2,\n", r"losses.csv, row 1: column 'loss' has .*not a finite number"),
    ("id,loss\n,0.5\n", r"losses.csv, row 0: column 'id' is empty"),
    ("id,loss,epoch\n1,0.5,last\n", r"losses.csv, row 0: column 'epoch' has 'last', not a number"),
])
def test_read_losses_errors_name_file_row_and_column(tmp_path: Path, text: str, message: str):
    with pytest.raises(InputError, match=message):
        read_losses(write(tmp_path, text))


def test_missing_file_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="losses file not found"):
        read_losses(tmp_path / "nope.csv")


def test_assign_splits_keeps_the_last_epoch_and_counts_unmatched_rows():
    losses = pd.DataFrame({"id": ["a", "a", "b", "b", "zz"], "loss": [2.0, 1.0, 3.0, 0.5, 9.0],
                           "split": [None] * 5, "epoch": [1.0, 2.0, 1.0, 2.0, 2.0]})
    out = assign_splits(losses, {"train": ["a"], "val": ["b"]})
    assert out[["split", "id", "loss"]].values.tolist() == [["train", "a", 1.0], ["val", "b", 0.5]]
    assert out.attrs["unmatched"] == 1


def test_assign_splits_errors():
    both = {"train": ["a"], "val": ["a"]}
    losses = pd.DataFrame({"id": ["a"], "loss": [1.0], "split": [None], "epoch": [np.nan]})
    with pytest.raises(InputError, match="row 0: id 'a' is in splits train, val; add a split column"):
        assign_splits(losses, both)
    twice = pd.DataFrame({"id": ["a", "a"], "loss": [1.0, 2.0], "split": ["val", "val"], "epoch": [np.nan] * 2})
    with pytest.raises(InputError, match="item 'a' of split 'val' has more than one loss"):
        assign_splits(twice, both)
    with pytest.raises(InputError, match="no row matches an item"):
        assign_splits(losses.assign(id="q"), both)


def test_class_mix_decomposition_by_hand():
    # train: a = [1, 1], b = [3, 3] -> 2.0; val: a = [1, 1, 1], b = [2] -> 1.25
    mix = class_mix_impact(np.array([1.0, 1.0, 3.0, 3.0]), np.array(["a", "a", "b", "b"]),
                           np.array([1.0, 1.0, 1.0, 2.0]), np.array(["a", "a", "a", "b"]))
    assert mix.val_loss_reweighted == pytest.approx(1.5)  # 0.5 * 1 + 0.5 * 2
    assert mix.gap_nats == pytest.approx(0.75)
    assert mix.class_mix_nats == pytest.approx(0.25) and mix.within_class_nats == pytest.approx(0.5)
    assert mix.class_mix_share == pytest.approx(1 / 3)


def test_reweighting_ignores_classes_absent_from_the_split():
    assert reweighted_loss(np.array([1.0, 3.0]), np.array(["a", "b"]), {"a": 0.5, "b": 0.25, "c": 0.25}) == \
        pytest.approx((0.5 * 1 + 0.25 * 3) / 0.75)


def test_per_class_table():
    table = per_class_table({"train": np.array(["a", "b", "b"]), "val": np.array(["b"])},
                            {"loss": {"train": np.array([1.0, 2.0, 4.0]), "val": np.array([5.0])}})
    assert table.to_dict("list") == {
        "class": ["a", "b"], "train_count": [1, 2], "train_share": [1 / 3, 2 / 3], "train_loss": [1.0, 3.0],
        "val_count": [0, 1], "val_share": [0.0, 1.0], "val_loss": [pytest.approx(np.nan, nan_ok=True), 5.0]}


def leaky_context() -> ScanContext:
    """train: 40 rows (a: 20, b: 20); val: 10 fresh rows (a: 8, b: 2) + 5 copies of train rows (class a)."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"id": [f"t{i}" for i in range(40)], "x": rng.normal(size=40),
                          "label": ["a"] * 20 + ["b"] * 20})
    fresh = pd.DataFrame({"id": [f"v{i}" for i in range(10)], "x": rng.normal(size=10) + 100,
                          "label": ["a"] * 8 + ["b"] * 2})
    copies = train.iloc[:5].assign(id=[f"c{i}" for i in range(5)])
    val = pd.concat([fresh, copies], ignore_index=True)
    context = ScanContext([load_split("train", train, LoadOptions()), load_split("val", val, LoadOptions())])
    context.findings.extend(ExactDuplicateScanner().run(context))
    return context


def losses_file(tmp_path: Path, leaked_loss: float) -> Path:
    rows = [(f"t{i}", 1.0 if i < 20 else 3.0, "train") for i in range(40)]  # train: a 1.0, b 3.0
    rows += [(f"v{i}", 1.0 + 0.1 * (i % 2) if i < 8 else 2.0, "val") for i in range(10)]  # a 1.05, b 2.0
    rows += [(f"c{i}", leaked_loss + 0.01 * i, "val") for i in range(5)]
    rows += [("ghost", 5.0, "val")]
    frame = pd.DataFrame(rows, columns=["id", "loss", "split"])
    path = tmp_path / "losses.csv"
    frame.to_csv(path, index=False)
    return path


def test_leaked_items_with_lower_losses_are_reported(tmp_path: Path):
    findings = loss_findings(leaky_context(), losses_file(tmp_path, leaked_loss=0.1))
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"DF103", "DF104"}
    leak = by_code["DF103"]
    assert sorted(leak.evidence["id"]) == [f"c{i}" for i in range(5)]
    assert leak.metrics["val_loss_leaked"] == pytest.approx(0.12)
    assert leak.metrics["val_loss_clean"] == pytest.approx((8 * 1.05 + 2 * 2.0) / 10)
    assert leak.metrics["leaked_ci_low"] > 0
    summary = by_code["DF104"].metrics
    assert summary["n_val"] == 15 and summary["n_val_clean"] == 10 and summary["n_val_leaked"] == 5
    assert summary["n_unmatched"] == 1
    # clean val re-weighted to train shares (a 0.5, b 0.5): 0.5 * 1.05 + 0.5 * 2.0
    assert summary["val_loss_reweighted"] == pytest.approx(1.525)
    # gap = 2.0 - 1.24; class mix = 1.525 - 1.24
    assert summary["gap"] == pytest.approx(0.76) and summary["class_mix"] == pytest.approx(0.285)
    assert summary["class_mix_share"] == pytest.approx(0.285 / 0.76)
    evidence = by_code["DF104"].evidence.set_index("class")
    assert evidence.loc["a", "val_loss"] == pytest.approx(1.05) and evidence.loc["b", "train_loss"] == 3.0
    assert "1 rows of the losses file match no scanned item" in by_code["DF104"].message


def test_leaked_items_with_ordinary_losses_are_not_reported(tmp_path: Path):
    findings = loss_findings(leaky_context(), losses_file(tmp_path, leaked_loss=1.2))
    assert [f.code for f in findings] == ["DF104"]
