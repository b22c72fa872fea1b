"""Readers: every log format into the same Curves, columns recognised, errors naming file and row."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from splitcheck.curves import read_logs
from splitcheck.errors import InputError, MissingExtraError

KERAS = """epoch,accuracy,learning_rate,loss,val_accuracy,val_loss
0,0.5,0.001,2.0,0.6,1.5
1,0.7,0.001,1.2,0.75,1.0
2,0.8,0.0005,0.9,0.8,0.95
"""

# Lightning CSVLogger: step rows every 2 steps, then a validation row and a training-epoch row per epoch
LIGHTNING = """epoch,lr-Adam,step,train_eval_loss,train_loss_epoch,train_loss_step,val_loss
0,0.01,1,,,2.2,
0,0.01,3,,,1.8,
0,,3,,,,1.6
0,,3,1.55,1.9,,
1,0.01,5,,,1.4,
1,0.01,7,,,1.2,
1,,7,,,,1.25
1,,7,1.2,1.3,,
"""


def test_keras_csv_epochs_shift_to_epochs_completed(tmp_path: Path) -> None:
    path = tmp_path / "training.csv"
    path.write_text(KERAS)
    (run,) = read_logs(path)
    assert run.format == "keras-csv"
    assert run.columns == {"train": "loss", "val": "val_loss", "epoch": "epoch", "lr": "learning_rate"}
    assert run.curves.epoch.tolist() == [1.0, 2.0, 3.0]
    assert run.curves.train.tolist() == [2.0, 1.2, 0.9]
    assert run.curves.val.tolist() == [1.5, 1.0, 0.95]
    assert run.curves.evals["lr"].tolist() == [0.001, 0.001, 0.0005]
    assert not run.curves.has_steps and run.curves.nonfinite == []


def test_lightning_interleaved_rows(tmp_path: Path) -> None:
    folder = tmp_path / "lightning_logs" / "version_0"
    folder.mkdir(parents=True)
    (folder / "metrics.csv").write_text(LIGHTNING)
    (folder / "hparams.yaml").write_text("dropout: 0.3\nbatch_size: 16\nmodel:\n  hidden_dropout_prob: 0.5\n")
    (run,) = read_logs(tmp_path)
    assert run.name == "lightning_logs/version_0"
    assert run.format == "lightning-csv"
    assert run.curves.steps_per_epoch == 4.0
    assert run.curves.epoch.tolist() == [1.0, 2.0]
    assert run.curves.val.tolist() == [1.6, 1.25]
    assert run.curves.train.tolist() == [1.9, 1.3]
    assert run.curves.train_eval.tolist() == [1.55, 1.2]
    steps = run.curves.steps
    assert steps["step"].tolist() == [2.0, 4.0, 6.0, 8.0]  # 0-based step column + 1
    assert steps["epoch"].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert steps["train_loss"].tolist() == [2.2, 1.8, 1.4, 1.2]
    assert run.metadata["dropout"] == 0.5 and run.metadata["batch_size"] == 16


def test_lightning_without_epoch_level_training_loss_uses_step_means(tmp_path: Path) -> None:
    text = "epoch,step,train_loss,val_loss\n0,0,3.0,\n0,1,2.0,\n0,2,1.0,\n0,2,,1.1\n1,3,1.0,\n1,4,0.8,\n1,5,0.6,\n1,5,,0.9\n"
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    (run,) = read_logs(path)
    assert run.format == "lightning-csv"
    assert run.curves.train.tolist() == pytest.approx([2.0, 0.8])
    assert run.curves.val.tolist() == [1.1, 0.9]
    assert run.curves.steps_per_epoch == 3.0


def _hf_state(logging_steps: int = 2, spe: int = 4, epochs: int = 2) -> dict:
    history = []
    loss = 2.0
    for step in range(1, spe * epochs + 1):
        if step % logging_steps == 0:
            history.append({"epoch": step / spe, "learning_rate": 1e-3, "loss": round(loss, 4), "step": step})
        loss *= 0.9
        if step % spe == 0:
            history.append({"epoch": float(step // spe), "eval_loss": 1.5 - 0.2 * (step // spe), "eval_runtime": 0.5,
                            "eval_samples_per_second": 200.0, "step": step})
    history.append({"epoch": float(epochs), "step": spe * epochs, "train_loss": 1.0, "train_runtime": 3.0})
    return {"log_history": history, "train_batch_size": 8, "logging_steps": logging_steps,
            "num_train_epochs": epochs, "global_step": spe * epochs}


def test_hugging_face_trainer_state(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "checkpoint-4").mkdir(parents=True)
    (out / "checkpoint-8").mkdir(parents=True)
    state = _hf_state()
    (out / "checkpoint-4" / "trainer_state.json").write_text(json.dumps({**state, "log_history": state["log_history"][:3]}))
    (out / "checkpoint-8" / "trainer_state.json").write_text(json.dumps(state))
    (out / "checkpoint-8" / "config.json").write_text(json.dumps({"hidden_dropout_prob": 0.1, "num_labels": 3}))
    (out / "training_args.json").write_text(json.dumps({"label_smoothing_factor": 0.1, "lr_scheduler_type": "linear"}))
    (run,) = read_logs(tmp_path)  # the latest checkpoint of the output folder is the run
    assert run.format == "hf-trainer-state" and run.name == "out"
    assert run.curves.steps_per_epoch == 4.0
    assert run.curves.epoch.tolist() == [1.0, 2.0]
    assert run.curves.val.tolist() == pytest.approx([1.3, 1.1])
    # loss logs at steps 2, 4 (epoch 1) and 6, 8 (epoch 2): the interval means
    losses = [2.0 * 0.9 ** (s - 1) for s in (2, 4, 6, 8)]
    assert run.curves.train.tolist() == pytest.approx([np.mean([round(v, 4) for v in losses[:2]]),
                                                       np.mean([round(v, 4) for v in losses[2:]])])
    assert run.curves.steps["window"].tolist() == [0.5] * 4
    assert run.metadata["val_size"] == 100  # 0.5 s x 200 items/s
    assert run.metadata["batch_size"] == 8
    assert run.metadata["dropout"] == 0.1 and run.metadata["n_classes"] == 3
    assert run.metadata["label_smoothing"] == 0.1 and run.metadata["lr_schedule"] == "linear"


def test_generic_json_records_and_keras_history_dict(tmp_path: Path) -> None:
    records = tmp_path / "history.json"
    records.write_text(json.dumps([{"epoch": 1, "train_loss": 1.0, "valid_loss": 0.9},
                                   {"epoch": 2, "train_loss": 0.8, "valid_loss": 0.85}]))
    (run,) = read_logs(records)
    assert run.format == "generic-json" and run.curves.epoch.tolist() == [1.0, 2.0]
    assert run.columns["val"] == "valid_loss"
    history = tmp_path / "keras_history.json"
    history.write_text(json.dumps({"loss": [1.0, 0.7, 0.6], "val_loss": [0.9, 0.8, 0.75]}))
    (run,) = read_logs(history)
    assert run.curves.epoch.tolist() == [1.0, 2.0, 3.0]  # rows when there is no epoch column
    assert run.curves.unit == "row"
    assert run.curves.val.tolist() == [0.9, 0.8, 0.75]


def test_column_overrides(tmp_path: Path) -> None:
    path = tmp_path / "custom.csv"
    path.write_text("it;trn;dev\n100;1.0;1.1\n200;0.8;0.9\n300;0.6;0.7\n")
    with pytest.raises(InputError, match=r"custom.csv: no loss column recognised among it, trn, dev"):
        read_logs(path)
    (run,) = read_logs(path, train_column="trn", val_column="dev", step_column="it")
    assert run.curves.unit == "step"
    assert run.curves.epoch.tolist() == [100.0, 200.0, 300.0]
    assert run.curves.train.tolist() == [1.0, 0.8, 0.6] and run.curves.val.tolist() == [1.1, 0.9, 0.7]
    with pytest.raises(InputError, match=r"no column 'nope' \(--val-column\); columns are it, trn, dev"):
        read_logs(path, val_column="nope")


def test_nan_logged_is_kept_apart_from_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "training.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,0.9\n1,nan,\n2,inf,nan\n")
    (run,) = read_logs(path)
    assert sorted(run.curves.nonfinite) == [("train", 2.0), ("train", 3.0), ("val", 3.0)]
    assert np.isnan(run.curves.val[1])  # empty cell: missing, not flagged


def test_bad_value_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "training.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,0.9\n1,oops,0.8\n")
    with pytest.raises(InputError, match=r"training.csv: row 3, column 'loss': 'oops' is not a number"):
        read_logs(path)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        read_logs(tmp_path / "nope.csv")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="no training logs found"):
        read_logs(tmp_path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_text('{"log_history": [\n{"loss": 1,}\n]}')
    with pytest.raises(InputError, match=r"trainer_state.json: not valid JSON \(line 2"):
        read_logs(path)


def test_folder_of_runs_is_read_run_by_run(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "training.csv").write_text(KERAS)
        (tmp_path / name / "run_config.json").write_text(json.dumps({"dropout": 0.2 if name == "a" else 0.0}))
    runs = read_logs(tmp_path)
    assert [r.name for r in runs] == ["a/training", "b/training"]
    assert [r.metadata["dropout"] for r in runs] == [0.2, 0.0]


def test_tensorboard_keras_layout(tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    for sub, values in (("train", [2.0, 1.0, 0.8]), ("validation", [1.5, 0.9, 0.85])):
        writer = SummaryWriter(log_dir=str(tmp_path / "logs" / sub))
        for epoch, value in enumerate(values):
            writer.add_scalar("epoch_loss", value, epoch)
        writer.close()
    (run,) = read_logs(tmp_path / "logs")
    assert run.format == "tensorboard"
    assert run.columns["train"] == "train/epoch_loss" and run.columns["val"] == "validation/epoch_loss"
    assert run.curves.epoch.tolist() == [1.0, 2.0, 3.0]
    assert run.curves.train.tolist() == pytest.approx([2.0, 1.0, 0.8])
    assert run.curves.val.tolist() == pytest.approx([1.5, 0.9, 0.85])


def test_tensorboard_without_the_package_names_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"")
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(MissingExtraError, match="pip install tensorboard"):
        read_logs(tmp_path)
