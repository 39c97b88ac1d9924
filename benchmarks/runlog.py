"""What a run log costs: CMA-ES runs with and without ``log=``, in the same process.

Target (issue 13): logging a CMAES run at n = 10 costs < 5 % of its time.

For each function (``evostrat.functions``, called row by row as a user's ``f(x)``
is, and with ``--vectorized`` on the whole population), the same seeded run (same
trajectory, same number of generations) is timed without a log and with
``log=<temporary file>``, alternately, ``--repeats`` times; the overhead is the
ratio of the medians minus one (and of the fastest runs). Times are CPU times of
this process (``time.process_time``), less disturbed than wall time by other
processes on a busy machine; a file write's system time is included. The log's rows are written to a real file, and the
time includes closing it (the last block of rows written).

    python benchmarks/runlog.py [--dim 10] [--generations 2000] [--repeats 9]
                                [--vectorized] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

import evostrat
from evostrat import functions

FUNCTIONS = ("sphere", "ellipsoid", "rosenbrock", "rastrigin")


def one_run(name: str, dim: int, generations: int, log: str | None,
            vectorized: bool) -> tuple[float, int]:  # fmt: skip
    """CPU seconds of one run (this process's, so that other processes on a busy
    machine count less) and its generations (stop criteria off but the count)."""
    f = getattr(functions, name)
    opt = evostrat.CMAES(np.full(dim, 3.0), 2.0, seed=7, tolfun=None, tolx=None,
                         tolfunhist=None, tolflatfitness=None, noeffectaxis=False,
                         noeffectcoord=False, conditioncov=None, tolupsigma=None,
                         tolfacupx=None)  # fmt: skip
    t0 = time.process_time()
    opt.optimize(f, max_generations=generations, vectorized=vectorized, log=log)
    return time.process_time() - t0, opt.generation


def measure(name: str, args: argparse.Namespace, path: str) -> dict:
    one_run(name, args.dim, 20, path, args.vectorized)  # compile / load the kernels
    plain: list[float] = []
    logged: list[float] = []
    for rep in range(args.repeats):
        order = (None, path) if rep % 2 == 0 else (path, None)
        for log in order:
            seconds, gens = one_run(name, args.dim, args.generations, log,
                                    args.vectorized)  # fmt: skip
            (plain if log is None else logged).append(seconds)
    t_plain, t_log = statistics.median(plain), statistics.median(logged)
    best_ratio = min(logged) / min(plain)
    with open(path) as fh:
        rows = sum(1 for line in fh if line[:1].isdigit())
    return {
        "function": name,
        "generations": gens,
        "rows": rows,
        "us_per_generation": 1e6 * t_plain / gens,
        "us_per_generation_logged": 1e6 * t_log / gens,
        "us_per_row": 1e6 * (t_log - t_plain) / gens,
        "overhead_percent": 100.0 * (t_log / t_plain - 1.0),
        "overhead_percent_fastest": 100.0 * (best_ratio - 1.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--generations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--functions", default=",".join(FUNCTIONS))
    parser.add_argument("--vectorized", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "run.csv")
        print(f"CMAES, n = {args.dim}, {args.generations} generations, median of "
              f"{args.repeats}, {'vectorized' if args.vectorized else 'f(x) per row'}")  # fmt: skip
        print(f"{'function':12s} {'us/gen':>8s} {'logged':>8s} {'us/row':>7s} "
              f"{'overhead':>9s} {'(fastest)':>9s}")  # fmt: skip
        for name in args.functions.split(","):
            r = measure(name, args, path)
            results.append(r)
            print(f"{name:12s} {r['us_per_generation']:8.1f} "
                  f"{r['us_per_generation_logged']:8.1f} {r['us_per_row']:7.2f} "
                  f"{r['overhead_percent']:8.1f}% "
                  f"{r['overhead_percent_fastest']:8.1f}%")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
