"""The strategy base: arguments, the ask/tell protocol (a transactional ``tell``),
``maximize``, the common stop criteria, ``result``, ``optimize()``, copies and
pickling. A subclass supplies the search distribution through the hooks listed in
``docs/design.md`` (``_setup``, ``_sample``, ``_update``, ``_stds``, ...)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.result import Result
from evostrat.strategies.fitness import checked_fitness
from evostrat.strategies.loop import run
from evostrat.strategies.options import Option, check_options, resolve_aliases
from evostrat.strategies.state import clone, deep_copy
from evostrat.validation import (
    check_bool,
    check_indices,
    check_int,
    check_memory,
    check_sigma,
    real_vector,
)

#: step sizes are capped here after every update, so samples stay finite: sigma**2
#: times a covariance entry (<= ~1e16, CMA-ES's eigenvalue floor) fits a float64
SIGMA_CAP = 1e100


def default_popsize(dim: int) -> int:
    """``4 + floor(3 ln n)`` (Hansen 2016, Table 1), every strategy's default."""
    return 4 + int(3 * math.log(dim))


def draw_seed() -> int:
    """A fresh seed from the OS, ``0 <= seed < 2**63`` (kept so a run can repeat)."""
    entropy = np.random.SeedSequence().entropy
    assert isinstance(entropy, int)  # drawn from the OS: one big int
    return entropy % (1 << 63)


