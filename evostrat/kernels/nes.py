"""Kernels of the natural evolution strategies (pure numba, no strategy state).

The equations are those of D. Wierstra, T. Schaul, T. Glasmachers, Y. Sun,
J. Peters, J. Schmidhuber, "Natural Evolution Strategies", JMLR 15 (2014) 949-980:
Algorithm 5 (xNES, exponential parametrization) and Algorithm 6 (SNES, separable
NES), with the rank-based utilities of section 3.1.

* :func:`tied_utilities` turns a fitness vector and rank-indexed utilities into one
  utility per individual, giving tied fitness values the mean utility of their
  ranks (a constant fitness vector gives no gradient at all).
* :func:`snes_gradients` is SNES's ``tell`` at any dimension: it regenerates each
  ``s_k`` from its counter-based stream and accumulates ``sum_k u_k s_k`` and
  ``sum_k u_k (s_k^2 - 1)`` in one pass, holding a few ``dim``-sized rows at most
  (never ``popsize x dim``).
* :func:`xnes_gradients`, :func:`expm_symmetric`, :func:`xnes_shape_update`,
  :func:`affine_rows` and :func:`adaptation_sampling_statistic` are xNES's pieces.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from evostrat.kernels.rng import STREAM_NORMAL, fill_normal

__all__ = [
    "PARALLEL_GRADIENT_MIN",
    "adaptation_sampling_statistic",
    "affine_rows",
    "centered_rank_utilities_by_rank",
    "expm_symmetric",
    "snes_gradients",
    "tied_utilities",
    "xnes_gradients",
    "xnes_shape_update",
]

#: Above this many normals per ``tell``, :func:`snes_gradients` uses all threads.
PARALLEL_GRADIENT_MIN = 1 << 18
_CHUNK = 4096  # coordinates per parallel accumulation task


@njit(cache=True)
def centered_rank_utilities_by_rank(popsize):
    """Centered-rank utilities indexed by rank: ``0.5 - k / (popsize - 1)``.

    T. Salimans et al., "Evolution Strategies as a Scalable Alternative to
    Reinforcement Learning", arXiv:1703.03864 (2017), section 2.1. Entry 0 (the
    best) is ``+0.5``, the last ``-0.5``; all zeros for ``popsize = 1``.

    Parameters
    ----------
    popsize : int
        Population size, at least 1.

    Returns
    -------
    ndarray of float64, shape (popsize,)
    """
    u = np.zeros(popsize)
    if popsize > 1:
        m = popsize - 1
        for k in range(popsize):
            u[k] = (m - 2.0 * k) / (2.0 * m)
    return u


@njit(cache=True)
def tied_utilities(f, order, u_by_rank):
    """Per-individual utilities, tied fitness values sharing their mean utility.

    Wierstra et al. (2014), section 3.1: the utility of an individual depends only
    on its rank. Individuals of equal fitness (``+inf`` ties with ``+inf``) get the
    mean of the utilities of the ranks they occupy, so the result does not depend
    on how ties are broken.

    Parameters
    ----------
    f : ndarray of float64, shape (popsize,)
        Fitness, minimization sense (NaN must already be ``+inf``).
    order : ndarray of int64, shape (popsize,)
        Indices sorting ``f`` best first (e.g. ``shaping.argsort(f)``).
    u_by_rank : ndarray of float64, shape (popsize,)
        Utility of rank ``k`` (``k = 0`` the best).

    Returns
    -------
    ndarray of float64, shape (popsize,)
        ``u[i]`` the utility of individual ``i``.
    """
    n = f.shape[0]
    u = np.empty(n)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and f[order[stop]] == f[order[start]]:
            stop += 1
        if stop == start + 1:
            u[order[start]] = u_by_rank[start]
        else:
            mean = 0.0
            for k in range(start, stop):
                mean += u_by_rank[k]
            mean /= stop - start
            for k in range(start, stop):
                u[order[k]] = mean
        start = stop
    return u


@njit(cache=True)
def _accumulate_row(z, a, b, g_mean, g_var, lo, hi):
    for j in range(lo, hi):
        zj = z[j]
        g_mean[j] += a * zj
        g_var[j] += b * (zj * zj - 1.0)


@njit(cache=True)
def _snes_gradients_serial(key, generation, streams, coeff_mean, coeff_var, dim):
    g_mean = np.zeros(dim)
    g_var = np.zeros(dim)
    z = np.empty(dim)
    for r in range(streams.shape[0]):
        fill_normal(key, generation, streams[r], STREAM_NORMAL, z)
        _accumulate_row(z, coeff_mean[r], coeff_var[r], g_mean, g_var, 0, dim)
    return g_mean, g_var


@njit(cache=True, parallel=True)
def _snes_gradients_parallel(
    key, generation, streams, coeff_mean, coeff_var, dim, batch
):
    g_mean = np.zeros(dim)
    g_var = np.zeros(dim)
    rows = np.empty((batch, dim))
    nchunks = (dim + _CHUNK - 1) // _CHUNK
    nrows = streams.shape[0]
    for start in range(0, nrows, batch):
        nb = min(batch, nrows - start)
        for t in prange(nb):
            fill_normal(key, generation, streams[start + t], STREAM_NORMAL, rows[t])
        # every coordinate sums its rows in row order: the result does not depend
        # on the number of threads nor on the batch size
        for c in prange(nchunks):
            lo = c * _CHUNK
            hi = min(dim, lo + _CHUNK)
            for t in range(nb):
                a = coeff_mean[start + t]
                b = coeff_var[start + t]
                _accumulate_row(rows[t], a, b, g_mean, g_var, lo, hi)
    return g_mean, g_var


def snes_gradients(
    key: int,
    generation: int,
    streams: np.ndarray,
    coeff_mean: np.ndarray,
    coeff_var: np.ndarray,
    dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    r"""SNES natural gradients, regenerating each ``s_k`` from its stream.

    Wierstra et al. (2014), Algorithm 6:
    :math:`\nabla_\mu J = \sum_k u_k s_k` and
    :math:`\nabla_\sigma J = \sum_k u_k (s_k^2 - 1)`. Row ``r`` of the sum is the
    normal stream ``(key, generation, streams[r], STREAM_NORMAL)`` (see
    :mod:`evostrat.kernels.rng`), weighted by ``coeff_mean[r]`` in the first sum and
    ``coeff_var[r]`` in the second. For plain sampling ``streams`` are the
    individuals and both coefficients are ``u``; for mirrored pairs
    ``(s, -s)`` sharing stream ``j`` they are ``u_+ - u_-`` and ``u_+ + u_-``.

    Memory: two ``dim``-sized sums and one row (serial) or a few rows (parallel,
    above :data:`PARALLEL_GRADIENT_MIN` normals). Each coordinate adds its rows in row
    order, so the result is the same for any number of threads.

    Parameters
    ----------
    key : int
        Stream key (:func:`evostrat.kernels.rng.derive_key`).
    generation : int
        Generation number.
    streams : ndarray of int64, shape (rows,)
        Stream (individual) index of each row.
    coeff_mean, coeff_var : ndarray of float64, shape (rows,)
        Weights of each row in the two sums.
    dim : int
        Dimension.

    Returns
    -------
    (ndarray, ndarray), each of shape (dim,)
        ``sum_r coeff_mean[r] s_r`` and ``sum_r coeff_var[r] (s_r**2 - 1)``.
    """
    if key >= 0x8000000000000000:  # same 64 bits as an int64, as rng does
        key -= 0x10000000000000000
    streams = np.ascontiguousarray(streams, dtype=np.int64)
    coeff_mean = np.ascontiguousarray(coeff_mean, dtype=np.float64)
    coeff_var = np.ascontiguousarray(coeff_var, dtype=np.float64)
    if streams.shape[0] * dim >= PARALLEL_GRADIENT_MIN and dim >= 2 * _CHUNK:
        batch = max(4, get_num_threads())
        return _snes_gradients_parallel(
            key, generation, streams, coeff_mean, coeff_var, dim, batch
        )
    return _snes_gradients_serial(key, generation, streams, coeff_mean, coeff_var, dim)


@njit(cache=True)
def xnes_gradients(S, u):
    r"""xNES natural gradients in local coordinates.

    Wierstra et al. (2014), Algorithm 5: :math:`G_\delta = \sum_k u_k s_k` and
    :math:`G_M = \sum_k u_k (s_k s_k^T - I)`.

    Parameters
    ----------
    S : ndarray of float64, shape (popsize, dim)
        The standard normal samples ``s_k``, one per row.
    u : ndarray of float64, shape (popsize,)
        Utility of each row.

    Returns
    -------
    (ndarray (dim,), ndarray (dim, dim))
        ``G_delta`` and ``G_M`` (exactly symmetric).
    """
    n, d = S.shape
    g_delta = np.zeros(d)
    g_m = np.zeros((d, d))
    usum = 0.0
    for k in range(n):
        uk = u[k]
        usum += uk
        s = S[k]
        for i in range(d):
            a = uk * s[i]
            g_delta[i] += a
            for j in range(i, d):
                g_m[i, j] += a * s[j]
    for i in range(d):
        g_m[i, i] -= usum
        for j in range(i):
            g_m[i, j] = g_m[j, i]
    return g_delta, g_m


@njit(cache=True)
def expm_symmetric(G):
    r"""Matrix exponential of a symmetric matrix, :math:`V \exp(\Lambda) V^T`.

    Exact (up to rounding) for symmetric ``G = V \Lambda V^T``; the result is
    symmetric positive definite. Only the upper triangle of ``G`` is trusted: the
    matrix is symmetrized first.

    Parameters
    ----------
    G : ndarray of float64, shape (d, d)

    Returns
    -------
    ndarray of float64, shape (d, d)
    """
    Gs = 0.5 * (G + G.T)
    w, V = np.linalg.eigh(Gs)
    E = (V * np.exp(w)) @ V.T
    return 0.5 * (E + E.T)


@njit(cache=True)
def xnes_shape_update(B, G_B, eta_B):
    r"""xNES shape update :math:`B \leftarrow B \exp(\tfrac{\eta_B}{2} G_B)`.

    Wierstra et al. (2014), Algorithm 5. ``G_B`` is traceless, so the exponential
    has determinant 1; the result is rescaled to :math:`|\det B| = 1` so that
    rounding errors do not accumulate over many generations.

    Parameters
    ----------
    B : ndarray of float64, shape (d, d)
        Normalized shape matrix, ``|det B| = 1``.
    G_B : ndarray of float64, shape (d, d)
        Symmetric, traceless natural gradient of ``B``.
    eta_B : float
        Learning rate.

    Returns
    -------
    ndarray of float64, shape (d, d)
        The new ``B``; ``B`` itself is not modified.
    """
    d = B.shape[0]
    B_new = B @ expm_symmetric(0.5 * eta_B * G_B)
    sign, logdet = np.linalg.slogdet(B_new)
    if sign != 0.0 and math.isfinite(logdet):
        B_new *= math.exp(-logdet / d)
    return B_new


@njit(cache=True)
def affine_rows(mean, A, S):
    r"""Rows :math:`x_k = m + A s_k`, each computed on its own.

    A per-row loop in a fixed order instead of one matrix product, so that row
    ``k`` is bit-identical whichever other rows are computed with it (a BLAS
    product may block differently for a different number of rows).

    Parameters
    ----------
    mean : ndarray of float64, shape (d,)
    A : ndarray of float64, shape (d, d)
    S : ndarray of float64, shape (n, d)

    Returns
    -------
    ndarray of float64, shape (n, d)
    """
    n, d = S.shape
    X = np.empty((n, d))
    for k in range(n):
        s = S[k]
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += A[i, j] * s[j]
            X[k, i] = mean[i] + acc
    return X


@njit(cache=True)
def adaptation_sampling_statistic(sq_norms, order, log_scale, dim):
    r"""Weighted Mann-Whitney statistic of adaptation sampling for a larger step.

    Wierstra et al. (2014), Algorithm 4 (adaptation sampling), for the step-size
    learning rate of xNES. The population was drawn from
    :math:`N(\mu, \sigma^2 B B^T)`; a hypothetical distribution with
    :math:`\sigma' = \sigma e^{\delta}` gives sample :math:`k` (with local
    coordinates :math:`s_k`) the importance weight

    .. math:: w_k = \frac{\pi(z_k | \sigma')}{\pi(z_k | \sigma)}
              = \exp\!\big(-d \delta - \tfrac12 \|s_k\|^2 (e^{-2\delta} - 1)\big).

    With :math:`r_k` the rank of sample :math:`k` counted from the *worst*
    (``0 .. popsize-1``), the weighted rank sum :math:`U = \sum_k w_k (r_k + 1/2)`
    is compared with its mean :math:`\lambda n'/2` and standard deviation
    :math:`\sqrt{\lambda n' (\lambda + n' + 1) / 12}` under the null hypothesis,
    :math:`n' = \sum_k w_k`. The result is the normal CDF of the standardized
    :math:`U`: large when the hypothetical distribution favours the better samples.

    Parameters
    ----------
    sq_norms : ndarray of float64, shape (popsize,)
        :math:`\|s_k\|^2` of each individual.
    order : ndarray of int64, shape (popsize,)
        Indices sorting the fitness best first.
    log_scale : float
        :math:`\delta = \ln(\sigma' / \sigma)`.
    dim : int
        Dimension :math:`d`.

    Returns
    -------
    float
        In ``[0, 1]``; 0.5 when the weights carry no information (e.g. ``delta = 0``).
    """
    lam = order.shape[0]
    shrink = math.exp(-2.0 * log_scale) - 1.0
    n_w = 0.0
    u_stat = 0.0
    for pos in range(lam):
        k = order[pos]
        log_w = -dim * log_scale - 0.5 * sq_norms[k] * shrink
        w = math.exp(min(max(log_w, -700.0), 700.0))
        n_w += w
        u_stat += w * ((lam - 1 - pos) + 0.5)
    mean = 0.5 * lam * n_w
    var = lam * n_w * (lam + n_w + 1.0) / 12.0
    if not (var > 0.0 and math.isfinite(var) and math.isfinite(u_stat)):
        return 0.5
    return 0.5 * math.erfc(-(u_stat - mean) / math.sqrt(2.0 * var))
