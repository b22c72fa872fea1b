"""Built-in scanners. Adding a scanner is adding one module here and one import line below.

Scanners run in the order they are imported here (registry order): the leakage scanners first, so that
later scanners can read their findings (``ScanContext.findings``, ``ScanContext.leaked_ids``).
"""

# isort: off
from splitcheck.scanners import exact_duplicates  # noqa: F401  (imports register the scanners)
from splitcheck.scanners import near_duplicates  # noqa: F401
from splitcheck.scanners import embedding_neighbours  # noqa: F401  (after the hash scanners: skips their pairs)
from splitcheck.scanners import group_overlap  # noqa: F401
from splitcheck.scanners import temporal_overlap  # noqa: F401
from splitcheck.scanners import unreadable_items  # noqa: F401
from splitcheck.scanners import class_distribution  # noqa: F401
from splitcheck.scanners import feature_drift  # noqa: F401
from splitcheck.scanners import adversarial_validation  # noqa: F401
from splitcheck.scanners import difficulty_gap  # noqa: F401  (reads context.leaked_ids: after the leakage scanners)
# isort: on
from splitcheck.scanners.base import Param, Rule, Scanner, all_rules, register, registered_scanners

__all__ = ["Param", "Rule", "Scanner", "all_rules", "register", "registered_scanners"]
