"""What CMAES and SepCMAES share: parameters, sampling, bounds and pycma's stop criteria.

The stop criteria are pycma 4.x's (``cma.evolution_strategy._CMAStopDict``), described
with their options below and in ``docs/cmaes.md``: ``tolfunhist``, ``tolupsigma``,
``tolfacupx``, ``conditioncov``, ``tolflatfitness``, ``noeffectcoord``,
``noeffectaxis``, ``tolstagnation``; ``tolx`` additionally needs ``sigma |p_c|`` below
it. N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016),
Appendix B.3 describes most of them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import cma as kcma
from evostrat.kernels.cma import count_no_effect
from evostrat.strategies.base import Strategy, default_popsize
from evostrat.strategies.cma.bounds import BoundPenalty
from evostrat.strategies.cma.lra import LearningRates
from evostrat.strategies.cma.margin import MARGIN_OPTIONS, Margin, setup_margin
from evostrat.strategies.cma.params import (
    DEFAULTS,
    cma_parameters,
    recombination_weights,
)
from evostrat.strategies.cma.tpa import TwoPoint
from evostrat.strategies.options import Option, count, flag, positive

#: eigenvalues of C are floored at max(eig) / MAX_CONDITION
MAX_CONDITION = 1e16


class CMABase(Strategy):
    r"""What CMAES and SepCMAES share (Hansen, arXiv:1604.00772, 2016).

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
    lr_adapt : bool, default False
        CMAES only: adapt the learning rates of the mean and of
        :math:`\Sigma = \sigma^2 C` from their signal-to-noise ratio (LRA-CMA-ES,
        Nomura, Akimoto, Ono, GECCO 2023; :mod:`evostrat.strategies.cma.lra`).
    mirrored : bool, default False
        CMAES only: individuals ``2k + 1`` are the mirror images ``-z`` of ``2k``, and
        only the better of each pair may be selected (Brockhoff et al., PPSN 2010;
        Auger et al., GECCO 2011; :mod:`evostrat.strategies.cma.mirrored`).
    step_size_adaptation : {"csa", "tpa"}, default "csa"
        Cumulative step-size adaptation (eq. (44)) or, CMAES only, two-point adaptation
        (Hansen, INRIA RR-6527, 2008; :mod:`evostrat.strategies.cma.tpa`).
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
        (:mod:`evostrat.strategies.cma.bounds`).
    integer_variables : list of int or dict, optional
        Coordinates on an integer grid, ``{index: step}`` (a list: step 1), by the
        CMA-ES with Margin (:mod:`evostrat.strategies.cma.margin`): ``ask()``
        returns grid points, the update uses the continuous samples.
    margin : float, optional
        Least probability of leaving the mean's grid value; ``1 / (n lambda)``.

    ``tolx`` (base option) stops when every ``sigma sqrt(C_jj)`` and every
    ``sigma |p_c|_j`` is below it (pycma).

    Attributes (``mean``, ``sigma``, ``cov``, ...) are listed by CMAES and SepCMAES.
    """

    ALIASES: ClassVar[dict[str, str]] = {
        "maxiter": "max_generations",
        "maxfevals": "max_evals",
        "tolconditioncov": "conditioncov",
    }
    OPTIONS: ClassVar[dict[str, Option]] = {
        "active": flag("negative recombination weights (pycma's CMA_active)", True),
        "defaults": Option(
            "tutorial",
            "formulas of c1, cmu, cs, damps: the tutorial's Table 1 or pycma 4.x's",
            "choice",
            choices=DEFAULTS,
        ),
        "tolfunhist": positive(
            "stop when the recent best fitness values vary less", 1e-12, True
        ),
        "tolupsigma": positive(
            "stop when sigma / sigma0 > tolupsigma * sqrt(max eig C)", 1e20, True
        ),
        "tolfacupx": positive(
            "stop when a standard deviation exceeds sigma0 * tolfacupx", 1e3, True
        ),
        "tolstagnation": count(
            "stop when the recent best and median fitness stop improving "
            "(None: pycma's 100 + 100 n^1.5 / popsize)",
            None,
        ),
        "conditioncov": positive(
            "stop when the condition number of C exceeds it", 1e14, True
        ),
        "tolflatfitness": count(
            "stop after this many generations with best == 75 %-quantile fitness", 1
        ),
        "noeffectaxis": flag("stop when a principal axis moves the mean no more", True),
        "noeffectcoord": flag(
            "stop when a coordinate step moves the mean no more", True
        ),
        "lr_adapt": flag(
            "learning-rate adaptation of the mean and covariance updates (Nomura "
            "et al., GECCO 2023; cmaes' lr_adapt); CMAES only",
            False,
        ),
        "mirrored": flag(
            "mirrored sampling with pairwise selection (Brockhoff et al. 2010, Auger "
            "et al. 2011); CMAES only",
            False,
        ),
        "step_size_adaptation": Option(
            "csa",
            "cumulative (CSA) or two-point (TPA, Hansen 2008: individuals 0 and 1 on "
            "the last mean shift) step-size adaptation; tpa: CMAES only",
            "choice",
            choices=("csa", "tpa"),
        ),
        "bounds": Option(
            None,
            "box bounds (lower, upper), each a scalar, None or an array of length dim",
            "any",
            check_fn=lambda name, value: value,  # needs dim: checked by BoundPenalty
        ),
        **MARGIN_OPTIONS,  # integer_variables, margin (cma/margin.py)
    }
    _min_popsize = 2
    _supports_variants = False  # lr_adapt, mirrored: CMAES sets it (full C)
    _vecs: np.ndarray  # rows 0, 1: p_sigma, p_c; the rest are the subclass's

    # ------------------------------------------------------------------ setup
    def _learning_rates(self, p: dict[str, float]) -> tuple[float, float]:
        return p["c1"], p["cmu"]

    def _setup(self) -> None:
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
        pv.flags.writeable = False  # constant: shared by the copies tell makes
        self._params = pv
        self.sigma0 = float(self.sigma)
        self.hsig = 1.0
        # stop-criterion bookkeeping (pycma's fit.histbest / histmedian)
        self._histbest: list[float] = []
        self._histmedian: list[float] = []
        self._best_seen = math.inf
        self._best_evals = 0
        self._flat_generations = 0
        b = self.options["bounds"]
        self._bounds = None if b is None else BoundPenalty(b, self.dim)
        self._margin: Margin | None
        self._margin, self._bounds = setup_margin(
            self.options, self.dim, self.popsize, self._bounds
        )
        if self.options["tolstagnation"] is None:
            # pycma evaluates its default with the unrounded default popsize
            lam = float(self.popsize)
            if self.popsize == default_popsize(self.dim):
                lam = 4 + 3 * math.log(self.dim)
            self._opts["tolstagnation"] = int(100 + 100 * self.dim**1.5 / lam)
        tpa = self.options["step_size_adaptation"] == "tpa"
        o = self.options  # the variants: cma/lra.py, cma/mirrored.py, cma/tpa.py
        variants = {"lr_adapt=True": o["lr_adapt"], "mirrored=True": o["mirrored"]}
        for what, on in [*variants.items(), ("step_size_adaptation='tpa'", tpa)]:
            if on and not self._supports_variants:
                raise ValueError(f"{what} needs CMAES, not {type(self).__name__}")
        self._lra = LearningRates(self.dim) if self.options["lr_adapt"] else None
        self._mirrored = bool(self.options["mirrored"])
        self._tpa = TwoPoint(self.dim, self.popsize) if tpa else None
        self._setup_cov()

    def _setup_cov(self) -> None:
        """The covariance state: ``_vecs`` (paths first) and what else it needs."""
        raise NotImplementedError

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

    # --------------------------------------------------------------- sampling
    def _sample(self, indices: np.ndarray) -> np.ndarray:
        ZYX = self._cache.get("ZYX")
        everyone = self._all_indices
        if ZYX is None:
            whole = self._is_everyone(indices)
            ZYX = self._sample_rows(indices, whole)
            if whole:  # the whole population: keep it for tell
                self._cache["ZYX"] = ZYX
            elif self._samples_rows():  # just these rows, a new array
                return self._to_domain(ZYX[2])
        # a copy: the cached population stays as it was
        X = ZYX[2].copy() if indices is everyone else ZYX[2][indices]
        return self._to_domain(X)

    def _row(self, index: int) -> np.ndarray:
        x = self._population()[2][index].copy()  # no resampling for the best row
        return self._to_domain(x)

    def _to_domain(self, X: np.ndarray) -> np.ndarray:
        """Samples as the objective sees them: repaired into ``bounds``, integer
        coordinates encoded (:mod:`evostrat.strategies.cma.margin`)."""
        if self._bounds is not None:
            X = self._bounds.repair(X)
        return X if self._margin is None else self._margin.encode(X, self.mean)

    def _correct_margin(self) -> None:
        """The margin correction after an update (integer variables only)."""
        if self._margin is not None:
            j = self._margin.index
            self._margin.correct(
                self.mean, float(self.sigma), self._sampling_variances(j)
            )

    def _sampling_variances(self, index: np.ndarray) -> np.ndarray:
        """Variances of ``y_j`` the next samples are drawn with (``diag C``)."""
        return self._diag_cov()[index]

    def _samples_rows(self) -> bool:
        """Whether :meth:`_sample_rows` makes just the rows asked for."""
        return True

    def _sample_rows(self, indices: np.ndarray, whole: bool) -> np.ndarray:
        """``[Z, Y, X]`` of rows ``indices`` (or of everyone, see CMAES)."""
        raise NotImplementedError

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

    # ------------------------------------------------------------- stopping
    def _diag_cov(self) -> np.ndarray:
        """The diagonal of ``C``."""
        raise NotImplementedError

    def _stds(self) -> np.ndarray:
        return self.sigma * np.sqrt(self._diag_cov())

    def _condition(self) -> float:
        """Condition number of ``C``."""
        raise NotImplementedError

    def _axis_no_effect(self) -> bool:
        """Whether this generation's principal axis step leaves the mean as it is."""
        raise NotImplementedError

    def _max_eigenvalue(self) -> float:
        raise NotImplementedError

    def _diverged(self) -> bool:
        """pycma's ``tolupsigma``: ``sigma / sqrt(max eig C) > sigma0 * tolupsigma``."""
        limit = self.options["tolupsigma"]
        if limit is None:
            return False
        return self.sigma / math.sqrt(self._max_eigenvalue()) > self.sigma0 * limit

    def _record(self, f_best: float, f_median: float, f_q75: float) -> None:
        """Bookkeeping of tolstagnation and tolflatfitness (pycma's ``fit``)."""
        if f_best < self._best_seen:
            self._best_seen = f_best
            self._best_evals = self.evals + self.popsize
        if (self.generation + 1) % 5 == 0:  # pycma's countiter after this tell
            self._histbest.insert(0, f_best)
            self._histmedian.insert(0, f_median)
            if len(self._histbest) > 20000:
                self._histbest.pop()
                self._histmedian.pop()
        self._flat_generations = 0 if f_best < f_q75 else self._flat_generations + 1

    # ------------------------------------------------------------- stopping
    def stop(self) -> dict[str, Any]:
        """Stop criteria met now (see the class docstring); empty to go on."""
        out = super().stop()
        if "tolx" in out and not np.all(
            self.sigma * np.abs(self.pc) < self.options["tolx"]
        ):
            del out["tolx"]  # pycma: sigma * pc must be small too
        return out

    def _stop_criteria(self) -> dict[str, Any]:
        if self.generation == 0:
            return {}
        o = self.options
        out: dict[str, Any] = {}
        stds = self._stds()
        if o["tolfunhist"] is not None:
            hist = self._best_hist
            if len(hist) > 9 and max(hist) - min(hist) < o["tolfunhist"]:
                out["tolfunhist"] = o["tolfunhist"]
        if o["tolfacupx"] is not None and np.any(stds > self.sigma0 * o["tolfacupx"]):
            out["tolfacupx"] = o["tolfacupx"]
        if o["conditioncov"] is not None and self._condition() > o["conditioncov"]:
            out["conditioncov"] = o["conditioncov"]
        if (
            o["tolflatfitness"] is not None
            and self._flat_generations > o["tolflatfitness"]
        ):
            out["tolflatfitness"] = o["tolflatfitness"]
        if o["noeffectcoord"] and count_no_effect(self.mean, stds, 0.2):
            idx = np.flatnonzero(self.mean == self.mean + 0.2 * stds)
            out["noeffectcoord"] = idx.tolist()
        if o["noeffectaxis"] and self._axis_no_effect():
            out["noeffectaxis"] = True
        if o["tolstagnation"] and self._stagnated():
            out["tolstagnation"] = o["tolstagnation"]
        return out

    def _stagnated(self) -> bool:
        """pycma's tolstagnation test on the best / median histories."""
        stag = self.options["tolstagnation"]
        hb, hm = self._histbest, self._histmedian
        n, g = self.dim, self.generation
        length = max(stag / 5.0 / 2, len(hb) / 10.0)
        if length > g:
            return False
        k = int(length)
        return bool(
            g > n * (5 + 100 / self.popsize)
            and (self.evals - self._best_evals) / self.popsize > stag / 2
            and len(hb) > 100
            and 2 * k < len(hb)
            and np.median(hm[:k]) >= np.median(hm[k : 2 * k])
            and np.median(hb[:k]) >= np.median(hb[k : 2 * k])
        )
