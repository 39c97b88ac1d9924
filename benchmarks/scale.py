"""Seconds per generation and peak memory of OpenES, PEPG and SNES at large dimension.

Every configuration (method, n) runs in its own subprocess, so its peak resident
set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that child) is its own.
The methods run ``opt.optimize(f, max_generations=...)`` with a trivial objective
(``f = lambda x: float(x[0])``) at popsize 256; ``numpy`` is a plain OpenES written
here (estool / Salimans style: antithetic, the ``popsize x n`` noise matrix held,
vectorized), the reference the targets are measured against:

* at n = 1e6, OpenES ``optimize()`` takes at most 0.5x the seconds per generation
  of the numpy reference, with peak RSS below 1 GB;
* at n = 1e4, one whole OpenES generation (``ask``, trivial ``f``, ``tell``) takes
  at most 2x the time to draw ``popsize x n`` normals once with NumPy
  (``default_rng().standard_normal``). Both are timed interleaved in one child, the
  minimum over the repeats is reported.

Compilation (or loading numba's cache) is excluded: each child runs one generation
before timing. Usage::

    python benchmarks/scale.py                       # the full table
    python benchmarks/scale.py --dims 1e4 1e5 --methods openes numpy
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import evostrat.strategies

METHODS = ("openes", "pepg", "snes", "numpy")
POPSIZE = 256


def trivial(x: np.ndarray) -> float:
    """The objective: the first coordinate (costs nothing next to sampling)."""
    return float(x[0])


def centered_ranks(reward: np.ndarray) -> np.ndarray:
    """Salimans et al.'s centered ranks of a reward vector, in [-0.5, 0.5]."""
    ranks = np.empty(reward.size)
    ranks[reward.argsort()] = np.arange(reward.size)
    return ranks / (reward.size - 1) - 0.5


class NumpyOpenES:
    """OpenES the usual way: ``popsize x n`` noise matrix, vectorized gradient."""

    def __init__(self, n: int, popsize: int, sigma: float = 0.1, seed: int = 1):
        self.rng = np.random.default_rng(seed)
        self.mean = np.zeros(n)
        self.sigma, self.popsize, self.lr = sigma, popsize, 0.01
        self.m, self.v, self.t = np.zeros(n), np.zeros(n), 0

    def ask(self) -> np.ndarray:
        half = self.rng.standard_normal((self.popsize // 2, self.mean.size))
        self.eps = np.concatenate([half, -half])
        return self.mean + self.sigma * self.eps

    def tell(self, cost: np.ndarray) -> None:
        u = centered_ranks(-np.asarray(cost))
        g = -(self.eps.T @ u) / (self.popsize * self.sigma) + 0.005 * self.mean
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * g
        self.v = 0.999 * self.v + 0.001 * g * g
        mhat = self.m / (1 - 0.9**self.t)
        vhat = self.v / (1 - 0.999**self.t)
        self.mean -= self.lr * mhat / (np.sqrt(vhat) + 1e-8)

    def generation(self) -> None:
        X = self.ask()
        self.tell(np.array([trivial(x) for x in X]))
        del X


def _strategy(method: str, n: int):
    import evostrat

    cls = {"openes": evostrat.OpenES, "pepg": evostrat.PEPG}.get(method)
    if cls is None:
        from evostrat.strategies import get_strategy

        cls = get_strategy(method)
    return cls(np.zeros(n), 0.1, popsize=POPSIZE, seed=1)


def child(method: str, n: int, generations: int, repeats: int) -> dict:
    """Run one configuration in this process; returns the measurements."""
    out: dict = {"method": method, "n": n, "generations": generations}
    if method == "numpy":
        es = NumpyOpenES(n, POPSIZE)
        es.generation()  # warm-up
        t0 = time.perf_counter()
        for _ in range(generations):
            es.generation()
        out["sec_per_gen"] = (time.perf_counter() - t0) / generations
        out["peak_rss_mb"] = _peak_rss_mb()
    else:
        opt = _strategy(method, n)
        opt.optimize(trivial, max_generations=1)  # compile / load the cache
        t0 = time.perf_counter()
        opt.optimize(trivial, max_generations=1 + generations)
        out["sec_per_gen"] = (time.perf_counter() - t0) / generations
        out["peak_rss_mb"] = _peak_rss_mb()  # before the full ask() below
        if method == "openes" and n <= 10**5:
            out.update(_generation_vs_draw(opt, n, repeats))
    out.setdefault("peak_rss_mb", _peak_rss_mb())
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generation_vs_draw(opt, n: int, repeats: int) -> dict:
    """Min time of one ask/f/tell generation and of one NumPy ``(popsize, n)`` draw."""
    gen = np.random.default_rng(2)
    best_gen = best_draw = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        X = opt.ask()
        opt.tell([trivial(x) for x in X])
        best_gen = min(best_gen, time.perf_counter() - t0)
        del X
        t0 = time.perf_counter()
        Z = gen.standard_normal((POPSIZE, n))
        best_draw = min(best_draw, time.perf_counter() - t0)
        del Z
    return {
        "gen_sec": best_gen,
        "draw_sec": best_draw,
        "gen_over_draw": best_gen / best_draw,
    }


def _generations(n: int) -> int:
    return max(2, int(3e6 // n))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--generations",
        type=int,
        default=None,
        help="timed generations per run (default: 3e6 / n, at least 2)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=20,
        help="repeats of the n <= 1e5 generation-vs-draw timing",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="NUMBA_NUM_THREADS of the children (default: numba's own choice)",
    )
    parser.add_argument(
        "--child", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.child:
        method, n = args.child[0], int(float(args.child[1]))
        gens = args.generations or _generations(n)
        print(json.dumps(child(method, n, gens, args.repeats)))
        return

    methods = [
        m
        for m in args.methods
        if m == "numpy" or m in list(evostrat.strategies.REGISTRY)
    ]
    rows = []
    env = dict(os.environ)
    if args.threads:
        env["NUMBA_NUM_THREADS"] = str(args.threads)
    threads = env.get("NUMBA_NUM_THREADS", "default")
    print(
        f"popsize {POPSIZE}, f(x) = x[0], NUMBA_NUM_THREADS={threads}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(
        f"{'method':>8} {'n':>9} {'s/gen':>10} {'peak RSS MB':>12} {'vs numpy':>9}",
        flush=True,
    )
    for n in (int(d) for d in args.dims):
        ref = None
        for method in sorted(methods, key=lambda m: m != "numpy"):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                method,
                str(n),
                "--repeats",
                str(args.repeats),
            ]
            if args.generations:
                cmd += ["--generations", str(args.generations)]
            res = json.loads(
                subprocess.run(
                    cmd, check=True, capture_output=True, text=True, env=env
                ).stdout.splitlines()[-1]
            )
            if method == "numpy":
                ref = res["sec_per_gen"]
            ratio = f"{res['sec_per_gen'] / ref:9.3f}" if ref else f"{'':>9}"
            print(
                f"{method:>8} {n:>9} {res['sec_per_gen']:>10.4f} "
                f"{res['peak_rss_mb']:>12.1f} {ratio}",
                flush=True,
            )
            rows.append(res)
    for res in rows:
        if "gen_over_draw" in res:
            print(
                f"OpenES n={res['n']}: one generation (ask, f, tell) "
                f"{res['gen_sec'] * 1e3:.2f} ms, NumPy draw of {POPSIZE} x {res['n']} "
                f"normals {res['draw_sec'] * 1e3:.2f} ms, ratio {res['gen_over_draw']:.2f}"
            )


if __name__ == "__main__":
    main()
