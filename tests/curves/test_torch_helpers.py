"""The evaluation-mode training-loss probe: fixed subset, evaluation mode, mode restored."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from splitcheck.errors import InputError, MissingExtraError
from splitcheck.torch_helpers import TRAIN_EVAL_COLUMN, EvalModeTrainLoss


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def data(n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_eval_mode_loss_on_a_fixed_subset() -> None:
    net = model()
    X, y = data()
    probe = EvalModeTrainLoss((X, y), n_items=40, batch_size=7, seed=3)
    assert len(probe) == 40 and probe.indices.tolist() == sorted(probe.indices.tolist())
    net.train()
    value = probe(net)
    assert net.training  # mode restored
    net.eval()
    with torch.no_grad():
        expected = nn.functional.cross_entropy(net(X[probe.indices]), y[probe.indices]).item()
    assert value == pytest.approx(expected, rel=1e-6)
    assert probe(net) == pytest.approx(value, rel=1e-6)  # dropout off: deterministic
    assert EvalModeTrainLoss((X, y), n_items=40, seed=3).indices.tolist() == probe.indices.tolist()
    assert TRAIN_EVAL_COLUMN == "train_eval_loss"


def test_dataset_input_and_reduced_loss() -> None:
    X, y = data(10)
    dataset = [(X[i], y[i]) for i in range(10)]
    probe = EvalModeTrainLoss(dataset, n_items=100, loss_fn=lambda out, t: nn.functional.cross_entropy(out, t))
    assert len(probe) == 10
    net = model().eval()
    with torch.no_grad():
        assert probe(net) == pytest.approx(nn.functional.cross_entropy(net(X), y).item(), rel=1e-6)


def test_bad_arguments() -> None:
    X, y = data(10)
    with pytest.raises(InputError, match="n_items must be a positive integer; got 0"):
        EvalModeTrainLoss((X, y), n_items=0)
    with pytest.raises(InputError, match="inputs and targets differ in length: 10 vs 9"):
        EvalModeTrainLoss((X, y[:9]))
    with pytest.raises(InputError, match="needs at least one training item"):
        EvalModeTrainLoss((X[:0], y[:0]))


def test_without_torch_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'splitcheck\[torch\]'"):
        EvalModeTrainLoss(([[0.0]], [0]))
