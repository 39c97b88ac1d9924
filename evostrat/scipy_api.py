"""``evostrat.minimize``: :func:`evostrat.fmin` with SciPy's calling convention.

    res = evostrat.minimize(fun, x0, bounds=[(-5, 5)] * 10, seed=1)
    print(res.x, res.fun, res.success)

It returns a ``scipy.optimize.OptimizeResult`` and takes ``scipy.optimize.Bounds``
or ``(low, high)`` pairs, ``options`` (strategy options, SciPy's ``maxiter``,
``maxfev`` and ``disp``, and ``fmin``'s ``restarts``, ``popsize``, ...), a SciPy
``callback`` and ``workers``. The run is exactly ``evostrat.fmin``'s with the same
arguments (same ``x`` and ``nfev`` for the same seed).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evostrat.strategies import REGISTRY, get_strategy
from evostrat.strategies.options import option_table

__all__ = ["SIGMA0_FRACTION", "minimize"]

#: sigma0 from finite bounds: this fraction of the box width. pycma's ``cma.fmin``
#: docstring: "sigma0 should be about 1/4th of the search domain width".
SIGMA0_FRACTION = 0.25
#: SciPy option names -> evostrat's (``maxiter`` counts generations of each run)
_SCIPY_OPTIONS = {"maxiter": "max_generations", "maxfev": "max_evals"}
#: stop criteria that mean the run converged (``success``); the budget ones are
#: SciPy's status 1 (maxfev) and 2 (maxiter)
_CONVERGED = ("target", "tolfun", "tolfunhist", "tolx", "noeffectaxis", "noeffectcoord")
_STATUS_CALLBACK = 99  # SciPy's status when the callback raised StopIteration
#: options of ``fmin`` itself that ``minimize`` passes through ``options``
_FMIN_KEYWORDS = ("restarts", "restart_strategy", "popsize", "vectorized", "log")


def _options_of(cls: type) -> dict[str, Any]:
    """Every option of the strategy class (``bounds`` for CMA-ES)."""
    return dict(option_table(cls))


def _bounds_arrays(bounds: Any, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` arrays of length ``dim`` from SciPy-style ``bounds``."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        lower = np.broadcast_to(np.asarray(bounds.lb, dtype=np.float64), (dim,))
        upper = np.broadcast_to(np.asarray(bounds.ub, dtype=np.float64), (dim,))
    else:
        try:
            pairs = [tuple(pair) for pair in bounds]
        except TypeError:
            raise TypeError(
                "bounds must be scipy.optimize.Bounds or a sequence of (low, high) "
                f"pairs, got {bounds!r}"
            ) from None
        if len(pairs) != dim or any(len(p) != 2 for p in pairs):
            raise ValueError(
                f"bounds must hold {dim} (low, high) pairs, one per coordinate of "
                f"x0, got {len(pairs)} item(s)"
            )
        lower = np.array([-math.inf if p[0] is None else p[0] for p in pairs], float)
        upper = np.array([math.inf if p[1] is None else p[1] for p in pairs], float)
    bad = np.flatnonzero(np.isnan(lower) | np.isnan(upper) | ~(lower < upper))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"bounds: low must be below high at every coordinate; coordinate {i} "
            f"has ({lower[i]}, {upper[i]})"
        )
    return lower.copy(), upper.copy()


def _default_sigma0(lower: np.ndarray, upper: np.ndarray) -> float:
    """``SIGMA0_FRACTION`` of the box width; of the narrowest side if they differ
    (CMA-ES takes one sigma0, and its covariance learns the other scales)."""
    width = upper - lower
    if not np.all(np.isfinite(width)):
        raise ValueError(
            "sigma0 is required unless every coordinate has finite bounds "
            f"(sigma0 defaults to {SIGMA0_FRACTION} x the box width)"
        )
    return float(SIGMA0_FRACTION * width.min())


def _evaluator(workers: Any) -> tuple[Any, bool]:
    """``(evaluator, owned)`` from SciPy-style ``workers``."""
    if workers is None or (isinstance(workers, numbers.Integral) and workers == 1):
        return None, False
    if isinstance(workers, numbers.Integral) and not isinstance(workers, bool):
        count = int(workers)
        if count == -1 or count > 1:
            from evostrat.evaluators import PoolEvaluator

            return PoolEvaluator(None if count == -1 else count), True
        raise ValueError(f"workers must be >= 1 or -1 (all CPUs), got {workers}")
    if callable(getattr(workers, "evaluate", None)):
        return workers, False
    raise TypeError(
        "workers must be an int (a process pool of that size, -1: all CPUs) or an "
        f"evaluator such as evostrat.PoolEvaluator, got {workers!r}"
    )


class _Callback:
    """A SciPy callback as ``fmin``'s: ``callback(intermediate_result)`` (SciPy
    >= 1.11 style, by the parameter's name) or ``callback(xk)``, with the best
    point so far; returning True or raising ``StopIteration`` stops the run."""

    def __init__(self, callback: Callable) -> None:
        try:
            params = set(inspect.signature(callback).parameters)
        except (TypeError, ValueError):
            params = set()
        self.callback = callback
        self.new_style = params == {"intermediate_result"}
        self.stopped = False
        self.nit = self.nfev = 0
        self.best: tuple[float, Any] = (math.inf, None)

    def __call__(self, opt: Any) -> bool:
        from scipy.optimize import OptimizeResult  # type: ignore[import-untyped]

        self.nit += 1
        self.nfev += opt.popsize
        res = opt.result
        if res.xbest is not None and (self.best[1] is None or res.fbest < self.best[0]):
            self.best = (res.fbest, res.xbest)
        fun, x = self.best
        try:
            if self.new_style:
                out = self.callback(
                    intermediate_result=OptimizeResult(
                        x=np.copy(x), fun=fun, nit=self.nit, nfev=self.nfev
                    )
                )
            else:
                out = self.callback(np.copy(x))
        except StopIteration:
            out = True
        self.stopped = self.stopped or bool(out)
        return self.stopped


def _status(stop: dict[str, Any], stopped: bool) -> tuple[int, str]:
    if stopped:
        return _STATUS_CALLBACK, "`callback` raised `StopIteration` or returned True."
    what = ", ".join(f"{k}={v!r}" for k, v in stop.items())
    if any(k in stop for k in _CONVERGED):
        return 0, f"Optimization terminated successfully ({what})."
    if "max_evals" in stop:
        return 1, f"Maximum number of function evaluations reached ({what})."
    if "max_generations" in stop:
        return 2, f"Maximum number of iterations reached ({what})."
    if stop:
        return 3, f"Stopped by {what} (not a convergence criterion)."
    return 4, "Interrupted before any stop criterion was met."


def _split_options(options: Any) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """``(fmin keywords, strategy options, disp)`` from ``options``."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict or None, got {options!r}")
    strategy_opts, fmin_kw = dict(options), {}
    disp = bool(strategy_opts.pop("disp", False))
    for name in _FMIN_KEYWORDS:
        if name in strategy_opts:
            fmin_kw[name] = strategy_opts.pop(name)
    for scipy_name, name in _SCIPY_OPTIONS.items():
        if scipy_name in strategy_opts:
            if name in strategy_opts:
                raise ValueError(f"options: give {scipy_name!r} or {name!r}, not both")
            strategy_opts[name] = strategy_opts.pop(scipy_name)
    return fmin_kw, strategy_opts, disp


