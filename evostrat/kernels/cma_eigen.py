"""CMA-ES eigendecomposition kernels (pure numba, no strategy state).

The covariance ``C`` is decomposed as ``C = B diag(D^2) B^T`` (N. Hansen, "The CMA
Evolution Strategy: A Tutorial", arXiv:1604.00772, 2016, eq. (8) and Appendix A, with
pycma's safeguards): ``C`` is symmetrized first and its eigenvalues are floored at
``max(eig) / max_condition``. ``vecs = [p_sigma, p_c, eigenvalues]`` and
``mats = [C, B, BDT]`` with ``BDT = (B diag(D))^T`` stored row-major (the sampling
kernels of :mod:`evostrat.kernels.cma` add its rows).

Small problems decompose inside the fused tell kernel with numba's ``np.linalg.eigh``
(LAPACK ``dsyevd`` called without Python in between); larger ones call NumPy's
``eigh`` from Python (:mod:`evostrat.strategies.cma_linalg`, one OpenBLAS thread up
to n = 320) and store the result with :func:`set_decomposition`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def symmetrize(C):
    """``C <- (C + C^T) / 2`` in place."""
    n = C.shape[0]
    for i in range(n):
        for j in range(i):
            v = 0.5 * (C[i, j] + C[j, i])
            C[i, j] = v
            C[j, i] = v


@njit(cache=True)
def set_decomposition(ev, vecs, mats, max_condition):
    """Store an eigendecomposition of ``C = mats[0]`` with pycma's safeguards.

    The eigenvectors must already be in ``mats[1]`` (columns), ``ev`` holds the
    eigenvalues (ascending; modified). Eigenvalues below ``max(eig) / max_condition``
    (including non-positive ones from rounding) are raised to that floor and ``C``
    is then rebuilt from the floored spectrum; ``vecs[2]`` and
    ``mats[2] = (B diag(sqrt(ev)))^T`` are written in place.
    """
    n = ev.shape[0]
    C = mats[0]
    B = mats[1]
    BDT = mats[2]
    top = ev[n - 1]
    if not top > 0.0:
        top = 1.0
    lo = top / max_condition
    floored = False
    for i in range(n):
        if not ev[i] >= lo:
            ev[i] = lo
            floored = True
    for k in range(n):
        vecs[2, k] = ev[k]
        d = math.sqrt(ev[k])
        for j in range(n):
            BDT[k, j] = B[j, k] * d
    if floored:  # C = (B D)(B D)^T = BDT^T BDT, row i from the rows of BDT
        for i in range(n):
            for j in range(n):
                C[i, j] = 0.0
            for k in range(n):
                a = BDT[k, i]
                for j in range(n):
                    C[i, j] += a * BDT[k, j]
        symmetrize(C)


@njit(cache=True)
def eigen_decompose(vecs, mats, max_condition):
    """Symmetrize ``C = mats[0]``, eigendecompose it (LAPACK ``dsyevd`` through
    numba's ``np.linalg.eigh``), store it by :func:`set_decomposition`.

    ``C`` stays symmetric positive definite with condition number at most
    ``max_condition``.
    """
    C = mats[0]
    symmetrize(C)
    ev, V = np.linalg.eigh(C)
    B = mats[1]
    n = ev.shape[0]
    for i in range(n):
        for j in range(n):
            B[i, j] = V[i, j]
    set_decomposition(ev, vecs, mats, max_condition)
