"""CMA-ES quality: evaluations to reach f - f* < 1e-8, evostrat vs pycma vs cmaes.

Part 1 (single runs). On sphere, ellipsoid (condition 1e6), rosenbrock and
different_powers in dimensions 10 and 20, each library runs its CMA-ES with its
default parameters (default popsize ``4 + floor(3 ln n)``) from the same start,
``x0 = 3 * ones(n)``, ``sigma0 = 2``, with seeds 1..S (pycma: option ``seed``,
cmaes: ``seed``, evostrat: ``seed``). A run succeeds when the best fitness of a
generation falls below 1e-8 (the number of evaluations is read at the end of that
generation, the same rule for every library) and fails if it stops, or spends
``--max-evals``, first. The table gives the median evaluations over the seeds
(failures count as +inf, so the median is finite while fewer than half fail), the
number of successes, and evostrat's median divided by pycma's (also over the
successful runs only, which separates speed from reliability); the goal is a ratio
within 1 +- 0.10 on every line.

Part 2 (restarts). Rastrigin in dimension 10, as in Auger & Hansen (CEC 2005):
``x0`` uniform in [-5, 5]^n (drawn from the seed, the same for both libraries and
every restart), ``sigma0 = (B - A) / 2 = 5``, IPOP with up to 9 restarts and doubling
population, a budget of 2e5 evaluations in total, target 1e-8:
``evostrat.fmin(..., restarts=9, restart_strategy="ipop", max_evals=2e5,
target=1e-8)`` against
``cma.fmin2(..., restarts=9, incpopsize=2, options={'maxfevals': 2e5,
'ftarget': 1e-8})``. It prints the success rates and median evaluations.

Run: ``python benchmarks/quality.py`` (about 3 minutes on 2 cores), or
``--quick`` for a smoke run (3 seeds, n = 10).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np

from evostrat import functions

TARGET = 1e-8
FUNCTIONS = ("sphere", "ellipsoid", "rosenbrock", "different_powers")
LIBRARIES = ("evostrat", "pycma", "cmaes")


def run_evostrat(f: Callable, x0: np.ndarray, sigma0: float, seed: int, cap: int):
    """Evaluations to reach TARGET with evostrat.CMAES (inf if never)."""
    from evostrat import CMAES

    opt = CMAES(x0, sigma0, seed=seed, max_evals=cap)
    while not opt.stop():
        X = opt.ask()
        fit = f(X)
        opt.tell(fit)
        if fit.min() < TARGET:
            return opt.evals
    return math.inf


def run_pycma(f: Callable, x0: np.ndarray, sigma0: float, seed: int, cap: int):
    """Evaluations to reach TARGET with pycma's CMAEvolutionStrategy (inf if never)."""
    import cma

    opts = {"seed": seed, "verbose": -9, "maxfevals": cap}
    es = cma.CMAEvolutionStrategy(x0, sigma0, opts)
    while not es.stop():
        X = es.ask()
        fit = f(np.asarray(X))
        es.tell(X, fit.tolist())
        if fit.min() < TARGET:
            return es.countevals
    return math.inf


def run_cmaes(f: Callable, x0: np.ndarray, sigma0: float, seed: int, cap: int):
    """Evaluations to reach TARGET with the cmaes package's CMA (inf if never)."""
    import cmaes

    es = cmaes.CMA(mean=x0.copy(), sigma=sigma0, seed=seed)
    evals = 0
    while not es.should_stop() and evals < cap:
        X = np.array([es.ask() for _ in range(es.population_size)])
        fit = f(X)
        es.tell(list(zip(X, fit.tolist(), strict=True)))
        evals += len(X)
        if fit.min() < TARGET:
            return evals
    return math.inf


RUNNERS = {"evostrat": run_evostrat, "pycma": run_pycma, "cmaes": run_cmaes}


def median(values: list[float]) -> float:
    """Median with failures as +inf (inf when at least half failed)."""
    return float(np.median(np.array(values, dtype=np.float64)))


