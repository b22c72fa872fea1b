"""Run metadata: the training settings that explain a loss curve, read from files and normalised.

Sources, later ones overriding earlier ones: Hugging Face model ``config.json`` (dropout
probabilities), ``training_args.json`` and ``trainer_state.json`` (batch size, label smoothing, weight
decay, schedule), Lightning ``hparams.yaml``, a ``run_config.{json,yaml,yml}`` beside the log, and
finally the file or mapping given as ``--run-config`` / ``run_config=``.

Documented keys (:data:`KEYS`); the aliases in parentheses are recognised too, nested tables are
flattened and keys are case-insensitive:

=====================  =============================================================================
key                    meaning
=====================  =============================================================================
dropout                largest dropout rate active in training (``dropout_rate``, ``drop_rate``,
                       ``p_dropout``, any ``*dropout*`` / ``*pdrop*`` number, e.g. ``hidden_dropout_prob``)
augmentation           training-only input augmentation: true/false or a description
                       (``augment``, ``data_augmentation``, ``augmentations``, ``mixup``, ``cutmix``,
                       ``randaugment``, ``random_erasing``)
label_smoothing        label smoothing of the training loss (``label_smoothing_factor``)
weight_decay           weight decay / L2 coefficient (``wd``, ``l2``, ``l2_reg``)
weight_decay_in_loss   true when the penalty is added to the *logged* training loss (Keras
                       ``kernel_regularizer``); AdamW/SGD weight decay is not (default false)
batch_size             training batch size (``per_device_train_batch_size``, ``train_batch_size``, ``bs``)
val_size               number of validation items (``n_val``, ``num_val``, ``validation_size``,
                       ``eval_size``, ``num_val_samples``); a number below 1 is read as a fraction of
                       ``train_size + val_size`` when ``train_size`` is known
val_loss_std           standard deviation of the per-item validation loss, when measured (sharpens the
                       expected noise of the validation curve)
train_size             number of training items (``n_train``, ``num_train``)
learning_rate          (peak) learning rate (``lr``, ``base_lr``, ``max_lr``)
lr_schedule            learning-rate schedule (``lr_scheduler_type``, ``scheduler``, ``lr_scheduler``)
optimizer              optimiser name (``optim``)
epochs                 planned number of epochs (``num_train_epochs``, ``max_epochs``)
train_loss_kind        ``interval_mean`` (default: the logged training loss averages the epoch) or
                       ``point`` (it was measured at the end of the epoch)
n_classes              number of classes of a classifier trained with cross-entropy (``num_classes``,
                       ``num_labels``): a loss that stays at ``ln(n_classes)`` means nothing is learnt
=====================  =============================================================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from splitcheck.errors import ConfigError, InputError, MissingExtraError

KEYS = ("dropout", "augmentation", "label_smoothing", "weight_decay", "weight_decay_in_loss", "batch_size",
        "val_size", "val_loss_std", "train_size", "learning_rate", "lr_schedule", "optimizer", "epochs",
        "train_loss_kind", "n_classes")

_ALIASES = {
    "dropout": "dropout", "dropout_rate": "dropout", "drop_rate": "dropout", "p_dropout": "dropout",
    "augmentation": "augmentation", "augment": "augmentation", "data_augmentation": "augmentation",
    "augmentations": "augmentation", "aug": "augmentation", "mixup": "augmentation", "cutmix": "augmentation",
    "randaugment": "augmentation", "rand_augment": "augmentation", "random_erasing": "augmentation",
    "label_smoothing": "label_smoothing", "label_smoothing_factor": "label_smoothing", "smoothing": "label_smoothing",
    "weight_decay": "weight_decay", "wd": "weight_decay", "l2": "weight_decay", "l2_reg": "weight_decay",
    "l2_lambda": "weight_decay",
    "weight_decay_in_loss": "weight_decay_in_loss", "l2_in_loss": "weight_decay_in_loss",
    "batch_size": "batch_size", "per_device_train_batch_size": "batch_size", "train_batch_size": "batch_size",
    "bs": "batch_size",
    "val_size": "val_size", "n_val": "val_size", "num_val": "val_size", "validation_size": "val_size",
    "eval_size": "val_size", "num_val_samples": "val_size", "val_samples": "val_size", "n_validation": "val_size",
    "val_loss_std": "val_loss_std",
    "train_size": "train_size", "n_train": "train_size", "num_train": "train_size", "num_train_samples": "train_size",
    "learning_rate": "learning_rate", "lr": "learning_rate", "base_lr": "learning_rate", "max_lr": "learning_rate",
    "lr_schedule": "lr_schedule", "lr_scheduler_type": "lr_schedule", "scheduler": "lr_schedule",
    "lr_scheduler": "lr_schedule",
    "optimizer": "optimizer", "optim": "optimizer",
    "epochs": "epochs", "num_train_epochs": "epochs", "max_epochs": "epochs", "n_epochs": "epochs",
    "train_loss_kind": "train_loss_kind",
    "n_classes": "n_classes", "num_classes": "n_classes", "num_labels": "n_classes", "nb_classes": "n_classes",
}
_NUMERIC = {"dropout", "label_smoothing", "weight_decay", "batch_size", "val_size", "val_loss_std", "train_size",
            "learning_rate", "epochs", "n_classes"}
_BOOLEAN = {"weight_decay_in_loss"}

#: File names read automatically beside a log, in increasing priority.
AUTO_FILES = ("config.json", "training_args.json", "hparams.yaml", "run_config.json", "run_config.yaml",
              "run_config.yml")


def load_mapping(path: str | Path) -> dict[str, Any]:
    """A JSON or YAML file as a mapping (``ConfigError`` naming the file when it is not one)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read the run configuration: {exc.strerror or exc}") from None
    if p.suffix.lower() in {".yaml", ".yml"}:
        data = _load_yaml(text, p)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: expected a mapping of settings (key: value), got a {type(data).__name__}")
    return dict(data)


