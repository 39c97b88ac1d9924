"""CMA-ES numeric kernels (pure numba, no strategy state).

Equations are those of N. Hansen, "The CMA Evolution Strategy: A Tutorial",
arXiv:1604.00772 (2016), Table 1 / Appendix A, with the choices pycma makes
(documented in :mod:`evostrat.strategies.cma.cmaes`); the separable variant is in
:mod:`evostrat.kernels.cma_sep`, the eigendecomposition in
:mod:`evostrat.kernels.cma_eigen`.

Layout conventions:

* ``Z`` (``lam x n``) are the standard normal vectors of a generation, row ``i`` is
  individual ``i``; ``Y = Z (B D)^T`` the steps, ``X = mean + sigma Y`` the points.
* ``BDT`` is ``(B diag(D))^T`` stored row-major, so that ``y = sum_k z_k BDT[k]``
  is a sum of contiguous rows (vectorizes without reassociation: every row of ``Y``
  is computed by the same sequence of operations whatever other rows are asked
  for, which makes ``ask(indices) == ask()[indices]`` exact).
* ``fitness`` is in the minimization sense; ``weights`` are indexed by rank
  (entry 0 for the best), positive first, then the (active) negative ones.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from evostrat.kernels.rng import STREAM_NORMAL, normal_rows
from evostrat.kernels.shaping import stable_order

#: above this dimension sampling and the rank-mu matrix use NumPy's BLAS, called
#: from Python (``np.dot`` inside numba would call SciPy's OpenBLAS: a second thread
#: pool, which thrashes a small machine next to NumPy's). Measured by
#: ``benchmarks/crossover.py`` on 2 cores: the compiled loop takes 0.3-0.6x the BLAS
#: time up to n = 48 and 0.8-1.1x above (docs/cmaes.md)
BLAS_DIM = 48

#: layout of the ``params`` vector of the tell kernels: these scalars, then the
#: ``lam`` recombination weights (few arguments make a cheap compiled call)
P_CS, P_DAMPS, P_CC, P_C1, P_CMU, P_MUEFF, P_CHI_N, P_FLOOR = range(8)
N_PARAMS = 8


@njit(cache=True)
def sample_full(key, generation, indices, BDT, mean, sigma):
    """``[Z, Y, X]`` of rows ``indices``: ``Z`` from the counter-based streams
    (:func:`evostrat.kernels.rng.normal_rows`), then :func:`transform_full`."""
    Z = normal_rows(key, generation, indices, mean.shape[0], STREAM_NORMAL)
    lam, n = Z.shape
    ZYX = np.empty((3, lam, n))
    for i in range(lam):
        for j in range(n):
            ZYX[0, i, j] = Z[i, j]
    transform_full(ZYX, BDT, mean, sigma)
    return ZYX


@njit(cache=True)
def transform_full(ZYX, BDT, mean, sigma):
    """``Y = Z BDT`` and ``X = mean + sigma Y`` row by row (tutorial eqs. (38)-(40)).

    ``ZYX = [Z, Y, X]``; ``Z`` is read, ``Y`` and ``X`` are written. Rows are
    processed in blocks of 4 sharing each row of ``BDT``; each output row is
    accumulated over ``k`` in ascending order, independently of the other rows.
    For small n; large n uses one BLAS product in the caller.
    """
    Z = ZYX[0]
    Y = ZYX[1]
    X = ZYX[2]
    lam, n = Z.shape
    i = 0
    while i + 4 <= lam:
        y0, y1, y2, y3 = Y[i], Y[i + 1], Y[i + 2], Y[i + 3]
        for j in range(n):
            y0[j] = 0.0
            y1[j] = 0.0
            y2[j] = 0.0
            y3[j] = 0.0
        for k in range(n):
            z0, z1, z2, z3 = Z[i, k], Z[i + 1, k], Z[i + 2, k], Z[i + 3, k]
            b = BDT[k]
            for j in range(n):
                bj = b[j]
                y0[j] += z0 * bj
                y1[j] += z1 * bj
                y2[j] += z2 * bj
                y3[j] += z3 * bj
        i += 4
    while i < lam:
        y = Y[i]
        for j in range(n):
            y[j] = 0.0
        for k in range(n):
            zk = Z[i, k]
            b = BDT[k]
            for j in range(n):
                y[j] += zk * b[j]
        i += 1
    for r in range(lam):
        for j in range(n):
            X[r, j] = mean[j] + sigma * Y[r, j]


@njit(cache=True)
def place_pair(ZYX, indices, line, BDT, mean, sigma):
    """Two-point step-size adaptation's pair (:mod:`evostrat.strategies.cma.tpa`):
    rows of individuals 0 and 1 get ``z = +-|z| line`` (``z`` as drawn from
    individual 0's stream), then ``y`` and ``x`` as in :func:`transform_full`."""
    Z = ZYX[0]
    Y = ZYX[1]
    X = ZYX[2]
    n = Z.shape[1]
    for r in range(indices.shape[0]):
        if indices[r] > 1:
            continue
        sq = 0.0
        for j in range(n):
            sq += Z[r, j] * Z[r, j]
        length = math.sqrt(sq) if indices[r] == 0 else -math.sqrt(sq)
        for j in range(n):
            Z[r, j] = length * line[j]
            Y[r, j] = 0.0
        for k in range(n):
            zk = Z[r, k]
            b = BDT[k]
            for j in range(n):
                Y[r, j] += zk * b[j]
        for j in range(n):
            X[r, j] = mean[j] + sigma * Y[r, j]


@njit(cache=True)
def _recombine(order, Z, Y, weights, mean, sigma):
    """Shared first step of a tell: ``<z>_w``, ``<y>_w`` and the new mean.

    ``order`` ranks the individuals (best first, ties by index). Returns ``(zw, yw)``; ``mean`` is updated in place (tutorial
    eq. (41)).
    """
    lam, n = Z.shape
    zw = np.zeros(n)
    yw = np.zeros(n)
    for k in range(lam):
        w = weights[k]
        if w <= 0.0:
            break
        zr = Z[order[k]]
        yr = Y[order[k]]
        for j in range(n):
            zw[j] += w * zr[j]
            yw[j] += w * yr[j]
    for j in range(n):  # eq. (41), c_m = 1
        mean[j] += sigma * yw[j]
    return zw, yw


@njit(cache=True)
def _hsig_and_paths(ps, pc, yw, generation, cs, cc, mueff, n):
    """h_sigma (pycma's form) and the p_c update (tutorial eq. (45))."""
    sq = 0.0
    for j in range(n):
        sq += ps[j] * ps[j]
    # pycma: |ps|^2 / (1 - (1 - cs)^(2 (g + 1))) / n - 1 < 1 + 4 / (n + 1)
    norm_fac = 1.0 - (1.0 - cs) ** (2.0 * (generation + 1))
    hsig = 1.0 if sq / norm_fac / n - 1.0 < 1.0 + 4.0 / (n + 1.0) else 0.0
    fac = hsig * math.sqrt(cc * (2.0 - cc) * mueff)
    for j in range(n):
        pc[j] = (1.0 - cc) * pc[j] + fac * yw[j]
    return hsig, math.sqrt(sq)


@njit(cache=True)
def _sigma_factor(ps_norm, cs, damps, chi_n):
    """CSA step-size factor, tutorial eq. (44), log-change clipped to [-1, 1] (pycma)."""
    s = (cs / damps) * (ps_norm / chi_n - 1.0)
    s = min(1.0, max(-1.0, s))
    return math.exp(s)


@njit(cache=True)
def _active_coefficients(order, Z, weights, cmu, n):
    """``cmu * w_k^o`` of tutorial eq. (46): negative weights scaled by n / |z|^2."""
    lam = order.shape[0]
    coef = np.empty(lam)
    for k in range(lam):
        w = weights[k]
        if w < 0.0:
            zr = Z[order[k]]
            sq = 0.0
            for j in range(n):
                sq += zr[j] * zr[j]
            # pycma: w * n / (|C^{-1/2} y| + 1e-9)^2 with C^{-1/2} y = z
            w = w * n / (math.sqrt(sq) + 1e-9) ** 2
        coef[k] = cmu * w
    return coef


@njit(cache=True)
def _fitness_stats(fitness, order):
    """``(best, median, 75 %-quantile)`` of the sorted fitness (pycma's ``fit``)."""
    lam = order.shape[0]
    h = lam // 2
    if lam % 2:
        median = fitness[order[h]]
    else:
        median = 0.5 * (fitness[order[h - 1]] + fitness[order[h]])
    return fitness[order[0]], median, fitness[order[int(0.75 * lam)]]


@njit(cache=True)
def _matvec(A, x):
    """``A @ x``, each entry summed over ``k`` in ascending order; four rows at a
    time (independent sums: 3-4x faster than one row after the other)."""
    m, n = A.shape
    out = np.zeros(m)
    i = 0
    while i + 4 <= m:
        a0, a1, a2, a3 = A[i], A[i + 1], A[i + 2], A[i + 3]
        s0 = s1 = s2 = s3 = 0.0
        for k in range(n):
            xk = x[k]
            s0 += a0[k] * xk
            s1 += a1[k] * xk
            s2 += a2[k] * xk
            s3 += a3[k] * xk
        out[i], out[i + 1], out[i + 2], out[i + 3] = s0, s1, s2, s3
        i += 4
    while i < m:
        s = 0.0
        for k in range(n):
            s += A[i, k] * x[k]
        out[i] = s
        i += 1
    return out


@njit(cache=True)
def _update_cov(C, diag, pc, Y, order, coef, decay, c1):
    """``C <- decay C + c1 pc pc^T + sum_k coef[k] y_k y_k^T`` (tutorial eq. (47)),
    upper triangle then mirrored; ``diag = diag(C)``."""
    n = C.shape[0]
    for i in range(n):
        for j in range(i, n):
            C[i, j] = decay * C[i, j] + c1 * pc[i] * pc[j]
    for k in range(coef.shape[0]):
        c = coef[k]
        if c == 0.0:
            continue
        yr = Y[order[k]]
        for i in range(n):
            a = c * yr[i]
            for j in range(i, n):
                C[i, j] += a * yr[j]
    for i in range(n):
        diag[i] = C[i, i]
        for j in range(i):
            C[i, j] = C[j, i]


@njit(cache=True)
def _append_cov_terms(U, ucoef, pending, diag, pc, Y, order, coef, decay, c1):
    """The same update kept as rank-one terms: earlier ``ucoef`` decay, ``pc`` and the
    ranked ``y`` are appended to ``U``; ``diag`` follows. Returns the new count."""
    n = diag.shape[0]
    for r in range(pending):
        ucoef[r] *= decay
    for j in range(n):
        diag[j] = decay * diag[j] + c1 * pc[j] * pc[j]
        U[pending, j] = pc[j]
    ucoef[pending] = c1
    pending += 1
    for k in range(coef.shape[0]):
        c = coef[k]
        if c == 0.0:
            continue
        yr = Y[order[k]]
        for j in range(n):
            U[pending, j] = yr[j]
            diag[j] += c * yr[j] * yr[j]
        ucoef[pending] = c
        pending += 1
    return pending


@njit(cache=True)
def tell_full(
    fitness, ZYX, mean, sigma, vecs, mats, generation, params, U, ucoef, pending
):
    """One CMA-ES update (tutorial eqs. (41)-(47)), in place; one compiled call.

    ``ZYX = [Z, Y, X]`` of the generation,
    ``vecs = [p_sigma, p_c, eigenvalues]``, ``mats = [C, B, BDT]``, ``params`` as
    :data:`P_CS` ... then the weights. Updates ``mean``, the paths and ``C`` in
    place; the caller decomposes ``C`` when due (:mod:`evostrat.kernels.cma_eigen`).
    ``B`` must hold the eigenvectors used to sample ``Z``: then
    ``C^{-1/2} <y>_w = B <z>_w`` (the isotropic mean shift of eq. (43)).

    With an empty ``U`` (small n), ``C = mats[0]`` is updated now (eqs. (46)-(47))
    and ``vecs[3] = diag(C)``. Otherwise (large n) the update is kept as terms:
    ``C = d C_0 + sum_r ucoef[r] U[r] U[r]^T`` over the first ``pending`` rows, ``d``
    the product of the returned ``decay`` factors since ``C_0 = mats[0]`` was
    formed; this generation multiplies the earlier ``ucoef`` by its ``decay`` and
    appends ``p_c`` (``c_1``) and the ranked ``y`` (``c_mu w_k^o``), and
    ``vecs[3]`` (``diag C``) is updated. Forming ``C`` once per eigendecomposition
    (:func:`evostrat.kernels.cma_eigen.accumulate_cov`) saves the n x n memory
    traffic of every other generation. ``U`` must have room for ``lam + 1`` rows.

    Returns
    -------
    tuple
        ``(new_sigma, hsig, f_best, f_median, f_q75, decay, pending)``.
    """
    Z = ZYX[0]
    Y = ZYX[1]
    lam, n = Z.shape
    ps = vecs[0]
    pc = vecs[1]
    C = mats[0]
    B = mats[1]
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
    # eq. (43): ps <- (1 - cs) ps + sqrt(cs (2 - cs) mueff) B <z>_w
    fac = math.sqrt(cs * (2.0 - cs) * mueff)
    Bzw = _matvec(B, zw)
    for i in range(n):
        ps[i] = (1.0 - cs) * ps[i] + fac * Bzw[i]
    hsig, ps_norm = _hsig_and_paths(ps, pc, yw, generation, cs, cc, mueff, n)
    # eq. (47) with the variance-loss correction of h_sigma (pycma's c1a)
    c1a = c1 * (1.0 - (1.0 - hsig * hsig) * cc * (2.0 - cc))
    wsum = 0.0
    for k in range(lam):
        wsum += weights[k]
    decay = 1.0 - c1a - cmu * wsum
    coef = _active_coefficients(order, Z, weights, cmu, n)
    diag = vecs[3]
    if U.shape[0] == 0:  # small n: C updated now
        _update_cov(C, diag, pc, Y, order, coef, decay, c1)
    else:  # large n: the terms are kept, C is formed when it is decomposed
        pending = _append_cov_terms(
            U, ucoef, pending, diag, pc, Y, order, coef, decay, c1
        )
    fb, fm, fq = _fitness_stats(fitness, order)
    new_sigma = sigma * _sigma_factor(ps_norm, cs, damps, chi_n)
    return new_sigma, hsig, fb, fm, fq, decay, pending


@njit(cache=True)
def count_no_effect(mean, direction, scale):
    """How many ``j`` have ``mean[j] + scale * direction[j] == mean[j]``.

    pycma's ``noeffectcoord`` (direction = the standard deviations, scale 0.2) and
    ``noeffectaxis`` (direction = a principal axis, scale ``0.1 sigma sqrt(ev)``:
    no effect when the count is ``n``); Hansen (2016), Appendix B.3.
    """
    count = 0
    for j in range(mean.shape[0]):
        if mean[j] + scale * direction[j] == mean[j]:
            count += 1
    return count
