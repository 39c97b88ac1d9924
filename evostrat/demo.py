"""The demo of ``evostrat demo``: every strategy on three small problems.

Every strategy present (``evostrat.strategies.REGISTRY``) runs on 2-D Rastrigin and
2-D Schaffer N.2 from ``x0 = (3, 3)`` and on 10-D Rastrigin from ``x0 = (3, ..., 3)``.
The demo prints a table of the best fitness, the evaluations and the seconds
(numba compilation excluded) per strategy and problem and, when matplotlib is importable, saves the convergence curves
(best-so-far fitness against evaluations, log scale, one panel per problem, one line
per strategy) to a PNG.

The per-strategy settings are in :data:`DEMO_SETTINGS`; ``benchmarks/simple_success.py``
measures how often the SimpleES/SimpleGA settings reach ``f < 1e-2``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Per-strategy demo settings: ``sigma0``, ``popsize`` (None: the strategy's default)
#: and constructor options. SimpleES/SimpleGA use estool-style sigma decay: with
#: sigma0 = 1, popsize 64, decay 0.98 and floor 0.01 they reach f < 1e-2 on 2-D
#: Rastrigin and Schaffer from (3, 3) within 300 generations in 20 of 20 seeds
#: (``python benchmarks/simple_success.py``). Strategies that adapt their step size
#: and stop early by their own criteria restart with a doubled population (IPOP,
#: Auger & Hansen 2005) while the budget lasts (``"restarts": True``). Every
#: strategy gets the same budget of evaluations, ``generations * BUDGET_POPSIZE``.
#: Strategies not listed run with :data:`FALLBACK_SETTINGS`.
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "simplees": {
        "sigma0": 1.0,
        "popsize": 64,
        "options": {"sigma_decay": 0.98, "sigma_limit": 0.01, "elitism": True},
    },
    "simplega": {
        "sigma0": 1.0,
        "popsize": 64,
        "options": {"sigma_decay": 0.98, "sigma_limit": 0.01},
    },
    "cmaes": {"sigma0": 2.0, "popsize": None, "options": {}, "restarts": True},
    "sepcmaes": {"sigma0": 2.0, "popsize": None, "options": {}, "restarts": True},
    "pepg": {"sigma0": 1.0, "popsize": 64, "options": {}},
    "snes": {"sigma0": 2.0, "popsize": None, "options": {}, "restarts": True},
    "xnes": {"sigma0": 2.0, "popsize": None, "options": {}, "restarts": True},
    "openes": {"sigma0": 0.5, "popsize": 64, "options": {"learning_rate": 0.05}},
}
FALLBACK_SETTINGS: dict[str, Any] = {"sigma0": 1.0, "popsize": None, "options": {}}


@dataclass(frozen=True)
class Problem:
    """One demo problem: a test function, its dimension, start and budget."""

    function: str
    dim: int
    x0: float = 3.0
    generations: int = 300

    @property
    def label(self) -> str:
        return f"{self.function} {self.dim}-D"


#: The three demo problems (full budget); ``quick`` shortens the budgets.
PROBLEMS: tuple[Problem, ...] = (
    Problem("rastrigin", 2, generations=300),
    Problem("schaffer", 2, generations=300),
    Problem("rastrigin", 10, generations=1000),
)
QUICK_GENERATIONS = {2: 60, 10: 100}

#: Runs stop once the best fitness reaches this value (every function's minimum is 0).
TARGET = 1e-10
#: the evaluation budget of a problem is its generations times this
BUDGET_POPSIZE = 64


@dataclass
class Run:
    """What one strategy did on one problem."""

    strategy: str
    problem: str
    fbest: float
    evals: int
    seconds: float
    stop: dict[str, Any]
    curve_evals: list[int] = field(default_factory=list)
    curve_fbest: list[float] = field(default_factory=list)


def settings_for(name: str) -> dict[str, Any]:
    """The demo settings of strategy ``name`` (a copy; fallback for unknown names)."""
    base = DEMO_SETTINGS.get(name, FALLBACK_SETTINGS)
    return {**base, "options": dict(base["options"])}


def make_strategy(
    name: str,
    x0: Sequence[float] | np.ndarray,
    seed: int,
    sigma0: float | None = None,
    popsize: int | None = None,
    **extra: Any,
) -> Any:
    """Strategy ``name`` at ``x0`` with its demo settings.

    ``sigma0``, ``popsize`` (when not None) and the options ``extra`` override them.
    """
    from evostrat.strategies import get_strategy

    s = settings_for(name)
    options = {**s["options"], **extra}
    sigma0 = s["sigma0"] if sigma0 is None else sigma0
    popsize = s["popsize"] if popsize is None else popsize
    cls = get_strategy(name)
    return cls(np.asarray(x0, dtype=float), sigma0, popsize, seed, **options)


#: Restarts allowed to strategies with ``"restarts": True``: more than any demo
#: budget can pay for (IPOP doubles the population each time), so the budget of
#: evaluations, not this number, ends the restarts.
MAX_RESTARTS = 30


class _Curve:
    """``fmin`` callback recording best-so-far fitness against evaluations."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.best = math.inf
        self.spent = 0  # evaluations of the finished runs (restarts)
        self.current: Any = None

    def __call__(self, opt: Any) -> bool:
        if opt is not self.current:
            if self.current is not None:
                self.spent += self.current.evals
            self.current = opt
        self.best = min(self.best, float(opt.result.fbest))
        self.run.curve_evals.append(self.spent + opt.evals)
        self.run.curve_fbest.append(self.best)
        return False