def _load_yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError:
        raise MissingExtraError(f"{path}: reading YAML needs PyYAML: pip install pyyaml") from None

    class _Loader(yaml.SafeLoader):
        """SafeLoader that turns unknown tags (Lightning's ``!!python/object``) into plain values."""

    def _any(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    _Loader.add_multi_constructor("", _any)  # type: ignore[no-untyped-call]
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):  # aliases can nest into billions of values ("billion laughs")
                raise ConfigError(f"{path}: YAML aliases (*name) are not accepted in run settings; write the "
                                  "values out")
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def normalise(raw: Mapping[str, Any], *, strict: bool = False, source: str = "run configuration") -> dict[str, Any]:
    """Map raw settings (any nesting, aliases) onto :data:`KEYS`.

    With ``strict`` (an explicit ``--run-config``), a documented key with an unusable value is a
    ``ConfigError``; files found beside the logs are read leniently (unusable values are dropped).
    """
    out: dict[str, Any] = {}
    dropouts: list[float] = []
    for key, value in _flatten(raw):
        lowered = key.lower()
        target = _ALIASES.get(lowered)
        if target is None and ("dropout" in lowered or "pdrop" in lowered):
            target = "dropout"
        if target is None:
            continue
        parsed = _parse(target, value)
        if parsed is _BAD:
            if strict:
                raise ConfigError(f"{source}: {key} = {value!r} is not a usable {_kind(target)}")
            continue
        if parsed is None:
            continue
        if target == "dropout":
            dropouts.append(float(parsed))
            continue
        if target == "augmentation" and out.get("augmentation"):
            continue  # keep the first truthy description
        out[target] = parsed
    if dropouts:
        out["dropout"] = max(dropouts)
    if "val_size" in out and 0 < out["val_size"] < 1:
        fraction = out.pop("val_size")
        if "train_size" in out:
            out["val_size"] = round(out["train_size"] * fraction / (1 - fraction))
        else:
            out["val_fraction"] = fraction
    for key in ("batch_size", "val_size", "train_size", "n_classes"):
        if key in out:
            out[key] = int(round(out[key]))
    return out


_BAD = object()


def _kind(target: str) -> str:
    if target in _NUMERIC:
        return "non-negative number"
    if target in _BOOLEAN:
        return "true/false value"
    return "value"


def _parse(target: str, value: Any) -> Any:
    if target in _NUMERIC:
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none", "null"}):
            return None
        if isinstance(value, bool):
            return _BAD
        try:
            number = float(value)
        except (TypeError, ValueError):
            return _BAD
        if not math.isfinite(number) or number < 0:
            return _BAD
        return number
    if target in _BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "false", "no", "0"}:
            return value.strip().lower() in {"true", "yes", "1"}
        return _BAD
    if target == "augmentation":
        if value is None or value is False:
            return False
        if isinstance(value, str):
            return False if value.strip().lower() in {"", "none", "false", "no", "off", "0"} else value.strip()
        if isinstance(value, (int, float)):
            return bool(value)
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value)) if value else False
        if isinstance(value, Mapping):
            return ", ".join(str(k) for k, v in value.items() if v) or False
        return str(value)
    if target == "train_loss_kind":
        text = str(value).strip().lower()
        return text if text in {"interval_mean", "point"} else _BAD
    return None if value is None else str(value)


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in raw.items():
        if isinstance(value, Mapping) and str(key).lower() not in {"augmentation", "augmentations"}:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield str(key), value


def read_beside(folder: Path, *, extra: Iterable[Path] = ()) -> tuple[dict[str, Any], list[str]]:
    """Normalised metadata from the files of :data:`AUTO_FILES` in ``folder`` (and ``extra`` files)."""
    merged: dict[str, Any] = {}
    sources: list[str] = []
    candidates = [folder / name for name in AUTO_FILES] + list(extra)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            raw = load_mapping(path)
        except (ConfigError, InputError, MissingExtraError):
            continue
        found = normalise(raw, source=str(path))
        if found:
            merged.update(found)
            sources.append(str(path))
    return merged, sources
