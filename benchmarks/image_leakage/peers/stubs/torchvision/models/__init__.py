"""Stub of torchvision.models (see the package docstring)."""

from __future__ import annotations

from torchvision import Placeholder


def __getattr__(name: str) -> Placeholder:
    if name.startswith("__"):
        raise AttributeError(name)
    return Placeholder(f"torchvision.models.{name}")