def run_one(
    name: str, problem: Problem, seed: int, generations: int | None = None
) -> Run:
    """Run strategy ``name`` on ``problem`` with ``evostrat.fmin``, recording the curve.

    Every strategy gets ``generations * BUDGET_POPSIZE`` evaluations; those whose
    settings say ``"restarts": True`` restart IPOP-style (``fmin``'s restarts, seeds
    derived from ``seed``) while the budget lasts. ``seconds`` excludes compiling:
    two generations of a throw-away copy run first, so the numba kernels are
    compiled (or loaded from the cache) before the clock starts.
    """
    from evostrat.api import fmin
    from evostrat.functions import FUNCTIONS

    f = FUNCTIONS[problem.function]
    gens = problem.generations if generations is None else generations
    x0 = np.full(problem.dim, problem.x0)
    warm = make_strategy(name, x0, seed)
    for _ in range(2):
        warm.tell(f(warm.ask()))
    settings = settings_for(name)
    run = Run(name, problem.label, math.inf, 0, 0.0, {})
    t0 = time.perf_counter()
    result = fmin(
        f,
        x0,
        settings["sigma0"],
        strategy=name,
        restarts=MAX_RESTARTS if settings.get("restarts", False) else 0,
        seed=seed,
        popsize=settings["popsize"],
        vectorized=True,
        callback=_Curve(run),
        max_evals=gens * BUDGET_POPSIZE,
        target=TARGET,
        **settings["options"],
    )
    run.seconds = time.perf_counter() - t0
    run.fbest, run.evals, run.stop = float(result.fbest), result.evals, result.stop
    return run


def run_demo(
    names: Sequence[str] | None = None,
    seed: int = 1,
    quick: bool = False,
    report: Callable[[Run], None] | None = None,
) -> list[Run]:
    """Every strategy of ``names`` (default: all available) on every demo problem.

    Parameters
    ----------
    names : sequence of str, optional
        Strategy names; ``evostrat.strategies.REGISTRY`` when None.
    seed : int
        Seed of every run.
    quick : bool
        Short budgets (60 generations in 2-D, 100 in 10-D).
    report : callable, optional
        Called with each finished :class:`Run` (progress output).
    """
    from evostrat.strategies import REGISTRY

    names = list(list(REGISTRY) if names is None else names)
    runs = []
    for problem in PROBLEMS:
        gens = QUICK_GENERATIONS[problem.dim] if quick else problem.generations
        for name in names:
            r = run_one(name, problem, seed, gens)
            runs.append(r)
            if report is not None:
                report(r)
    return runs


def format_table(runs: Sequence[Run]) -> str:
    """A plain-text table: one row per strategy, three columns per problem."""
    problems = list(dict.fromkeys(r.problem for r in runs))
    names = list(dict.fromkeys(r.strategy for r in runs))
    by_key = {(r.strategy, r.problem): r for r in runs}
    head1 = f"{'':10s}" + "".join(f" | {p:^28s}" for p in problems)
    head2 = f"{'strategy':10s}" + " | {:>10s} {:>8s} {:>8s}".format(
        "fbest", "evals", "seconds"
    ) * len(problems)
    lines = [head1, head2, "-" * len(head2)]
    for name in names:
        cells = []
        for p in problems:
            r = by_key.get((name, p))
            if r is None:
                cells.append(f" | {'-':>10s} {'-':>8s} {'-':>8s}")
            else:
                cells.append(f" | {r.fbest:10.3e} {r.evals:8d} {r.seconds:8.2f}")
        lines.append(f"{name:10s}" + "".join(cells))
    return "\n".join(lines)


def plot_curves(runs: Sequence[Run], path: str) -> str:
    """Save the convergence curves to ``path`` (PNG); needs matplotlib.

    One panel per problem, one line per strategy: best-so-far fitness against
    evaluations on log axes (values below :data:`TARGET` are drawn at ``TARGET``).
    """
    problems = list(dict.fromkeys(r.problem for r in runs))
    fig, axes = agg_subplots(1, len(problems), (5 * len(problems), 4.2))
    axes = axes[0]
    for ax, problem in zip(axes, problems, strict=True):
        for r in runs:
            if r.problem != problem or not r.curve_evals:
                continue
            y = np.maximum(np.asarray(r.curve_fbest), TARGET)
            ax.plot(r.curve_evals, y, label=r.strategy, linewidth=1.4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(problem)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best fitness so far")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle("evostrat demo: convergence (lower is better)")
    fig.savefig(path, dpi=100)
    return path


def agg_subplots(
    rows: int, columns: int, figsize: tuple[float, float]
) -> tuple[Any, np.ndarray]:
    """A matplotlib ``Figure`` on the Agg canvas and its ``rows x columns`` axes.

    No pyplot state and no window: safe in scripts, tests and threads. The axes come
    as a 2-D array (``squeeze=False``); the layout is "constrained".
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, columns, squeeze=False)


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
