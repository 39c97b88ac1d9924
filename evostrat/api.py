"""``evostrat.fmin``: one call to optimize, with IPOP/BIPOP restarts.

The argument checks and the budget options live here; the restart schedule (IPOP,
Auger & Hansen 2005; BIPOP, Hansen 2009) and the result types are in
:mod:`evostrat.restarts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evostrat.restarts import RESTART_STRATEGIES, FminResult, Restarts, RunInfo
from evostrat.runlog import open_log
from evostrat.strategies import REGISTRY, get_strategy
from evostrat.strategies.base import draw_seed
from evostrat.strategies.options import option_table
from evostrat.validation import check_int, check_real

__all__ = ["FminResult", "RunInfo", "fmin"]

#: stop options that ``fmin`` applies to the whole run (aliases -> option name)
_GLOBAL_ALIASES = {"maxfevals": "max_evals", "ftarget": "target"}


def _resolve_strategy(strategy: Any) -> type:
    from evostrat.strategies.base import Strategy

    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise TypeError(
            "strategy must be a name such as 'cmaes' or a Strategy subclass, "
            f"got {strategy!r}"
        )
    if strategy.lower() not in REGISTRY:
        raise ValueError(
            f"unknown strategy {strategy!r}; choose one of {', '.join(REGISTRY)}"
        )
    return get_strategy(strategy)


def _global_options(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """Pop ``max_evals`` and ``target`` (or their aliases) out of ``options``."""
    known = set(option_table(cls)) | set(getattr(cls, "ALIASES", {}))
    out: dict[str, Any] = {"max_evals": None, "target": None}
    for name in ("max_evals", "target"):
        if name in options:
            out[name] = options.pop(name)
    for alias, name in _GLOBAL_ALIASES.items():
        if alias in options and alias in known:
            if out[name] is not None:
                raise ValueError(f"give either {name} or its alias {alias}, not both")
            out[name] = options.pop(alias)
    if out["max_evals"] is not None:
        value = out["max_evals"]
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 1e5 as pycma users write it
        out["max_evals"] = check_int("max_evals", value, minimum=0)
    if out["target"] is not None:
        check_real("target", out["target"])
    return out


def fmin(
    f: Callable,
    x0: Sequence[float] | np.ndarray | Callable,
    sigma0: float | Sequence[float] | np.ndarray,
    strategy: str | type = "cmaes",
    restarts: int = 0,
    seed: int | None = None,
    evaluator: Any = None,
    restart_strategy: str = "ipop",
    vectorized: bool = False,
    maximize: bool = False,
    popsize: int | None = None,
    callback: Callable[[Any], Any] | None = None,
    log: Any = None,
    **options: Any,
) -> FminResult:
    """Minimize (or maximize) ``f`` with a strategy, restarting it IPOP/BIPOP-style.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; with ``vectorized=True``, ``f(X) -> array`` on blocks of
        rows.
    x0 : array_like or callable
        Initial mean. A callable is called before every run, as ``x0(generator)``
        with a ``numpy.random.Generator`` derived from ``seed`` (reproducible) or
        as ``x0()`` if it takes no argument (as in pycma), so each run may start
        elsewhere.
    sigma0 : float or array_like
        Initial step size (BIPOP's small-population runs scale it by
        ``10**(-2 U)``, ``U ~ U(0, 1)``).
    strategy : str or Strategy subclass
        Lower-case strategy name (``"cmaes"``, ``"sepcmaes"``, ``"pepg"``,
        ``"snes"``, ``"xnes"``, ``"openes"``, ``"simplees"``, ``"simplega"``).
    restarts : int
        Maximal number of restarts after the first run. Under BIPOP it bounds the
        large-population restarts (as in pycma); small-population runs come on top.
        Restarts stop early once ``target`` is reached, ``max_evals`` is spent, a
        run evaluated nothing (e.g. ``max_generations=0``) or ``callback`` said so.
    seed : int, optional
        Seed of the whole call; run ``r > 0`` uses a seed derived from it
        (``numpy.random.SeedSequence(seed, spawn_key=(0, r))``), so one seed gives
        one trajectory. Drawn once from the OS when None (see ``result.seed``);
        under an ``MPIEvaluator`` rank 0's draw is broadcast to every rank.
    evaluator : evaluator, optional
        Shared by all runs (``SerialEvaluator`` when None); its ``stats`` add up.
    restart_strategy : {"ipop", "bipop", "nipop", "nbipop"}
        IPOP by default (API.md); BIPOP measured level with it on bbob, within
        noise (``docs/cmaes.md``).
        IPOP (Auger & Hansen 2005) doubles the population size at each restart;
        BIPOP (Hansen 2009) interlaces that regime with small-population runs;
        NIPOP also divides sigma0 by 1.6 at each restart and NBIPOP interlaces that
        with default-population runs of random small sigma0, the regime that found
        the best solution getting twice the budget (Loshchilov et al. 2012, 2013).
    vectorized : bool
        Whether ``f`` takes a 2-D block of rows.
    maximize : bool
        Treat ``f`` as a reward to maximize (``target`` and ``fbest`` in that sense).
    popsize : int, optional
        Population size of the first run (the strategy's default when None).
    callback : callable, optional
        ``callback(opt)`` after each ``tell`` of every run, with that run's strategy;
        returning True ends the whole call, restarts included (as pycma's
        ``termination_callback`` option ends ``cma.fmin2``). For example
        ``callback=lambda opt: problem.final_target_hit`` for a COCO problem.
    log : str, path-like or RunLog, optional
        Write one row per generation of every run to this CSV file (the ``run``
        column counts the restarts); see :mod:`evostrat.runlog`.
    **options
        Strategy options. ``max_evals`` and ``target`` (and pycma's aliases
        ``maxfevals`` and ``ftarget`` where the strategy has them) apply to the
        whole call, restarts included; every other option, e.g.
        ``max_generations``, applies to each run.

    Returns
    -------
    FminResult
        ``Result(xbest, fbest, evals, generations, xmean, stds, stop)``: the best
        over all runs, total evaluations and generations, and the last run's mean,
        stds and stop criteria; plus ``restarts`` (restarts that ran), ``runs``
        (per-run :class:`RunInfo`) and ``seed``.

    Raises
    ------
    ValueError, TypeError
        Unknown strategy (the message lists the valid names), unknown option,
        ``restart_strategy`` not one of the four above, negative ``restarts``, a
        ``callback`` that is not callable, or a bad ``x0``/``sigma0``/``popsize``
        (checked before ``f`` is ever called).
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {f!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    cls = _resolve_strategy(strategy)
    restarts = check_int("restarts", restarts, minimum=0)
    if restart_strategy not in RESTART_STRATEGIES:
        raise ValueError(
            f"restart_strategy must be one of {', '.join(map(repr, RESTART_STRATEGIES))}"
            f", got {restart_strategy!r}"
        )
    budget = _global_options(cls, options)
    if evaluator is None:
        from evostrat.evaluators import SerialEvaluator

        evaluator = SerialEvaluator()
    elif not callable(getattr(evaluator, "evaluate", None)):
        raise TypeError(
            f"evaluator must have an evaluate(strategy, f, vectorized) method, got "
            f"{evaluator!r}"
        )
    if seed is None:
        seed = draw_seed()
        bcast = getattr(getattr(evaluator, "comm", None), "bcast", None)
        if callable(bcast):  # MPI: every rank the same seed
            seed = bcast(seed, root=0)
    seed = check_int("seed", seed, minimum=0)
    runlog, owned = open_log(log, evaluator)
    try:
        return Restarts(
            f, x0, sigma0, cls, restarts, seed, evaluator, restart_strategy,
            vectorized, maximize, popsize, budget, options, callback, runlog,
        ).run()  # fmt: skip
    finally:
        if owned and runlog is not None:
            runlog.close()
