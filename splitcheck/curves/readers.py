"""Readers for training logs: Keras ``CSVLogger``, Lightning ``metrics.csv``, Hugging Face
``trainer_state.json``, TensorBoard event files (with the ``tensorboard`` package), and generic
CSV/JSON histories.

:func:`read_logs` takes a file or a folder. A folder may hold several runs (each Lightning
``version_*``, each Hugging Face output folder, each CSV/JSON history, each TensorBoard log folder is
one run, named by its path relative to the folder). Columns are recognised by their conventional names
(:data:`TRAIN_NAMES`, :data:`VAL_NAMES`, ...); ``train_column``, ``val_column``, ``epoch_column`` and
``step_column`` override the guess. Every run records which columns were used (``Run.columns``), and
run settings found beside the log (``Run.metadata``, see :mod:`splitcheck.curves.metadata`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.curves.metadata import read_beside
from splitcheck.curves.model import STEP_COLUMNS, Curves, Run
from splitcheck.errors import InputError, MissingExtraError

#: Column names recognised, in order of preference (compared case-insensitively).
TRAIN_NAMES = ("train_loss_epoch", "train_loss", "loss", "training_loss", "train/loss", "loss/train", "train_epoch_loss",
               "loss_epoch", "trn_loss", "tr_loss", "train/epoch_loss", "epoch_loss")
TRAIN_STEP_NAMES = ("train_loss_step", "loss_step", "train/loss_step", "batch_loss", "train/batch_loss")
VAL_NAMES = ("val_loss", "val_loss_epoch", "valid_loss", "validation_loss", "eval_loss", "val/loss", "loss/val",
             "valid/loss", "validation/loss", "eval/loss", "loss/validation", "dev_loss", "validation/epoch_loss",
             "val/epoch_loss", "val_epoch_loss")
TRAIN_EVAL_NAMES = ("train_eval_loss", "train_loss_eval", "eval_train_loss", "train_eval/loss")
EPOCH_NAMES = ("epoch", "epochs", "train/epoch")
STEP_NAMES = ("step", "global_step", "steps", "iteration", "iter", "trainer/global_step")
LR_NAMES = ("lr", "learning_rate", "train/learning_rate", "lr-adam", "lr-adamw", "lr-sgd", "epoch_learning_rate")

#: Files that sit beside logs but are not logs.
_NOT_LOGS = {"config.json", "training_args.json", "run_config.json", "scan.json", "hparams.yaml",
             "run_config.yaml", "run_config.yml", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json", "generation_config.json", "preprocessor_config.json", "vocab.json",
             "adapter_config.json", "all_results.json", "eval_results.json", "train_results.json"}


def read_logs(path: str | Path, *, train_column: str | None = None, val_column: str | None = None,
              epoch_column: str | None = None, step_column: str | None = None) -> list[Run]:
    """Read every training run in ``path`` (a log file or a folder of runs).

    Raises :class:`InputError` naming the file when nothing usable is found or a file is malformed.
    """
    overrides = {k: v for k, v in (("train", train_column), ("val", val_column), ("epoch", epoch_column),
                                   ("step", step_column)) if v}
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.is_file():
        if _is_tensorboard_file(p):
            return [_read_tensorboard(p.parent, p.parent, overrides, name=p.parent.name)]
        return [_read_file(p, _owner(p).name, overrides)]
    runs: list[Run] = []
    for kind, target in _discover(p):
        name = _run_name(p, target if kind == "tensorboard" else _owner(target))
        if kind == "tensorboard":
            runs.append(_read_tensorboard(target, p, overrides, name=name))
        else:
            runs.append(_read_file(target, name, overrides))
    if not runs:
        raise InputError(f"{p}: no training logs found (looked for Keras/Lightning CSV, trainer_state.json, "
                         "JSON histories and TensorBoard event files)")
    return runs


def _owner(path: Path) -> Path:
    """The folder or file that names the run of a log file."""
    if path.name.lower() == "trainer_state.json":
        return path.parent.parent if path.parent.name.startswith("checkpoint-") else path.parent
    if path.name.lower() == "metrics.csv":
        return path.parent
    return path.with_suffix("")


def _run_name(root: Path, target: Path) -> str:
    try:
        rel = target.relative_to(root)
    except ValueError:
        return target.name
    return str(rel) if str(rel) not in {"", "."} else root.name


# ----------------------------------------------------------------------------------------------- discovery

def _discover(root: Path) -> list[tuple[str, Path]]:
    """(kind, path) of every run under ``root``: ``file`` for a log file, ``tensorboard`` for a folder."""
    found: list[tuple[str, Path]] = []
    states: dict[Path, Path] = {}
    tb_dirs: set[Path] = set()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if _is_tensorboard_file(path):
            folder = path.parent
            if folder.name in {"train", "validation", "val", "eval", "valid"} and folder.parent != root.parent:
                folder = folder.parent
            tb_dirs.add(folder)
            continue
        name = path.name.lower()
        if name == "trainer_state.json":
            # checkpoint-*/trainer_state.json: one run per output folder, the latest checkpoint wins
            owner = path.parent.parent if path.parent.name.startswith("checkpoint-") else path.parent
            best = states.get(owner)
            # the output folder's own (final) state wins; otherwise the latest checkpoint
            if best is None or (best.parent != owner and (path.parent == owner or _global_step(path) > _global_step(best))):
                states[owner] = path
            continue
        if name in _NOT_LOGS or path.suffix.lower() not in {".csv", ".tsv", ".json", ".jsonl"}:
            continue
        if _looks_like_log(path):
            found.append(("file", path))
    found.extend(("file", p) for p in states.values())
    found.extend(("tensorboard", d) for d in sorted(tb_dirs))
    return sorted(found, key=lambda kp: str(kp[1]))


def _global_step(path: Path) -> int:
    match = re.search(r"checkpoint-(\d+)", str(path.parent.name))
    return int(match.group(1)) if match else -1


def _is_tensorboard_file(path: Path) -> bool:
    return "tfevents" in path.name


def _looks_like_log(path: Path) -> bool:
    """A CSV/JSON file whose header or keys name a loss."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return bool(re.search(r"loss", head, re.IGNORECASE))


