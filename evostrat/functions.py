"""Test functions for optimization, batched and compiled with numba.

Every function takes either one point, a 1-D array-like of length ``n`` (it then
returns a Python ``float``), or a batch of points, a 2-D array-like whose rows are the
points (it then returns a 1-D ``float64`` array with one value per row). Each has its
global minimum value 0; :data:`OPTIMA` gives a minimizer in any dimension.

=====================  =========================================  ============
name                   minimizer (``OPTIMA[name](n)``)             dimension
=====================  =========================================  ============
``sphere``             ``zeros(n)``                               ``n >= 1``
``ellipsoid``          ``zeros(n)``                               ``n >= 1``
``rosenbrock``         ``ones(n)``                                ``n >= 2``
``rastrigin``          ``zeros(n)``                               ``n >= 1``
``schaffer``           ``zeros(2)``                               ``n == 2``
``schaffer_f6``        ``zeros(2)``                               ``n == 2``
``ackley``             ``zeros(n)``                               ``n >= 1``
``griewank``           ``zeros(n)``                               ``n >= 1``
``styblinski_tang``    ``full(n, -2.903534027771177)``            ``n >= 1``
``different_powers``   ``zeros(n)``                               ``n >= 1``
=====================  =========================================  ============

Definitions follow the Wikipedia page "Test functions for optimization" (sphere,
Rosenbrock, Rastrigin, Ackley, Styblinski-Tang, Schaffer N. 2) and the sources named
in each docstring. Several are written in an algebraically equivalent form that is
exactly 0 at the minimizer and never negative in floating point (e.g. Rastrigin as
``sum(x**2 + 10 (1 - cos 2 pi x))``).

Importing this module compiles nothing: the kernels compile on first use (and are
cached on disk). A wrong shape raises ``ValueError``; NaN and infinite coordinates
are not checked and propagate into the result.
"""

from __future__ import annotations

import numpy as np

from evostrat.kernels.functions import (
    _ST_XMIN,
    _ackley_batch,
    _ackley_row,
    _different_powers_batch,
    _different_powers_row,
    _ellipsoid_batch,
    _ellipsoid_row,
    _griewank_batch,
    _griewank_row,
    _rastrigin_batch,
    _rastrigin_row,
    _rosenbrock_batch,
    _rosenbrock_row,
    _schaffer_batch,
    _schaffer_f6_batch,
    _schaffer_f6_row,
    _schaffer_row,
    _sphere_batch,
    _sphere_row,
    _styblinski_tang_batch,
    _styblinski_tang_row,
)
from evostrat.validation import check_int

__all__ = [
    "ALL",
    "DIMS",
    "FUNCTIONS",
    "OPTIMA",
    "ackley",
    "different_powers",
    "ellipsoid",
    "griewank",
    "rastrigin",
    "rosenbrock",
    "schaffer",
    "schaffer_f6",
    "sphere",
    "styblinski_tang",
]


# -------------------------------------------------------------------------- wrappers

_NO_MAX = 1 << 62

#: ``DIMS[name]`` -> ``(min_dim, max_dim)``, ``max_dim`` None where unbounded. The
#: one table of allowed dimensions: the functions and :data:`OPTIMA` check against it.
DIMS: dict[str, tuple[int, int | None]] = {
    "sphere": (1, None),
    "ellipsoid": (1, None),
    "rosenbrock": (2, None),
    "rastrigin": (1, None),
    "schaffer": (2, 2),
    "schaffer_f6": (2, 2),
    "ackley": (1, None),
    "griewank": (1, None),
    "styblinski_tang": (1, None),
    "different_powers": (1, None),
}


def _limits(name: str) -> tuple[int, int]:
    lo, hi = DIMS[name]
    return lo, _NO_MAX if hi is None else hi


def _dimension_error(name, shape, lo, hi):
    n = shape[-1]
    if lo == hi:
        need = f"exactly {lo} coordinates"
    else:
        need = f"at least {lo} coordinate{'s' if lo > 1 else ''}"
    what = "a point" if len(shape) == 1 else "each row (point) of a batch"
    return ValueError(
        f"{name}: {what} must have {need}, got {n} (array of shape {shape})"
    )


