"""What a run log costs: CMA-ES runs with and without a log, in the same process.

Target (issue 13): logging a CMAES run at n = 10 costs < 5 % of its time.

For each function (``evostrat.functions``, called row by row as a user's ``f(x)``
is; ``--vectorized``: on the whole population), the same seeded run of
``--generations`` generations (stop criteria off but the count, so both arms do the
same work) is timed without a log and with one, alternately, ``--samples`` times
each. The logged runs write to one open :class:`~evostrat.runlog.RunLog` (a real
file; each run is a new run in it), and a logged sample ends with ``log.flush()``,
so its time includes the text and the write of all its rows.

The overhead is the ratio of the fastest samples minus one, in wall time (what the
user waits) and in CPU time of the process; on a busy machine the fastest sample of
each arm is the one least disturbed by other processes. Next to it, the paired
estimate: the median over samples of the ratio of a sample's two runs, which ran
back to back (this VM's generation time drifts by up to 50 % between runs a minute
apart, measured here: 109 then 164 us, which the fastest runs of two arms do not
always cancel).

    python benchmarks/runlog.py [--dim 10] [--generations 500] [--samples 40]
                                [--vectorized] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

import evostrat
from evostrat import functions
from evostrat.runlog import RunLog

FUNCTIONS = ("sphere", "ellipsoid", "rosenbrock", "rastrigin")
#: every stop criterion off but max_generations: both arms run the same generations
NO_STOP = {"tolfun": None, "tolx": None, "tolfunhist": None, "tolflatfitness": None,
           "noeffectaxis": False, "noeffectcoord": False, "conditioncov": None,
           "tolupsigma": None, "tolfacupx": None}  # fmt: skip


def one_run(
    f, dim: int, generations: int, log: RunLog | None, vectorized: bool
) -> tuple[float, float]:
    """Wall and CPU seconds (of this process, all threads) a generation, of one
    seeded run of (at most) ``generations`` generations."""
    opt = evostrat.CMAES(np.full(dim, 3.0), 2.0, seed=7, **NO_STOP)
    t0, c0 = time.perf_counter(), time.process_time()
    opt.optimize(f, max_generations=generations, vectorized=vectorized, log=log)
    if log is not None:
        log.flush()  # the text and the write of the rows count too
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    # long runs can still end by a numerical criterion: both arms alike (one seed)
    return seconds / opt.generation, cpu / opt.generation


def measure(name: str, args: argparse.Namespace, path: str) -> dict:
    f = getattr(functions, name)
    plain: list[tuple[float, float]] = []  # plain[i] and logged[i] ran back to back
    logged: list[tuple[float, float]] = []
    with RunLog(path) as log:
        one_run(f, args.dim, 20, log, args.vectorized)  # compile / load the kernels
        for sample in range(args.samples):
            arms = (None, log) if sample % 2 == 0 else (log, None)
            for arm in arms:
                t = one_run(f, args.dim, args.generations, arm, args.vectorized)
                (plain if arm is None else logged).append(t)
    # the times are per generation
    wall_p, wall_l = [t[0] for t in plain], [t[0] for t in logged]
    cpu_p, cpu_l = [t[1] for t in plain], [t[1] for t in logged]
    wall = ratios(wall_p, wall_l)
    return {
        "function": name,
        "us_per_generation": 1e6 * min(wall_p),
        "us_per_generation_logged": 1e6 * min(wall_l),
        "us_per_row": 1e6 * (min(wall_l) - min(wall_p)),
        "overhead_percent": 100.0 * (min(wall_l) / min(wall_p) - 1.0),
        "overhead_percent_paired": paired(wall),
        "overhead_percent_paired_90": ratio_interval(wall),
        "paired_ratios": wall.tolist(),
        "cpu_overhead_percent": 100.0 * (min(cpu_l) / min(cpu_p) - 1.0),
        "cpu_overhead_percent_paired": paired(ratios(cpu_p, cpu_l)),
    }


def ratios(plain: list[float], logged: list[float]) -> np.ndarray:
    """logged / plain of each sample's two runs, which ran back to back: a slow
    spell of the machine (another process, the CPU's clock) slows both, so their
    ratio scatters less than the fastest or median runs of each arm compared
    across the whole benchmark."""
    return np.array(logged) / np.array(plain)


def paired(ratios: np.ndarray) -> float:
    """The median over samples of :func:`ratios` - 1, in percent."""
    return 100.0 * (float(np.median(ratios)) - 1.0)


def ratio_interval(ratios: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """A 90 % bootstrap interval of the median of ``ratios`` - 1, in percent (samples
    resampled with a fixed generator: the same runs give the same interval)."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(ratios), size=(draws, len(ratios)))
    medians = np.median(ratios[picks], axis=1)
    lo, hi = np.quantile(medians, [0.05, 0.95])
    return 100.0 * (float(lo) - 1.0), 100.0 * (float(hi) - 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--generations", type=int, default=500)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--functions", default=",".join(FUNCTIONS))
    parser.add_argument("--vectorized", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "run.csv")
        how = "vectorized" if args.vectorized else "f(x) row by row"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average {load} on {os.cpu_count()} CPUs (other processes make "
              "the figures scatter)")  # fmt: skip
        print(f"CMAES, n = {args.dim}, {args.generations} generations a run, "
              f"{args.samples} runs each way, {how}; overhead of the fastest runs "
              "and the median of each sample's pair (paired)")  # fmt: skip
        print(f"{'function':12s} {'us/gen':>8s} {'logged':>8s} {'us/row':>7s} "
              f"{'overhead':>9s} {'(paired)':>9s} {'[90 %]':>15s} {'CPU':>7s} "
              f"{'(paired)':>9s}")  # fmt: skip
        for name in args.functions.split(","):
            r = measure(name, args, path)
            results.append(r)
            lo, hi = r["overhead_percent_paired_90"]
            print(f"{name:12s} {r['us_per_generation']:8.1f} "
                  f"{r['us_per_generation_logged']:8.1f} {r['us_per_row']:7.2f} "
                  f"{r['overhead_percent']:8.1f}% "
                  f"{r['overhead_percent_paired']:8.1f}% [{lo:5.1f}, {hi:5.1f}]% "
                  f"{r['cpu_overhead_percent']:6.1f}% "
                  f"{r['cpu_overhead_percent_paired']:8.1f}%")  # fmt: skip
    # a row costs the same whatever the function: all pairs together
    pooled = np.concatenate([r["paired_ratios"] for r in results])
    lo, hi = ratio_interval(pooled)
    print(f"all functions together ({len(pooled)} pairs): paired overhead "
          f"{paired(pooled):.1f}% [{lo:.1f}, {hi:.1f}]%")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
