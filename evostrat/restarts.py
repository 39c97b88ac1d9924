"""The restart schedule of :func:`evostrat.fmin`: IPOP and BIPOP.

* IPOP (A. Auger, N. Hansen, "A Restart CMA Evolution Strategy With Increasing
  Population Size", CEC 2005, section 2): each restart doubles the population size.
* BIPOP (N. Hansen, "Benchmarking a BI-Population CMA-ES on the BBOB-2009 Function
  Testbed", GECCO 2009, section 2): IPOP's regime interlaced with small random
  population sizes and step sizes ``sigma0 * 10**(-2 U)``; the regime that has spent
  fewer evaluations so far runs next.
* NIPOP and NBIPOP (I. Loshchilov, M. Schoenauer, M. Sebag, "Alternative Restart
  Strategies for CMA-ES", PPSN 2012; I. Loshchilov, "CMA-ES with Restarts for
  Solving CEC 2013 Benchmark Problems", CEC 2013, section III): the large regime
  also divides the initial step size by ``SIGMA_DECREASE = 1.6`` at each restart;
  NBIPOP's small regime keeps the default population size with step sizes
  ``sigma0 * 10**(-2 U)``, and the regime that found the best solution so far gets
  ``BUDGET_FACTOR = 2`` times the other's budget (instead of BIPOP's equal split).

Bookkeeping follows pycma's ``cma.fmin2(..., restarts=N, bipop=...)``: the first run
counts for the small regime, population sizes double the unrounded default
``4 + 3 ln n`` (when the first run had the default size), ``restarts`` bounds the
large-population restarts, a
small run gets at most half the evaluations the large runs spent, and every run
starts from ``x0`` (unless it is a callable). Also home of :class:`FminResult` and
:class:`RunInfo`, what ``fmin`` returns.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from evostrat.result import Result
from evostrat.strategies.base import default_popsize

__all__ = ["INCPOPSIZE", "RESTART_STRATEGIES", "FminResult", "RunInfo", "Restarts"]

#: factor of the population size from one large-population run to the next
INCPOPSIZE = 2
#: restart schemes fmin knows (see the module docstring)
RESTART_STRATEGIES = ("ipop", "bipop", "nipop", "nbipop")
#: NIPOP / NBIPOP: sigma0 of the k-th large restart is sigma0 / 1.6**k (Loshchilov
#: et al. 2012, section 3: rho_sigma_dec = 1.6)
SIGMA_DECREASE = 1.6
#: NBIPOP: the regime that found the best solution gets twice the other's budget
#: (Loshchilov et al. 2012, section 4)
BUDGET_FACTOR = 2.0
#: ``SeedSequence`` spawn-key tags: run seeds and the restart scheme's own draws
_TAG_RUN_SEED = 0
_TAG_RESTART_DRAWS = 1


class RunInfo(NamedTuple):
    """What one run (the first or a restart) of ``fmin`` did.

    ``popsize`` and ``evals`` of the run, its ``fbest`` (user's sense, NaN if it
    evaluated nothing) and ``stop`` criteria, its ``regime`` (``"first"``,
    ``"large"``: increasing population, ``"small"``: BIPOP's small-population
    regime), its initial step size ``sigma0`` and the ``seed`` of its strategy (which
    repeats the run on its own).
    """

    popsize: int
    evals: int
    fbest: float
    stop: dict[str, Any]
    regime: str
    sigma0: float | np.ndarray
    seed: int


class FminResult(Result):
    """``Result(xbest, fbest, evals, generations, xmean, stds, stop)`` of ``fmin``.

    The 7-field :class:`~evostrat.result.Result` (it unpacks the same way): the best
    ``xbest``/``fbest`` over all runs, the total ``evals`` and ``generations``, the
    last run's ``xmean``, ``stds`` and ``stop``. Read-only extras: ``restarts`` (the
    restarts that ran, ``len(runs) - 1``), ``runs`` (one :class:`RunInfo` per run)
    and ``seed`` (of the whole call; the drawn one where ``seed=None``).
    """

    def __new__(
        cls, result: Result, runs: Sequence[RunInfo] = (), seed: int | None = None
    ) -> FminResult:
        self = super().__new__(cls, *result)
        self.__dict__["_runs"] = tuple(runs)
        self.__dict__["_seed"] = seed
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FminResult is read-only; cannot set {name!r}")

    def __reduce__(self) -> tuple:
        return (type(self), (Result(*self), self.runs, self.seed))

    def _replace(self, **fields: Any) -> FminResult:
        return FminResult(Result(*self)._replace(**fields), self.runs, self.seed)

    @property
    def restarts(self) -> int:
        """Number of restarts that ran after the first run."""
        return max(0, len(self.runs) - 1)

    @property
    def runs(self) -> tuple[RunInfo, ...]:
        """Per-run :class:`RunInfo` (popsize, evals, fbest, stop, ...), in order."""
        return self.__dict__.get("_runs", ())

    @property
    def seed(self) -> int | None:
        """The seed of the whole ``fmin`` call."""
        return self.__dict__.get("_seed")

    def __repr__(self) -> str:
        return f"{Result.__repr__(self)[:-1]}, restarts={self.restarts})"


def _run_seed(seed: int, run: int) -> int:
    """Seed of run ``run`` (0: the user's seed itself), a 63-bit integer."""
    if run == 0:
        return seed
    ss = np.random.SeedSequence(seed, spawn_key=(_TAG_RUN_SEED, run))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _restart_rng(seed: int, run: int) -> np.random.Generator:
    """Generator of the restart scheme's own draws for run ``run`` (BIPOP, x0)."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(_TAG_RESTART_DRAWS, run))
    )


def _scaled(sigma0: Any, factor: float) -> Any:
    """``sigma0 * factor``, a float for a scalar ``sigma0``."""
    out = np.asarray(sigma0, dtype=np.float64) * factor
    return float(out) if out.ndim == 0 else out


def _initial_point(x0: Any, generator: np.random.Generator) -> Any:
    """``x0`` itself, or ``x0(generator)`` / ``x0()`` where ``x0`` is callable."""
    if not callable(x0):
        return x0
    try:
        params = list(inspect.signature(x0).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        params = []
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    takes_generator = any(p.kind in positional and p.default is p.empty for p in params)
    return x0(generator) if takes_generator else x0()


class Restarts:
    """The restart loop of :func:`fmin` (one instance per call)."""

    def __init__(
        self, f, x0, sigma0, cls, restarts, seed, evaluator, scheme, vectorized,
        maximize, popsize, budget, options, callback=None, log=None,
    ) -> None:  # fmt: skip
        self.f, self.x0, self.sigma0, self.cls = f, x0, sigma0, cls
        self.restarts, self.seed, self.evaluator = restarts, seed, evaluator
        self.scheme = scheme  # one of RESTART_STRATEGIES
        self.bipop = scheme in ("bipop", "nbipop")
        self.vectorized, self.maximize = vectorized, maximize
        self.popsize, self.options = popsize, options
        self.callback = callback
        self.log = log  # a RunLog shared by the runs (a new strategy: a new run)
        self.called_off = False  # the callback returned True: no further run
        self.max_evals, self.target = budget["max_evals"], budget["target"]
        self.runs: list[RunInfo] = []
        self.evals = self.generations = 0  # totals over the runs
        self.best: tuple[float, np.ndarray | None, float] = (math.inf, None, math.nan)
        self.popsize0 = self.max_generations0 = 0  # of the first run
        self.lam0 = 0.0  # the first run's popsize, unrounded where it was the default
        self.large_restarts = 0  # large-population restarts so far
        # evaluations spent by the small regime (+ the first run) and the large one
        self.small_evals = self.large_evals = 0
        self.best_regime = "small"  # regime of the best run so far (NBIPOP)

    def _build(self, run: int, regime: str, generator: np.random.Generator) -> tuple:
        """The strategy of run ``run`` (popsize, sigma0, budget set by ``regime``)."""
        sigma0 = self.sigma0
        if regime == "first":
            popsize = self.popsize
        elif regime == "large":
            popsize = int(self.lam0 * INCPOPSIZE**self.large_restarts)
            if self.scheme in ("nipop", "nbipop"):
                sigma0 = _scaled(sigma0, SIGMA_DECREASE ** (-self.large_restarts))
        else:  # small: Hansen 2009, section 2; pycma's fmin2 bookkeeping
            sigma0 = _scaled(sigma0, 0.01 ** generator.uniform())
            multiplier = INCPOPSIZE**self.large_restarts
            popsize = int(self.lam0 * multiplier ** (generator.uniform() ** 2))
            if self.scheme == "nbipop":  # default population size (Loshchilov 2013)
                popsize = self.popsize0
        if regime != "first":  # a size the strategy accepts (e.g. even for pairs)
            popsize = self.cls.fit_popsize(popsize, **self.options)
        options = dict(self.options)
        if self.max_evals is not None:
            options["max_evals"] = max(0, self.max_evals - self.evals)
        if self.target is not None:
            options["target"] = self.target
        seed = _run_seed(self.seed, run)
        x0 = _initial_point(self.x0, generator)
        kwargs = {"seed": seed, "maximize": self.maximize, **options}
        opt = self.cls(x0, sigma0, popsize=popsize, **kwargs)
        if regime == "first":
            self.popsize0 = opt.popsize
            # pycma doubles the unrounded default 4 + 3 ln n (12.99 at n = 20: then
            # 25, 51, 103, ... rather than 24, 48, 96): so does fmin (issue 12)
            self.lam0 = float(opt.popsize)
            if self.popsize is None and opt.popsize == default_popsize(opt.dim):
                self.lam0 = 4 + 3 * math.log(opt.dim)
            self.max_generations0 = opt.options["max_generations"]
        elif regime == "small":
            cap = max(1, int(0.5 * self.large_evals / opt.popsize))
            opt._set_stop_options(
                max_generations=min(
                    self.max_generations0, opt.options["max_generations"], cap
                )
            )
        return opt, sigma0, seed

    def _next_regime(self, run: int) -> str | None:
        """Regime of run ``run``, or None when no restart is left."""
        if run == 0:
            return "first"
        if self.large_restarts >= self.restarts:
            return None  # as pycma: no small-population run after the last large one
        share = 1.0  # BIPOP: equal budgets
        if self.scheme == "nbipop":
            share = BUDGET_FACTOR if self.best_regime == "small" else 1 / BUDGET_FACTOR
        if (
            self.bipop
            and self.large_evals > 0
            and self.small_evals < share * self.large_evals
        ):
            return "small"
        return "large"

    def run(self) -> FminResult:
        run = 0
        while True:
            regime = self._next_regime(run)
            if regime is None:
                break
            if regime == "large":
                self.large_restarts += 1
            generator = _restart_rng(self.seed, run)
            opt, sigma0, seed = self._build(run, regime, generator)
            res = opt.optimize(
                self.f,
                self.evaluator,
                callback=None if self.callback is None else self._callback,
                vectorized=self.vectorized,
                log=self.log,
            )
            res = self._record(res, opt.popsize, regime, sigma0, seed)
            if regime == "large":
                self.large_evals += res.evals
            else:
                self.small_evals += res.evals
            run += 1
            if (
                self.called_off
                or res.evals == 0  # e.g. max_generations=0: every restart would too
                or not res.stop  # interrupted (Ctrl-C) before any criterion was met
                or "target" in res.stop
                or (self.max_evals is not None and self.evals >= self.max_evals)
            ):
                break
        return self._result(res)

    def _callback(self, opt: Any) -> bool:
        """The user's callback on ``opt``; remembers a True that ends the call."""
        if self.callback(opt):
            self.called_off = True
        return self.called_off

    def _record(self, res: Result, popsize, regime, sigma0, seed) -> Result:
        """Add run ``res`` to the totals; returns it with the global ``max_evals``."""
        if "max_evals" in res.stop:  # the run's cap was the budget left: report the
            res = res._replace(stop={**res.stop, "max_evals": self.max_evals})  # total
        self.evals += res.evals
        self.generations += res.generations
        self.runs.append(
            RunInfo(popsize, res.evals, res.fbest, dict(res.stop), regime, sigma0, seed)
        )
        if res.xbest is not None:
            fmin_sense = -res.fbest if self.maximize else res.fbest
            if self.best[1] is None or fmin_sense < self.best[0]:
                self.best = (fmin_sense, res.xbest, res.fbest)
                self.best_regime = "large" if regime == "large" else "small"
        return res

    def _result(self, last: Result) -> FminResult:
        _, xbest, fbest = self.best
        total = last._replace(
            xbest=xbest, fbest=fbest, evals=self.evals, generations=self.generations
        )
        return FminResult(total, self.runs, self.seed)
