"""Recombination kernels of CMA-ES and NES (pure numba, no strategy state).

Rank-indexed weights (e.g. :func:`evostrat.kernels.shaping.log_rank_weights`) pair
with ``order``, the permutation that sorts the fitness best first
(:func:`evostrat.kernels.shaping.argsort`): ``weights[k]`` belongs to row
``order[k]``. Everything here is re-exported by :mod:`evostrat.kernels.shaping`.

"Hansen 2016" below is N. Hansen, "The CMA Evolution Strategy: A Tutorial",
arXiv:1604.00772, 2016.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["mueff", "rank_mu_update", "rank_one_update", "weighted_recombination"]


@njit(cache=True)
def _check_order(order, nrows, nweights):
    if order.shape[0] < nweights:
        raise ValueError("fewer indices in order than weights")
    for k in range(nweights):
        if order[k] < 0 or order[k] >= nrows:
            raise ValueError("an index in order is out of range")


@njit(cache=True)
def weighted_recombination(X, order, weights):
    """Weighted sum of the best rows: ``sum_k weights[k] * X[order[k]]``.

    The recombination of CMA-ES and NES (Hansen 2016, eq. (39): the new mean is the
    weighted mean of the ``mu`` best points; with ``Y`` in place of ``X`` it is the
    weighted step ``<y>_w``).

    Parameters
    ----------
    X : ndarray of float64, shape (popsize, dim)
        The population (or its steps), one individual per row.
    order : ndarray of int, shape (>= len(weights),)
        Row indices, best first (e.g. ``argsort(f)``); only the first
        ``len(weights)`` are used.
    weights : ndarray of float64, shape (mu,)
        Rank-indexed weights (e.g. ``log_rank_weights``), any sign.

    Returns
    -------
    ndarray of float64, shape (dim,)

    Raises
    ------
    ValueError
        If ``order`` is shorter than ``weights`` or holds an index outside
        ``[0, popsize)``.
    """
    mu = weights.shape[0]
    _check_order(order, X.shape[0], mu)
    dim = X.shape[1]
    out = np.zeros(dim)
    for k in range(mu):
        w = weights[k]
        row = X[order[k]]
        for j in range(dim):
            out[j] += w * row[j]
    return out


@njit(cache=True)
def rank_mu_update(Y, order, weights):
    """Rank-mu matrix ``sum_k weights[k] y_{order[k]} y_{order[k]}^T``.

    Hansen 2016, eq. (30) (the ``c_mu`` term of eq. (47)), with
    ``y_i = (x_i - m) / sigma``. Negative weights (active CMA) are allowed.

    Parameters
    ----------
    Y : ndarray of float64, shape (popsize, dim)
        Steps ``y_i``, one per row.
    order : ndarray of int, shape (>= len(weights),)
        Row indices, best first; only the first ``len(weights)`` are used.
    weights : ndarray of float64, shape (mu,)
        Rank-indexed weights.

    Returns
    -------
    ndarray of float64, shape (dim, dim)
        Exactly symmetric.

    Raises
    ------
    ValueError
        As :func:`weighted_recombination`.
    """
    mu = weights.shape[0]
    _check_order(order, Y.shape[0], mu)
    dim = Y.shape[1]
    C = np.zeros((dim, dim))
    for k in range(mu):
        w = weights[k]
        y = Y[order[k]]
        for i in range(dim):
            a = w * y[i]
            for j in range(i, dim):
                C[i, j] += a * y[j]
    for i in range(dim):
        for j in range(i):
            C[i, j] = C[j, i]
    return C


@njit(cache=True)
def rank_one_update(p):
    """Rank-one matrix ``p p^T`` (Hansen 2016, eq. (47), the ``c_1`` term).

    Parameters
    ----------
    p : ndarray of float64, shape (dim,)
        Evolution path ``p_c``.

    Returns
    -------
    ndarray of float64, shape (dim, dim)
        The outer product, exactly symmetric.
    """
    n = p.shape[0]
    C = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            C[i, j] = p[i] * p[j]
    return C


@njit(cache=True)
def mueff(weights):
    """Variance-effective selection mass ``(sum w)^2 / sum w^2`` (Hansen 2016, eq. 8).

    Parameters
    ----------
    weights : ndarray of float64, shape (mu,)
        Positive recombination weights (e.g. ``log_rank_weights``).

    Returns
    -------
    float
        In ``[1, mu]`` for positive weights; 0 for an all-zero or empty vector.
    """
    s = 0.0
    s2 = 0.0
    for w in weights:
        s += w
        s2 += w * w
    if s2 == 0.0:
        return 0.0
    return s * s / s2
