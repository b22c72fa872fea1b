"""Numerical helpers shared by the curve analyses: log-space trends and robust noise estimates.

Losses are positive and usually fall roughly exponentially, so trends and scatter are computed on
``log(loss)``: a scatter of ``0.05`` there means values move about 5% around their trend.
"""

from __future__ import annotations

import math

import numpy as np

_TINY = 1e-12


def log_loss(values: np.ndarray) -> np.ndarray:
    """``log`` of the values, NaN where a value is not finite and positive-clipped at 1e-12."""
    values = np.asarray(values, float)
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    out[finite] = np.log(np.maximum(values[finite], _TINY))
    return out


def smooth(x: np.ndarray, y: np.ndarray, *, points: int = 5) -> np.ndarray:
    """Local linear trend of ``log(y)`` (tricube weights over the ``points`` nearest evaluations),
    returned in the loss's own unit. Non-finite values are ignored; NaN where nothing is near."""
    x = np.asarray(x, float)
    ly = log_loss(y)
    ok = np.isfinite(ly) & np.isfinite(x)
    out = np.full(len(x), np.nan)
    if ok.sum() == 0:
        return out
    xs, ys = x[ok], ly[ok]
    k = int(min(max(points, 2), len(xs)))
    for i, xi in enumerate(x):
        if not np.isfinite(xi):
            continue
        distance = np.abs(xs - xi)
        nearest = np.argsort(distance, kind="stable")[:k]
        radius = distance[nearest].max() * 1.0001 + 1e-12
        w = (1 - (distance[nearest] / radius) ** 3) ** 3
        out[i] = math.exp(_weighted_line(xs[nearest], ys[nearest], w, xi))
    return out


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray, at: float) -> float:
    sw = w.sum()
    if sw <= 0 or len(x) == 1:
        return float(np.mean(y))
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    sxx = (w * (x - mx) ** 2).sum()
    if sxx <= 1e-18:
        return float(my)
    slope = (w * (x - mx) * (y - my)).sum() / sxx
    return float(my + slope * (at - mx))


def relative_scatter(y: np.ndarray) -> float:
    """Robust standard deviation of ``log(y)`` around a locally straight trend.

    From second differences ``d = l[i-1] - 2 l[i] + l[i+1]`` of the log-losses: for independent noise
    of standard deviation ``s`` around a trend that is straight over three evaluations, ``d`` has
    standard deviation ``sqrt(6) s``; the median absolute deviation makes a few bends or spikes harmless.
    NaN with fewer than five finite values.
    """
    ly = log_loss(y)
    ly = ly[np.isfinite(ly)]
    if len(ly) < 5:
        return float("nan")
    d = ly[:-2] - 2 * ly[1:-1] + ly[2:]
    mad = float(np.median(np.abs(d - np.median(d))))
    return 1.4826 * mad / math.sqrt(6)


def log_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``log(y)`` against ``x`` (per unit of ``x``); NaN with fewer than 2 points."""
    x = np.asarray(x, float)
    ly = log_loss(y)
    ok = np.isfinite(x) & np.isfinite(ly)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return float("nan")
    return float(np.polyfit(x[ok], ly[ok], 1)[0])
