"""A stand-in for torchvision, first on the imagededup runner's sys.path.

imagededup imports torchvision at package import time for its CNN method, and PyPI's torchvision does not
load beside the CPU torch build used here. The benchmark only runs imagededup's hashing methods, which never
touch torchvision, so every name here resolves to an inert placeholder that fails loudly if actually used.
"""

from __future__ import annotations

from typing import Any


class Placeholder:
    """Any attribute or call gives another placeholder; converting it to data raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, item: str) -> Placeholder:
        if item.startswith("__"):
            raise AttributeError(item)
        return Placeholder(f"{self._name}.{item}")

    def __call__(self, *args: Any, **kwargs: Any) -> Placeholder:
        return Placeholder(f"{self._name}()")

    def __repr__(self) -> str:
        return f"<torchvision stub {self._name}>"


def __getattr__(name: str) -> Placeholder:
    if name.startswith("__"):
        raise AttributeError(name)
    return Placeholder(f"torchvision.{name}")
