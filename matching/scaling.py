"""Rescaling scores to [0, 1]: the one min–max helper of the ranking code."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def minmax(values: Sequence[float] | np.ndarray, *, flat: float = 1.0, lo: float | None = None,
           hi: float | None = None) -> np.ndarray:
    """``values`` rescaled so that ``lo`` → 0 and ``hi`` → 1 (by default their own minimum and maximum); all
    ``flat`` when they do not differ (nothing to tell them apart).

    >>> minmax([2.0, 4.0, 3.0]).tolist(), minmax([5.0, 5.0]).tolist(), minmax([1.0, 1.0], flat=0.0).tolist()
    ([0.0, 1.0, 0.5], [1.0, 1.0], [0.0, 0.0])
    >>> minmax([1.0, 2.0], lo=0.0, hi=4.0).tolist()
    [0.25, 0.5]
    """
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return a
    lo = float(a.min()) if lo is None else lo
    hi = float(a.max()) if hi is None else hi
    return (a - lo) / (hi - lo) if hi > lo else np.full(a.shape, flat)
