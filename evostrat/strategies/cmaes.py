r"""CMA-ES: covariance matrix adaptation evolution strategy.

The :math:`(\mu/\mu_w, \lambda)`-CMA-ES of N. Hansen, "The CMA Evolution Strategy:
A Tutorial", arXiv:1604.00772 (2016), Table 1 and Appendix A, with the numerical
safeguards of pycma 4.x (``cma.CMAEvolutionStrategy``):

* weights: :math:`w'_i = \ln\frac{\lambda+1}{2} - \ln i`, the positive ones summing
  to 1, the negative ones (active CMA, option ``active``) scaled so that
  :math:`c_1 + c_\mu \sum w = 0`, limited by :math:`(1 - c_1 - c_\mu)/(c_\mu n)`
  and :math:`1 + 2\mu^-_{eff}/(\mu_{eff} + 2)` (tutorial eq. (53), pycma's
  ``RecombinationWeights.finalize_negative_weights``);
* :math:`c_1, c_\mu, c_c, c_\sigma, d_\sigma`: the tutorial's Table 1 (eqs.
  (54)-(58)) by default, or pycma 4.x's variants of them with
  ``defaults="pycma"`` (:func:`~evostrat.strategies.cma_params.cma_parameters`
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
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import cma as kcma
from evostrat.kernels import rng
from evostrat.kernels.cma_eigen import (
    accumulate_cov,
    eigen_decompose,
    set_decomposition,
)
from evostrat.strategies import cma_linalg
from evostrat.strategies.base import Strategy
from evostrat.strategies.bounds import BoundPenalty
from evostrat.strategies.cma_params import cma_parameters, recombination_weights
from evostrat.strategies.cma_stop import CMAStopCriteria

#: pycma option names accepted as aliases of evostrat's
ALIASES = {
    "maxiter": "max_generations",
    "maxfevals": "max_evals",
    "tolconditioncov": "conditioncov",
}
#: eigenvalues of C are floored at max(eig) / MAX_CONDITION
MAX_CONDITION = 1e16
#: up to this dimension C is decomposed by the Householder + QL kernel
#: (:func:`evostrat.kernels.cma_eigen.ql_eigh`); above it by NumPy's ``eigh``, on one
#: OpenBLAS thread up to n = 320 (:mod:`evostrat.strategies.cma_linalg`)
NUMBA_EIGH_DIM = kcma.BLAS_DIM


__all__ = ["CMAES", "cma_parameters", "recombination_weights"]


class CMAES(CMAStopCriteria, Strategy):
    r"""CMA-ES with the tutorial's defaults (Hansen, arXiv:1604.00772, 2016, Table 1).

    Samples :math:`x_i = m + \sigma B D z_i`, :math:`z_i` from the counter-based
    stream of individual ``i`` of the generation; ``tell`` updates the mean
    (eq. (41)), the paths :math:`p_\sigma, p_c` (eqs. (43), (45)), ``C`` with the
    rank-one and (active) rank-:math:`\mu` terms (eqs. (46), (47)) and
    :math:`\sigma` by CSA (eq. (44)). See the module docstring for the parameters.

    Options
    -------
    active : bool, default True
        Negative recombination weights in the covariance update (pycma
        ``CMA_active``).
    defaults : {"tutorial", "pycma"}, default "tutorial"
        The formulas of :math:`c_1, c_\mu, c_\sigma, d_\sigma`: the tutorial's Table 1,
        or pycma 4.x's variants (then every parameter equals pycma's, for
        line-by-line comparisons).
    tolfunhist : float, default 1e-12
        Stop when the best fitness of the last ``10 + 30 n / lambda`` generations
        varies less.
    tolupsigma : float, default 1e20
        Stop when ``sigma / sigma0 > tolupsigma * sqrt(max eig C)``.
    tolfacupx : float, default 1e3
        Stop when a standard deviation exceeds ``sigma0 * tolfacupx``.
    tolstagnation : int, optional
        Default ``int(100 + 100 n^1.5 / lambda)``; stop when the median of the recent
        best and median fitness (sampled every 5 generations) stop improving.
    conditioncov : float, default 1e14 (alias ``tolconditioncov``)
        Stop when the condition number of ``C`` exceeds it.
    tolflatfitness : int, default 1
        Stop when the best and the 75 %-quantile fitness are equal for more than
        this many consecutive generations.
    noeffectaxis, noeffectcoord : bool, default True
        Stop when adding ``0.1 sigma sqrt(eig_i) b_i`` (one principal axis per
        generation, cyclically) / ``0.2 sigma sqrt(C_jj)`` (any coordinate) leaves
        the mean unchanged in floating point.
    maxiter, maxfevals : int
        Aliases of ``max_generations``, ``max_evals``.
    bounds : (lower, upper), optional
        Box bounds, each a scalar, None or an array of length dim (None entries
        unbounded). ``ask()`` returns the samples repaired into the box; ``tell``
        ranks by the fitness plus pycma's adaptive ``BoundPenalty`` on the squared
        repair distance and updates from the unrepaired samples
        (:mod:`evostrat.strategies.bounds`).

    ``tolx`` (base option) stops when every ``sigma sqrt(C_jj)`` and every
    ``sigma |p_c|_j`` is below it (pycma).

    Attributes
    ----------
    mean : ndarray
        Distribution mean.
    sigma : float
        Step size.
    cov : ndarray, shape (dim, dim)
        Covariance matrix ``C`` (the distribution's covariance is ``sigma**2 C``).
    """

    name = "cmaes"
    _options: ClassVar[dict[str, Any]] = {
        "active": True,
        "defaults": "tutorial",
        "tolfunhist": 1e-12,
        "tolupsigma": 1e20,
        "tolfacupx": 1e3,
        "tolstagnation": None,
        "conditioncov": 1e14,
        "tolflatfitness": 1,
        "noeffectaxis": True,
        "noeffectcoord": True,
        "bounds": None,
    }
    _min_popsize = 2

    def __init__(
        self,
        x0: Any,
        sigma0: float,
        popsize: int | None = None,
        seed: int | None = None,
        maximize: bool = False,
        **options: Any,
    ) -> None:
        for alias, target in ALIASES.items():
            if alias in options:
                if target in options:
                    raise TypeError(
                        f"give either {alias!r} or {target!r}, not both "
                        f"({alias} is pycma's name for {target})"
                    )
                value = options.pop(alias)
                if isinstance(value, float) and target != "conditioncov":
                    # pycma users write maxfevals=1e4 or maxiter=inf
                    if value == math.inf:
                        value = None
                    elif value.is_integer():
                        value = int(value)
                options[target] = value
        super().__init__(x0, sigma0, popsize, seed, maximize, **options)

    # ------------------------------------------------------------------ setup
    def _default_popsize(self) -> int:
        return 4 + int(3 * math.log(self.dim))

    def _learning_rates(self, p: dict[str, float]) -> tuple[float, float]:
        return p["c1"], p["cmu"]

    def _setup(self) -> None:
        self._check_cma_options()
        p = cma_parameters(self.dim, self.popsize, self.options["defaults"])
        self.c1, self.cmu = self._learning_rates(p)
        self.cc, self.cs, self.damps = p["cc"], p["cs"], p["damps"]
        self.mueff, self.mu, self.chi_n = p["mueff"], p["mu"], p["chi_n"]
        weights = recombination_weights(
            self.popsize, self.dim, self.c1, self.cmu, bool(self.options["active"])
        )
        # scalars and weights in one vector: the tell kernel takes few arguments
        pv = np.zeros(kcma.N_PARAMS + self.popsize)
        pv[kcma.P_CS], pv[kcma.P_DAMPS], pv[kcma.P_CC] = self.cs, self.damps, self.cc
        pv[kcma.P_C1], pv[kcma.P_CMU] = self.c1, self.cmu
        pv[kcma.P_MUEFF], pv[kcma.P_CHI_N] = self.mueff, self.chi_n
        pv[kcma.P_FLOOR] = 1.0 / MAX_CONDITION
        pv[kcma.N_PARAMS :] = weights
        self._params = pv
        self.sigma0 = float(self.sigma)
        key = self._key
        self._key64 = key - (1 << 64) if key >= 1 << 63 else key
        self.hsig = 1.0
        # stop-criterion bookkeeping (pycma's fit.histbest / histmedian)
        self._histbest: list[float] = []
        self._histmedian: list[float] = []
        self._best_seen = math.inf
        self._best_evals = 0
        self._flat_generations = 0
        b = self.options["bounds"]
        self._bounds = None if b is None else BoundPenalty(b, self.dim)
        self._setup_cov()

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

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_R_buffer", None)  # scratch space, rebuilt on demand
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
    def weights(self) -> np.ndarray:
        """Recombination weights by rank, positive then negative (active)."""
        return self._params[kcma.N_PARAMS :]

    @property
    def ps(self) -> np.ndarray:
        """Conjugate evolution path p_sigma (tutorial eq. (43))."""
        return self._vecs[0]

    @property
    def pc(self) -> np.ndarray:
        """Evolution path p_c (tutorial eq. (45))."""
        return self._vecs[1]

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
    def _sample(self, indices: np.ndarray) -> np.ndarray:
        ZYX = self._cache.get("ZYX")
        everyone = self._all_indices
        if ZYX is None:
            whole = indices is everyone or (
                indices.shape[0] == everyone.shape[0]
                and bool(np.all(indices == everyone))
            )
            ZYX = self._sample_rows(indices, whole)
            if whole:  # the whole population: keep it for tell
                self._cache["ZYX"] = ZYX
            elif self._samples_rows():  # just these rows, a new array
                return ZYX[2] if self._bounds is None else self._bounds.repair(ZYX[2])
        # a copy: the cached population stays as it was
        X = ZYX[2].copy() if indices is everyone else ZYX[2][indices]
        return X if self._bounds is None else self._bounds.repair(X)

    def _row(self, index: int) -> np.ndarray:
        x = self._population()[2][index].copy()  # no resampling for the best row
        return x if self._bounds is None else self._bounds.repair(x)

    def _samples_rows(self) -> bool:
        """Whether :meth:`_sample_rows` makes just the rows asked for."""
        return self.dim <= kcma.BLAS_DIM

    def _sample_rows(self, indices: np.ndarray, whole: bool) -> np.ndarray:
        """``[Z, Y, X]`` of rows ``indices`` (small n) or, for large n, always of
        the whole population (``whole``: whether ``indices`` is everyone)."""
        n = self.dim
        if n <= kcma.BLAS_DIM:
            return kcma.sample_full(
                self._key64, self.generation, indices, self._mats[2], self.mean,
                self.sigma,
            )  # fmt: skip
        # large n: always the whole population, Y = Z (B D)^T by one BLAS product
        # (rows of differently shaped products need not be bit-identical)
        ZYX = np.empty((3, self.popsize, n))
        ZYX[0] = rng.normal_rows(
            self._key64, self.generation, self._all_indices, n, rng.STREAM_NORMAL
        )
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

    def _population(self) -> np.ndarray:
        """This generation's ``[Z, Y, X]`` (from the cache, else regenerated)."""
        ZYX = self._cache.get("ZYX")
        if ZYX is None:
            ZYX = self._cache["ZYX"] = self._sample_rows(self._all_indices, True)
        return ZYX

    def _penalized(self, fitness: np.ndarray, ZYX: np.ndarray) -> np.ndarray:
        if self._bounds is None:
            return fitness
        return self._bounds.penalized(
            fitness, ZYX[2], self.mean, self.sigma**2 * self._diag_cov(),
            self.generation + 1, self.mueff,
        )  # fmt: skip

    # ----------------------------------------------------------------- update
    def _update(self, fitness: np.ndarray) -> None:
        ZYX = self._population()
        fitness = self._penalized(fitness, ZYX)
        lowrank = self._U.shape[0] > 0
        if lowrank and self._pending + self.popsize + 1 > self._U.shape[0]:
            self._form_cov()  # not reached on the lazy schedule; a safeguard
        out = kcma.tell_full(
            fitness, ZYX, self.mean, self.sigma, self._vecs, self._mats,
            self.generation, self._params, self._U, self._ucoef, self._pending,
        )  # fmt: skip
        self.sigma, self.hsig, fb, fm, fq, decay, self._pending = out
        if lowrank:
            self._cov_decay *= decay
        if self.generation + 1 - self._eigen_generation >= self.lazy_gap:
            small = self.dim <= NUMBA_EIGH_DIM  # QL in numba, else LAPACK
            if not (small and eigen_decompose(self._vecs, self._mats, MAX_CONDITION)):
                self._form_cov()  # C is exactly symmetric (mirrored updates)
                ev, self._mats[1] = cma_linalg.eigh(self._mats[0])
                set_decomposition(ev, self._vecs, self._mats, MAX_CONDITION)
            self._eigen_generation = self.generation + 1
        self._record(fb, fm, fq)

    # ------------------------------------------------------------- stopping
    def _diag_cov(self) -> np.ndarray:
        return self._vecs[3]

    def _stds(self) -> np.ndarray:
        return self.sigma * np.sqrt(self._diag_cov())