# ----------------------------------------------------------------------------------------------- files

def _read_file(path: Path, name: str, overrides: dict[str, str]) -> Run:
    suffix = path.suffix.lower()
    if suffix in {".json", ".jsonl"}:
        data = _load_json(path)
        if isinstance(data, dict) and "log_history" in data:
            return _read_hf(path, data, name, overrides)
        table = _json_table(path, data)
        fmt = "generic-json"
    elif suffix in {".csv", ".tsv", ".txt", ""}:
        table = _csv_table(path)
        fmt = "csv"
    else:
        raise InputError(f"{path}: unsupported log file type {suffix!r} (expected .csv, .tsv, .json, .jsonl or "
                         "a TensorBoard event file)")
    return _from_table(table, path, name, overrides, fmt)


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".jsonl":
        records = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}: line {lineno} is not valid JSON ({exc.msg})") from None
        return records
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None


def _json_table(path: Path, data: Any) -> pd.DataFrame:
    """A list of records, a mapping of equal-length lists (Keras ``history.history``) or ``{"history": ...}``."""
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), (list, dict)):
        data = next(iter(data.values()))
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records([{k: _mark_nonfinite(v) for k, v in r.items()} for r in data])
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise InputError(f"{path}: the lists of this history differ in length ({sorted(lengths)})")
        return pd.DataFrame({k: [_mark_nonfinite(x) for x in v] for k, v in data.items()})
    raise InputError(f"{path}: not a training history (expected a list of records, a mapping of lists like "
                     "Keras' history.history, or a Hugging Face trainer_state.json)")


def _mark_nonfinite(value: Any) -> Any:
    """A logged NaN/inf becomes text, so that it stays apart from a missing value (NaN) in the table."""
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def _csv_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig", keep_default_na=False,
                            dtype=str)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    return table


