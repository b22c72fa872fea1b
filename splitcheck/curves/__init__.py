"""Loss curves: read training logs into :class:`Run` objects and analyse them.

>>> from splitcheck.curves import read_logs, analyse
>>> runs = read_logs("lightning_logs/")            # doctest: +SKIP
>>> analyse(runs[0]).findings                      # doctest: +SKIP
"""

from __future__ import annotations

from splitcheck.curves.analyse import CurveAnalysis, analyse
from splitcheck.curves.model import Curves, Run
from splitcheck.curves.readers import read_logs
from splitcheck.curves.rules import PARAMS, RULES

__all__ = ["PARAMS", "RULES", "CurveAnalysis", "Curves", "Run", "analyse", "read_logs"]