def _make(name, row, batch, doc):
    """Build the public wrapper: coerce, check the shape, call the kernel."""
    lo, hi = _limits(name)
    asarray = np.asarray
    f64 = np.float64

    def f(x):
        x = asarray(x, dtype=f64)
        nd = x.ndim
        if nd == 1:
            if lo <= x.shape[0] <= hi:
                return row(x)
        elif nd == 2:
            if lo <= x.shape[1] <= hi:
                return batch(x)
        else:
            raise ValueError(
                f"{name}: expected a 1-D point or a 2-D batch of points (one per "
                f"row), got an array of shape {x.shape}"
            )
        raise _dimension_error(name, x.shape, lo, hi)

    f.__name__ = f.__qualname__ = name
    f.__module__ = __name__
    f.__doc__ = doc
    return f


_SHAPES = """
    Parameters
    ----------
    x : array_like
        One point, shape ``(n,)``, or a batch of points, shape ``(m, n)`` (rows are
        points). Converted to ``float64``.

    Returns
    -------
    float or numpy.ndarray
        A Python float for one point, else a ``float64`` array of shape ``(m,)``.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D or 2-D, or its dimension ``n`` is not allowed."""

sphere = _make(
    "sphere",
    _sphere_row,
    _sphere_batch,
    """Sphere function ``f(x) = sum_i x_i^2``; minimum 0 at ``x = 0``, any ``n >= 1``.
"""
    + _SHAPES,
)

ellipsoid = _make(
    "ellipsoid",
    _ellipsoid_row,
    _ellipsoid_batch,
    """Ellipsoid with condition number 1e6.

    ``f(x) = sum_{i=0}^{n-1} 10^(6 i / (n - 1)) x_i^2`` (``x_0^2`` for ``n = 1``);
    minimum 0 at ``x = 0``. This is ``cma.ff.elli`` of pycma and the separable
    ellipsoid of N. Hansen, A. Ostermeier, "Completely derandomized self-adaptation
    in evolution strategies", Evol. Comput. 9(2), 2001, table 1.
"""
    + _SHAPES,
)

rosenbrock = _make(
    "rosenbrock",
    _rosenbrock_row,
    _rosenbrock_batch,
    """Rosenbrock function (the n-dimensional "banana" valley).

    ``f(x) = sum_{i=0}^{n-2} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2``; minimum 0 at
    ``x = (1, ..., 1)``. Needs ``n >= 2`` (it is constant 0 for ``n = 1``).
    Wikipedia, "Test functions for optimization"; H. H. Rosenbrock, Comput. J. 3,
    1960.
"""
    + _SHAPES,
)

rastrigin = _make(
    "rastrigin",
    _rastrigin_row,
    _rastrigin_batch,
    """Rastrigin function.

    ``f(x) = 10 n + sum_i (x_i^2 - 10 cos(2 pi x_i))``, computed as
    ``sum_i (x_i^2 + 10 (1 - cos(2 pi x_i)))``; minimum 0 at ``x = 0``. Wikipedia,
    "Test functions for optimization" / "Rastrigin function" (A = 10).
"""
    + _SHAPES,
)

schaffer = _make(
    "schaffer",
    _schaffer_row,
    _schaffer_batch,
    """Schaffer function N. 2 (two-dimensional only).

    ``f(x, y) = 0.5 + (sin^2(x^2 - y^2) - 0.5) / (1 + 0.001 (x^2 + y^2))^2``;
    minimum 0 at ``(0, 0)``. Wikipedia, "Test functions for optimization".
"""
    + _SHAPES,
)

schaffer_f6 = _make(
    "schaffer_f6",
    _schaffer_f6_row,
    _schaffer_f6_batch,
    """Schaffer's F6 function (two-dimensional only).

    ``f(x, y) = 0.5 + (sin^2(sqrt(x^2 + y^2)) - 0.5) / (1 + 0.001 (x^2 + y^2))^2``;
    minimum 0 at ``(0, 0)``, surrounded by concentric ridges. J. D. Schaffer,
    R. A. Caruana, L. J. Eshelman, R. Das, "A study of control parameters affecting
    online performance of genetic algorithms for function optimization", ICGA 1989.
"""
    + _SHAPES,
)

