"""Exceptions raised by splitcheck.

::

    SplitcheckError
    ├── InputError (also ValueError)      bad path, unreadable manifest, missing column, ...
    ├── ConfigError (also ValueError)     bad [tool.splitcheck] table or option value
    ├── MissingExtraError (also ImportError)  an optional dependency is not installed
    └── LeakageError                      raised by ``splitcheck.check`` when the gate fails

Every message says what is wrong, what was received and what to do, in one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from splitcheck.report import Report


class SplitcheckError(Exception):
    """Base class of every error splitcheck raises on purpose."""


class InputError(SplitcheckError, ValueError):
    """An input (path, table, column, array) cannot be used as a split."""


class ConfigError(SplitcheckError, ValueError):
    """The configuration (file or options) is invalid."""


class MissingExtraError(SplitcheckError, ImportError):
    """An optional dependency is needed; the message names the pip command."""


class LeakageError(SplitcheckError):
    """The scan found problems at or above the gate (``splitcheck.check``)."""

    def __init__(self, report: Report) -> None:
        self.report = report
        gated = report.gated_findings()
        codes = ", ".join(sorted({f.code for f in gated}))
        super().__init__(
            f"{len(gated)} finding(s) at or above '{report.fail_on}': {codes}. "
            "See report.findings for the details."
        )
