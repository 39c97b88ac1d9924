"""COCO's ``bbob`` suite (through ``cocoex``): evostrat against pycma and cmaes.

Each problem that ``--suite``, ``--functions``, ``--dims`` and ``--instances`` select
is solved by every solver in turn, all with the same start points, ``sigma0 = 2``
(a fifth of the domain ``[-5, 5]``) and budget ``--budget x dim`` evaluations, each
restarting (up to 9 large-population restarts) until the problem's final target
``f - f_opt < 1e-8`` is hit or the budget is spent. The solvers:

* evostrat (``--strategies``): ``NAME`` or ``NAME:key=value,...`` runs::

      evostrat.fmin(problem, x0, 2, strategy=NAME, restarts=9, max_evals=budget,
                    seed=seed, callback=lambda opt: problem.final_target_hit, **kv)

  with fmin's defaults for everything not given (``evostrat`` alone: ``cmaes``);
* references (``--references``): ``pycma-ipop`` and ``pycma-bipop`` are
  ``cma.fmin2(problem, x0, 2, {"maxfevals": budget, "seed": seed + 1,
  "termination_callback": ...}, restarts=9, bipop=...)``; ``cmaes-pkg`` and
  ``cmaes-pkg-lra`` are the ``cmaes`` package's ``CMA`` (``lr_adapt=True`` for the
  second) in an IPOP loop of the same shape (restart on ``should_stop()``, the
  population doubled).

``--boxed`` runs COCO's ``bbob-boxed`` suite instead (the same functions, infinite
outside ``[-5, 5]^n``) and hands every solver the box: evostrat's ``bounds=(lower,
upper)`` (pycma's ``BoundPenalty``, :mod:`evostrat.strategies.cma.bounds`), pycma's
``bounds`` option (its default ``BoundTransform``) and the ``cmaes`` package's
``bounds``.

The first run starts from the domain's centre (``problem.initial_solution``), each
restart from the sum of two ``U(-2.5, 2.5)`` draws per coordinate (the density of
COCO's ``initial_solution_proposal``), drawn from a generator seeded by the problem.

Output: per function and dimension COCO's expected running time (ERT: all
evaluations of all instances over the number of instances that hit the target) and
the hits; per dimension the problems hit and the *aggregated ERT ratio* against each
reference (geometric mean of the ERT ratios over the functions both hit at least
once); and an empirical runtime distribution (``--plot``, ECDF of the evaluations
to the final target over all problems, per dimension). ``--cache FILE`` keeps every
run (JSON lines) and reuses them, so solvers can be added to a measurement later;
``--jobs`` solves problems in parallel; ``--observe`` writes COCO data to
``exdata/<solver>`` for ``cocopp`` (with ``--jobs 1``).

Usage::

    python benchmarks/bbob.py --quick                     # seconds (the test)
    nice python benchmarks/bbob.py --dims 2 3 --jobs 2 --cache bbob.jsonl \
        --strategies evostrat evostrat:restart_strategy=ipop,defaults=tutorial
    nice python benchmarks/bbob.py --dims 2 3 --instances 1 2 3 4 5 \
        --strategies evostrat:lr_adapt=True evostrat:mirrored=True --references \
        --cache bbob.jsonl                                # candidates, refs cached
    nice python benchmarks/bbob.py --suite bbob-noisy --dims 5 --functions 1 2 3 \
        --instances 1 2 3 --budget 2000 --strategies evostrat evostrat:lr_adapt=True
    nice python benchmarks/bbob.py --boxed --dims 2 --references pycma-ipop \
        pycma-bipop --cache bbob.jsonl                    # bounds on the box
    python -m cocopp exdata/evostrat exdata/pycma-ipop    # with --observe

``--functions`` and ``--instances`` are COCO's indices (bbob-noisy's function 1 is
f101; bbob's instance indices 6-15 are the instances 71-80).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import sys
import time
from collections.abc import Callable
from multiprocessing import Pool
from typing import Any, NamedTuple

import numpy as np

import evostrat

SIGMA0 = 2.0
RESTARTS = 9
REFERENCES = ("pycma-ipop", "pycma-bipop", "cmaes-pkg", "cmaes-pkg-lra")
#: the suite whose problems are infinite outside [-5, 5]^n: solvers get the box
BOXED = "bbob-boxed"


class Run(NamedTuple):
    """What one solver did on one problem."""

    function: int
    dim: int
    instance: int
    evals: int  # to the final target if hit, else all that were spent
    hit: bool
    seconds: float
    fbest: float = math.nan  # best f observed (noisy suites: compare these)


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


def parse_solver(spec: str) -> tuple[str, dict[str, Any]]:
    """``"cmaes:restart_strategy=bipop,popsize=8"`` -> ``("cmaes", {...})``."""
    name, _, rest = spec.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"solver {spec!r}: expected key=value, got {item!r}")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text  # a bare string such as bipop
    return ("cmaes" if name == "evostrat" else name), options


def run_cmaes_package(f, x0, budget, seed, done, lr_adapt: bool, box=None) -> None:
    """The ``cmaes`` package's CMA in an IPOP loop (restart on ``should_stop``)."""
    import cmaes

    popsize, evals = None, 0
    bounds = None if box is None else np.column_stack(box)
    for run in range(RESTARTS + 1):
        opt = cmaes.CMA(
            mean=x0(), sigma=SIGMA0, seed=seed + run, population_size=popsize,
            lr_adapt=lr_adapt, bounds=bounds,
        )  # fmt: skip
        popsize = 2 * opt.population_size
        while True:
            pairs = []
            for _ in range(opt.population_size):
                x = opt.ask()
                pairs.append((x, f(x)))
            evals += len(pairs)
            opt.tell(pairs)
            if done() or evals >= budget:
                return
            if opt.should_stop():
                break