ackley = _make(
    "ackley",
    _ackley_row,
    _ackley_batch,
    """Ackley function in n dimensions (a = 20, b = 0.2, c = 2 pi).

    ``f(x) = -20 exp(-0.2 sqrt(mean(x_i^2))) - exp(mean(cos(2 pi x_i))) + 20 + e``;
    minimum 0 at ``x = 0``. Wikipedia, "Test functions for optimization" (the 2-D
    case) and "Ackley function"; T. Baeck, "Evolutionary Algorithms in Theory and
    Practice", 1996, section 3.3.
"""
    + _SHAPES,
)

griewank = _make(
    "griewank",
    _griewank_row,
    _griewank_batch,
    """Griewank function.

    ``f(x) = 1 + sum_i x_i^2 / 4000 - prod_i cos(x_i / sqrt(i))`` (``i`` from 1);
    minimum 0 at ``x = 0``. A. O. Griewank, "Generalized descent for global
    optimization", J. Optim. Theory Appl. 34, 1981; Wikipedia, "Griewank function".
"""
    + _SHAPES,
)

styblinski_tang = _make(
    "styblinski_tang",
    _styblinski_tang_row,
    _styblinski_tang_batch,
    """Styblinski-Tang function, shifted so that its minimum value is 0.

    ``f(x) = sum_i (x_i^4 - 16 x_i^2 + 5 x_i) / 2 - n * (-39.16616570377142)``;
    minimum 0 at ``x_i = -2.903534027771177`` for all ``i``. Computed per coordinate
    in the factored form ``(x_i - m)^2 ((x_i + m)^2 + 2 m^2 - 16) / 2`` with
    ``m = -2.903534027771177`` (equal up to rounding, ~1e-14 per coordinate), which is
    never negative and exactly 0 at the minimizer. Wikipedia, "Test functions for
    optimization"; M. A. Styblinski, T.-S. Tang, Neural Networks 3(4), 1990.
"""
    + _SHAPES,
)

different_powers = _make(
    "different_powers",
    _different_powers_row,
    _different_powers_batch,
    """Sum of different powers.

    ``f(x) = sum_{i=0}^{n-1} |x_i|^(2 + 4 i / (n - 1))`` (``x_0^2`` for ``n = 1``);
    minimum 0 at ``x = 0``. As in the CMA-ES benchmarks (BBOB f14 without rotation
    and square root); pycma's ``cma.ff.diffpow`` is the square root of this.
"""
    + _SHAPES,
)


# --------------------------------------------------------------------------- optima


#: the minimizer's coordinates where they are not 0
_MINIMIZER_COORDINATE = {"rosenbrock": 1.0, "styblinski_tang": _ST_XMIN}


def _make_optimum(name: str):
    """``OPTIMA[name]``: the minimizer in dimension ``n`` (default ``n`` where only
    one dimension is allowed), after checking ``n`` against :data:`DIMS`."""
    lo, hi = _limits(name)
    coordinate = _MINIMIZER_COORDINATE.get(name, 0.0)

    def optimum(n: int | None = lo if lo == hi else None) -> np.ndarray:
        if n is None:
            raise TypeError(f"{name}: give the dimension n, e.g. OPTIMA[{name!r}](10)")
        n = check_int(f"{name}: the dimension", n)
        if not lo <= n <= hi:
            need = f"exactly {lo}" if lo == hi else f"at least {lo}"
            raise ValueError(f"{name}: the dimension must be {need}, got {n}")
        return np.full(n, coordinate)

    optimum.__qualname__ = optimum.__name__ = f"{name}_optimum"
    return optimum


#: ``OPTIMA[name](n)`` -> a global minimizer (float64 array of length ``n``) of the
#: function ``name``; its value there is 0. The Schaffer functions accept only
#: ``n = 2`` (their default); ``rosenbrock`` needs ``n >= 2``.
OPTIMA = {name: _make_optimum(name) for name in DIMS}

#: Names of all test functions, in a fixed order.
ALL = tuple(OPTIMA)

#: ``FUNCTIONS[name]`` -> the function.
FUNCTIONS = {
    "sphere": sphere,
    "ellipsoid": ellipsoid,
    "rosenbrock": rosenbrock,
    "rastrigin": rastrigin,
    "schaffer": schaffer,
    "schaffer_f6": schaffer_f6,
    "ackley": ackley,
    "griewank": griewank,
    "styblinski_tang": styblinski_tang,
    "different_powers": different_powers,
}
