"""CMA-ES eigendecomposition kernels (pure numba, no strategy state).

The covariance ``C`` is decomposed as ``C = B diag(D^2) B^T`` (N. Hansen, "The CMA
Evolution Strategy: A Tutorial", arXiv:1604.00772, 2016, eq. (8) and Appendix A, with
pycma's safeguards): ``C`` is symmetrized first and its eigenvalues are floored at
``max(eig) / max_condition``. ``vecs = [p_sigma, p_c, eigenvalues]`` and
``mats = [C, B, BDT]`` with ``BDT = (B diag(D))^T`` stored row-major (the sampling
kernels of :mod:`evostrat.kernels.cma` add its rows).

Small problems (n <= 48) use the Householder + QL solver :func:`ql_eigh` (faster
than LAPACK there, no call overhead, single-threaded); larger ones call NumPy's
``eigh`` from Python (:mod:`evostrat.strategies.cma.linalg`, one OpenBLAS thread up
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
def accumulate_cov(C, R, decay):
    """``C <- decay C + R`` from the upper triangle of ``R``, mirrored: ``C`` stays
    exactly symmetric (``R`` from a BLAS product need not be). Square tiles keep
    both the row-wise and the column-wise side in cache."""
    n = C.shape[0]
    tile = 64
    for i0 in range(0, n, tile):
        i1 = min(n, i0 + tile)
        for j0 in range(i0, n, tile):
            j1 = min(n, j0 + tile)
            for i in range(i0, i1):
                for j in range(max(i, j0), j1):
                    C[i, j] = decay * C[i, j] + R[i, j]
            for i in range(i0, i1):
                for j in range(max(i + 1, j0), j1):
                    C[j, i] = C[i, j]


@njit(cache=True)
def set_decomposition(ev, vecs, mats, max_condition):
    """Store an eigendecomposition of ``C = mats[0]`` with pycma's safeguards.

    The eigenvectors must already be in ``mats[1]`` (columns), ``ev`` holds the
    eigenvalues (ascending; modified). Eigenvalues below ``max(eig) / max_condition``
    (including non-positive ones from rounding) are raised to that floor and ``C``
    is then rebuilt from the floored spectrum; ``vecs[2]``,
    ``mats[2] = (B diag(sqrt(ev)))^T`` and, if present, ``vecs[3] = diag(C)`` are
    written in place.
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
    if vecs.shape[0] > 3:  # CMAES keeps diag(C) in vecs[3]
        for i in range(n):
            vecs[3, i] = C[i, i]


@njit(cache=True)
def eigen_decompose(vecs, mats, max_condition):
    """Symmetrize ``C = mats[0]``, eigendecompose it by :func:`ql_eigh`, store it by
    :func:`set_decomposition`; for small n (measured faster than LAPACK up to
    n = 48: 4.7 vs 7.4 us at n = 10, 45 vs 61 us at n = 32).

    Returns False, leaving everything but the symmetrization untouched, if the QL
    iteration did not converge; the caller then uses LAPACK.
    """
    C = mats[0]
    symmetrize(C)
    ev, V, ok = ql_eigh(C)
    if not ok:
        return False
    B = mats[1]
    n = ev.shape[0]
    for i in range(n):
        for j in range(n):
            B[i, j] = V[i, j]
    set_decomposition(ev, vecs, mats, max_condition)
    return True


@njit(cache=True, inline="always")
def _hypot(a, b):
    """``sqrt(a^2 + b^2)`` without overflow; 4x cheaper than ``math.hypot``."""
    a = abs(a)
    b = abs(b)
    if a < b:
        a, b = b, a
    if 1e-150 < a < 1e150:
        return math.sqrt(a * a + b * b)
    if a == 0.0:
        return 0.0
    r = b / a
    return a * math.sqrt(1.0 + r * r)


@njit(cache=True)
def ql_eigh(A):
    """Eigendecomposition of a small symmetric matrix: Householder + implicit QL.

    The textbook pair tred2/tql2 (R. S. Martin, C. Reinsch, J. H. Wilkinson,
    "Householder's tridiagonalization of a symmetric matrix", Numer. Math. 11 (1968);
    H. Bowdler et al., "The QR and QL algorithms for symmetric matrices", Numer.
    Math. 11 (1968); the form of JAMA and of Hansen's C CMA-ES), written for numba
    on the transposed eigenvector matrix so that the O(n^3) loops run along rows.
    Measured here against LAPACK ``dsyevd`` called from numba: 4.7 vs 7.4 us at
    n = 10, 45 vs 61 us at n = 32; slower than single-threaded LAPACK from n ~ 64
    (216 vs 232 us at 64, 635 vs 535 us at 100).

    Returns
    -------
    eigenvalues : ndarray, shape (n,)
        Ascending.
    B : ndarray, shape (n, n)
        Orthonormal eigenvectors in columns.
    converged : bool
        False if some QL iteration did not converge in 60 steps.
    """
    n = A.shape[0]
    VT = A.copy()  # V transposed: the O(n^3) loops run along rows
    d = np.empty(n)
    e = np.zeros(n)
    _tridiagonalize(VT, d, e)
    ok = _implicit_ql(VT, d, e)
    ev, B = _ascending(d, VT)
    return ev, B, ok


