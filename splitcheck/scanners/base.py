"""The scanner contract, the registry, and the context every scanner reads from.

A scanner is one class in one file: a ``name``, the ``rules`` it may emit (code -> :class:`Rule`), the
modalities it applies to, its ``params`` (each a :class:`Param` with a default and a sentence of docs),
and ``run(context) -> list[Finding]``. ``skip_reason(context)`` says why it cannot run on these splits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from splitcheck.findings import Finding, Severity

if TYPE_CHECKING:
    from splitcheck.context import ScanContext
    from splitcheck.splits import Split


@dataclass(frozen=True)
class Rule:
    """A stable rule: kebab-case name, default severity, and a one-line description."""

    name: str
    severity: Severity
    doc: str


@dataclass(frozen=True)
class Param:
    """A scanner setting: its default, what it means, and a validator returning an error text or None."""

    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None


def in_range(lo: float | None = None, hi: float | None = None, *, integer: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            return f"must be {kind}"
        if lo is not None and value < lo:
            return f"must be {kind} >= {lo}"
        if hi is not None and value > hi:
            return f"must be {kind} <= {hi}"
        return None

    return check


class Scanner:
    """Base class; subclasses set the class attributes and implement :meth:`run`."""

    name: ClassVar[str] = ""
    rules: ClassVar[dict[str, Rule]] = {}
    modalities: ClassVar[frozenset[str]] = frozenset({"image", "table", "text", "vector"})
    params: ClassVar[dict[str, Param]] = {}
    #: True for deterministic scanners whose findings the signature cache may keep (see
    #: :mod:`splitcheck.scanner_memo`): a rescan of unchanged splits reads them instead of recomputing.
    memoise: ClassVar[bool] = False
    #: Slow-to-import modules the scanner needs; a first scan of many images imports them in the background
    #: while its workers decode (see :mod:`splitcheck._prefetch`).
    imports: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **settings: Any) -> None:
        self.settings = {key: p.default for key, p in self.params.items()}
        self.settings.update(settings)

    def skip_reason(self, context: ScanContext) -> str | None:
        """Why this scanner cannot run on these splits, or None."""
        if len(context.splits) < 2:
            return "needs at least two splits"
        return None

    def run(self, context: ScanContext) -> list[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finding(self, context: ScanContext, code: str, **fields: Any) -> Finding:
        """Build a finding of rule ``code`` with the severity the configuration gives it."""
        rule = self.rules[code]
        return Finding(code=code, name=rule.name, severity=context.severity_of(code, rule.severity),
                       scanner=self.name, **fields)


_REGISTRY: dict[str, type[Scanner]] = {}


def register(cls: type[Scanner]) -> type[Scanner]:
    """Class decorator adding a scanner to the registry (its ``name`` must be unique)."""
    if not cls.name or not cls.__doc__:
        raise TypeError(f"{cls.__name__} needs a name and a docstring")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise TypeError(f"a scanner named {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def registered_scanners() -> dict[str, type[Scanner]]:
    return dict(_REGISTRY)


def all_rules() -> dict[str, Rule]:
    return {code: rule for cls in _REGISTRY.values() for code, rule in cls.rules.items()}


def pairs_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Evidence table of item pairs with the standard columns."""
    columns = ["a_split", "a_id", "b_split", "b_id", "method", "distance"]
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def cluster_evidence(split: Split, items: np.ndarray, keys: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Evidence table of groups of items inside one split, and the number of groups.

    ``items`` are item positions and ``keys`` the group each belongs to (a digest, a component number).
    Rows are ordered by group (its first item) then item; ``cluster`` names each group's first item.
    """
    frame = pd.DataFrame({"i": np.asarray(items), "key": np.asarray(keys)})
    first = frame.groupby("key")["i"].transform("min")
    size = frame.groupby("key")["i"].transform("size")
    frame = frame.assign(first=first, size=size).sort_values(["first", "i"], kind="stable")
    evidence = pd.DataFrame({
        "split": split.name, "id": split.ids[frame["i"].to_numpy()],
        "cluster": split.ids[frame["first"].to_numpy()], "cluster_size": frame["size"].to_numpy().astype(int),
    })
    return evidence, int(frame["key"].nunique())
