"""COCO's ``bbob`` suite (through ``cocoex``): evostrat against pycma, same problems.

Each problem of the suite that ``--functions``, ``--dims`` and ``--instances`` select
is solved by every solver in turn. A solver restarts IPOP-style (up to 9 restarts,
the population doubling each time) until the problem's final target
``f - f_opt < 1e-8`` is hit or ``--budget x dim`` evaluations are spent:

* an evostrat strategy (``--strategies``, default ``cmaes``)::

      evostrat.fmin(problem, x0, 2, strategy=name, restarts=9, max_evals=budget,
                    seed=seed, callback=lambda opt: problem.final_target_hit)

* ``pycma``: ``cma.fmin2(problem, x0, 2, {"maxfevals": budget, "seed": seed,
  "termination_callback": lambda es: problem.final_target_hit}, restarts=9)``.

Both solvers start from the same points: the first run from the domain's centre
(``problem.initial_solution``), each restart from the sum of two ``U(-2.5, 2.5)``
draws per coordinate (the density of COCO's ``initial_solution_proposal`` on
``bbob``), drawn from a generator seeded by the problem. ``sigma0 = 2`` is a fifth
of the domain ``[-5, 5]``. The table gives, per function and dimension, the expected
running time (COCO's ERT: all evaluations of all instances divided by the number of
instances that hit the target) and the number of hits. The summary gives, per
dimension, the problems solved and the geometric mean of the ERT ratio over the
functions that both solvers solved on every instance. ``--observe`` also writes each
solver's runs to ``exdata/<solver>`` in COCO's format, for ``cocopp``.

Usage::

    python benchmarks/bbob.py                          # f1-f24, 2-10-D, 3 instances
    python benchmarks/bbob.py --dims 20 --functions 1 2 8 10 --budget 2000
    python benchmarks/bbob.py --strategies cmaes sepcmaes snes --observe
    python -m cocopp exdata/cmaes exdata/pycma          # COCO's plots (cocopp)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import evostrat

SIGMA0 = 2.0
RESTARTS = 9


class Run(NamedTuple):
    """What one solver did on one problem."""

    function: int
    dim: int
    instance: int
    evals: int  # to the final target if hit, else all that were spent
    hit: bool
    seconds: float


def start_points(problem: Any, seed: int) -> Callable[[], np.ndarray]:
    """``x0()``: the domain's centre first, then COCO-like random restart points."""
    generator = np.random.default_rng(seed)
    calls = [0]

    def x0() -> np.ndarray:
        calls[0] += 1
        if calls[0] == 1:
            return np.array(problem.initial_solution, dtype=np.float64)
        n = problem.dimension
        return generator.uniform(-2.5, 2.5, n) + generator.uniform(-2.5, 2.5, n)

    return x0


class Counting:
    """``problem`` as an objective that remembers the evaluation hitting the target."""

    def __init__(self, problem: Any) -> None:
        self.problem = problem
        self.hit_at: int | None = None

    def __call__(self, x: np.ndarray) -> float:
        value = self.problem(x)
        if self.hit_at is None and self.problem.final_target_hit:
            self.hit_at = self.problem.evaluations
        return value


def solve(problem: Any, solver: str, budget: int, seed: int) -> Run:
    """Run ``solver`` ("pycma" or an evostrat strategy name) on ``problem``."""
    f = Counting(problem)
    x0 = start_points(problem, seed)
    t0 = time.perf_counter()
    if solver == "pycma":
        import cma

        options = {
            "maxfevals": budget,
            "seed": seed + 1,  # pycma's seed 0 means "from the clock"
            "termination_callback": lambda es: problem.final_target_hit,
            "verbose": -9,
        }
        cma.fmin2(f, x0, SIGMA0, options, restarts=RESTARTS)
    else:
        evostrat.fmin(
            f,
            x0,
            SIGMA0,
            strategy=solver,
            restarts=RESTARTS,
            seed=seed,
            max_evals=budget,
            callback=lambda opt: problem.final_target_hit,
        )
    seconds = time.perf_counter() - t0
    hit = f.hit_at is not None
    evals = f.hit_at if hit else problem.evaluations
    return Run(
        problem.id_function, problem.dimension, problem.id_instance, evals, hit, seconds
    )