def solve(
    problem: Any, solver: str, budget: int, seed: int, boxed: bool = False
) -> Run:
    """Run ``solver`` (a reference name or an evostrat spec) on ``problem``; with
    ``boxed``, each solver's own bound handling gets the problem's box."""
    f = Counting(problem)
    x0 = start_points(problem, seed)
    box = (problem.lower_bounds, problem.upper_bounds) if boxed else None
    t0 = time.perf_counter()
    if solver.startswith("pycma"):  # "pycma" alone: IPOP, as before
        import cma

        options = {
            "maxfevals": budget,
            "seed": seed + 1,  # pycma's seed 0 means "from the clock"
            "termination_callback": lambda es: problem.final_target_hit,
            "verbose": -9,
        }
        if box is not None:
            options["bounds"] = [list(box[0]), list(box[1])]
        bipop = solver == "pycma-bipop"
        cma.fmin2(f, x0, SIGMA0, options, restarts=RESTARTS, bipop=bipop)
    elif solver in ("cmaes-pkg", "cmaes-pkg-lra"):
        done = lambda: problem.final_target_hit  # noqa: E731
        run_cmaes_package(f, x0, budget, seed, done, solver == "cmaes-pkg-lra", box)
    else:
        name, options = parse_solver(solver)
        if box is not None:
            options["bounds"] = box
        evostrat.fmin(
            f, x0, SIGMA0, strategy=name, restarts=RESTARTS, seed=seed,
            max_evals=budget, callback=lambda opt: problem.final_target_hit,
            **options,
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    hit = f.hit_at is not None
    evals = f.hit_at if hit else problem.evaluations
    return Run(
        problem.id_function, problem.dimension, problem.id_instance, evals, hit,
        seconds, float(problem.best_observed_fvalue1),
    )  # fmt: skip


def problem_seed(function: int, dim: int, instance: int, seed: int) -> int:
    """The seed of a problem's start points and solver runs (same for all solvers)."""
    return seed + 1000 * (10000 * function + 100 * dim + instance)


def _solve_task(task: tuple) -> tuple[str, tuple[int, int, int], dict[str, Any]]:
    """Worker: one (solver, suite, function, dim, instance) -> a cache record."""
    solver, suite_name, fid, dim, inst, budget, seed = task
    import cocoex

    options = f"dimensions: {dim} function_indices: {fid} instance_indices: {inst}"
    suite = cocoex.Suite(suite_name, "", options)
    problem = next(iter(suite))
    seed = problem_seed(fid, dim, inst, seed)
    run = solve(problem, solver, int(budget * dim), seed, suite_name == BOXED)
    problem.free()
    suite.free()
    return solver, (fid, dim, inst), run._asdict()


def cache_key(solver: str, args: argparse.Namespace, f: int, d: int, i: int) -> str:
    return f"{args.suite}|{solver}|{args.budget:g}|{args.seed}|{f}|{d}|{i}"


def run_all(solvers: list[str], args: argparse.Namespace) -> dict[str, list[Run]]:
    """Every selected problem solved by every solver (reusing ``--cache``)."""
    cached: dict[str, dict[str, Any]] = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as fh:
            for line in fh:
                record = json.loads(line)
                cached[record.pop("key")] = record
    problems = [
        (f, d, i) for d in args.dims for f in args.functions for i in args.instances
    ]
    todo = [
        (s, args.suite, f, d, i, args.budget, args.seed)
        for f, d, i in problems  # dimension by dimension: small ones first
        for s in solvers
        if cache_key(s, args, f, d, i) not in cached
    ]
    if args.observe:
        return {s: _observed(s, args) for s in solvers}
    out_fh = open(args.cache, "a") if args.cache else None
    with Pool(args.jobs) if args.jobs > 1 else _Serial() as pool:
        for solver, (f, d, i), record in pool.imap_unordered(_solve_task, todo):
            key = cache_key(solver, args, f, d, i)  # as asked: bbob-noisy f1 is 101
            cached[key] = record
            if out_fh is not None:
                out_fh.write(json.dumps({"key": key, **record}) + "\n")
                out_fh.flush()
    if out_fh is not None:
        out_fh.close()
    return {
        s: [Run(**cached[cache_key(s, args, f, d, i)]) for f, d, i in problems]
        for s in solvers
    }


class _Serial:
    """``Pool``'s ``imap_unordered`` in this process."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def imap_unordered(self, fn: Callable, tasks: list) -> Any:
        return map(fn, tasks)


def _observed(solver: str, args: argparse.Namespace) -> list[Run]:
    """``solver`` on every problem, written to ``exdata/<solver>`` by COCO."""
    import cocoex

    options = (
        f"dimensions: {','.join(map(str, args.dims))} "
        f"function_indices: {','.join(map(str, args.functions))} "
        f"instance_indices: {','.join(map(str, args.instances))}"
    )
    suite = cocoex.Suite(args.suite, "", options)
    folder = solver.replace(":", "_").replace("=", "-").replace(",", "_")
    observer = cocoex.Observer(
        args.suite.split("-")[0] if args.suite == "bbob" else args.suite,
        f"result_folder: {folder} algorithm_name: {folder}",
    )
    runs = []
    for problem in suite:
        problem.observe_with(observer)
        seed = problem_seed(
            problem.id_function, problem.dimension, problem.id_instance, args.seed
        )
        budget = int(args.budget * problem.dimension)
        runs.append(solve(problem, solver, budget, seed, args.suite == BOXED))
        problem.free()
    suite.free()
    return runs


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbob_report import aggregated_ratio, ert, group, plot_ecdf, report, report_fbest  # noqa: E402

__all__ = ["Run", "aggregated_ratio", "ert", "group", "plot_ecdf", "report", "solve"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="*", default=["evostrat"])
    parser.add_argument("--references", nargs="*", default=list(REFERENCES))
    parser.add_argument("--no-pycma", action="store_true", help="no references")
    parser.add_argument("--suite", default="bbob")
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3, 5, 10, 20])
    parser.add_argument("--functions", type=int, nargs="+", default=range(1, 25))
    parser.add_argument("--instances", type=int, nargs="+", default=range(1, 16))
    parser.add_argument("--budget", type=float, default=1e4, help="x dim evaluations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", help="JSON-lines file of runs to reuse and extend")
    parser.add_argument("--plot", default="bbob_ecdf.png", help="ECDF figure ('' none)")
    parser.add_argument("--quick", action="store_true", help="2-D, 3 functions, 1 inst")
    parser.add_argument(
        "--boxed", action="store_true", help=f"--suite {BOXED}, solvers get the box"
    )
    parser.add_argument(
        "--observe", action="store_true", help="write COCO data to exdata/<solver>"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.dims, args.functions, args.instances = [2], [1, 8, 15], [1]
        args.budget = min(args.budget, 1e3)
    if args.no_pycma:
        args.references = []
    if args.boxed:
        args.suite = BOXED
    args.functions, args.instances = list(args.functions), list(args.instances)
    solvers = list(args.strategies) + list(args.references)
    results = run_all(solvers, args)
    report(results, args, list(args.references))
    if args.suite not in ("bbob", BOXED):  # no final targets: compare f_best
        report_fbest(results)
    if args.plot:
        plot_ecdf(results, args.plot)
        print(f"ECDF figure: {args.plot}")


if __name__ == "__main__":
    main()
