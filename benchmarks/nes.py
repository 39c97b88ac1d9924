"""Quality of SNES and XNES (and OpenES/PEPG where present) against pycma's CMA-ES.

For each test function (sphere, an ellipsoid of condition 1e3, Rosenbrock), each
dimension and each seed, every strategy runs with its default parameters (``xnes-as``
is XNES with ``adaptation_sampling=True``) from
``x0 ~ U(-1, 1)^n`` (drawn from the seed) and ``sigma0 = 1`` until ``f < target``
(default 1e-6) or the evaluation budget (default 1e5) is spent. The table gives,
per strategy, the median number of evaluations to reach the target over the
successful seeds and the number of successes, or the median best value reached
when no seed succeeded; the ``/cma`` column is the ratio of the median
evaluations to pycma's (``cma.CMAEvolutionStrategy`` with its defaults, run in the
same process on the same starting points). The ``cmaes.XNES`` column is an
independent implementation of the same algorithm and defaults (CyberAgent's
``cmaes`` package), the reference XNES is checked against.

``--large`` instead measures one SNES ``tell`` at ``n = 1e6``, ``popsize = 256``:
its time against the time of regenerating the same 256 normal rows (the least work a
``tell`` that keeps no population can do: ``rng.sample_normal`` in blocks of 16 rows,
and ``rng.fill_normal`` row by row into one buffer), and its peak memory against the
``popsize x dim`` matrix it does not hold.

Usage::

    python benchmarks/nes.py                  # 11 seeds, n = 10 and 50
    python benchmarks/nes.py --quick          # 3 seeds, n = 10, budget 2e4
    python benchmarks/nes.py --seeds 5 --dims 10 --max-evals 300000
    python benchmarks/nes.py --large
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import evostrat
import evostrat.strategies
from evostrat.functions import rosenbrock, sphere


def ellipsoid_1e3(X: np.ndarray) -> np.ndarray | float:
    """Axis-parallel ellipsoid of condition 1e3: ``sum 1e3**(i/(n-1)) x_i**2``."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[-1]
    coefficients = 1e3 ** (np.arange(n) / max(1, n - 1))
    return (X * X) @ coefficients


FUNCTIONS = {"sphere": sphere, "ellipsoid1e3": ellipsoid_1e3, "rosenbrock": rosenbrock}
#: column name -> (strategy name in the registry, class, options)
CANDIDATES = {
    "snes": ("snes", "SNES", {}),
    "xnes": ("xnes", "XNES", {}),
    "xnes-as": ("xnes", "XNES", {"adaptation_sampling": True}),
    "openes": ("openes", "OpenES", {}),
    "pepg": ("pepg", "PEPG", {}),
}


def run_evostrat(name, fname, dim, seed, target, max_evals):
    """(evaluations to reach target or None, best value) of one evostrat run."""
    f = FUNCTIONS[fname]
    x0 = np.random.default_rng(seed).uniform(-1.0, 1.0, dim)
    _, cls, options = CANDIDATES[name]
    opt = getattr(evostrat, cls)(x0, 1.0, seed=seed, **options)
    res = opt.optimize(
        f,
        target=target,
        max_evals=max_evals,
        max_generations=10**9,
        vectorized=True,
    )
    return (res.evals if res.fbest < target else None), res.fbest


def run_cma(fname, dim, seed, target, max_evals):
    """(evaluations to reach target or None, best value) of one pycma run."""
    import cma

    f = FUNCTIONS[fname]
    x0 = np.random.default_rng(seed).uniform(-1.0, 1.0, dim)
    es = cma.CMAEvolutionStrategy(
        x0,
        1.0,
        {"seed": seed + 1, "ftarget": target, "maxfevals": max_evals, "verbose": -9},
    )
    while not es.stop():
        X = es.ask()
        es.tell(X, [float(v) for v in f(np.array(X))])
    fbest = es.result.fbest
    return (es.result.evaluations if fbest < target else None), fbest


def run_cmaes_xnes(fname, dim, seed, target, max_evals):
    """(evaluations to reach target or None, best value) of one run of the
    CyberAgent ``cmaes.XNES`` (the same paper's defaults, an independent code)."""
    from cmaes import XNES as ReferenceXNES

    f = FUNCTIONS[fname]
    x0 = np.random.default_rng(seed).uniform(-1.0, 1.0, dim)
    opt = ReferenceXNES(mean=x0, sigma=1.0, seed=seed)
    evals, fbest = 0, math.inf
    while evals < max_evals:
        X = np.array([opt.ask() for _ in range(opt.population_size)])
        values = f(X)
        evals += len(X)
        fbest = min(fbest, float(np.min(values)))
        if fbest < target:  # counted at the end of the generation, as for evostrat
            return evals, fbest
        opt.tell(list(zip(X, values.tolist(), strict=True)))
    return None, fbest


REFERENCES = {"cma": run_cma, "cmaes.XNES": run_cmaes_xnes}


def run_job(job):
    """``(job, (evals or None, best f))``, or ``(job, error message)`` if it failed."""
    name, fname, dim, seed, target, max_evals = job
    try:
        if name in REFERENCES:
            return job, REFERENCES[name](fname, dim, seed, target, max_evals)
        return job, run_evostrat(name, fname, dim, seed, target, max_evals)
    except Exception as exc:  # another strategy's bug must not stop the table
        return job, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def summarize(results):
    """``(median evals or None, successes, median best f)`` of a list of runs."""
    evals = [e for e, _ in results if e is not None]
    best = statistics.median(f for _, f in results)
    return (statistics.median(evals) if evals else None), len(evals), best