@njit(cache=True)
def _tridiagonalize(VT, d, e):
    """tred2: Householder reduction of the symmetric ``VT`` to a tridiagonal
    matrix (diagonal ``d``, subdiagonal ``e[1:]``), ``VT`` becoming the transposed
    product of the transformations (Martin, Reinsch & Wilkinson 1968)."""
    n = VT.shape[0]
    for j in range(n):
        d[j] = VT[j, n - 1]
    for i in range(n - 1, 0, -1):
        scale = 0.0
        h = 0.0
        for k in range(i):
            scale += abs(d[k])
        if scale == 0.0:
            e[i] = d[i - 1]
            for j in range(i):
                d[j] = VT[j, i - 1]
                VT[j, i] = 0.0
                VT[i, j] = 0.0
        else:
            for k in range(i):
                d[k] /= scale
                h += d[k] * d[k]
            f = d[i - 1]
            g = math.sqrt(h)
            if f > 0:
                g = -g
            e[i] = scale * g
            h = h - f * g
            d[i - 1] = f - g
            for j in range(i):
                e[j] = 0.0
            for j in range(i):
                f = d[j]
                VT[i, j] = f
                g = e[j] + VT[j, j] * f
                for k in range(j + 1, i):
                    g += VT[j, k] * d[k]
                    e[k] += VT[j, k] * f
                e[j] = g
            f = 0.0
            for j in range(i):
                e[j] /= h
                f += e[j] * d[j]
            hh = f / (h + h)
            for j in range(i):
                e[j] -= hh * d[j]
            for j in range(i):
                f = d[j]
                g = e[j]
                for k in range(j, i):
                    VT[j, k] -= f * e[k] + g * d[k]
                d[j] = VT[j, i - 1]
                VT[j, i] = 0.0
        d[i] = h
    for i in range(n - 1):
        VT[i, n - 1] = VT[i, i]
        VT[i, i] = 1.0
        h = d[i + 1]
        if h != 0.0:
            for k in range(i + 1):
                d[k] = VT[i + 1, k] / h
            for j in range(i + 1):
                g = 0.0
                for k in range(i + 1):
                    g += VT[i + 1, k] * VT[j, k]
                for k in range(i + 1):
                    VT[j, k] -= g * d[k]
        for k in range(i + 1):
            VT[i + 1, k] = 0.0
    for j in range(n):
        d[j] = VT[j, n - 1]
        VT[j, n - 1] = 0.0
    VT[n - 1, n - 1] = 1.0
    e[0] = 0.0


@njit(cache=True)
def _implicit_ql(VT, d, e):
    """tql2: the eigenvalues of the tridiagonal (``d``, ``e``) into ``d``, the
    rotations applied to the rows of ``VT`` (Bowdler et al. 1968); False if some
    eigenvalue took more than 60 iterations."""
    n = VT.shape[0]
    for i in range(1, n):
        e[i - 1] = e[i]
    e[n - 1] = 0.0
    f = 0.0
    tst1 = 0.0
    eps = 2.0**-52
    ok = True
    for l in range(n):
        tst1 = max(tst1, abs(d[l]) + abs(e[l]))
        m = l
        while m < n - 1:
            if abs(e[m]) <= eps * tst1:
                break
            m += 1
        if m > l:
            for _ in range(60):
                g = d[l]
                p = (d[l + 1] - g) / (2.0 * e[l])
                r = _hypot(p, 1.0)
                if p < 0:
                    r = -r
                d[l] = e[l] / (p + r)
                d[l + 1] = e[l] * (p + r)
                dl1 = d[l + 1]
                h = g - d[l]
                for i in range(l + 2, n):
                    d[i] -= h
                f += h
                p = d[m]
                c = 1.0
                c2 = c
                c3 = c
                el1 = e[l + 1]
                s = 0.0
                s2 = 0.0
                for i in range(m - 1, l - 1, -1):
                    c3 = c2
                    c2 = c
                    s2 = s
                    g = c * e[i]
                    h = c * p
                    r = _hypot(p, e[i])
                    e[i + 1] = s * r
                    s = e[i] / r
                    c = p / r
                    p = c * d[i] - s * g
                    d[i + 1] = h + s * (c * g + s * d[i])
                    for k in range(n):
                        h = VT[i + 1, k]
                        VT[i + 1, k] = s * VT[i, k] + c * h
                        VT[i, k] = c * VT[i, k] - s * h
                p = -s * s2 * c3 * el1 * e[l] / dl1
                e[l] = s * p
                d[l] = c * p
                if not abs(e[l]) > eps * tst1:
                    break
            else:
                ok = False
        d[l] = d[l] + f
        e[l] = 0.0
    return ok


@njit(cache=True)
def _ascending(d, VT):
    """The eigenvalues ``d`` in ascending order and the eigenvectors (rows of
    ``VT``) as the columns of ``B``, in the same order."""
    n = d.shape[0]
    order = np.arange(n)  # ascending eigenvalues: insertion sort (n is small)
    for i in range(1, n):
        j = i
        while j > 0 and d[order[j - 1]] > d[order[j]]:
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1
    ev = np.empty(n)
    B = np.empty((n, n))
    for j in range(n):
        ev[j] = d[order[j]]
        for i in range(n):
            B[i, j] = VT[order[j], i]
    return ev, B
