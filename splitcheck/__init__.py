"""splitcheck: check machine-learning dataset splits for leakage and sanity problems.

>>> import splitcheck as sc
>>> report = sc.scan(train="data/train", val="data/val")   # doctest: +SKIP
>>> report.ok, [f.code for f in report.findings]            # doctest: +SKIP
"""

__version__ = "0.1.0"

from splitcheck.api import check, scan
from splitcheck.config import Config, load_config
from splitcheck.curves import Curves, Run, read_logs
from splitcheck.errors import ConfigError, InputError, LeakageError, MissingExtraError, SplitcheckError
from splitcheck.explain import Explanation, explain
from splitcheck.findings import Finding, Severity
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.report import SCHEMA_VERSION, ExitCode, Report, ScannerRun
from splitcheck.splits import Split

__all__ = [
    "Config",
    "ConfigError",
    "Curves",
    "ExitCode",
    "Explanation",
    "Finding",
    "InputError",
    "LeakageError",
    "LoadOptions",
    "MissingExtraError",
    "Report",
    "Run",
    "SCHEMA_VERSION",
    "ScannerRun",
    "Severity",
    "Split",
    "SplitcheckError",
    "__version__",
    "check",
    "explain",
    "load_config",
    "load_split",
    "read_logs",
    "scan",
]