def minimize(
    fun: Callable,
    x0: Sequence[float] | np.ndarray,
    method: str = "cmaes",
    sigma0: float | Sequence[float] | np.ndarray | None = None,
    bounds: Any = None,
    options: dict[str, Any] | None = None,
    callback: Callable | None = None,
    workers: Any = None,
    seed: int | None = None,
) -> Any:
    """Minimize ``fun`` with an evolution strategy, called as ``scipy.optimize``'s.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` (``options={"vectorized": True}``: ``fun(X) -> array``).
    x0 : array_like, shape (n,)
        Initial mean of the search distribution.
    method : str
        A strategy name, as ``fmin``'s ``strategy`` (``"cmaes"``, ``"sepcmaes"``,
        ``"xnes"``, ...; case-insensitive).
    sigma0 : float or array_like, optional
        Initial step size. Default, where every coordinate has finite bounds:
        ``SIGMA0_FRACTION`` (1/4, pycma's rule of thumb) of the box width (of the
        narrowest side where the widths differ); required otherwise.
    bounds : scipy.optimize.Bounds or sequence of (low, high), optional
        Box constraints (None in a pair: unbounded), handled by CMA-ES's repair
        and penalty (:mod:`evostrat.strategies.bounds`); ``"cmaes"`` and
        ``"sepcmaes"`` only. ``x0`` must lie inside.
    options : dict, optional
        Strategy options (``tolfun``, ``target``, ...); SciPy's ``maxiter``
        (generations of each run) and ``maxfev`` (evaluations in total), ``disp``
        (print the message at the end); ``fmin``'s ``restarts``,
        ``restart_strategy``, ``popsize``, ``vectorized`` and ``log``.
    callback : callable, optional
        ``callback(intermediate_result)`` (an ``OptimizeResult`` with the best
        ``x`` and ``fun`` so far, ``nit``, ``nfev``) or ``callback(xk)`` (the best
        point so far), after each generation; raising ``StopIteration`` or
        returning True stops the run (``status`` 99).
    workers : int or evaluator, optional
        An int > 1 evaluates in a ``PoolEvaluator`` of that many processes (-1: all
        CPUs), created and closed here; or any evaluator (``PoolEvaluator``,
        ``MPIEvaluator``, ...). None or 1: in this process.
    seed : int, optional
        Seed of the run (one seed, one trajectory, whatever ``workers`` is).

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``nfev``, ``nit`` (generations), ``success``, ``status``
        (0 converged or target reached, 1 ``maxfev``, 2 ``maxiter``, 3 another stop
        criterion, 4 interrupted, 99 stopped by the callback), ``message``; also
        ``stop`` (the criteria met), ``xmean``, ``stds``, ``restarts``, ``seed``.
    """
    from scipy.optimize import OptimizeResult  # type: ignore[import-untyped]

    from evostrat.api import fmin

    if not callable(fun):
        raise TypeError(f"fun must be callable, got {fun!r}")
    if not isinstance(method, str) or method.lower() not in REGISTRY:
        raise ValueError(
            f"unknown method {method!r}; choose one of {', '.join(REGISTRY)}"
        )
    cls = get_strategy(method)
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x0 must be a non-empty 1-D array, got shape {x.shape}")
    fmin_kw, strategy_opts, disp = _split_options(options)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    if bounds is not None:
        if "bounds" not in _options_of(cls):
            able = [m for m in REGISTRY if "bounds" in _options_of(get_strategy(m))]
            raise ValueError(
                f"bounds are supported by method(s) {', '.join(able)}, not {method!r}"
            )
        lower, upper = _bounds_arrays(bounds, x.size)
        outside = np.flatnonzero((x < lower) | (x > upper))
        if outside.size:
            raise ValueError(
                f"x0 lies outside the bounds at coordinate(s) {outside.tolist()}"
            )
        strategy_opts["bounds"] = (lower, upper)
        if sigma0 is None:
            sigma0 = _default_sigma0(lower, upper)
    elif sigma0 is None:
        raise ValueError("sigma0 is required when no bounds are given")
    wrapped = None if callback is None else _Callback(callback)
    evaluator, owned = _evaluator(workers)
    try:
        res = fmin(fun, x, sigma0, strategy=cls, seed=seed, evaluator=evaluator,
                   callback=wrapped, **fmin_kw, **strategy_opts)  # fmt: skip
    finally:
        if owned:
            evaluator.close()
    status, message = _status(res.stop, wrapped is not None and wrapped.stopped)
    if disp:
        print(message)
    return OptimizeResult(
        x=res.xbest, fun=res.fbest, nfev=res.evals, nit=res.generations,
        success=status == 0, status=status, message=message, stop=res.stop,
        xmean=res.xmean, stds=res.stds, restarts=res.restarts, seed=res.seed,
    )  # fmt: skip
