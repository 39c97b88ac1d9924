r"""Integer variables for CMA-ES: the CMA-ES with Margin.

R. Hamano, S. Saito, M. Nomura, S. Shirakawa, "CMA-ES with Margin: Lower-Bounding
Marginal Probability for Mixed-Integer Black-Box Optimization", GECCO 2022
(arXiv:2205.13482), section 4, with the mean-and-scale correction of the integer
case of its journal version (arXiv:2212.09260, section 4.2).

Coordinate ``j`` of ``integer_variables`` takes values on the grid
:math:`g_j(k) = a_j + k s_j` (step :math:`s_j`, anchor :math:`a_j` the lower bound
when it is finite, else the upper bound, else 0; :math:`k` limited by ``bounds``).
The strategy samples :math:`x = m + \sigma y` as usual; the point handed to the
objective is the *encoding*

.. math:: \bar x_j = g_j(\text{nearest } k \text{ to } m_j + A_j (x_j - m_j))

(ties to the lower value), with a diagonal scale :math:`A` (one entry per integer
coordinate, initially 1) that only the encoding sees. The CMA update uses the
continuous samples :math:`x` unchanged. After every update, with :math:`v_j =
\sigma^2 \mathrm{Var}(y_j)` the sampling variance of coordinate ``j`` and
:math:`\ell^-_j \le m_j \le \ell^+_j` the thresholds (midpoints between grid
values) around the mean's cell, the *margin correction* keeps the probability of
encoding to another value than the mean's at least :math:`\alpha` (default
:math:`1/(n\lambda)`, the paper's):

* a cell at an end of the grid has one threshold :math:`\ell`; if the probability
  of crossing it, :math:`\Phi(-|m_j - \ell| / (A_j \sqrt{v_j}))`, is below
  :math:`\alpha`, the mean moves to :math:`\ell + \mathrm{sign}(m_j - \ell)
  \Phi^{-1}(1 - \alpha) A_j \sqrt{v_j}` (paper, eq. (10); the binary case);
* an inner cell: the probabilities :math:`p^-, p^+` of falling below
  :math:`\ell^-` / above :math:`\ell^+` are floored at :math:`\alpha/2`, the three
  cell probabilities rescaled to sum to one, :math:`p' = \alpha/2 + (p - \alpha/2)
  (1 - 3\alpha/2)/(S - 3\alpha/2)`, and :math:`m_j, A_j` solve
  :math:`m_j - \ell^- = q^- A_j \sqrt{v_j}`, :math:`\ell^+ - m_j = q^+ A_j
  \sqrt{v_j}` with :math:`q = \Phi^{-1}(1 - p')` (journal version, eqs. (14)-(16)).

Unlike the paper (which uses :math:`\mathrm{diag}(C)`), :math:`v` is the variance
the *next* samples are drawn with: CMAES decomposes ``C`` lazily, so it is the
column norm of ``(B D)^T``; the margin then holds for every generation exactly.
Only the rows changed: ``ask(indices)`` stays a pure function of the state.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from evostrat.strategies.cma.bounds import BoundPenalty
from evostrat.strategies.options import Option


def check_integer_variables(name: str, value: Any) -> dict[int, float] | None:
    """``{index: step}`` from a sequence of indices (step 1) or a mapping
    ``{index: step}`` (None when empty); the indices are checked against the
    dimension by :class:`Margin`."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"{name} must be a sequence of coordinate indices or a dict "
            f"{{index: step}}, got {value!r}"
        )
    else:
        indices = np.asarray(list(value), dtype=object)
        if indices.ndim != 1:
            raise TypeError(f"{name} must be a flat sequence of indices, got {value!r}")
        items = [(i, 1.0) for i in indices]
    out: dict[int, float] = {}
    for index, step in items:
        if not isinstance(index, numbers.Integral) or isinstance(index, bool):
            raise TypeError(f"{name}: indices must be integers, got {index!r}")
        if index < 0:
            raise ValueError(f"{name}: indices must be >= 0, got {index}")
        if int(index) in out:
            raise ValueError(f"{name}: index {index} is given twice")
        if (
            isinstance(step, bool)
            or not isinstance(step, numbers.Real)
            or not math.isfinite(step)
            or step <= 0
        ):
            raise ValueError(
                f"{name}: the step of coordinate {index} must be a finite number "
                f"> 0, got {step!r}"
            )
        out[int(index)] = float(step)
    return dict(sorted(out.items())) or None  # none given: no integer variables


#: the options CMA strategies add for integer variables (merged into their table)
MARGIN_OPTIONS: dict[str, Option] = {
    "integer_variables": Option(
        None,
        "coordinates on an integer grid: a list of indices (step 1) or a dict "
        "{index: step}; handled by CMA-ES with Margin (Hamano et al. 2022)",
        "any",
        none_ok=True,
        check_fn=check_integer_variables,
    ),
    "margin": Option(
        None,
        "least probability of leaving the mean's integer value (None: 1 / (n "
        "popsize), the paper's); needs integer_variables",
        "real",
        0.0,
        0.5,
        open_low=True,
        open_high=True,
        none_ok=True,
    ),
}


