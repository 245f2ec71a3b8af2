"""NumPy helpers of the corpus stages' hot paths that cost no imports."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D array, as `np.unique` gives them. NumPy 2.4's
    `np.unique` first asks `np.ma.is_masked`, which imports `numpy.ma` (~14 ms) in a process
    that has no other use for it."""
    s = np.sort(np.asarray(values).ravel())
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) > 1 else s
