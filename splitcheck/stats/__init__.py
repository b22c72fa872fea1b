"""Split sanity statistics: pure functions over numpy arrays and pandas frames (no ScanContext).

- :mod:`splitcheck.stats.two_sample`: two-sample tests (Kolmogorov-Smirnov, chi-square), population
  stability index, effect sizes and multiple-testing correction, and the per-feature drift table.
- :mod:`splitcheck.stats.features`: a split as named per-item properties and as a numeric matrix.
- :mod:`splitcheck.stats.adversarial`: cross-validated ROC AUC of a classifier telling two splits apart.
- :mod:`splitcheck.stats.difficulty`: k-NN label agreement and a proxy model's out-of-fold losses.
- :mod:`splitcheck.stats.losses`: per-sample loss files, leaked-vs-clean losses, class-mix impact.
"""
