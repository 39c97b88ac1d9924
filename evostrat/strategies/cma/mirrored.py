r"""Mirrored sampling with pairwise selection (option ``mirrored=True`` of CMAES).

D. Brockhoff, A. Auger, N. Hansen, D. V. Arnold, T. Hohm, "Mirrored Sampling and
Sequential Selection for Evolution Strategies", PPSN 2010; for weighted
recombination A. Auger, D. Brockhoff, N. Hansen, "Mirrored Sampling in Evolution
Strategies with Weighted Recombination", GECCO 2011:

* individuals ``2k`` and ``2k + 1`` form a pair: ``z_{2k+1} = -z_{2k}`` (an odd last
  individual has no partner), so any individual is still rebuilt from the stream of
  ``(seed, g, 2k)`` alone;
* *pairwise selection*: only the better of a pair may get a positive recombination
  weight (the worse one ranks after every better one), which removes the bias of
  mirrored pairs towards smaller steps (Auger et al. 2011, section 3).

Sequential selection (ending a generation at the first improvement) is not used: it
would make the number of evaluations of a generation depend on the fitness, against
the ask/tell contract of whole populations.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def partners(indices: np.ndarray) -> np.ndarray:
    """The stream index of each individual: ``i`` for even ``i``, ``i - 1`` for odd."""
    return indices - indices % 2


def mirror(ZYX: np.ndarray, indices: np.ndarray, mean: np.ndarray, sigma: Any) -> None:
    """Negate Z and Y of the odd individuals, then X = m + sigma Y (in place)."""
    odd = (indices % 2).astype(bool)
    if odd.any():
        ZYX[0, odd] *= -1.0
        ZYX[1, odd] *= -1.0
        ZYX[2, odd] = mean + sigma * ZYX[1, odd]


def pairwise_ranks(fitness: np.ndarray) -> np.ndarray:
    """Rank values for the update: the worse of each pair after all the better ones.

    Returns floats whose order is that of ``(worse of its pair, fitness, index)``;
    the recombination and covariance updates only use this order (CMA-ES is
    rank-based), while the stop criteria keep the true fitness values.
    """
    lam = fitness.shape[0]
    worse = np.zeros(lam, dtype=bool)
    for k in range(0, lam - 1, 2):
        a, b = fitness[k], fitness[k + 1]
        worse[k + 1 if b >= a else k] = True  # a tie: the mirrored one is "worse"
    order = np.lexsort((np.arange(lam), fitness, worse))
    ranks = np.empty(lam)
    ranks[order] = np.arange(lam, dtype=np.float64)
    return ranks


def fitness_stats(fitness: np.ndarray) -> tuple[float, float, float]:
    """``(best, median, 75 %-quantile)`` of the true fitness (as the tell kernel)."""
    f = np.sort(fitness)
    lam, h = f.size, f.size // 2
    median = f[h] if lam % 2 else 0.5 * (f[h - 1] + f[h])
    return float(f[0]), float(median), float(f[int(0.75 * lam)])
