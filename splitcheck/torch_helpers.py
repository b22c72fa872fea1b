"""A small PyTorch helper: the training loss measured in evaluation mode on a fixed training subset.

The training loss a framework logs is the average over the epoch, in training mode: dropout, input
noise and augmentation are on, label smoothing and penalties may be in it, and the weights improve
while it is being averaged. The validation loss is measured once, at the end of the epoch, in
evaluation mode. Logging the training loss the same way as the validation loss (evaluation mode, end
of the epoch, a fixed subset of training items) removes both differences at once, so
``splitcheck explain`` treats that column (``train_eval_loss``) as decisive evidence:

* if ``train_eval_loss`` is at or below the validation loss while the logged training loss is above
  it, regularisation and epoch timing explain the gap;
* if ``train_eval_loss`` stays above the validation loss, the validation data themselves are easier
  (or leaked, or a different class mix): the model, not the logging, sees them as easier.

Usage in a plain training loop::

    from splitcheck.torch_helpers import EvalModeTrainLoss

    probe = EvalModeTrainLoss((X_train, y_train), n_items=512)   # or a torch Dataset
    for epoch in range(epochs):
        ...train...
        row["train_eval_loss"] = probe(model)                      # log it beside val_loss

In PyTorch Lightning, call it from ``on_train_epoch_end`` of your module or callback:
``self.log("train_eval_loss", probe(self))``. torch is imported lazily; without it the helper raises
:class:`~splitcheck.errors.MissingExtraError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from splitcheck.errors import InputError, MissingExtraError

#: The column name ``splitcheck explain`` recognises for the evaluation-mode training loss.
TRAIN_EVAL_COLUMN = "train_eval_loss"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingExtraError(
            "splitcheck.torch_helpers needs PyTorch: pip install 'splitcheck[torch]'"
        ) from None
    return torch


class EvalModeTrainLoss:
    """Mean loss of a model in evaluation mode over a fixed, seeded subset of the training data.

    ``data`` is a ``(inputs, targets)`` pair of tensors (or arrays) or a ``torch.utils.data.Dataset``
    returning ``(input, target)``. ``n_items`` training items are drawn once (seeded by ``seed``) and
    reused at every call, so successive values differ only because the model changed. ``loss_fn``
    maps ``(outputs, targets)`` to per-item losses (``reduction="none"``); the default is plain
    cross-entropy without label smoothing, i.e. the loss the validation set is usually scored with.
    The value returned is the mean per-item loss, in the loss's own unit (nats for cross-entropy).
    """

    def __init__(
        self,
        data: Any,
        *,
        n_items: int = 512,
        loss_fn: Callable[[Any, Any], Any] | None = None,
        batch_size: int = 256,
        seed: int = 0,
        device: Any = None,
    ) -> None:
        torch = _torch()
        if n_items < 1:
            raise InputError(f"n_items must be a positive integer; got {n_items!r}")
        if batch_size < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        inputs, targets = _as_tensors(torch, data)
        n = len(inputs)
        if n == 0:
            raise InputError("EvalModeTrainLoss needs at least one training item; got an empty dataset")
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.randperm(n, generator=generator)[: min(n_items, n)]
        chosen, _ = torch.sort(chosen)
        self.indices = chosen
        self.inputs = inputs[chosen]
        self.targets = targets[chosen]
        self.batch_size = batch_size
        self.device = device
        self.loss_fn = loss_fn or (lambda out, y: torch.nn.functional.cross_entropy(out, y, reduction="none"))

    def __len__(self) -> int:
        return len(self.inputs)

    def __call__(self, model: Any) -> float:
        """The mean evaluation-mode loss of ``model`` on the fixed subset (the model's mode is restored)."""
        torch = _torch()
        was_training = bool(getattr(model, "training", False))
        device = self.device
        if device is None:
            params = list(model.parameters()) if hasattr(model, "parameters") else []
            device = params[0].device if params else "cpu"
        model.eval()
        total, count = 0.0, 0
        try:
            with torch.no_grad():
                for start in range(0, len(self.inputs), self.batch_size):
                    x = self.inputs[start:start + self.batch_size].to(device)
                    y = self.targets[start:start + self.batch_size].to(device)
                    losses = self.loss_fn(model(x), y)
                    if losses.dim() == 0:  # a reduced loss: weight it by the batch size
                        total += float(losses) * len(y)
                    else:
                        total += float(losses.sum())
                    count += len(y)
        finally:
            model.train(was_training)
        return total / count


def _as_tensors(torch: Any, data: Any) -> tuple[Any, Any]:
    if isinstance(data, (tuple, list)) and len(data) == 2 and not _is_item_pair_dataset(data):
        inputs, targets = (torch.as_tensor(d) for d in data)
        if len(inputs) != len(targets):
            raise InputError(f"inputs and targets differ in length: {len(inputs)} vs {len(targets)}")
        return inputs, targets
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        items = [data[i] for i in range(len(data))]
        if not items:
            return torch.empty(0), torch.empty(0)
        if not all(isinstance(it, Sequence) and len(it) >= 2 for it in items[:1]):
            raise InputError("a Dataset given to EvalModeTrainLoss must return (input, target) pairs")
        inputs = torch.stack([torch.as_tensor(it[0]) for it in items])
        targets = torch.stack([torch.as_tensor(it[1]) for it in items])
        return inputs, targets
    raise InputError(f"EvalModeTrainLoss needs (inputs, targets) or a Dataset; got {type(data).__name__}")


def _is_item_pair_dataset(data: Any) -> bool:
    """A list of exactly two (input, target) items must not be mistaken for (inputs, targets)."""
    return isinstance(data, list) and all(isinstance(d, tuple) for d in data)
