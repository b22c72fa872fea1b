"""Built-in scanners. Adding a scanner is adding one module here and one import line below."""

from splitcheck.scanners import (  # noqa: F401  (imports register the scanners)
    class_distribution,
    exact_duplicates,
    group_overlap,
    temporal_overlap,
    unreadable_items,
)
from splitcheck.scanners.base import Param, Rule, Scanner, all_rules, register, registered_scanners

__all__ = ["Param", "Rule", "Scanner", "all_rules", "register", "registered_scanners"]
