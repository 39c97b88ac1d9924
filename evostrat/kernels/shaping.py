"""Fitness shaping kernels (pure numba, no strategy state).

Conventions, shared by every kernel here:

* Fitness vectors ``f`` are 1-D ``float64`` in the *minimization* sense: lower is
  better. (The strategy base negates fitness where ``maximize=True`` and turns NaN
  into ``+inf`` before a strategy sees it.)
* ``order`` is the permutation that sorts ``f`` best first (``argsort``); ``ranks``
  is its inverse: ``ranks(f)[i]`` is the 0-based rank of individual ``i``, 0 = best.
* Ties are broken by index (stable sort): of two equal fitness values, the one with
  the lower index gets the better rank. This is simple and deterministic; ties are
  *not* averaged.
* ``+inf`` ranks after every finite value, ``-inf`` before; NaN is treated exactly
  like ``+inf``. Every shaping output (ranks, utilities, z-scores) is finite for any
  input, including ``±inf`` and NaN.
* Utilities are "larger is better": the best individual gets the largest utility.
  ``centered_rank_utilities`` and ``zscores`` are indexed by individual;
  ``nes_utilities`` is indexed by rank (entry 0 belongs to the best individual) and
  pairs with ``order``.
* ``zscores`` keeps the sign of the fitness (lower fitness, lower z-score); negate it
  to use it as a utility.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "argsort",
    "stable_order",
    "centered_rank_utilities",
    "nes_utilities",
    "ranks",
    "zscores",
]


@njit(cache=True)
def stable_order(fitness):
    """Indices sorting ``fitness`` ascending, ties by index (bottom-up merge sort).

    Equals ``np.argsort(fitness, kind="stable")`` for NaN-free input; written out
    because numba's ``argsort`` takes a second to compile. Shared by :func:`argsort`
    and the CMA-ES tell kernels.
    """
    lam = fitness.shape[0]
    order = np.arange(lam)
    tmp = np.empty(lam, dtype=order.dtype)
    width = 1
    while width < lam:
        for lo in range(0, lam, 2 * width):
            mid = min(lo + width, lam)
            hi = min(lo + 2 * width, lam)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if fitness[order[j]] < fitness[order[i]]:
                    tmp[k] = order[j]
                    j += 1
                else:
                    tmp[k] = order[i]
                    i += 1
                k += 1
            while i < mid:
                tmp[k] = order[i]
                i += 1
                k += 1
            while j < hi:
                tmp[k] = order[j]
                j += 1
                k += 1
        order, tmp = tmp, order
        width *= 2
    return order


@njit(cache=True)
def argsort(f):
    """Indices that sort a fitness vector best (lowest) first, stably.

    Parameters
    ----------
    f : ndarray of float64, shape (n,)
        Fitness values, minimization sense.

    Returns
    -------
    ndarray of int64, shape (n,)
        ``order`` with ``f[order[0]]`` the best value. Ties keep index order; NaN is
        treated as ``+inf`` (so it sorts last, tied with ``+inf`` by index).
    """
    n = f.shape[0]
    key = np.empty(n)
    for i in range(n):
        v = f[i]
        key[i] = np.inf if math.isnan(v) else v
    return stable_order(key)


@njit(cache=True)
def ranks(f):
    """0-based ranks of a fitness vector, 0 for the best (lowest) value.

    Parameters
    ----------
    f : ndarray of float64, shape (n,)
        Fitness values, minimization sense. ``±inf`` allowed; NaN counts as ``+inf``.

    Returns
    -------
    ndarray of int64, shape (n,)
        A permutation of ``0 .. n-1``: ``ranks(f)[i]`` is the position of individual
        ``i`` in :func:`argsort` order. Ties are broken by index (the lower index
        gets the lower rank), so the result is deterministic and never tied.
    """
    order = argsort(f)
    n = order.shape[0]
    r = np.empty(n, dtype=np.int64)
    for k in range(n):
        r[order[k]] = k
    return r


@njit(cache=True)
def centered_rank_utilities(f):
    """Centered-rank utilities, best individual ``+0.5``, worst ``-0.5``.

    The fitness shaping of OpenAI-ES (T. Salimans, J. Ho, X. Chen, S. Sidor,
    I. Sutskever, "Evolution Strategies as a Scalable Alternative to Reinforcement
    Learning", arXiv:1703.03864, 2017, section 2.1 and their ``compute_centered_ranks``)
    for a *minimized* fitness: the utilities are the ranks scaled linearly to
    ``[-0.5, 0.5]`` with the *lowest* fitness at ``+0.5``, i.e. Salimans' centered
    ranks of the reward ``-f``.

    Parameters
    ----------
    f : ndarray of float64, shape (n,)
        Fitness values, minimization sense. ``±inf`` allowed; NaN counts as ``+inf``.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``u[i] = 0.5 - ranks(f)[i] / (n - 1)`` (all 0 for ``n = 1``), indexed by
        individual. The values are evenly spaced, sum to 0 and are larger for
        better individuals; ties are broken by index as in :func:`ranks`.
    """
    r = ranks(f)
    n = r.shape[0]
    u = np.zeros(n)
    if n > 1:
        m = n - 1
        for i in range(n):
            # (m - 2 r) / (2 m): exactly antisymmetric between rank k and m - k
            u[i] = (m - 2.0 * r[i]) / (2.0 * m)
    return u


@njit(cache=True)
def nes_utilities(popsize):
    """NES rank-based utilities, indexed by rank, summing to 0.

    D. Wierstra, T. Schaul, T. Glasmachers, Y. Sun, J. Peters, J. Schmidhuber,
    "Natural Evolution Strategies", JMLR 15, 2014, section 3.1:
    ``u_k = max(0, ln(lambda/2 + 1) - ln k) / sum_j max(0, ln(lambda/2 + 1) - ln j)
    - 1/lambda`` for ranks ``k = 1 .. lambda`` (1 = best).

    Parameters
    ----------
    popsize : int
        Population size ``lambda >= 1``.

    Returns
    -------
    ndarray of float64, shape (popsize,)
        ``u[k]`` is the utility of the ``k``-th best individual (``k = 0`` best):
        non-increasing, summing to 0 (to rounding). Pair with :func:`argsort`, or
        index with :func:`ranks` (``u[ranks(f)]``) to get per-individual values.

    Raises
    ------
    ValueError
        If ``popsize < 1``.
    """
    if popsize < 1:
        raise ValueError("nes_utilities: popsize must be >= 1")
    top = math.log(popsize / 2.0 + 1.0)
    u = np.empty(popsize)
    s = 0.0
    for k in range(popsize):
        u[k] = max(0.0, top - math.log(k + 1.0))
        s += u[k]
    # s >= ln(lambda/2 + 1) > 0 (the k = 1 term)
    inv = 1.0 / popsize
    for k in range(popsize):
        u[k] = u[k] / s - inv
    return u


@njit(cache=True)
def zscores(f):
    """Standardized fitness ``(f - mean) / std``, finite for any input.

    Policy for awkward inputs: ``+inf`` and NaN are replaced by the largest finite
    value of ``f``, ``-inf`` by the smallest (so they tie with the worst / best
    finite individual), then the vector is standardized with the population
    standard deviation (``ddof = 0``). If ``f`` has no finite value, or all values
    are equal after the replacement (including ``n = 1``), the result is all zeros.
    Values near the float64 range do not overflow, and values a few ulps apart are
    not lost to cancellation (the vector is first mapped affinely onto ``[0, 1]``;
    z-scores are invariant under that map).

    Parameters
    ----------
    f : ndarray of float64, shape (n,)
        Fitness values, minimization sense.

    Returns
    -------
    ndarray of float64, shape (n,)
        Finite z-scores, same order and sign as ``f`` (lower fitness, lower
        z-score; negate for a utility). Mean 0 and standard deviation 1 unless all
        zeros.
    """
    n = f.shape[0]
    z = np.zeros(n)
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        v = f[i]
        if math.isfinite(v):
            lo = min(lo, v)
            hi = max(hi, v)
    if not lo < hi:  # no finite value, or a constant vector
        return z
    # Map the clipped values affinely onto [0, 1] first (z-scores are invariant
    # under it): no overflow near the float64 range, and no cancellation against a
    # large common offset when the values are close together.
    span = hi - lo
    half = not math.isfinite(span)
    if half:
        span = 0.5 * hi - 0.5 * lo
    for i in range(n):
        v = f[i]
        if math.isnan(v) or v > hi:
            v = hi
        elif v < lo:
            v = lo
        if half:
            z[i] = (0.5 * v - 0.5 * lo) / span
        else:
            z[i] = (v - lo) / span
    mean = 0.0
    for i in range(n):
        mean += z[i]
    mean /= n
    var = 0.0
    for i in range(n):
        z[i] -= mean
        var += z[i] * z[i]
    std = math.sqrt(var / n)
    if not std > 0.0:  # cannot happen when lo < hi; kept as a guard
        return np.zeros(n)
    for i in range(n):
        z[i] /= std
    return z
