"""Compiled kernels of the test functions in :mod:`evostrat.functions`.

Pure numba functions on arrays; the public, shape-checking wrappers and the
definitions' sources are in :mod:`evostrat.functions`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_TWO_PI = 2.0 * math.pi
_E = math.e
# Styblinski-Tang: the per-coordinate minimizer (the root of 4 x^3 - 32 x + 5 near
# -2.9) and the per-coordinate minimum value of (x^4 - 16 x^2 + 5 x) / 2.
_ST_XMIN = -2.903534027771177
_ST_FMIN = -39.16616570377142
_ST_C = 2.0 * _ST_XMIN * _ST_XMIN - 16.0  # > 0, see _styblinski_tang_row


# --------------------------------------------------------------------------- kernels
# One ``_*_row`` kernel per function evaluates one point; the ``_*_batch`` kernel
# loops over the rows of a 2-D array. The public functions call the row kernel for a
# single point (no output array to allocate) and the batch kernel for a batch.


@njit(cache=True)
def _sphere_row(x):
    s = 0.0
    for v in x:
        s += v * v
    return s


@njit(cache=True)
def _sphere_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _sphere_row(X[k])
    return out


@njit(cache=True)
def _ellipsoid_coefficients(n):
    c = np.ones(n)
    if n > 1:
        for i in range(n):
            c[i] = 10.0 ** (6.0 * i / (n - 1))
    return c


@njit(cache=True)
def _weighted_squares(x, c):
    s = 0.0
    for i in range(x.shape[0]):
        s += c[i] * x[i] * x[i]
    return s


@njit(cache=True)
def _ellipsoid_row(x):
    return _weighted_squares(x, _ellipsoid_coefficients(x.shape[0]))


@njit(cache=True)
def _ellipsoid_batch(X):
    c = _ellipsoid_coefficients(X.shape[1])
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _weighted_squares(X[k], c)
    return out


@njit(cache=True)
def _rosenbrock_row(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * a * a + b * b
    return s


@njit(cache=True)
def _rosenbrock_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _rosenbrock_row(X[k])
    return out


@njit(cache=True)
def _rastrigin_row(x):
    # 10 n + sum(x^2 - 10 cos(2 pi x)), summed term by term as x^2 + 10 (1 - cos)
    s = 0.0
    for v in x:
        s += v * v + 10.0 * (1.0 - math.cos(_TWO_PI * v))
    return s


@njit(cache=True)
def _rastrigin_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _rastrigin_row(X[k])
    return out


@njit(cache=True)
def _schaffer_row(x):
    a = x[0] * x[0]
    b = x[1] * x[1]
    s = math.sin(a - b)
    d = 1.0 + 0.001 * (a + b)
    return 0.5 + (s * s - 0.5) / (d * d)


@njit(cache=True)
def _schaffer_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _schaffer_row(X[k])
    return out


@njit(cache=True)
def _schaffer_f6_row(x):
    r2 = x[0] * x[0] + x[1] * x[1]
    s = math.sin(math.sqrt(r2))
    d = 1.0 + 0.001 * r2
    return 0.5 + (s * s - 0.5) / (d * d)


@njit(cache=True)
def _schaffer_f6_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _schaffer_f6_row(X[k])
    return out


@njit(cache=True)
def _ackley_row(x):
    n = x.shape[0]
    s1 = 0.0
    s2 = 0.0
    for v in x:
        s1 += v * v
        s2 += math.cos(_TWO_PI * v)
    # -20 exp(-0.2 sqrt(s1/n)) - exp(s2/n) + 20 + e, grouped so that both halves
    # are >= 0 and exactly 0 at x = 0
    return 20.0 * (1.0 - math.exp(-0.2 * math.sqrt(s1 / n))) + (_E - math.exp(s2 / n))


@njit(cache=True)
def _ackley_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _ackley_row(X[k])
    return out


@njit(cache=True)
def _griewank_row(x):
    s = 0.0
    p = 1.0
    for i in range(x.shape[0]):
        v = x[i]
        s += v * v
        p *= math.cos(v / math.sqrt(i + 1.0))
    return s / 4000.0 + (1.0 - p)


@njit(cache=True)
def _griewank_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _griewank_row(X[k])
    return out


@njit(cache=True)
def _styblinski_tang_row(x):
    # (v^4 - 16 v^2 + 5 v) / 2 - _ST_FMIN == (v - m)^2 ((v + m)^2 + 2 m^2 - 16) / 2
    # with m = _ST_XMIN, a double root of the left-hand side; 2 m^2 - 16 > 0, so
    # every term is >= 0 in floating point and exactly 0 at v = m.
    s = 0.0
    for v in x:
        a = v - _ST_XMIN
        b = v + _ST_XMIN
        s += 0.5 * (a * a) * (b * b + _ST_C)
    return s


@njit(cache=True)
def _styblinski_tang_batch(X):
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _styblinski_tang_row(X[k])
    return out


@njit(cache=True)
def _different_powers_exponents(n):
    e = np.full(n, 2.0)
    if n > 1:
        for i in range(n):
            e[i] = 2.0 + 4.0 * i / (n - 1)
    return e


@njit(cache=True)
def _powers_sum(x, e):
    s = 0.0
    for i in range(x.shape[0]):
        s += abs(x[i]) ** e[i]
    return s


@njit(cache=True)
def _different_powers_row(x):
    return _powers_sum(x, _different_powers_exponents(x.shape[0]))


@njit(cache=True)
def _different_powers_batch(X):
    e = _different_powers_exponents(X.shape[1])
    out = np.empty(X.shape[0])
    for k in range(X.shape[0]):
        out[k] = _powers_sum(X[k], e)
    return out
