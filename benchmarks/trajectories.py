"""Fingerprints of many runs, to show a change alters no result, bit for bit.

Prints one line per run (strategy, dimension, function, options): the best fitness,
the sum of the final mean and the evaluations, each as the exact ``repr`` of the
float. Run it against two versions of the library and compare::

    git worktree add /tmp/evostrat-ref <commit>
    PYTHONPATH=/tmp/evostrat-ref python benchmarks/trajectories.py > ref.txt
    python benchmarks/trajectories.py > new.txt
    diff ref.txt new.txt && echo identical

It uses only the public API, so the same script runs against older versions.
"""

from __future__ import annotations

import numpy as np

import evostrat
from evostrat.functions import ellipsoid, rastrigin, rosenbrock, sphere

NAMES = ["CMAES", "SepCMAES", "SNES", "XNES", "PEPG", "OpenES", "SimpleES", "SimpleGA"]
FUNCTIONS = {"rosenbrock": rosenbrock, "ellipsoid": ellipsoid, "rastrigin": rastrigin}


def run(name: str, dim: int, fname: str, **options: object) -> str:
    opt = getattr(evostrat, name)(np.full(dim, 0.3), 0.5, seed=7, **options)
    f = FUNCTIONS[fname]
    res = opt.optimize(lambda x: float(f(x)), max_generations=120)
    return (
        f"{name} n={dim} {fname} {options}: fbest={res.fbest!r} "
        f"mean={float(res.xmean.sum())!r} evals={res.evals} stop={sorted(res.stop)}"
    )


def main() -> None:
    for name in NAMES:
        for dim in (3, 12, 60):
            for fname in FUNCTIONS:
                print(run(name, dim, fname))
    print(run("CMAES", 8, "rosenbrock", defaults="pycma"))
    print(run("CMAES", 8, "rosenbrock", bounds=(-1, 1)))
    print(run("CMAES", 8, "rosenbrock", active=False))
    print(run("OpenES", 20, "ellipsoid", noise_table=10_000, antithetic=True))
    print(run("PEPG", 20, "ellipsoid", baseline="mean"))
    print(run("SNES", 20, "ellipsoid", antithetic=True))
    print(run("XNES", 5, "ellipsoid", adaptation_sampling=True))
    for strategy in ("cmaes", "pepg", "openes", "snes"):
        for scheme in ("ipop", "bipop"):
            res = evostrat.fmin(
                sphere, np.full(4, 2.0), 1.0, strategy=strategy, seed=3,
                restarts=3, max_evals=8000, restart_strategy=scheme,
            )  # fmt: skip
            sizes = [r.popsize for r in res.runs]
            print(f"fmin {strategy} {scheme}: {res.fbest!r} {res.evals} {sizes}")


if __name__ == "__main__":
    main()
