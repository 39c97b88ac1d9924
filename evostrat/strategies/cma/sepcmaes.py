r"""sep-CMA-ES: CMA-ES with a diagonal covariance matrix, linear cost in n.

R. Ros, N. Hansen, "A Simple Modification in CMA-ES Achieving Linear Time and Space
Complexity", PPSN X (2008), section 3: ``C`` is kept diagonal, the sampling is
:math:`x_i = m + \sigma\, \mathrm{diag}(\sqrt{c})\, z_i`, the isotropic path uses
:math:`C^{-1/2} \langle y \rangle_w = \langle z \rangle_w`, and only the diagonal of
the rank-one and rank-:math:`\mu` updates is kept, with the learning rates multiplied
by :math:`(n + 2)/3` (their eq. (6)) because the diagonal has only n degrees of
freedom. Everything else (weights, cs, damps, cc, h_sigma, stop criteria) is as in
:class:`~evostrat.strategies.cma.cmaes.CMAES`. Time and memory per generation are
O(lambda n); no n x n array is ever formed.
"""

from __future__ import annotations

import numpy as np

from evostrat.kernels import cma_sep, rng
from evostrat.strategies.cma.base import CMABase

#: a variance never drops below this fraction of its previous value in one update
VARIANCE_SHRINK = 1e-2


class SepCMAES(CMABase):
    r"""Separable CMA-ES (Ros & Hansen, PPSN 2008): diagonal covariance.

    Same constructor, options and stop criteria as
    :class:`~evostrat.strategies.cma.cmaes.CMAES` (``conditioncov``
    uses ``max(c) / min(c)``, ``noeffectaxis`` the coordinate axes). Learning rates
    :math:`c_1, c_\mu` are CMAES's times :math:`(n+2)/3`, capped so that
    :math:`c_1 + c_\mu \le 1`; with ``active=True`` the negative weights are limited
    so that every variance stays positive (tutorial eq. (53)).

    Attributes
    ----------
    cov_diag : ndarray, shape (dim,)
        The diagonal of ``C``.
    cov : ndarray
        Alias of ``cov_diag`` (the diagonal, not an n x n matrix).
    """

    def _learning_rates(self, p: dict[str, float]) -> tuple[float, float]:
        fac = (self.dim + 2.0) / 3.0
        c1 = min(1.0, p["c1"] * fac)
        cmu = min(1.0 - c1, p["cmu"] * fac)
        return c1, cmu

    def _memory_bytes(self) -> int:
        return 8 * (6 * self.popsize * self.dim + 8 * self.dim + 2 * self.popsize)

    def _setup_cov(self) -> None:
        self._vecs = np.zeros((4, self.dim))  # p_sigma, p_c, diag(C), sqrt(diag(C))
        self._vecs[2:] = 1.0
        self.lazy_gap = 0.0

    #: rows of ``_vecs`` holding diag(C) and (unsorted) the eigenvalues of C, read
    #: by the run log (evostrat.runlog) without a call per row
    _LOG_ROWS = (2, 2)

    @property
    def cov_diag(self) -> np.ndarray:
        """The diagonal of ``C``."""
        return self._vecs[2]

    @property
    def cov(self) -> np.ndarray:
        """Alias of :attr:`cov_diag` (a vector, not an n x n matrix)."""
        return self._vecs[2]

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the diagonal ``C``, ascending."""
        return np.sort(self._vecs[2])

    def _sample_rows(self, indices: np.ndarray, whole: bool) -> np.ndarray:
        ZYX = np.empty((3, indices.shape[0], self.dim))
        ZYX[0] = rng.normal_rows(
            self._key, self.generation, indices, self.dim, rng.STREAM_NORMAL
        )
        cma_sep.transform_diag(ZYX, self._vecs[3], self.mean, self.sigma)
        return ZYX

    def _update(self, fitness: np.ndarray) -> None:
        ZYX = self._population()
        fitness = self._penalized(fitness, ZYX)
        self.sigma, self.hsig, fb, fm, fq = cma_sep.tell_diag(
            fitness, ZYX, self.mean, self.sigma, self._vecs, self.generation,
            self._params, VARIANCE_SHRINK,
        )  # fmt: skip
        self._correct_margin()  # integer variables (cma/margin.py)
        self._record(fb, fm, fq)

    def _diag_cov(self) -> np.ndarray:
        return self._vecs[2]

    def _max_eigenvalue(self) -> float:
        return float(self.cov_diag.max())

    def _condition(self) -> float:
        return float(self.cov_diag.max() / self.cov_diag.min())

    def _axis_no_effect(self) -> bool:
        i = self.generation % self.dim
        m = self.mean[i]
        return bool(m == m + 0.1 * self.sigma * self._vecs[3, i])