class Margin:
    """The integer grid, the encoding and the margin correction (module docstring).

    Parameters
    ----------
    steps : dict
        ``{index: step}`` of the integer coordinates (checked option).
    dim, popsize : int
        Dimension and population size.
    alpha : float, optional
        The margin; ``1 / (dim * popsize)`` when None.
    lower, upper : ndarray
        The box of every coordinate (``-inf``/``inf`` where unbounded).

    Raises
    ------
    ValueError
        An index out of range, or bounds that leave fewer than two grid values.
    """

    def __init__(
        self,
        steps: Mapping[int, float],
        dim: int,
        popsize: int,
        alpha: float | None,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> None:
        idx = np.array(list(steps), dtype=np.int64)
        if idx.size and idx[-1] >= dim:
            raise ValueError(
                f"integer_variables: index {int(idx[-1])} is out of range for "
                f"dimension {dim}"
            )
        self.index = idx
        self.step = np.array(list(steps.values()), dtype=np.float64)
        lo, hi = lower[idx], upper[idx]
        self.anchor = np.where(np.isfinite(lo), lo, np.where(np.isfinite(hi), hi, 0.0))
        self.kmin = np.where(np.isfinite(lo), 0.0, -np.inf)
        # 1e-9: a bound meant to lie on the grid survives the division's rounding
        top = np.floor((hi - self.anchor) / self.step + 1e-9)
        self.kmax = np.where(np.isfinite(hi), top, np.inf)
        few = np.flatnonzero(self.kmax - self.kmin < 1)
        if few.size:
            j = int(idx[few[0]])
            raise ValueError(
                f"integer_variables: coordinate {j} has fewer than two values on its "
                f"grid of step {steps[j]:g} within bounds [{lower[j]:g}, {upper[j]:g}]"
            )
        self.alpha = 1.0 / (dim * popsize) if alpha is None else float(alpha)
        self.A = np.ones(idx.size)

    def _cell(self, v: np.ndarray) -> np.ndarray:
        """Grid position ``k`` nearest to ``v`` (ties to the lower), clipped."""
        k = np.ceil((v - self.anchor) / self.step - 0.5)
        return np.clip(k, self.kmin, self.kmax)

    def encode(self, X: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """Rows of ``X`` with the integer coordinates encoded (a new array)."""
        out = np.array(X, dtype=np.float64)
        j = self.index
        m = mean[j]
        v = m + self.A * (out[..., j] - m)
        out[..., j] = self.anchor + self._cell(v) * self.step
        return out

    def thresholds(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` thresholds of the mean's cell; equal at a grid end."""
        k = self._cell(m)
        k_lo = np.where(k == self.kmin, k + 0.5, k - 0.5)
        k_up = np.where(k == self.kmax, k - 0.5, k + 0.5)
        return self.anchor + k_lo * self.step, self.anchor + k_up * self.step

    def correct(self, mean: np.ndarray, sigma: float, variances: np.ndarray) -> None:
        """The margin correction (module docstring), in place on ``mean`` and ``A``.

        ``variances``: the variance of ``y_j`` the next samples are drawn with, for
        the integer coordinates (the distribution's is ``sigma**2`` times it).
        """
        j, a = self.index, self.alpha
        m = mean[j]
        s = sigma * self.A * np.sqrt(variances)
        lo, up = self.thresholds(m)
        ok = np.isfinite(s) & (s > 0)  # else nothing is corrected
        with np.errstate(divide="ignore", invalid="ignore"):
            p_lo = ndtr((lo - m) / s)  # P(v <= lo)
            p_up = ndtr((m - up) / s)  # P(v > up)
        end = lo == up
        # a grid end (paper eq. (10)): the far side gets probability alpha
        far = ok & end & (np.minimum(p_lo, p_up) < a)
        if np.any(far):
            side = np.where(m[far] > up[far], 1.0, -1.0)
            m[far] = up[far] + side * (-ndtri(a)) * s[far]
        # an inner cell (journal eqs. (14)-(16)), where a side is below alpha / 2
        inner = ok & ~end & (np.minimum(p_lo, p_up) < a / 2)
        if np.any(inner):
            pl, pu = np.maximum(p_lo[inner], a / 2), np.maximum(p_up[inner], a / 2)
            total = pl + pu + (1.0 - p_lo[inner] - p_up[inner])
            scale = (1.0 - 1.5 * a) / (total - 1.5 * a)
            q_lo = -ndtri(np.minimum(a / 2 + (pl - a / 2) * scale, 0.5))
            q_up = -ndtri(np.minimum(a / 2 + (pu - a / 2) * scale, 0.5))
            lo_i, up_i = lo[inner], up[inner]
            with np.errstate(over="ignore"):
                A = (up_i - lo_i) / ((q_lo + q_up) * sigma * np.sqrt(variances[inner]))
            keep = np.isfinite(A)  # an overflow (sigma ~ 1e-300) corrects nothing
            where = np.flatnonzero(inner)[keep]
            self.A[where] = A[keep]
            m[where] = ((lo_i * q_up + up_i * q_lo) / (q_lo + q_up))[keep]
        mean[j] = m


def setup_margin(
    options: Mapping[str, Any],
    dim: int,
    popsize: int,
    bounds: BoundPenalty | None,
) -> tuple[Margin | None, BoundPenalty | None]:
    """The :class:`Margin` of the options (None without ``integer_variables``) and
    the bounds left for the penalty: integer coordinates are kept on their grid
    by the encoding, not repaired nor penalized.

    Raises
    ------
    ValueError
        ``margin`` without ``integer_variables``, or a bad grid (:class:`Margin`).
    """
    steps = options["integer_variables"]
    if steps is None:
        if options["margin"] is not None:
            raise ValueError("margin is only used with integer_variables")
        return None, bounds
    inf = np.full(dim, np.inf)
    lower = -inf if bounds is None else bounds.lower
    upper = inf if bounds is None else bounds.upper
    margin = Margin(steps, dim, popsize, options["margin"], lower, upper)
    if bounds is None:
        return margin, None
    lower, upper = lower.copy(), upper.copy()
    lower[margin.index], upper[margin.index] = -np.inf, np.inf
    if not (np.any(np.isfinite(lower)) or np.any(np.isfinite(upper))):
        return margin, None
    return margin, BoundPenalty((lower, upper), dim)