def single_runs(args: argparse.Namespace) -> list[dict]:
    """Part 1: one table line per (function, dimension)."""
    rows = []
    header = (
        f"{'function':<17}{'n':>3}"
        + "".join(f"{lib + ' med (ok)':>22}" for lib in LIBRARIES)
        + f"{'evostrat/pycma':>16}{'(successes)':>12}{'cmaes/pycma':>13}  within 10%"
    )
    print(header)
    print("-" * len(header))
    for name in args.functions:
        f = getattr(functions, name)
        for n in args.dims:
            x0 = np.full(n, 3.0)
            cap = args.max_evals or 20_000 * n
            evals = {lib: [] for lib in LIBRARIES}
            seconds = dict.fromkeys(LIBRARIES, 0.0)
            for seed in range(1, args.seeds + 1):
                for lib in LIBRARIES:
                    t0 = time.perf_counter()
                    evals[lib].append(RUNNERS[lib](f, x0, 2.0, seed, cap))
                    seconds[lib] += time.perf_counter() - t0
            med = {lib: median(evals[lib]) for lib in LIBRARIES}
            ok = {lib: sum(math.isfinite(e) for e in evals[lib]) for lib in LIBRARIES}
            ratio = med["evostrat"] / med["pycma"]
            ratio_cmaes = med["cmaes"] / med["pycma"]
            succ = {
                lib: np.median(
                    [e for e in evals[lib] if math.isfinite(e)] or [math.nan]
                )
                for lib in ("evostrat", "pycma")
            }
            ratio_succ = succ["evostrat"] / succ["pycma"]
            line = f"{name:<17}{n:>3}" + "".join(
                f"{med[lib]:>15.0f} ({ok[lib]:>2}/{args.seeds:<2})" for lib in LIBRARIES
            )
            verdict = "yes" if abs(ratio - 1) <= 0.10 else "NO"
            print(
                f"{line}{ratio:>16.3f}{ratio_succ:>12.3f}{ratio_cmaes:>13.3f}  {verdict}",
                flush=True,
            )
            rows.append(
                {"function": name, "n": n, "median": med, "ok": ok, "ratio": ratio,
                 "seconds": seconds}
            )  # fmt: skip
    return rows


def restarts(args: argparse.Namespace) -> None:
    """Part 2: IPOP on Rastrigin 10-D, evostrat.fmin against cma.fmin2."""
    import cma

    import evostrat

    n, budget = 10, 200_000
    f = functions.rastrigin
    results = {"evostrat": [], "pycma": []}
    for seed in range(1, args.seeds + 1):
        x0 = np.random.default_rng(seed).uniform(-5.0, 5.0, n)
        res = evostrat.fmin(
            f, x0, 5.0, restarts=9, seed=seed, max_evals=budget, target=TARGET,
            vectorized=True, restart_strategy="ipop",  # like for like with fmin2
        )  # fmt: skip
        results["evostrat"].append(
            (res.fbest, res.evals, res.restarts, res.runs[-1].popsize)
        )
        opts = {"seed": seed, "verbose": -9, "maxfevals": budget, "ftarget": TARGET}
        sizes = []

        def batch(X, sizes=sizes):
            sizes.append(len(X))
            return f(np.asarray(X)).tolist()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xbest, es = cma.fmin2(
                None, x0, 5.0, opts, restarts=9, incpopsize=2,
                parallel_objective=batch,
            )  # fmt: skip
        runs = [s for s in sizes if s > 1]  # pycma evaluates each final mean alone
        nrestarts = sum(a != b for a, b in zip(runs, runs[1:], strict=False))
        results["pycma"].append((f(xbest), es.countevals, nrestarts, runs[-1]))
    print(
        f"\nRastrigin n={n}, IPOP (restarts=9, incpopsize=2), budget {budget}, "
        f"x0 ~ U[-5,5]^n, sigma0=5, {args.seeds} seeds"
    )
    print(
        f"{'library':<10}{'successes':>11}{'median evals':>14}{'mean evals':>12}"
        f"{'median restarts':>17}  popsize of the last run: count"
    )
    for lib, runs in results.items():
        ok = [evals for fbest, evals, _, _ in runs if fbest < TARGET]
        med = f"{np.median(ok):.0f}" if ok else "-"
        mean = f"{np.mean(ok):.0f}" if ok else "-"
        nrestarts = np.median([r for _, _, r, _ in runs])
        last = sorted(Counter(p for _, _, _, p in runs).items())
        last = ", ".join(f"{p}: {c}" for p, c in last)
        print(
            f"{lib:<10}{len(ok):>6}/{len(runs):<4}{med:>14}{mean:>12}"
            f"{nrestarts:>17.0f}  {last}"
        )
    print(
        "(medians and means over the successful seeds; both libraries' IPOP "
        "popsizes are 10, 21, 43, 87, 174, ...)"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run both parts, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=11, help="seeds 1..S (11)")
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument(
        "--functions", nargs="+", default=list(FUNCTIONS), choices=FUNCTIONS
    )
    parser.add_argument(
        "--max-evals", type=int, default=None, help="cap per run (20000 n)"
    )
    parser.add_argument("--no-restarts", action="store_true", help="skip part 2")
    parser.add_argument(
        "--quick", action="store_true", help="3 seeds, n = 10 (smoke run)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.dims = 3, [10]
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    t0 = time.perf_counter()
    print(
        f"evaluations to f < {TARGET:g}: x0 = 3*ones(n), sigma0 = 2, default "
        f"popsize, median over {args.seeds} seeds (failures count as inf)\n"
    )
    single_runs(args)
    if not args.no_restarts:
        restarts(args)
    print(f"\ntotal time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
