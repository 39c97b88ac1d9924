"""Per-generation ask+tell cost of evostrat's CMA-ES against pycma and cmaes.

    python benchmarks/speed.py                      # full CMA at n=10,100,1000, sep at 1000,10000
    python benchmarks/speed.py --dims 10 100 --sep-dims 1000 --generations 500

The objective is trivial (a fresh vector of uniform random fitness values per
generation, the same for every library), so the time is the optimizer's: ask, tell,
and the lazy eigendecompositions, averaged over many generations. The three
libraries run interleaved in ``--rounds`` chunks per dimension so that machine load
affects them alike. Prints microseconds per generation and the ratios
evostrat / pycma, evostrat / cmaes and evostrat / (the faster of the two), and the
load average before and after (other processes on the machine skew the figures:
pycma's and our multi-threaded LAPACK calls suffer most).

References: pycma (``cma.CMAEvolutionStrategy``; separable: option
``CMA_diagonal=True``), cmaes (``cmaes.CMA``; separable: ``cmaes.SepCMA``).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def _evostrat(dim: int, separable: bool, seed: int):
    import evostrat

    cls = evostrat.SepCMAES if separable else evostrat.CMAES
    opt = cls(np.zeros(dim), 1.0, seed=seed)
    lam = opt.popsize

    def step(fit):
        opt.ask()
        opt.tell(fit)

    return lam, step


def _pycma(dim: int, separable: bool, seed: int):
    import cma

    opts = {"seed": seed + 1, "verbose": -9, "CMA_diagonal": separable}
    es = cma.CMAEvolutionStrategy(np.zeros(dim), 1.0, opts)

    def step(fit):
        X = es.ask()
        es.tell(X, list(fit))

    return es.popsize, step


def _cmaes(dim: int, separable: bool, seed: int):
    import cmaes

    cls = cmaes.SepCMA if separable else cmaes.CMA
    opt = cls(mean=np.zeros(dim), sigma=1.0, seed=seed)
    lam = opt.population_size

    def step(fit):
        sols = [(opt.ask(), float(fit[i])) for i in range(lam)]
        opt.tell(sols)

    return lam, step


LIBS = {"evostrat": _evostrat, "pycma": _pycma, "cmaes": _cmaes}


def measure(
    dim: int, separable: bool, generations: int, rounds: int, cmaes_cap: int, seed: int
) -> dict[str, float]:
    """Microseconds per generation of each library, interleaved in rounds."""
    steps, lams, gens, secs = {}, {}, {}, {}
    for name, make in LIBS.items():
        lams[name], steps[name] = make(dim, separable, seed)
        g = generations
        if name == "cmaes" and not separable and dim >= 1000:
            g = min(g, cmaes_cap)
        gens[name] = max(rounds, g - g % rounds)
        secs[name] = 0.0
        steps[name](np.random.default_rng(0).random(lams[name]))  # warm-up / compile
    fit_rng = np.random.default_rng(seed)
    for _ in range(rounds):
        for name, step in steps.items():
            chunk = gens[name] // rounds
            fits = fit_rng.random((chunk, lams[name]))
            t0 = time.perf_counter()
            for g in range(chunk):
                step(fits[g])
            secs[name] += time.perf_counter() - t0
    return {name: 1e6 * secs[name] / gens[name] for name in LIBS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--sep-dims", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--cmaes-generations",
        type=int,
        default=10,
        help="cap on cmaes.CMA generations at n >= 1000 (it is very slow there)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    head = (
        f"{'variant':8s} {'n':>6s} {'evostrat':>10s} {'pycma':>10s} {'cmaes':>10s}"
        f" {'/pycma':>7s} {'/cmaes':>7s} {'/faster':>8s}   (us/generation)"
    )
    load = "load average (1, 5, 15 min) {:.2f} {:.2f} {:.2f}"
    print(load.format(*os.getloadavg()), "at the start")
    print(head)
    cases = [(d, False) for d in args.dims] + [(d, True) for d in args.sep_dims]
    for dim, sep in cases:
        gens = args.generations
        if dim >= 1000 and not sep:
            gens = min(gens, 200)
        us = measure(dim, sep, gens, args.rounds, args.cmaes_generations, args.seed)
        e, p, c = us["evostrat"], us["pycma"], us["cmaes"]
        print(
            f"{'sep' if sep else 'full':8s} {dim:6d} {e:10.1f} {p:10.1f} {c:10.1f}"
            f" {e / p:7.3f} {e / c:7.3f} {e / min(p, c):8.3f}",
            flush=True,
        )
    print(load.format(*os.getloadavg()), "at the end")


if __name__ == "__main__":
    main()
