"""One pass over a fitness vector: what ``Strategy.tell`` needs to know of it."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def prepare_fitness(f, negate):
    """Turn validated fitness into minimization sense, in place, and summarize it.

    NaN becomes ``+inf`` (ranked last); with ``negate`` every value is negated first
    (rewards to costs).

    Returns
    -------
    best : int
        Index of the smallest value (first one on ties).
    spread : float
        ``max - min`` over the finite values (``inf`` if none is finite).
    n_nan : int
        Number of NaN values that were replaced.
    """
    best = 0
    n_nan = 0
    lo = math.inf
    hi = -math.inf
    for i in range(f.shape[0]):
        v = f[i]
        if v != v:
            n_nan += 1
            v = math.inf
        elif negate:
            v = -v
        f[i] = v
        if v < f[best]:
            best = i
        if math.isfinite(v):
            lo = min(lo, v)
            hi = max(hi, v)
    spread = hi - lo if hi >= lo else math.inf
    return best, spread, n_nan