# ----------------------------------------------------------------------------------------------- columns

def _find(columns: Iterable[str], names: Iterable[str]) -> str | None:
    lowered = {str(c).lower(): str(c) for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _pick(table: pd.DataFrame, role: str, names: Iterable[str], overrides: dict[str, str], path: Path,
          exclude: Iterable[str | None] = ()) -> str | None:
    if role in overrides:
        wanted = overrides[role]
        if wanted not in table.columns:
            match = _find(table.columns, [wanted.lower()])
            if match is None:
                raise InputError(f"{path}: no column {wanted!r} (--{role}-column); columns are "
                                 + ", ".join(map(str, table.columns)))
            return match
        return wanted
    excluded = {e for e in exclude if e}
    return _find([c for c in table.columns if c not in excluded], names)


_MISSING = {"", "none", "null"}
_NONFINITE = {"nan": np.nan, "-nan": np.nan, "inf": np.inf, "+inf": np.inf, "-inf": -np.inf, "infinity": np.inf,
              "-infinity": -np.inf}


def _numeric(table: pd.DataFrame, column: str, path: Path) -> tuple[pd.Series, np.ndarray]:
    """The column as floats (NaN where empty or logged as NaN) and a mask of values logged as NaN/inf."""
    raw = table[column]
    text = raw.map(lambda v: str(v).strip().lower() if v is not None and not (isinstance(v, float) and np.isnan(v))
                   else "")
    missing = text.isin(_MISSING).to_numpy()
    nonfinite = text.isin(set(_NONFINITE)).to_numpy()
    cleaned = raw.where(~(missing | nonfinite), None)
    values = pd.to_numeric(cleaned, errors="coerce").astype(float)
    bad = values.isna().to_numpy() & ~missing & ~nonfinite
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{path}: row {row + 2}, column {column!r}: {raw.iloc[row]!r} is not a number")
    values[nonfinite] = [_NONFINITE[t] for t in text[nonfinite]]
    return values, nonfinite


def _from_table(table: pd.DataFrame, path: Path, name: str, overrides: dict[str, str], fmt: str) -> Run:
    if table.empty:
        raise InputError(f"{path}: the log has no rows")
    table = table.copy()
    table.columns = [str(c).strip() for c in table.columns]
    val_col = _pick(table, "val", VAL_NAMES, overrides, path)
    train_eval_col = _find(table.columns, TRAIN_EVAL_NAMES)
    step_train_col = _find(table.columns, TRAIN_STEP_NAMES)
    train_col = _pick(table, "train", TRAIN_NAMES, overrides, path, exclude=[val_col, train_eval_col, step_train_col])
    epoch_col = _pick(table, "epoch", EPOCH_NAMES, overrides, path)
    step_col = _pick(table, "step", STEP_NAMES, overrides, path)
    lr_col = _find(table.columns, LR_NAMES) or next((c for c in table.columns if c.lower().startswith("lr-")), None)
    if val_col is None and train_col is None and step_train_col is None:
        raise InputError(f"{path}: no loss column recognised among {', '.join(table.columns)}; name them with "
                         "--train-column and --val-column")
    columns = {role: col for role, col in (("train", train_col), ("val", val_col), ("train_step", step_train_col),
                                           ("train_eval", train_eval_col), ("epoch", epoch_col), ("step", step_col),
                                           ("lr", lr_col)) if col}
    parsed = {role: _numeric(table, col, path) for role, col in columns.items()}
    data = {role: values for role, (values, _) in parsed.items()}
    flags = {role: mask for role, (_, mask) in parsed.items() if role in {"train", "val", "train_step", "train_eval"}}
    notes: list[str] = []
    interleaved = step_col is not None and (
        step_train_col is not None
        or (val_col is not None and data["val"].isna().any() and train_col is not None and data["train"].notna().any()
            and (data["train"].notna() & data["val"].isna()).any() and (data["val"].notna() & data["train"].isna()).any()
            and epoch_col is not None and _train_rows_outnumber_epochs(data))
    )
    if interleaved:
        curves, kind, positions = _interleaved(data, notes)
        fmt = "lightning-csv" if fmt == "csv" else fmt
    else:
        curves, kind, positions = _per_row(data, notes, path, flags)
    for role, mask in flags.items():
        for row in np.flatnonzero(mask):
            if np.isfinite(positions[row]):
                curves._flag(role, float(positions[row]))
        if fmt == "csv":
            fmt = "keras-csv" if columns.get("train", "").lower() == "loss" and columns.get("epoch") else "generic-csv"
    run = Run(name=name, curves=curves, format=fmt, source=path, columns=columns, notes=notes)
    _attach_metadata(run, path.parent, extra_dirs=[path.parent.parent] if path.parent.name.startswith("version_") else [])
    if kind:
        run.curves.unit = kind
    return run


def _train_rows_outnumber_epochs(data: dict[str, pd.Series]) -> bool:
    train_only = (data["train"].notna() & data["val"].isna()).sum()
    epochs = data["epoch"].nunique()
    return bool(train_only > 1.5 * epochs)


def _positions(epoch: pd.Series | None, step: pd.Series | None, n: int, notes: list[str]) -> tuple[np.ndarray, str]:
    """Evaluation positions in epochs completed (or steps/rows when the log has no epochs)."""
    if epoch is not None and epoch.notna().any():
        e = epoch.to_numpy(float)
        finite = e[np.isfinite(e)]
        integral = np.allclose(finite, np.round(finite))
        if integral:
            if finite.min() == 0:
                notes.append("epochs are 0-based: epoch e is read as ending at e + 1")
                return e + 1, "epoch"
            return e, "epoch"
        return e, "epoch"
    if step is not None and step.notna().any():
        notes.append("no epoch column: positions are training steps")
        return step.to_numpy(float), "step"
    notes.append("no epoch or step column: positions are row numbers")
    return np.arange(1, n + 1, dtype=float), "row"


def _per_row(data: dict[str, pd.Series], notes: list[str], path: Path,
             flags: dict[str, np.ndarray]) -> tuple[Curves, str, np.ndarray]:
    n = len(next(iter(data.values())))
    x, unit = _positions(data.get("epoch"), data.get("step"), n, notes)
    frame = pd.DataFrame({"epoch": x})
    for role, column in (("val", "val_loss"), ("train", "train_loss"), ("train_eval", "train_eval_loss"), ("lr", "lr")):
        frame[column] = data[role].to_numpy(float) if role in data else np.nan
    logged = frame[["val_loss", "train_loss", "train_eval_loss"]].notna().any(axis=1).to_numpy().copy()
    for mask in flags.values():
        logged |= mask
    frame = frame[logged & np.isfinite(frame["epoch"].to_numpy())]
    if frame.empty:
        raise InputError(f"{path}: no row holds a loss value")
    frame = frame.groupby("epoch", as_index=False, sort=True).last()
    return Curves(frame, unit=unit), unit, x


def _interleaved(data: dict[str, pd.Series], notes: list[str]) -> tuple[Curves, str, np.ndarray]:
    """Lightning-style rows: step rows (a step-level training loss) and epoch rows (validation loss,
    epoch-averaged training loss) interleaved; empty cells for metrics a row does not carry."""
    step = data["step"]
    epoch = data.get("epoch")
    step_loss = data["train_step"] if "train_step" in data else data["train"].where(data["val"].isna()) \
        if "val" in data else data["train"]
    epoch_train = data["train"] if "train_step" in data and "train" in data else None
    val = data.get("val")
    step_rows = step_loss.notna()
    # steps per epoch: the step reached at each epoch's last row
    spe: float | None = None
    if epoch is not None and epoch.notna().any():
        last_step = step.groupby(epoch).max().dropna()
        if len(last_step) >= 2:
            spe = float(np.median(np.diff(last_step.to_numpy())))
        elif len(last_step) == 1:
            spe = float(last_step.iloc[0]) + 1.0
    steps = pd.DataFrame(columns=list(STEP_COLUMNS), dtype=float)
    if step_rows.any():
        s = step[step_rows].to_numpy(float) + 1.0  # Lightning's step column is 0-based
        steps = pd.DataFrame({"step": s, "epoch": s / spe if spe else s, "window": 0.0,
                              "train_loss": step_loss[step_rows].to_numpy(float)})
    eval_rows = pd.Series(False, index=step.index)
    for series in (val, epoch_train, data.get("train_eval")):
        if series is not None:
            eval_rows |= series.notna() | np.isinf(series)
    frame = pd.DataFrame({
        "epoch_index": epoch[eval_rows].to_numpy(float) if epoch is not None else np.nan,
        "step": step[eval_rows].to_numpy(float),
        "val_loss": val[eval_rows].to_numpy(float) if val is not None else np.nan,
        "train_loss": epoch_train[eval_rows].to_numpy(float) if epoch_train is not None else np.nan,
        "train_eval_loss": data["train_eval"][eval_rows].to_numpy(float) if "train_eval" in data else np.nan,
    })
    if "lr" in data:
        lr_by_step = pd.Series(data["lr"].to_numpy(float), index=step.to_numpy(float)).dropna()
        lr_by_step = lr_by_step[~lr_by_step.index.duplicated(keep="last")].sort_index()
        frame["lr"] = [lr_by_step[lr_by_step.index <= s].iloc[-1] if (lr_by_step.index <= s).any() else np.nan
                       for s in frame["step"]]
    per_epoch_vals = frame.dropna(subset=["val_loss"]).groupby("epoch_index").size() if val is not None else pd.Series()
    several = bool(len(per_epoch_vals) and per_epoch_vals.max() > 1)
    if several and spe:
        notes.append("several validations per epoch: positions are (step + 1) / steps per epoch")
        frame["epoch"] = (frame["step"] + 1.0) / spe
        grouped = frame.groupby("epoch", as_index=False, sort=True).last()
    else:
        grouped = frame.groupby("epoch_index", as_index=False, sort=True).last()
        grouped["epoch"] = grouped["epoch_index"] + 1.0
    if epoch_train is None and len(steps):
        # no epoch-level training loss logged: the mean of the step losses of each interval
        bounds = np.concatenate([[0.0], grouped["epoch"].to_numpy()])
        means = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            inside = steps[(steps["epoch"] > lo + 1e-9) & (steps["epoch"] <= hi + 1e-9)]["train_loss"]
            means.append(float(inside.mean()) if len(inside) else np.nan)
        grouped["train_loss"] = means
        notes.append("training loss per epoch = mean of the logged step losses")
    curves = Curves(grouped.drop(columns=["epoch_index", "step"], errors="ignore"), steps, steps_per_epoch=spe)
    if several and spe:
        positions = (step.to_numpy(float) + 1.0) / spe
    else:
        positions = epoch.to_numpy(float) + 1.0 if epoch is not None else np.full(len(step), np.nan)
    # a logged NaN in a step row sits at its step, not at the epoch end
    step_positions = (step.to_numpy(float) + 1.0) / spe if spe else positions
    positions = np.where(step_rows.to_numpy() & ~eval_rows.to_numpy(), step_positions, positions)
    return curves, "epoch", positions


# ----------------------------------------------------------------------------------------------- Hugging Face

def _read_hf(path: Path, state: dict[str, Any], name: str, overrides: dict[str, str]) -> Run:
    history = state.get("log_history")
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise InputError(f"{path}: log_history is not a list of records")
    val_key = overrides.get("val") or _hf_val_key(history)
    train_key = overrides.get("train", "loss")
    logging_steps = state.get("logging_steps") or None
    spe_values = [e["step"] / e["epoch"] for e in history
                  if isinstance(e.get("step"), (int, float)) and isinstance(e.get("epoch"), (int, float)) and e["epoch"] > 0]
    spe = float(np.median(spe_values)) if spe_values else None
    if spe:
        spe = float(round(spe)) if abs(spe - round(spe)) < 0.05 * spe else spe
    step_rows, eval_rows = [], []
    extra_meta: dict[str, Any] = {}
    for entry in history:
        epoch = entry.get("epoch")
        step = entry.get("step")
        if "train_runtime" in entry or "train_loss" in entry and train_key != "train_loss":
            if isinstance(entry.get("train_loss"), (int, float)):
                extra_meta["train_loss_overall"] = float(entry["train_loss"])
            continue
        if val_key and val_key in entry:
            eval_rows.append({"epoch": _pos(epoch, step, spe), "val_loss": _float(entry[val_key]),
                              "train_eval_loss": _float(entry.get("eval_train_loss", np.nan))})
            runtime, rate = entry.get(f"{val_key[:-4]}runtime" if val_key.endswith("loss") else "eval_runtime"), \
                entry.get("eval_samples_per_second")
            if isinstance(runtime, (int, float)) and isinstance(rate, (int, float)) and runtime > 0 and rate > 0:
                extra_meta.setdefault("_val_sizes", []).append(runtime * rate)
        if train_key in entry:
            window = (logging_steps / spe) if logging_steps and spe else 0.0
            step_rows.append({"step": float(step) if step is not None else np.nan, "epoch": _pos(epoch, step, spe),
                              "window": window, "train_loss": _float(entry[train_key]),
                              "lr": _float(entry.get("learning_rate", np.nan))})
    if not eval_rows and not step_rows:
        raise InputError(f"{path}: log_history holds no '{train_key}' or evaluation loss entries")
    steps = pd.DataFrame(step_rows, columns=["step", "epoch", "window", "train_loss", "lr"])
    evals = pd.DataFrame(eval_rows, columns=["epoch", "val_loss", "train_eval_loss"])
    if evals.empty:
        # no evaluation: the training curve alone, at its logging points
        evals = pd.DataFrame({"epoch": steps["epoch"], "train_loss": steps["train_loss"]})
        kind = "point"
    else:
        kind = "interval_mean"
        evals = evals.sort_values("epoch").reset_index(drop=True)
        bounds = np.concatenate([[0.0], evals["epoch"].to_numpy()])
        means, lrs = [], []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            inside = steps[(steps["epoch"] > lo + 1e-9) & (steps["epoch"] <= hi + 1e-9)]
            finite = inside["train_loss"]
            means.append(float(finite.mean()) if len(finite) else np.nan)
            lrs.append(float(inside["lr"].iloc[-1]) if len(inside) else np.nan)
        evals["train_loss"] = means
        evals["lr"] = lrs
    curves = Curves(evals, steps.drop(columns=["lr"]), steps_per_epoch=spe, train_loss_kind=kind)
    for series, frame, column in (("val", evals, "val_loss"), ("train_step", steps, "train_loss")):
        if column in frame:
            for position, value in zip(frame["epoch"], frame[column]):
                if not np.isfinite(value) and not (np.isnan(value) and series == "val" and kind == "point"):
                    curves._flag(series, float(position))
    columns = {"train_step": train_key, "epoch": "epoch", "step": "step"}
    if val_key:
        columns["val"] = val_key
    if step_rows:
        columns["train"] = f"{train_key} (mean over each evaluation interval)"
    notes = [f"{len(step_rows)} training-loss logs (each the mean since the previous log), {len(eval_rows)} evaluations"]
    run = Run(name=name, curves=curves, format="hf-trainer-state", source=path, columns=columns, notes=notes)
    meta: dict[str, Any] = {}
    if isinstance(state.get("train_batch_size"), (int, float)):
        meta["batch_size"] = int(state["train_batch_size"])
    if isinstance(state.get("num_train_epochs"), (int, float)):
        meta["epochs"] = float(state["num_train_epochs"])
    sizes = extra_meta.pop("_val_sizes", [])
    if sizes:
        meta["val_size"] = int(round(float(np.median(sizes))))
        run.notes.append(f"validation size {meta['val_size']} estimated from eval_runtime x eval_samples_per_second")
    meta.update(extra_meta)
    run.metadata.update(meta)
    run.metadata_sources.append(str(path))
    folders = [path.parent] + ([path.parent.parent] if path.parent.name.startswith("checkpoint-") else [])
    _attach_metadata(run, folders[0], extra_dirs=folders[1:])
    return run


def _hf_val_key(history: list[dict[str, Any]]) -> str | None:
    keys = {k for e in history for k in e}
    if "eval_loss" in keys:
        return "eval_loss"
    candidates = sorted(k for k in keys if k.startswith("eval_") and k.endswith("loss") and k != "eval_train_loss")
    return candidates[0] if candidates else None


def _pos(epoch: Any, step: Any, spe: float | None) -> float:
    if isinstance(epoch, (int, float)):
        return float(epoch)
    if isinstance(step, (int, float)) and spe:
        return float(step) / spe
    return float(step) if isinstance(step, (int, float)) else np.nan


def _float(value: Any) -> float:
    if value is None:
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


# ----------------------------------------------------------------------------------------------- TensorBoard

def _read_tensorboard(folder: Path, root: Path, overrides: dict[str, str], *, name: str | None = None) -> Run:
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        raise MissingExtraError(f"{folder}: reading TensorBoard event files needs the tensorboard package: "
                                "pip install tensorboard (or export the scalars to CSV)") from None
    scalars: dict[str, dict[int, float]] = {}
    event_dirs = sorted({p.parent for p in folder.rglob("*tfevents*") if p.is_file()})
    for event_dir in event_dirs:
        prefix = "" if event_dir == folder else str(event_dir.relative_to(folder)).replace("\\", "/") + "/"
        accumulator = EventAccumulator(str(event_dir), size_guidance={"scalars": 0, "tensors": 0})
        try:
            accumulator.Reload()
        except Exception as exc:  # corrupt event files raise assorted errors
            raise InputError(f"{event_dir}: cannot read the TensorBoard event files ({type(exc).__name__}: {exc})") from None
        tags = accumulator.Tags()
        for tag in tags.get("scalars", []):
            series = scalars.setdefault(prefix + tag, {})
            for event in accumulator.Scalars(tag):
                series[int(event.step)] = float(event.value)
        for tag in tags.get("tensors", []):
            series = scalars.setdefault(prefix + tag, {})
            for event in accumulator.Tensors(tag):
                try:
                    from tensorboard.util import tensor_util

                    value = float(np.asarray(tensor_util.make_ndarray(event.tensor_proto)).reshape(-1)[0])
                except Exception:
                    continue
                series[int(event.step)] = value
    scalars = {k: v for k, v in scalars.items() if v}
    if not scalars:
        raise InputError(f"{folder}: the TensorBoard event files hold no scalars")
    table = pd.DataFrame(scalars).sort_index()
    table.index.name = "step"
    table = table.reset_index()
    tags = [c for c in table.columns if c != "step"]
    epoch_indexed = all(t.split("/")[-1].startswith("epoch_") for t in tags if "loss" in t.lower())
    if epoch_indexed:
        table.insert(0, "epoch", table["step"])
        table = table.drop(columns=["step"])
    run = _from_table(table, folder, name or _run_name(root, folder), overrides, "tensorboard")
    run.format = "tensorboard"
    if epoch_indexed:
        run.notes.append("Keras epoch_* tags: the step of each value is its 0-based epoch")
    return run


# ----------------------------------------------------------------------------------------------- metadata

def _attach_metadata(run: Run, folder: Path, extra_dirs: list[Path] | None = None) -> None:
    merged: dict[str, Any] = {}
    sources: list[str] = []
    for directory in [*(extra_dirs or []), folder]:
        found, where = read_beside(directory)
        merged.update(found)
        sources.extend(where)
    if merged:
        run.metadata = {**run.metadata, **merged}
        run.metadata_sources.extend(s for s in sources if s not in run.metadata_sources)
    kind = run.metadata.get("train_loss_kind")
    if kind in {"interval_mean", "point"}:
        run.curves.train_loss_kind = kind