def run_solver(solver: str, args: argparse.Namespace) -> list[Run]:
    """Every selected problem, solved by ``solver``, observed if ``--observe``."""
    import cocoex

    options = (
        f"dimensions: {','.join(map(str, args.dims))} "
        f"function_indices: {','.join(map(str, args.functions))} "
        f"instance_indices: {','.join(map(str, args.instances))}"
    )
    suite = cocoex.Suite("bbob", "", options)
    observer = None
    if args.observe:
        observer = cocoex.Observer(
            "bbob", f"result_folder: {solver} algorithm_name: {solver}"
        )
    runs = []
    for problem in suite:
        if observer is not None:
            problem.observe_with(observer)
        seed = 1000 * problem.index + args.seed
        runs.append(solve(problem, solver, int(args.budget * problem.dimension), seed))
        problem.free()
    suite.free()
    return runs


def ert(runs: list[Run]) -> float:
    """COCO's expected running time: all evaluations over the number of hits."""
    hits = sum(r.hit for r in runs)
    return sum(r.evals for r in runs) / hits if hits else math.inf


def group(runs: list[Run]) -> dict[tuple[int, int], list[Run]]:
    """Runs by (function, dimension)."""
    out: dict[tuple[int, int], list[Run]] = {}
    for r in runs:
        out.setdefault((r.function, r.dim), []).append(r)
    return out


def report(results: dict[str, list[Run]], args: argparse.Namespace) -> None:
    """The ERT table, then the summary per dimension."""
    solvers = list(results)
    tables = {s: group(runs) for s, runs in results.items()}
    keys = sorted(tables[solvers[0]], key=lambda k: (k[1], k[0]))
    print(
        f"# bbob, instances {args.instances}, budget {args.budget:g} x dim, "
        f"IPOP restarts <= {RESTARTS}, sigma0 = {SIGMA0:g}, target f - fopt < 1e-8"
    )
    print("  f  dim" + "".join(f"{s + ' ERT':>18}{'hits':>6}" for s in solvers))
    for key in keys:
        cells = ""
        for s in solvers:
            runs = tables[s][key]
            value = ert(runs)
            text = f"{value:.0f}" if math.isfinite(value) else "-"
            cells += f"{text:>18}{sum(r.hit for r in runs):>4}/{len(runs)}"
        print(f"{key[0]:>3} {key[1]:>4}" + cells)
    reference = solvers[-1]
    print(f"\nsummary (ratio: ERT / {reference}'s ERT, geometric mean over the")
    print("functions both solved on every instance)")
    for dim in args.dims:
        line = f"  {dim:>3}-D"
        for s in solvers:
            runs = [r for r in results[s] if r.dim == dim]
            solved = sum(r.hit for r in runs)
            seconds = sum(r.seconds for r in runs)
            line += f"  {s}: {solved}/{len(runs)} solved, {seconds:.1f} s"
            if s != reference:
                ratios = [
                    ert(tables[s][k]) / ert(tables[reference][k])
                    for k in keys
                    if k[1] == dim
                    and all(r.hit for r in tables[s][k] + tables[reference][k])
                ]
                if ratios:
                    mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
                    line += f", ratio {mean:.2f} over {len(ratios)} functions"
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=["cmaes"])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3, 5, 10])
    parser.add_argument("--functions", type=int, nargs="+", default=range(1, 25))
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--budget", type=float, default=1e4, help="x dim evaluations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-pycma", action="store_true", help="skip the reference")
    parser.add_argument(
        "--observe", action="store_true", help="write COCO data to exdata/<solver>"
    )
    args = parser.parse_args(argv)
    args.functions = list(args.functions)
    solvers = list(args.strategies) + ([] if args.no_pycma else ["pycma"])
    results = {s: run_solver(s, args) for s in solvers}
    report(results, args)


if __name__ == "__main__":
    main()