class Strategy:
    """Base class of all strategies: ``opt = Strategy(x0, sigma0, popsize, seed, ...)``.

    Parameters
    ----------
    x0 : array_like, shape (dim,)
        Initial mean; its length is the dimension.
    sigma0 : float or array_like
        Initial step size (positive); a positive array of length ``dim`` where the
        strategy has per-coordinate step sizes.
    popsize : int, optional
        Population size; the strategy's default when None.
    seed : int, optional
        Seed of every random stream; drawn from the OS when None (kept in ``seed``).
    maximize : bool
        Treat fitness as a reward to maximize.
    **options
        The common options (stop criteria, ``nan_policy``) and the strategy's own:
        its ``OPTIONS`` table, listed in ``docs/strategies.md``.
    """

    #: lower-case name used by ``evostrat.fmin(strategy=...)`` (the class name)
    name: ClassVar[str] = "strategy"
    #: the strategy's own options (merged with the base classes' and the common ones)
    OPTIONS: ClassVar[dict[str, Option]] = {}
    #: whether ``sigma0`` may be an array of length dim
    _vector_sigma: ClassVar[bool] = False
    #: smallest population the strategy can work with
    _min_popsize: ClassVar[int] = 2
    #: other names of options (pycma's), mapped to evostrat's
    ALIASES: ClassVar[dict[str, str]] = {}
    #: attributes that are scratch space: neither copied nor pickled
    _SCRATCH: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray,
        popsize: int | None = None,
        seed: int | None = None,
        maximize: bool = False,
        **options: Any,
    ) -> None:
        self.dim = 0  # set below; makes a half-built object printable
        mean = real_vector("x0", x0)
        self.dim = mean.size
        self.mean = mean
        self.sigma = check_sigma(
            sigma0, self.dim, self._vector_sigma, type(self).__name__
        )
        self.maximize = check_bool("maximize", maximize)
        self.seed = draw_seed() if seed is None else check_int("seed", seed, minimum=0)
        self._key = rng.derive_key(self.seed)
        self._opts = check_options(type(self), resolve_aliases(type(self), options))
        self.popsize = (
            self._default_popsize()
            if popsize is None
            else check_int("popsize", popsize, self._min_popsize)
        )
        check_memory(
            self._memory_bytes(),
            f"{type(self).__name__} with dim={self.dim} and popsize={self.popsize}",
        )
        if self._opts["max_generations"] is None:  # pycma's maxiter
            n = self.dim
            self._opts["max_generations"] = int(
                100 + 150 * (n + 3) ** 2 // math.sqrt(self.popsize)
            )
        self.generation = 0
        self.evals = 0
        self._asked = False
        self._xbest: np.ndarray | None = None
        self._fbest = math.inf  # minimization sense
        self._fit_range = math.inf  # max - min of the last generation
        self._told: np.ndarray | None = None  # last fitness told (min. sense)
        hist_len = 10 + math.ceil(30 * self.dim / self.popsize)
        self._best_hist: deque[float] = deque(maxlen=hist_len)
        self._cache: dict[str, Any] = {}
        self._setup()
        self._stds0 = float(np.max(self._stds()))  # for the divergence test

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()

    @property
    def options(self) -> Mapping[str, Any]:
        """Every option's value (read-only; ``optimize`` may set the stop options)."""
        return MappingProxyType(self._opts)

    @classmethod
    def fit_popsize(cls, popsize: int, **options: Any) -> int:
        """The population size closest to ``popsize`` (and not below it) that the
        strategy accepts with ``options``; restart schemes use it to grow a
        population. Override where only some sizes work (e.g. even ones)."""
        return max(int(popsize), cls._min_popsize)

    # ------------------------------------------------------------------ hooks
    def _default_popsize(self) -> int:
        return self.fit_popsize(default_popsize(self.dim), **self._opts)

    def _memory_bytes(self) -> int:
        """Bytes the state will hold, estimated before it is built (default: a
        population and a few vectors)."""
        return 8 * (2 * self.popsize * self.dim + 8 * self.dim + 8 * self.popsize)

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
        """Individual ``index`` of this generation (may come from the cache)."""
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

    def _is_everyone(self, indices: np.ndarray) -> bool:
        """Whether ``indices`` is the whole population in order (worth caching)."""
        everyone = self._all_indices
        return indices is everyone or (
            indices.shape[0] == everyone.shape[0]
            and bool(np.array_equal(indices, everyone))
        )

    def _stop_criteria(self) -> dict[str, Any]:
        """Strategy-specific stop criteria met now, ``{option name: value}``."""
        return {}

    def _diverged(self) -> bool:
        """Whether the step size has grown past ``tolupsigma`` times its start
        (the common divergence test; CMA-ES uses pycma's form)."""
        limit = self._opts["tolupsigma"]
        return limit is not None and float(np.max(self._stds())) > limit * self._stds0

    # ------------------------------------------------------------- validation
    def _check_fitness(self, fitnesses: Any) -> tuple[np.ndarray, int, float]:
        """:func:`~.fitness.checked_fitness` once ``ask`` was called; no state change."""
        if not self._asked:
            raise RuntimeError(
                f"tell() called before ask() in generation {self.generation}"
            )
        return checked_fitness(
            fitnesses, self.popsize, self.maximize, self._opts["nan_policy"]
        )

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

        The update is computed on a copy of the state and committed in one step, so
        an exception (a bad value, Ctrl-C, MemoryError) leaves the strategy exactly
        as it was: a corrected ``tell`` still works.

        Raises
        ------
        RuntimeError
            ``tell`` before ``ask`` in this generation.
        ValueError
            Wrong length, 2-D input, non-numeric values, or NaN (unless
            ``nan_policy="worst"``).
        """
        f, best, spread = self._check_fitness(fitnesses)
        new = self._clone(keep_cache=True)
        new._apply(f, best, spread)
        self.__dict__ = new.__dict__  # the commit: one store, atomic for signals

    def _apply(self, f: np.ndarray, best: int, spread: float) -> None:
        """The whole update of ``tell`` (on a clone: see :meth:`tell`)."""
        if f[best] < self._fbest or self._xbest is None:
            self._xbest = self._row(best)
            self._xbest.flags.writeable = False  # replaced, never changed: shared
            self._fbest = float(f[best])
        self._fit_range = spread
        self._told, f.flags.writeable = f, False  # checked_fitness's own array
        self._best_hist.append(float(f[best]))
        self._update(f)
        if isinstance(self.sigma, np.ndarray):
            np.minimum(self.sigma, SIGMA_CAP, out=self.sigma)
        else:
            self.sigma = min(self.sigma, SIGMA_CAP)
        self._cache = {}
        self.generation += 1
        self.evals += self.popsize
        self._asked = False

    # ------------------------------------------------------------------ copies
    def _clone(self, keep_cache: bool = False) -> Strategy:
        """A copy sharing nothing writable (see :func:`~.state.clone`)."""
        return clone(self, ("_cache", *self._SCRATCH), keep_cache)

    __copy__ = _clone  # copy.copy: an independent strategy

    def __deepcopy__(self, memo: dict[int, Any]) -> Strategy:
        return deep_copy(self, memo)

    # ------------------------------------------------------------- stopping
    def stop(self) -> dict[str, Any]:
        """The stop criteria met now, ``{option name: value}``; empty to go on.

        The answer only changes with ``tell`` or the options, so it is computed once
        per generation (``while not opt.stop()`` costs a dict copy).
        """
        cached = self._cache.get("stop")
        if cached is None:
            cached = self._cache["stop"] = self._stop_now()
        return dict(cached)

    def _stop_now(self) -> dict[str, Any]:
        o = self._opts
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
                and (self.popsize > 1 or len(hist) > 9)  # pycma: a history first
                and max(hist) - min(hist) < o["tolfun"]
            ):
                out["tolfun"] = o["tolfun"]
            if o["tolx"] is not None and np.all(self._stds() < o["tolx"]):
                out["tolx"] = o["tolx"]
            if self._diverged():
                out["tolupsigma"] = o["tolupsigma"]
        out.update(self._stop_criteria())
        return out

    def _set_stop_options(self, **values: Any) -> None:
        """Change stop options (those not None) after construction, checked first."""
        given = {k: v for k, v in values.items() if v is not None}
        checked = check_options(type(self), given)
        self._opts = {**self._opts, **{k: checked[k] for k in given}}
        self._cache.pop("stop", None)

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
            ``f(x) -> float``; with ``vectorized=True``, ``f(X) -> array`` of rows.
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

        Ctrl-C ends the run after the last completed generation (``tell`` is
        transactional) and returns its result.
        """
        self._set_stop_options(
            max_generations=max_generations, max_evals=max_evals, target=target
        )
        return run(self, f, evaluator, callback, progress, vectorized, log)

    # -------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        for name in ("_all_idx", *self._SCRATCH):
            state.pop(name, None)
        return state

    def __repr__(self) -> str:
        n, lam, g = self.dim, self.popsize, self.generation
        return f"{type(self).__name__}(dim={n}, popsize={lam}, generation={g}, seed={self.seed})"