def quality(args) -> None:
    present = list(evostrat.strategies.REGISTRY)
    names = [n for n, (key, _, _) in CANDIDATES.items() if key in present]
    names += list(REFERENCES)
    if args.strategies:
        names = [n for n in names if n in args.strategies or n in REFERENCES]
    jobs = [
        (name, fname, dim, seed, args.target, args.max_evals)
        for fname in FUNCTIONS
        for dim in args.dims
        for name in names
        for seed in range(args.seeds)
    ]
    results: dict = {}
    t0 = time.perf_counter()
    errors: dict = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for job, out in pool.map(run_job, jobs, chunksize=1):
            if isinstance(out, str):
                errors.setdefault(job[0], out)
            else:
                results.setdefault(job[:3], []).append(out)
    print(
        f"# {args.seeds} seeds, target f < {args.target:g}, budget {args.max_evals:g} "
        f"evaluations, x0 ~ U(-1, 1)^n, sigma0 = 1 ({time.perf_counter() - t0:.0f} s)"
    )
    print(f"{'function':<13}{'n':>4}  " + "".join(f"{n:>24}" for n in names))
    for fname in FUNCTIONS:
        for dim in args.dims:
            ref = summarize(results.get(("cma", fname, dim), [(None, math.nan)]))[0]
            cells = []
            for name in names:
                runs = results.get((name, fname, dim))
                if not runs:
                    cells.append("error")
                    continue
                med, ok, best = summarize(runs)
                if len(runs) < args.seeds:
                    cells.append(f"{len(runs)}/{args.seeds} runs ran")
                elif med is None:
                    cells.append(f"0/{args.seeds} best {best:.1e}")
                else:
                    ratio = f" ({med / ref:.1f}x)" if ref and name != "cma" else ""
                    cells.append(f"{med:.0f} [{ok}/{args.seeds}]{ratio}")
            print(f"{fname:<13}{dim:>4}  " + "".join(f"{c:>24}" for c in cells))
    print("cells: median evaluations to the target over the successful seeds")
    print("[successes/seeds] (ratio to pycma's median), or the median best f")
    for name, message in errors.items():
        print(f"{name} failed: {message}")


def large_tell(dim: int, popsize: int) -> None:
    """Time and peak memory of one SNES tell (run in a fresh process)."""
    from evostrat.kernels import rng

    opt = evostrat.SNES(np.zeros(dim), 1.0, popsize=popsize, seed=1)
    fitness = np.random.default_rng(0).normal(size=popsize)
    opt.ask([0])  # compile, and allow a tell
    small = evostrat.SNES(np.zeros(dim), 1.0, popsize=popsize, seed=2)
    small.ask([0])
    small.tell(fitness)  # compile the tell kernels on the large path
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    opt.tell(fitness)
    t_tell = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    block = 16
    t0 = time.perf_counter()
    for start in range(0, popsize, block):
        rng.sample_normal(opt._key, 0, np.arange(start, start + block), dim)
    t_regen = time.perf_counter() - t0
    row = np.empty(dim)
    rng.fill_normal(opt._key, 0, 0, rng.STREAM_NORMAL, row)
    t0 = time.perf_counter()
    for index in range(popsize):
        rng.fill_normal(opt._key, 0, index, rng.STREAM_NORMAL, row)
    t_fill = time.perf_counter() - t0
    matrix_mb = popsize * dim * 8 / 2**20
    print(f"SNES tell, n = {dim:g}, popsize = {popsize}:")
    print(
        f"  time {t_tell:.2f} s; sample_normal of the {popsize} rows in blocks of "
        f"{block}: {t_regen:.2f} s (ratio {t_tell / t_regen:.2f}); fill_normal of "
        f"each row into one buffer, one thread: {t_fill:.2f} s "
        f"(ratio {t_tell / t_fill:.2f})"
    )
    print(
        f"  peak memory growth {peak / 1024:.0f} MiB vs {matrix_mb:.0f} MiB for the "
        f"popsize x dim matrix (ratio {peak / 1024 / matrix_mb:.3f})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=11, help="runs per cell")
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--target", type=float, default=1e-6)
    parser.add_argument("--max-evals", type=int, default=100_000)
    parser.add_argument("--strategies", nargs="+", choices=list(CANDIDATES))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="3 seeds, n = 10, 2e4")
    parser.add_argument(
        "--large", action="store_true", help="SNES tell at n = 1e6, popsize 256"
    )
    parser.add_argument("--large-dim", type=int, default=10**6, help=argparse.SUPPRESS)
    parser.add_argument(
        "--large-popsize", type=int, default=256, help=argparse.SUPPRESS
    )
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        large_tell(args.large_dim, args.large_popsize)
        return
    if args.large:  # a fresh process, so that its peak memory is the tell's
        cmd = [sys.executable, __file__, "--_child"]
        cmd += ["--large-dim", str(args.large_dim)]
        cmd += ["--large-popsize", str(args.large_popsize)]
        subprocess.run(cmd, check=True)
        return
    if args.quick:
        args.seeds, args.dims, args.max_evals = 3, [10], 20_000
    if not math.isfinite(args.target):
        parser.error("--target must be finite")
    quality(args)


if __name__ == "__main__":
    main()
