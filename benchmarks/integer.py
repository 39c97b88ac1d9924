"""Mixed-integer CMA-ES: evostrat's CMA-ES with Margin vs cmaes' CMAwM vs pycma.

The test functions of R. Hamano, S. Saito, M. Nomura, S. Shirakawa, "CMA-ES with
Margin: Lower-Bounding Marginal Probability for Mixed-Integer Black-Box
Optimization", GECCO 2022 (arXiv:2205.13482), section 5.1, as their definitions
give them (``n / 2`` continuous coordinates first, then ``n / 2`` discrete ones):

* ``SphereOneMax`` / ``EllipsoidOneMax``: sphere / ellipsoid (``1000^((i-1)/(N_co-1))``
  scaling) of the continuous part plus ``N_bi - sum(b)``, ``b`` in {0, 1}^N_bi;
* ``SphereLeadingOnes`` / ``EllipsoidLeadingOnes``: the same plus ``N_bi`` minus
  the number of leading ones of ``b``;
* ``SphereInt`` / ``EllipsoidInt``: sphere / ellipsoid (``1000^((i-1)/(N-1))``) of
  all coordinates, the integer ones in [-10, 10].

Setting as in the paper: initial mean uniform in [1, 3] for continuous and integer
coordinates (drawn from the seed, the same for every library), 0.5 for binary ones,
``sigma0 = 1``, default population size, a run succeeds when a generation's best
value falls below 1e-10 (the evaluations are counted at the end of that generation,
the same rule for every library), budget ``--budget`` evaluations (paper: ``1e4 n``),
no restarts; a library's own stop criteria end a run as a failure. The one stop
criterion on the fitness spread is the same for the three: ``TOLFUN`` (cmaes'
fixed value; pycma's and evostrat's default of 1e-11 ended runs at f ~ 1e-9, the
continuous part converging slowly while the spread fell below it).

* evostrat: ``CMAES(x0, 1, integer_variables=..., bounds=...)``, the discrete
  coordinates bounded by their range (their grid);
* cmaes: ``CMAwM(mean, 1, bounds, steps)`` (step 1 on the discrete coordinates);
* pycma: ``CMAEvolutionStrategy(x0, 1, {'integer_variables': ..., 'bounds': ...})``
  (pycma 4.x: lower-bounded integer standard deviations, integer centering,
  rounded solutions).

Every objective rounds the discrete coordinates itself, so all libraries are judged
on the same integer points. The table gives, per function and library, the median
evaluations to the target over the seeds (failures count as +inf, so the median is
finite while fewer than half fail), and the successes; ``<= best`` says whether
evostrat's median is at most the better of CMAwM's and pycma's with no fewer
successes, and the last column gives evostrat's median over that library's with a
90 % bootstrap interval (seeds resampled in pairs), to tell a loss from noise.
``--libraries evostrat --option defaults=pycma`` runs evostrat alone with other
CMAES options.

Run: ``nice python benchmarks/integer.py`` (n = 20, 10 seeds, a few minutes on two
shared cores); ``--dims 20 40 --seeds 20`` for more, ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections.abc import Callable

import numpy as np

TARGET = 1e-10
#: stop when the fitness spread falls below this: cmaes' ``CMA`` (0.13) fixed value
TOLFUN = 1e-12
LIBRARIES = ("evostrat", "cmawm", "pycma")


class Problem:
    """One mixed-integer test function in dimension ``n`` (continuous part first)."""

    def __init__(self, name: str, n: int) -> None:
        self.name, self.n = name, n
        half = n // 2
        self.discrete = np.arange(n - half, n)
        self.binary = name.endswith(("OneMax", "LeadingOnes"))
        lo, hi = (0.0, 1.0) if self.binary else (-10.0, 10.0)
        self.lower = np.full(half, lo)
        self.upper = np.full(half, hi)
        n_scaled = n - half if self.binary else n
        self.scale = 1000.0 ** (np.arange(n_scaled) / (n_scaled - 1))
        if name.startswith("Sphere"):
            self.scale[:] = 1.0

    def x0(self, seed: int) -> np.ndarray:
        """Initial mean: U[1, 3] (continuous, integer), 0.5 (binary)."""
        x = np.random.default_rng(seed).uniform(1.0, 3.0, self.n)
        if self.binary:
            x[self.discrete] = 0.5
        return x

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64, ndmin=2)
        Z = np.clip(np.round(X[:, self.discrete]), self.lower, self.upper)
        if not self.binary:  # SphereInt, EllipsoidInt
            X[:, self.discrete] = Z
            return np.sum((X * self.scale) ** 2, axis=1)
        cont = X[:, : self.n - self.discrete.size] * self.scale
        ones = Z > 0.5
        if self.name.endswith("OneMax"):
            count = ones.sum(axis=1)
        else:  # leading ones
            count = np.where(ones.all(axis=1), ones.shape[1], np.argmin(ones, axis=1))
        return np.sum(cont**2, axis=1) + (ones.shape[1] - count)


#: extra CMAES options from ``--option key=value`` (e.g. ``defaults=pycma``)
EVOSTRAT_OPTIONS: dict[str, object] = {}


def run_evostrat(p: Problem, seed: int, cap: int) -> float:
    from evostrat import CMAES

    lower = np.full(p.n, -np.inf)
    upper = np.full(p.n, np.inf)
    lower[p.discrete], upper[p.discrete] = p.lower, p.upper
    opt = CMAES(
        p.x0(seed), 1.0, seed=seed, max_evals=cap, bounds=(lower, upper),
        integer_variables=p.discrete.tolist(), tolfun=TOLFUN, **EVOSTRAT_OPTIONS,
    )  # fmt: skip
    while not opt.stop():
        fit = p(opt.ask())
        opt.tell(fit)
        if fit.min() < TARGET:
            return opt.evals
    return math.inf


def run_cmawm(p: Problem, seed: int, cap: int) -> float:
    from cmaes import CMAwM

    bounds = np.tile([-np.inf, np.inf], (p.n, 1))
    bounds[p.discrete, 0], bounds[p.discrete, 1] = p.lower, p.upper
    steps = np.zeros(p.n)
    steps[p.discrete] = 1.0
    es = CMAwM(mean=p.x0(seed), sigma=1.0, bounds=bounds, steps=steps, seed=seed)
    evals = 0
    while not es.should_stop() and evals < cap:
        pairs = [es.ask() for _ in range(es.population_size)]
        fit = p(np.array([e for e, _ in pairs]))
        es.tell([(t, float(v)) for (_, t), v in zip(pairs, fit, strict=True)])
        evals += len(pairs)
        if fit.min() < TARGET:
            return evals
    return math.inf


def run_pycma(p: Problem, seed: int, cap: int) -> float:
    import cma

    lower: list[float | None] = [None] * p.n
    upper: list[float | None] = [None] * p.n
    for k, j in enumerate(p.discrete):
        lower[j], upper[j] = float(p.lower[k]), float(p.upper[k])
    opts = {
        "seed": seed, "verbose": -9, "maxfevals": cap, "bounds": [lower, upper],
        "integer_variables": p.discrete.tolist(), "tolfun": TOLFUN,
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = cma.CMAEvolutionStrategy(p.x0(seed), 1.0, opts)
        while not es.stop():
            X = es.ask()
            fit = p(np.asarray(X))
            es.tell(X, fit.tolist())
            if fit.min() < TARGET:
                return es.countevals
    return math.inf


RUNNERS: dict[str, Callable[[Problem, int, int], float]] = {
    "evostrat": run_evostrat,
    "cmawm": run_cmawm,
    "pycma": run_pycma,
}
FUNCTIONS = (
    "SphereOneMax",
    "SphereLeadingOnes",
    "EllipsoidOneMax",
    "EllipsoidLeadingOnes",
    "SphereInt",
    "EllipsoidInt",
)


def ratio_interval(ours: list[float], theirs: list[float]) -> tuple[float, float]:
    """90 % bootstrap interval of median(ours) / median(theirs), seeds resampled in
    pairs (the same seed gives both the same start); 2000 resamples, fixed seed."""
    a, b = np.array(ours), np.array(theirs)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, a.size, size=(2000, a.size))
    with np.errstate(invalid="ignore"):
        r = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    lo, hi = np.nanpercentile(r, [5, 95])
    return float(lo), float(hi)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[20])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--functions", nargs="+", default=list(FUNCTIONS))
    parser.add_argument("--budget", type=float, default=None, help="default 1e4 n")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES))
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="an option of evostrat's CMAES (repeatable), e.g. defaults=pycma",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="3 seeds, n = 10")
    parser.add_argument("--out", help="write every run's evaluations to this JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.dims, args.seeds = [10], 3
    from evostrat import CMAES
    from evostrat.strategies.options import option_table

    table = option_table(CMAES)
    for item in args.option:
        key, _, text = item.partition("=")
        EVOSTRAT_OPTIONS[key] = table[key].parse(key, text)
    libs = args.libraries
    head = f"{'function':<22}{'n':>3}" + "".join(
        f"{lib + ' med (ok)':>22}" for lib in libs
    )
    print(head + "  <= best   seconds   evostrat / best [90 % bootstrap]")
    print("-" * (len(head) + 40))
    rows = []
    for n in args.dims:
        cap = int(args.budget or 1e4 * n)
        for name in args.functions:
            p = Problem(name, n)
            evals: dict[str, list[float]] = {lib: [] for lib in libs}
            secs = dict.fromkeys(libs, 0.0)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for lib in libs:
                    t0 = time.perf_counter()
                    evals[lib].append(RUNNERS[lib](p, seed, cap))
                    secs[lib] += time.perf_counter() - t0
            med = {lib: float(np.median(evals[lib])) for lib in libs}
            ok = {lib: sum(map(math.isfinite, evals[lib])) for lib in libs}
            good = None
            if set(LIBRARIES) <= set(libs):
                best = min(("cmawm", "pycma"), key=lambda lib: (med[lib], -ok[lib]))
                good = med["evostrat"] <= med[best] and ok["evostrat"] >= max(
                    ok["cmawm"], ok["pycma"]
                )
            line = f"{name:<22}{n:>3}" + "".join(
                f"{med[lib]:>14.0f} ({ok[lib]:>2}/{args.seeds:<2})" for lib in libs
            )
            times = "/".join(f"{secs[lib]:.0f}" for lib in libs)
            verdict = {None: "-", True: "yes", False: "NO"}[good]
            ratio = ""
            if good is not None:
                lo, hi = ratio_interval(evals["evostrat"], evals[best])
                ratio = f"   /{best}: {med['evostrat'] / med[best]:.3f} [{lo:.3f}, {hi:.3f}]"
            print(f"{line}  {verdict:>7}   {times}{ratio}", flush=True)
            rows.append({"function": name, "n": n, "evals": evals, "good": good})
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
