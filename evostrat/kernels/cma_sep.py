"""Separable CMA-ES kernels (pure numba, no strategy state).

R. Ros, N. Hansen, "A Simple Modification in CMA-ES Achieving Linear Time and Space
Complexity", PPSN X (2008), section 3: ``C = diag(c)``, sampled as
``x = m + sigma diag(sqrt(c)) z``; the other steps are those of
:mod:`evostrat.kernels.cma` (N. Hansen, arXiv:1604.00772, 2016, Table 1), whose
layout conventions (``ZYX``, ``params``) apply.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from evostrat.kernels.cma import (
    N_PARAMS,
    P_C1,
    P_CC,
    P_CHI_N,
    P_CMU,
    P_CS,
    P_DAMPS,
    P_FLOOR,
    P_MUEFF,
    _active_coefficients,
    _fitness_stats,
    _hsig_and_paths,
    _recombine,
    _sigma_factor,
)
from evostrat.kernels.shaping import stable_order


@njit(cache=True)
def transform_diag(ZYX, std, mean, sigma):
    """``Y = Z diag(std)``, ``X = mean + sigma Y`` (separable CMA-ES sampling)."""
    Z = ZYX[0]
    Y = ZYX[1]
    X = ZYX[2]
    lam, n = Z.shape
    for r in range(lam):
        for j in range(n):
            y = Z[r, j] * std[j]
            Y[r, j] = y
            X[r, j] = mean[j] + sigma * y


@njit(cache=True)
def tell_diag(fitness, ZYX, mean, sigma, vecs, generation, params, shrink):
    """One separable CMA-ES update (Ros & Hansen 2008), O(lam n), in place.

    As :func:`tell_full` with ``C = diag(c)`` and ``vecs = [p_sigma, p_c, c,
    sqrt(c)]``: ``C^{-1/2} <y>_w = <z>_w`` and only the diagonal of the rank-one
    and rank-mu terms is kept. A variance never falls below ``shrink`` times its
    previous value in one update, nor below ``max(c) * params[P_FLOOR]``; ``sqrt(c)``
    is refreshed. Returns ``(new_sigma, hsig, f_best, f_median, f_q75)``.
    """
    Z = ZYX[0]
    Y = ZYX[1]
    lam, n = Z.shape
    ps = vecs[0]
    pc = vecs[1]
    diag = vecs[2]
    std = vecs[3]
    weights = params[N_PARAMS:]
    cs, damps, cc = params[P_CS], params[P_DAMPS], params[P_CC]
    c1, cmu, mueff, chi_n = (
        params[P_C1],
        params[P_CMU],
        params[P_MUEFF],
        params[P_CHI_N],
    )
    order = stable_order(fitness)
    zw, yw = _recombine(order, Z, Y, weights, mean, sigma)
    fac = math.sqrt(cs * (2.0 - cs) * mueff)
    for j in range(n):
        ps[j] = (1.0 - cs) * ps[j] + fac * zw[j]
    hsig, ps_norm = _hsig_and_paths(ps, pc, yw, generation, cs, cc, mueff, n)
    c1a = c1 * (1.0 - (1.0 - hsig * hsig) * cc * (2.0 - cc))
    wsum = 0.0
    for k in range(lam):
        wsum += weights[k]
    decay = 1.0 - c1a - cmu * wsum
    coef = _active_coefficients(order, Z, weights, cmu, n)
    new = np.empty(n)
    for j in range(n):
        new[j] = decay * diag[j] + c1 * pc[j] * pc[j]
    for k in range(lam):
        c = coef[k]
        if c == 0.0:
            continue
        yr = Y[order[k]]
        for j in range(n):
            new[j] += c * yr[j] * yr[j]
    top = 0.0
    for j in range(n):
        v = max(new[j], shrink * diag[j])
        diag[j] = v
        if v > top:
            top = v
    if not (top > 0.0 and top < np.inf):  # cannot happen from finite input
        top = 1.0
        diag[:] = 1.0
    lo = top * params[P_FLOOR]
    for j in range(n):
        if not diag[j] >= lo:
            diag[j] = lo
        std[j] = math.sqrt(diag[j])
    fb, fm, fq = _fitness_stats(fitness, order)
    return sigma * _sigma_factor(ps_norm, cs, damps, chi_n), hsig, fb, fm, fq
