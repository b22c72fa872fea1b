"""Renderers of a :class:`~splitcheck.report.Report`: terminal text and JSON (more formats plug in here)."""

from splitcheck.reporters.terminal import render_terminal

__all__ = ["render_terminal"]
