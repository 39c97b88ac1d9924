r"""CMA-ES: covariance matrix adaptation evolution strategy.

The :math:`(\mu/\mu_w, \lambda)`-CMA-ES of N. Hansen, "The CMA Evolution Strategy:
A Tutorial", arXiv:1604.00772 (2016), Table 1 and Appendix A, with the numerical
safeguards of pycma 4.x (``cma.CMAEvolutionStrategy``):

* weights: :math:`w'_i = \ln\frac{\lambda+1}{2} - \ln i`, the positive ones summing
  to 1, the negative ones (active CMA, option ``active``) scaled so that
  :math:`c_1 + c_\mu \sum w = 0`, limited by :math:`(1 - c_1 - c_\mu)/(c_\mu n)`
  and :math:`1 + 2\mu^-_{eff}/(\mu_{eff} + 2)` (tutorial eq. (53), pycma's
  ``RecombinationWeights.finalize_negative_weights``);
* :math:`c_1, c_\mu, c_c, c_\sigma, d_\sigma`: pycma 4.x's variants of the
  tutorial's Table 1 by default (chosen on bbob, ``docs/cmaes.md``), or Table 1
  itself (eqs. (54)-(58)) with ``defaults="tutorial"``
  (:func:`~evostrat.strategies.cma.params.cma_parameters`
  lists both);
* :math:`h_\sigma = 1` iff :math:`\|p_\sigma\|^2 / (1 - (1 - c_\sigma)^{2(g+1)}) / n
  - 1 < 1 + 4/(n + 1)` (pycma's form of the tutorial's eq. (45) test);
* the step-size change :math:`\exp((c_\sigma/d_\sigma)(\|p_\sigma\|/E\|N(0,I)\|
  - 1))` is clipped to :math:`e^{\pm 1}` per generation (pycma);
* the eigendecomposition is lazy: it is recomputed when at least
  :math:`1/(10 n (c_1 + c_\mu))` updates have passed since the last one (pycma's
  ``lazy_update_gap``); ``C`` is symmetrized first and its eigenvalues are floored
  at :math:`\max(\text{eig}) / 10^{16}`.

See ``docs/cmaes.md`` for the full derivation and the stop criteria.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import cma as kcma
from evostrat.kernels import rng
from evostrat.kernels.cma_eigen import (
    accumulate_cov,
    eigen_decompose,
    set_decomposition,
)
from evostrat.strategies.cma import linalg as cma_linalg
from evostrat.strategies.cma import mirrored
from evostrat.strategies.cma.base import MAX_CONDITION, CMABase
from evostrat.strategies.cma.params import cma_parameters, recombination_weights
from evostrat.strategies.options import Option

#: up to this dimension C is decomposed by the Householder + QL kernel
#: (:func:`evostrat.kernels.cma_eigen.ql_eigh`); above it by NumPy's ``eigh``, on one
#: OpenBLAS thread up to n = 320 (:mod:`evostrat.strategies.cma.linalg`)
NUMBA_EIGH_DIM = kcma.BLAS_DIM


__all__ = ["CMAES", "cma_parameters", "recombination_weights"]


class CMAES(CMABase):
    r"""CMA-ES (Hansen, arXiv:1604.00772, 2016), by default with pycma's constants.

    Samples :math:`x_i = m + \sigma B D z_i`, :math:`z_i` from the counter-based
    stream of individual ``i`` of the generation; ``tell`` updates the mean
    (eq. (41)), the paths :math:`p_\sigma, p_c` (eqs. (43), (45)), ``C`` with the
    rank-one and (active) rank-:math:`\mu` terms (eqs. (46), (47)) and
    :math:`\sigma` by CSA (eq. (44)) or, with ``step_size_adaptation="tpa"``, by
    two-point adaptation (:mod:`evostrat.strategies.cma.tpa`). See the module
    docstring for the parameters.

    Options are those of :class:`~evostrat.strategies.cma.base.CMABase`
    (``active``, ``defaults``, ``lr_adapt``, ``mirrored``, ``step_size_adaptation``,
    ``bounds``, pycma's stops),
    listed with their defaults in ``docs/strategies.md``; ``defaults`` is
    ``"pycma"`` here (measured on bbob, ``docs/cmaes.md``), ``"tutorial"`` selects
    the tutorial's Table 1.

    Attributes
    ----------
    mean : ndarray
        Distribution mean.
    sigma : float
        Step size.
    cov : ndarray, shape (dim, dim)
        Covariance matrix ``C`` (the distribution's covariance is ``sigma**2 C``).
    """

    #: pycma's constants by default: they did better on bbob than the tutorial's
    #: Table 1 at the default (small) lambda (docs/cmaes.md, "Defaults chosen on bbob")
    OPTIONS: ClassVar[dict[str, Option]] = {
        "defaults": replace(CMABase.OPTIONS["defaults"], default="pycma"),
    }
    _supports_variants = True
    #: rows of ``_vecs`` holding diag(C) and the eigenvalues of C, read by the run
    #: log (evostrat.runlog) without a call per row
    _LOG_ROWS = (3, 2)

    def _memory_bytes(self) -> int:
        n, lam = self.dim, self.popsize
        return 8 * (3 * n * n + 6 * lam * n + 4 * n + 2 * lam)

    def _setup_cov(self) -> None:
        n = self.dim
        self._vecs = np.zeros((4, n))  # p_sigma, p_c, eigenvalues of C, diag(C)
        self._vecs[2:] = 1.0
        self._mats = np.empty((3, n, n))  # C, B, (B D)^T
        self._mats[:] = np.eye(n)
        self._eigen_generation = 0
        self.lazy_gap = 1.0 / (self.c1 + self.cmu + 1e-23) / n / 10.0
        # large n: C = _cov_decay * mats[0] + sum_r _ucoef[r] _U[r] _U[r]^T over the
        # first _pending rows (see kcma.tell_full), formed when decomposed
        rows = 0 if n <= kcma.BLAS_DIM else self.popsize + 1
        capacity = rows * (math.ceil(self.lazy_gap) + 1)
        self._U, self._ucoef = np.empty((capacity, n)), np.zeros(capacity)
        self._pending, self._cov_decay = 0, 1.0

    _SCRATCH = ("_R_buffer",)  # rebuilt on demand by _pending_terms

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if "_U" in state:  # only the pending rows; the rest is scratch
            state["_U"] = self._U[: self._pending].copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "_U" in state:
            U = state["_U"]
            state["_U"] = np.empty((state["_ucoef"].shape[0], U.shape[1]))
            state["_U"][: U.shape[0]] = U
        self.__dict__.update(state)

    # ------------------------------------------------------------- state views
    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``C`` (ascending) at the last decomposition."""
        return self._vecs[2]

    @property
    def cov(self) -> np.ndarray:
        """Covariance matrix ``C``; the distribution's covariance is sigma**2 C.

        Above n = 48 a new array when update terms are pending (``C`` is formed
        once per eigendecomposition), else the state itself."""
        if not self._pending:
            return self._mats[0]
        C = self._mats[0].copy()
        accumulate_cov(C, self._pending_terms(), self._cov_decay)
        return C

    @property
    def B(self) -> np.ndarray:
        """Eigenvectors of ``C`` (columns) at the last decomposition."""
        return self._mats[1]

    @property
    def _BDT(self) -> np.ndarray:
        return self._mats[2]

    # --------------------------------------------------------------- sampling
    def _samples_rows(self) -> bool:
        return self.dim <= kcma.BLAS_DIM

    def _sample_rows(self, indices: np.ndarray, whole: bool) -> np.ndarray:
        """``[Z, Y, X]`` of rows ``indices`` (small n) or, for large n, always of
        the whole population (``whole``: whether ``indices`` is everyone)."""
        n, line = self.dim, None if self._tpa is None else self._tpa.line
        if n > kcma.BLAS_DIM:  # large n: always the whole population
            indices = self._all_indices
        rows = mirrored.partners(indices) if self._mirrored else indices
        if line is not None and not self._mirrored:  # two-point pair (cma/tpa.py):
            rows = np.where(indices == 1, 0, rows)  # 1 from individual 0's stream
        if n <= kcma.BLAS_DIM:
            ZYX = kcma.sample_full(
                self._key, self.generation, rows, self._mats[2], self.mean, self.sigma
            )
            if self._mirrored:
                mirrored.mirror(ZYX, indices, self.mean, self.sigma)
            if line is not None:  # individuals 0 and 1 on the last mean shift
                kcma.place_pair(
                    ZYX, indices, line, self._mats[2], self.mean, self.sigma
                )
            return ZYX
        # large n: Y = Z (B D)^T by one BLAS product (rows of differently shaped
        # products need not be bit-identical)
        ZYX = np.empty((3, self.popsize, n))
        ZYX[0] = rng.normal_rows(self._key, self.generation, rows, n, rng.STREAM_NORMAL)
        if self._mirrored:
            ZYX[0, 1::2] *= -1.0
        if line is not None:  # Y and X of the pair are overwritten below
            kcma.place_pair(ZYX, indices, line, self._mats[2], self.mean, self.sigma)
        np.dot(ZYX[0], self._mats[2], out=ZYX[1])
        np.multiply(ZYX[1], self.sigma, out=ZYX[2])
        ZYX[2] += self.mean
        return ZYX

    def _pending_terms(self) -> np.ndarray:
        """``sum_r ucoef[r] U[r] U[r]^T`` over the pending rows (one BLAS product)."""
        U = self._U[: self._pending]
        R = self.__dict__.get("_R_buffer")
        if R is None:
            R = self.__dict__["_R_buffer"] = np.empty((self.dim, self.dim))
        return np.dot(U.T * self._ucoef[: self._pending], U, out=R)

    def _form_cov(self) -> None:
        """Add the pending terms to ``C = mats[0]`` (large n)."""
        if self._pending:
            accumulate_cov(self._mats[0], self._pending_terms(), self._cov_decay)
            self._pending, self._cov_decay = 0, 1.0

    # ----------------------------------------------------------------- update
    def _update(self, fitness: np.ndarray) -> None:
        ZYX = self._population()
        fitness = self._penalized(fitness, ZYX)
        lowrank = self._U.shape[0] > 0
        if lowrank and self._pending + self.popsize + 1 > self._U.shape[0]:
            self._form_cov()  # not reached on the lazy schedule; a safeguard
        lra = self._lra  # learning-rate adaptation (cma/lra.py) or None
        before = None if lra is None else lra.before(self)
        tpa = self._tpa  # two-point step-size adaptation (cma/tpa.py) or None
        old_mean, old_sigma = self.mean.copy() if tpa else self.mean, self.sigma
        ranked = mirrored.pairwise_ranks(fitness) if self._mirrored else fitness
        out = kcma.tell_full(
            ranked, ZYX, self.mean, self.sigma, self._vecs, self._mats,
            self.generation, self._params, self._U, self._ucoef, self._pending,
        )  # fmt: skip
        self.sigma, self.hsig, fb, fm, fq, decay, self._pending = out
        if tpa is not None:  # replaces CSA's sigma (p_sigma still gives h_sigma)
            self.sigma = old_sigma * tpa.factor(fitness)
        if self._mirrored:  # the stop criteria see the true fitness, not ranks
            fb, fm, fq = mirrored.fitness_stats(fitness)
        if lowrank:
            self._cov_decay *= decay
        if lra is not None and before is not None:  # rescale, decompose the new C
            self._form_cov()
            mean, self.sigma, self._mats[0] = lra.adapt(
                self.mean, float(self.sigma), self._mats[0], before
            )
            self.mean[:] = mean
            self._eigen_generation = self.generation + 1 - math.ceil(self.lazy_gap)
        if self.generation + 1 - self._eigen_generation >= self.lazy_gap:
            small = self.dim <= NUMBA_EIGH_DIM  # QL in numba, else LAPACK
            if not (small and eigen_decompose(self._vecs, self._mats, MAX_CONDITION)):
                self._form_cov()  # C is exactly symmetric (mirrored updates)
                ev, self._mats[1] = cma_linalg.eigh(self._mats[0])
                set_decomposition(ev, self._vecs, self._mats, MAX_CONDITION)
            self._eigen_generation = self.generation + 1
        self._correct_margin()  # integer variables (cma/margin.py)
        if tpa is not None:  # the line of the next generation's two points
            tpa.moved(self.mean - old_mean, self.B, self.eigenvalues)
        self._record(fb, fm, fq)

    def _sampling_variances(self, index: np.ndarray) -> np.ndarray:
        """Column norms of ``(B D)^T``: the variances of the decomposition that
        samples the next generation (C itself may have moved on: lazy updates)."""
        cols = self._mats[2][:, index]
        return np.einsum("kj,kj->j", cols, cols)

    # ------------------------------------------------------------- stopping
    def _diag_cov(self) -> np.ndarray:
        return self._vecs[3]

    def _condition(self) -> float:
        ev = self.eigenvalues
        return float(ev[-1] / ev[0])

    def _max_eigenvalue(self) -> float:
        return float(self.eigenvalues[-1])  # ascending

    def _axis_no_effect(self) -> bool:
        i = self.generation % self.dim
        scale = 0.1 * self.sigma * math.sqrt(self.eigenvalues[i])
        return kcma.count_no_effect(self.mean, self.B[:, i], scale) == self.dim
