"""Success rates of SimpleES and SimpleGA on 2-D Rastrigin and Schaffer from (3, 3).

A run succeeds when it reaches ``f < threshold`` (default 1e-2) within the generation
budget (default 300). For every sigma0 x popsize of the grid the runs use the demo's
decay settings (``evostrat.demo.DEMO_SETTINGS``: elitism, sigma_decay, sigma_limit);
the last rows are the demo's own settings and, as the reference, the same settings
without decay (fixed sigma, as in the visual guide's simplest version).

    python benchmarks/simple_success.py [--seeds 20] [--generations 300]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from evostrat.demo import settings_for
from evostrat.functions import FUNCTIONS
from evostrat.strategies import get_strategy

STRATEGIES = ("simplees", "simplega")
PROBLEMS = ("rastrigin", "schaffer")


def successes(
    name: str,
    function: str,
    sigma0: float,
    popsize: int,
    options: dict,
    seeds: int,
    generations: int,
    threshold: float,
) -> int:
    """Number of seeds ``0 .. seeds-1`` whose run reaches ``f < threshold``."""
    f = FUNCTIONS[function]
    cls = get_strategy(name)
    count = 0
    for seed in range(seeds):
        opt = cls(
            np.array([3.0, 3.0]),
            sigma0,
            popsize,
            seed,
            max_generations=generations,
            tolfun=None,
            tolx=None,
            **options,
        )
        best = np.inf
        while not opt.stop() and best >= threshold:
            X = opt.ask()
            fitness = f(X)
            opt.tell(fitness)
            best = min(best, float(np.min(fitness)))
        count += best < threshold
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--threshold", type=float, default=1e-2)
    parser.add_argument("--sigma0", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--popsize", type=int, nargs="+", default=[16, 64, 128])
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    print(
        f"success = f < {args.threshold:g} within {args.generations} generations "
        f"from (3, 3), out of {args.seeds} seeds"
    )
    header = f"{'strategy':9s} {'sigma0':>6s} {'popsize':>7s} {'settings':>24s}"
    header += "".join(f" {p:>10s}" for p in PROBLEMS)
    for name in STRATEGIES:
        demo = settings_for(name)
        print(f"\n{name}: demo options {demo['options']}")
        print(header)
        rows = [
            (s, p, demo["options"], "grid, demo options")
            for s, p in itertools.product(args.sigma0, args.popsize)
        ]
        rows.append((demo["sigma0"], demo["popsize"], demo["options"], "demo"))
        fixed = {
            **demo["options"],
            "sigma_decay": 1.0,
            "sigma_limit": 0.0,
        }
        rows.append((demo["sigma0"], demo["popsize"], fixed, "demo, fixed sigma (ref)"))
        for sigma0, popsize, options, what in rows:
            counts = [
                successes(
                    name,
                    fn,
                    sigma0,
                    popsize,
                    options,
                    args.seeds,
                    args.generations,
                    args.threshold,
                )
                for fn in PROBLEMS
            ]
            cells = "".join(f" {c:4d}/{args.seeds:<2d} " for c in counts)
            print(f"{name:9s} {sigma0:6g} {popsize:7d} {what:>24s}{cells}")
    print(f"\n{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
