"""Box bounds for CMA-ES: repair into the box plus an adaptive quadratic penalty.

The boundary handling of N. Hansen, S. Niederberger, L. Guzzella, P. Koumoutsakos,
"A Method for Handling Uncertainty in Evolutionary Optimization With an Application
to Feedback Control of Combustion", IEEE TEC 13(1), 2009, section IV-B with its
addendum, as pycma's ``BoundPenalty`` applies it:

* every solution handed to the objective is the sampled point *repaired* into the box
  (clipped coordinate-wise), while the strategy updates from the unrepaired sample;
* the fitness used for ranking is ``f(repair(x)) + sum_i gamma_i (repair(x)_i - x_i)^2
  / n``;
* the weights ``gamma`` start, at the first generation in which the mean lies outside
  the box, at twice the median of the recent fitness interquartile ranges divided by
  the mean variance ``sigma^2 mean(diag C)``; afterwards ``gamma_i`` grows by
  ``exp(tanh(e_i / 3) / 2)^damp`` while the mean's coordinate ``i`` is more than
  ``3 max(1, sqrt(n) / mueff)`` standard deviations outside the box (``e_i`` the
  excess), and shrinks by ``exp(-1/3)^damp`` while above five times that median
  (``damp = min(1, mueff / (10 n))``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _side(value: Any, dim: int, fill: float, name: str) -> np.ndarray:
    if value is None:
        return np.full(dim, fill)
    arr = np.array(
        [fill if v is None else v for v in np.atleast_1d(np.asarray(value, object))],
        dtype=np.float64,
    )
    if np.ndim(value) == 0:
        arr = np.full(dim, arr[0])
    if arr.shape != (dim,):
        raise ValueError(
            f"bounds: {name} must be a scalar, None or have length {dim}, "
            f"got shape {arr.shape}"
        )
    if np.any(np.isnan(arr)):
        raise ValueError(f"bounds: {name} contains NaN")
    return arr


class BoundPenalty:
    """Box ``[lower, upper]`` with repair and pycma-style adaptive penalty weights.

    Parameters
    ----------
    bounds : tuple
        ``(lower, upper)``; each a scalar, None (unbounded) or an array of length
        ``dim`` whose None entries are unbounded.
    dim : int
        Dimension.

    Raises
    ------
    ValueError
        If ``bounds`` is not a pair, has a wrong length, or some lower bound is not
        below its upper bound.
    """

    def __init__(self, bounds: Any, dim: int) -> None:
        if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}")
        self.lower = _side(bounds[0], dim, -math.inf, "lower")
        self.upper = _side(bounds[1], dim, math.inf, "upper")
        bad = np.flatnonzero(~(self.lower < self.upper))
        if bad.size:
            raise ValueError(
                f"bounds: lower must be below upper, not at coordinates {bad.tolist()}"
            )
        self.dim = dim
        self.gamma = np.ones(dim)  # pycma starts from the crude value 1
        self.initialized = False
        self.hist: list[float] = []

    def repair(self, X: np.ndarray) -> np.ndarray:
        """The points projected onto the box (a new array)."""
        return np.clip(X, self.lower, self.upper)

    def penalized(
        self,
        fitness: np.ndarray,
        X: np.ndarray,
        mean: np.ndarray,
        variances: np.ndarray,
        generation: int,
        mueff: float,
    ) -> np.ndarray:
        """Update the weights, then return ``fitness`` plus the boundary penalty.

        Parameters
        ----------
        fitness : ndarray, shape (lam,)
            Fitness of the repaired points, minimization sense.
        X : ndarray, shape (lam, dim)
            The unrepaired sampled points.
        mean : ndarray
            Distribution mean before the update.
        variances : ndarray
            ``sigma^2 diag(C)`` before the update.
        generation : int
            1 for the first ``tell`` (pycma's ``countiter``).
        mueff : float
            Variance-effective selection mass.
        """
        n, lam = self.dim, fitness.shape[0]
        std = np.sqrt(variances)
        dmean = (mean - self.repair(mean)) / std
        f = np.sort(fitness)
        q = 1 + lam
        val = (f[3 * q // 4 if 3 * q // 4 < lam else lam - 1] - f[q // 4]) / float(
            np.mean(variances)
        )
        if math.isfinite(val) and val > 0:
            self.hist.insert(0, val)
        elif val == math.inf and len(self.hist) > 1:
            self.hist.insert(0, max(self.hist))
        if len(self.hist) > 20 + 3 * n / lam:
            self.hist.pop()
        if self.hist:
            dfit = float(np.median(self.hist))
            damp = min(1.0, mueff / 10.0 / n)
            if np.any(dmean != 0) and (not self.initialized or generation == 2):
                self.gamma = np.full(n, 2.0 * dfit)
                self.initialized = True
            if self.initialized:
                edist = np.abs(dmean) - 3.0 * max(1.0, math.sqrt(n) / mueff)
                grow = np.where(edist > 0, np.tanh(edist / 3.0) / 2.0, 0.0)
                self.gamma *= np.exp(grow) ** damp
                self.gamma[self.gamma > 5.0 * dfit] *= math.exp(-1.0 / 3.0) ** damp
        excess = self.repair(X) - X
        return fitness + (excess**2) @ self.gamma / n
