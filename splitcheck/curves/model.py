"""The loss curves of one training run, on one time axis measured in epochs.

Every reader turns its log format into a :class:`Run` holding a :class:`Curves`:

* ``evals`` — one row per validation evaluation, sorted by position: ``epoch`` is the number of
  epochs completed when the validation loss was measured (``1.0`` after the first epoch; Keras' and
  Lightning's 0-based epoch ``e`` becomes ``e + 1``); ``val_loss``; ``train_loss``, the training loss
  as logged for the interval since the previous evaluation (an average over that interval, in training
  mode, unless ``train_loss_kind`` says otherwise); ``train_eval_loss``, the training loss measured in
  evaluation mode at the same moment as the validation loss (see :mod:`splitcheck.torch_helpers`), when
  logged; ``lr``, the learning rate, when logged. Missing values are NaN.
* ``steps`` — step-level training losses when the log has them: ``step`` (global optimiser step,
  1-based), ``epoch`` (epochs completed at the end of the logging window) and ``window`` (the width of
  the window the value averages, in epochs: ``0`` for a single batch), ``train_loss``.
* ``steps_per_epoch`` — optimiser steps per epoch, when known.

When a log has no epoch information at all, positions are whatever it counts (steps or rows) and
``unit`` says so; every analysis works on evaluation points and reports positions in that unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from splitcheck.errors import InputError

EVAL_COLUMNS = ("epoch", "val_loss", "train_loss", "train_eval_loss", "lr")
STEP_COLUMNS = ("step", "epoch", "window", "train_loss")


@dataclass
class Curves:
    """Validation and training loss series of one run (see the module docstring for the columns)."""

    evals: pd.DataFrame
    steps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(STEP_COLUMNS), dtype=float))
    steps_per_epoch: float | None = None
    unit: str = "epoch"
    #: ``interval_mean`` (the framework's running average over the epoch, the usual case) or ``point``
    #: (the training loss was measured at the evaluation moment, so no epoch-timing lag exists).
    train_loss_kind: str = "interval_mean"
    #: Values logged as NaN or infinite: (series, position) with series ``train``, ``val``, ``train_step``
    #: or ``train_eval``. Kept apart from empty cells, which are NaN in the frames too.
    nonfinite: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        evals = self.evals.copy()
        for column in EVAL_COLUMNS:
            if column not in evals:
                evals[column] = np.nan
        evals = evals[list(EVAL_COLUMNS)].astype(float)
        evals = evals[evals["epoch"].notna()].sort_values("epoch", kind="stable")
        self.evals = evals.drop_duplicates("epoch", keep="last").reset_index(drop=True)
        steps = self.steps.copy()
        for column in STEP_COLUMNS:
            if column not in steps:
                steps[column] = np.nan if column != "window" else 0.0
        self.steps = steps[list(STEP_COLUMNS)].astype(float).sort_values("epoch", kind="stable").reset_index(drop=True)
        for series, column in (("train", "train_loss"), ("val", "val_loss"), ("train_eval", "train_eval_loss")):
            values = self.evals[column].to_numpy()
            for position in self.epoch[np.isinf(values)]:
                self._flag(series, float(position))
        for position in self.steps["epoch"].to_numpy()[np.isinf(self.steps["train_loss"].to_numpy())]:
            self._flag("train_step", float(position))

    def _flag(self, series: str, position: float) -> None:
        if (series, position) not in self.nonfinite:
            self.nonfinite.append((series, position))

    # ---------------------------------------------------------------------------------------- views
    @property
    def epoch(self) -> np.ndarray:
        return self.evals["epoch"].to_numpy()

    @property
    def val(self) -> np.ndarray:
        return self.evals["val_loss"].to_numpy()

    @property
    def train(self) -> np.ndarray:
        return self.evals["train_loss"].to_numpy()

    @property
    def train_eval(self) -> np.ndarray:
        return self.evals["train_eval_loss"].to_numpy()

    @property
    def has_val(self) -> bool:
        return bool(self.evals["val_loss"].notna().any())

    @property
    def has_train(self) -> bool:
        return bool(self.evals["train_loss"].notna().any()) or bool(self.steps["train_loss"].notna().any())

    @property
    def has_train_eval(self) -> bool:
        return bool(self.evals["train_eval_loss"].notna().any())

    @property
    def has_steps(self) -> bool:
        return int(self.steps["train_loss"].notna().sum()) >= 2

    def __len__(self) -> int:
        return len(self.evals)

    @classmethod
    def from_arrays(
        cls,
        train_loss: Sequence[float] | np.ndarray | None = None,
        val_loss: Sequence[float] | np.ndarray | None = None,
        *,
        epochs: Sequence[float] | np.ndarray | None = None,
        train_eval_loss: Sequence[float] | np.ndarray | None = None,
        step_loss: Sequence[float] | np.ndarray | None = None,
        steps_per_epoch: float | None = None,
    ) -> Curves:
        """Curves from per-epoch arrays (epoch ``i`` ends at ``i + 1`` unless ``epochs`` is given) and,
        optionally, per-step training losses (``steps_per_epoch`` of them per epoch, one per step)."""
        lengths = {len(a) for a in (train_loss, val_loss, train_eval_loss, epochs) if a is not None}
        if not lengths:
            raise InputError("no loss values given: pass train_loss and/or val_loss")
        if len(lengths) > 1:
            raise InputError(f"per-epoch arrays differ in length: {sorted(lengths)}")
        n = lengths.pop()
        nonfinite = [(name, float(i + 1 if epochs is None else epochs[i]))
                     for name, values in (("train", train_loss), ("val", val_loss), ("train_eval", train_eval_loss))
                     if values is not None for i in np.flatnonzero(~np.isfinite(np.asarray(values, float)))]
        frame = pd.DataFrame({"epoch": np.arange(1, n + 1, dtype=float) if epochs is None else np.asarray(epochs, float)})
        for name, values in (("train_loss", train_loss), ("val_loss", val_loss), ("train_eval_loss", train_eval_loss)):
            frame[name] = np.nan if values is None else np.asarray(values, float)
        steps = pd.DataFrame(columns=list(STEP_COLUMNS), dtype=float)
        if step_loss is not None:
            if not steps_per_epoch:
                raise InputError("step_loss needs steps_per_epoch")
            values = np.asarray(step_loss, float)
            index = np.arange(1, len(values) + 1, dtype=float)
            steps = pd.DataFrame({"step": index, "epoch": index / steps_per_epoch, "window": 0.0, "train_loss": values})
            nonfinite += [("train_step", float(index[i] / steps_per_epoch)) for i in np.flatnonzero(~np.isfinite(values))]
        return cls(frame, steps, steps_per_epoch=steps_per_epoch, nonfinite=nonfinite)


@dataclass
class Run:
    """One training run read from a log: its curves, where they came from, and run metadata.

    ``columns`` maps each role (``train``, ``val``, ``train_step``, ``train_eval``, ``epoch``,
    ``step``, ``lr``) to the column or tag it was read from; ``metadata`` holds the run settings found
    beside the log (normalised keys, see :mod:`splitcheck.explain.metadata`), ``metadata_sources`` the
    files they came from; ``notes`` say what was assumed.
    """

    name: str
    curves: Curves
    format: str = "memory"
    source: Path | None = None
    columns: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metadata_sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_arrays(cls, train_loss: Sequence[float] | np.ndarray | None = None,
                    val_loss: Sequence[float] | np.ndarray | None = None, *, name: str = "run",
                    metadata: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """A run from in-memory arrays (see :meth:`Curves.from_arrays` for the keywords)."""
        return cls(name=name, curves=Curves.from_arrays(train_loss, val_loss, **kwargs),
                   metadata=dict(metadata or {}))

    def describe(self) -> str:
        """One line saying what was read: format, columns recognised, points."""
        roles = ", ".join(f"{role}={column}" for role, column in self.columns.items())
        c = self.curves
        parts = [f"{self.name}: {self.format}", f"{len(c)} evaluations"]
        if c.has_steps:
            parts.append(f"{int(c.steps['train_loss'].notna().sum())} step-level training losses")
        if c.steps_per_epoch:
            parts.append(f"{c.steps_per_epoch:g} steps per epoch")
        if roles:
            parts.append(f"columns {roles}")
        return "; ".join(parts)
