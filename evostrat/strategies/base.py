"""The strategy base: everything the strategies share.

A strategy subclass supplies the search distribution (``_setup``, ``_sample``,
``_update``, ``_stds``); this class owns argument validation, the ask/tell protocol,
fitness validation (always before any state changes), ``maximize``, ``nan_policy``,
the common stop criteria, ``result``, ``optimize()`` and pickling. See
``docs/design.md``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.kernels.fitness import prepare_fitness
from evostrat.result import Result
from evostrat.validation import check_indices, check_int, check_real, real_array

#: Options every strategy accepts, with their defaults. ``None`` means "not set".
COMMON_OPTIONS: dict[str, Any] = {
    "max_generations": None,  # default: pycma's maxiter, 100 + 150 (n+3)^2 / sqrt(popsize)
    "max_evals": None,
    "target": None,
    "tolfun": 1e-11,
    "tolx": 1e-11,
    "nan_policy": "raise",
}


class Strategy:
    """Base class of all strategies: ``opt = Strategy(x0, sigma0, popsize, seed, ...)``.

    Parameters
    ----------
    x0 : array_like, shape (dim,)
        Initial mean; its length is the dimension.
    sigma0 : float or array_like
        Initial step size (positive). Strategies with per-coordinate step sizes also
        accept a positive array of length ``dim``.
    popsize : int, optional
        Population size; the strategy's default when None.
    seed : int, optional
        Seed of every random stream; drawn from the OS when None (and then kept in
        ``seed``, so the run can be repeated).
    maximize : bool
        Treat fitness as a reward to maximize.
    **options
        Stop criteria (``max_generations``, ``max_evals``, ``target``, ``tolfun``,
        ``tolx``), ``nan_policy`` (``"raise"`` or ``"worst"``) and the strategy's own
        options.
    """

    #: lower-case name used by ``evostrat.fmin(strategy=...)``
    name: ClassVar[str] = ""
    #: the strategy's own options and their defaults
    _options: ClassVar[dict[str, Any]] = {}
    #: whether ``sigma0`` may be an array of length dim
    _vector_sigma: ClassVar[bool] = False
    #: smallest population the strategy can work with
    _min_popsize: ClassVar[int] = 2

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray,
        popsize: int | None = None,
        seed: int | None = None,
        maximize: bool = False,
        **options: Any,
    ) -> None:
        mean = np.array(x0, dtype=np.float64, copy=True)
        if mean.ndim != 1 or mean.size == 0:
            raise ValueError(
                f"x0 must be a non-empty 1-D array, got shape {mean.shape}"
            )
        if not np.all(np.isfinite(mean)):
            raise ValueError("x0 must be finite")
        self.dim = mean.size
        self.mean = mean
        self.sigma = self._check_sigma(sigma0)
        self.maximize = bool(maximize)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy) % (1 << 63)
        self.seed = check_int("seed", seed, minimum=0)
        self._key = rng.derive_key(self.seed)
        self.options = self._check_options(options)
        self.popsize = (
            self._default_popsize()
            if popsize is None
            else check_int("popsize", popsize, self._min_popsize)
        )
        if self.options["max_generations"] is None:
            n = self.dim
            self.options["max_generations"] = int(
                100 + 150 * (n + 3) ** 2 // math.sqrt(self.popsize)
            )
        self.generation = 0
        self.evals = 0
        self._asked = False
        self._xbest: np.ndarray | None = None
        self._fbest = math.inf  # minimization sense
        self._fit_range = math.inf  # max - min of the last generation
        hist_len = 10 + math.ceil(30 * self.dim / self.popsize)
        self._best_hist: deque[float] = deque(maxlen=hist_len)
        self._cache: dict[str, Any] = {}
        self._setup()

    # ------------------------------------------------------------------ hooks
    def _default_popsize(self) -> int:
        return 4 + int(3 * math.log(self.dim))

    def _setup(self) -> None:
        """Build the strategy state from ``mean``, ``sigma`` and ``options``."""

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        """Rows ``indices`` of this generation's population (pure in the state)."""
        raise NotImplementedError

    def _update(self, fitness: np.ndarray) -> None:
        """Update from validated minimization-sense fitness (NaN made +inf)."""
        raise NotImplementedError

    def _stds(self) -> np.ndarray:
        """Per-coordinate standard deviation of the search distribution."""
        return np.broadcast_to(self.sigma, (self.dim,)).astype(np.float64)

    def _row(self, index: int) -> np.ndarray:
        """Individual ``index`` of this generation (a strategy may serve it from its
        cache)."""
        return self._sample(np.array([index], dtype=np.int64))[0]

    @property
    def _all_indices(self) -> np.ndarray:
        """``arange(popsize)``, built once (read-only)."""
        idx = self.__dict__.get("_all_idx")
        if idx is None or idx.shape[0] != self.popsize:
            idx = np.arange(self.popsize, dtype=np.int64)
            idx.flags.writeable = False
            self.__dict__["_all_idx"] = idx
        return idx

    def _stop_criteria(self) -> dict[str, Any]:
        """Strategy-specific stop criteria met now, ``{option name: value}``."""
        return {}

    # ------------------------------------------------------------- validation
    def _check_sigma(self, sigma0: Any) -> float | np.ndarray:
        sigma = np.array(sigma0, dtype=np.float64)
        if sigma.ndim == 0:
            value = float(sigma)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(
                    f"sigma0 must be a positive finite number, got {sigma0!r}"
                )
            return value
        if not self._vector_sigma:
            raise ValueError(
                f"{type(self).__name__} takes a scalar sigma0, got shape {sigma.shape}"
            )
        if sigma.shape != (self.dim,):
            raise ValueError(
                f"sigma0 must be a scalar or have shape ({self.dim},), got {sigma.shape}"
            )
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise ValueError("every entry of sigma0 must be positive and finite")
        return sigma

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        known = {**COMMON_OPTIONS, **self._options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown option(s) {', '.join(unknown)}; "
                f"known options: {', '.join(sorted(known))}"
            )
        merged = {**known, **options}
        if merged["nan_policy"] not in ("raise", "worst"):
            raise ValueError(
                f"nan_policy must be 'raise' or 'worst', got {merged['nan_policy']!r}"
            )
        for name in ("max_generations", "max_evals"):
            if merged[name] is not None:
                merged[name] = check_int(name, merged[name], minimum=0)
        for name in ("tolfun", "tolx", "target"):
            if merged[name] is not None:
                check_real(name, merged[name])
        return merged

    def _check_fitness(self, fitnesses: Any) -> tuple[np.ndarray, int, float]:
        """Validated fitness in minimization sense (NaN made +inf, a new array), the
        index of the best and the spread of the finite values; or an error. Changes
        no state."""
        if not self._asked:
            raise RuntimeError(
                f"tell() called before ask() in generation {self.generation}"
            )
        f = real_array(fitnesses)
        if f.ndim != 1:
            raise ValueError(
                f"tell() takes a 1-D sequence of {self.popsize} fitness values, "
                f"got an array of shape {f.shape}"
            )
        if f.shape[0] != self.popsize:
            raise ValueError(
                f"tell() takes {self.popsize} fitness values (popsize), got {f.shape[0]}"
            )
        f = f.astype(np.float64)  # always a copy: the caller's data stays as it was
        best, spread, n_nan = prepare_fitness(f, self.maximize)
        if n_nan and self.options["nan_policy"] != "worst":
            where = np.flatnonzero(np.isnan(np.asarray(fitnesses, dtype=np.float64)))
            raise ValueError(
                f"fitness is NaN at indices {where.tolist()}; "
                "pass nan_policy='worst' to rank NaN last"
            )
        return f, best, spread

    # --------------------------------------------------------------- protocol
    def ask(self, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Candidate solutions of this generation.

        Parameters
        ----------
        indices : sequence of int, optional
            Rows to return; all ``popsize`` rows when None. ``ask(idx)`` equals
            ``ask()[idx]``: each individual is a pure function of (seed, generation,
            index, state).

        Returns
        -------
        ndarray, shape (len(indices) or popsize, dim), float64
            A new array each call; calling again before ``tell`` gives equal values.
        """
        if indices is None:
            idx = self._all_indices
        else:
            idx = check_indices(indices, self.popsize)
        X = self._sample(idx)
        self._asked = True
        return X

    def tell(self, fitnesses: Sequence[float] | np.ndarray) -> None:
        """Update the search distribution from one fitness per row of ``ask()``.

        Raises
        ------
        RuntimeError
            ``tell`` before ``ask`` in this generation.
        ValueError
            Wrong length, 2-D input, non-numeric values, or NaN (unless
            ``nan_policy="worst"``). The strategy is then left exactly as it was.
        """
        f, best, spread = self._check_fitness(fitnesses)
        if f[best] < self._fbest or self._xbest is None:
            self._xbest = self._row(best)
            self._fbest = float(f[best])
        self._fit_range = spread
        self._best_hist.append(float(f[best]))
        self._update(f)
        self._cache.clear()
        self.generation += 1
        self.evals += self.popsize
        self._asked = False

    # ------------------------------------------------------------- stopping
    def stop(self) -> dict[str, Any]:
        """The stop criteria met now, ``{option name: value}``; empty to go on.

        The answer only changes with ``tell`` or the options, so it is computed once
        per generation (``while not opt.stop()`` costs a dict copy).
        """
        key = tuple(map(id, self.options.values()))
        cached = self._cache.get("stop")
        if cached is None or cached[0] != key:
            cached = (key, self._stop_now())
            self._cache["stop"] = cached
        return dict(cached[1])

    def _stop_now(self) -> dict[str, Any]:
        o = self.options
        out: dict[str, Any] = {}
        if o["max_generations"] is not None and self.generation >= o["max_generations"]:
            out["max_generations"] = o["max_generations"]
        if o["max_evals"] is not None and self.evals >= o["max_evals"]:
            out["max_evals"] = o["max_evals"]
        if o["target"] is not None and self._xbest is not None:
            target = -o["target"] if self.maximize else o["target"]
            if self._fbest <= target:
                out["target"] = o["target"]
        if self.generation > 0:
            hist = self._best_hist
            if (
                o["tolfun"] is not None
                and self._fit_range < o["tolfun"]
                and max(hist) - min(hist) < o["tolfun"]
            ):
                out["tolfun"] = o["tolfun"]
            if o["tolx"] is not None and np.all(self._stds() < o["tolx"]):
                out["tolx"] = o["tolx"]
        out.update(self._stop_criteria())
        return out

    # --------------------------------------------------------------- results
    @property
    def result(self) -> Result:
        """``Result(xbest, fbest, evals, generations, xmean, stds, stop)``."""
        fbest = self._fbest
        if self.maximize and self._xbest is not None:
            fbest = -fbest
        return Result(
            xbest=None if self._xbest is None else self._xbest.copy(),
            fbest=float(fbest) if self._xbest is not None else math.nan,
            evals=self.evals,
            generations=self.generation,
            xmean=self.mean.copy(),
            stds=np.array(self._stds(), dtype=np.float64),
            stop=self.stop(),
        )

    def optimize(
        self,
        f: Callable,
        evaluator: Any = None,
        max_generations: int | None = None,
        callback: Callable[[Strategy], Any] | None = None,
        progress: bool = False,
        *,
        max_evals: int | None = None,
        target: float | None = None,
        vectorized: bool = False,
        log: Any = None,
    ) -> Result:
        """Run ask/evaluate/tell until ``stop()`` says so and return ``result``.

        Parameters
        ----------
        f : callable
            ``f(x) -> float``, or with ``vectorized=True`` ``f(X) -> array`` on blocks
            of rows.
        evaluator : evaluator, optional
            Where ``f`` runs (``SerialEvaluator`` when None).
        max_generations, max_evals, target : optional
            Stop options, as if given to the constructor (absolute counts).
        callback : callable, optional
            ``callback(opt)`` after each ``tell``; returning True stops the run.
        progress : bool
            Print one line per generation (every 10 % of the budget at most).
        vectorized : bool
            Whether ``f`` takes a 2-D block of rows.
        log : str, path-like or RunLog, optional
            Write one row per generation to this CSV file (rank 0 only under MPI);
            see :mod:`evostrat.runlog`. A ``RunLog`` is flushed, a path closed.
        """
        from evostrat.evaluators import SerialEvaluator
        from evostrat.evaluators.base import is_main_process
        from evostrat.runlog import open_log

        updates = {"max_generations": max_generations, "max_evals": max_evals}
        updates["target"] = target
        for name, value in updates.items():
            if value is not None:
                self.options[name] = self._check_options({name: value})[name]
        evaluator = SerialEvaluator() if evaluator is None else evaluator
        show = progress and is_main_process(evaluator)
        runlog, owned = open_log(log, evaluator)
        try:
            while not self.stop():
                fitness = evaluator.evaluate(self, f, vectorized=vectorized)
                self.tell(fitness)
                if runlog is not None:
                    runlog.write(self, fitness=fitness)
                if show:
                    self._print_progress()
                if callback is not None and callback(self):
                    break
        except KeyboardInterrupt:
            if show or progress:
                print(f"interrupted; best so far f={self.result.fbest:.6g}")
        finally:
            if runlog is not None:
                runlog.close() if owned else runlog.flush()
        return self.result

    def _print_progress(self) -> None:
        g = self.generation
        if g <= 10 or g % max(1, self.options["max_generations"] // 10) == 0:
            r = self.result
            print(
                f"{self.name} gen {g:6d} evals {self.evals:8d} "
                f"fbest {r.fbest:.6e} sigma {float(np.mean(self.sigma)):.3e}",
                flush=True,
            )

    # -------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        state.pop("_all_idx", None)
        return state

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dim={self.dim}, popsize={self.popsize}, "
            f"generation={self.generation}, seed={self.seed})"
        )
