"""What any schedule can reach with heavy-tailed costs: the expected bounds.

Issue 11 asks, at 16 workers with log-normal (sigma = 1) costs, for a dynamic
schedule with efficiency >= 0.85 *and* >= 1.3 times the throughput of the static
split. ``benchmarks/scale_out.py`` measures both on a few generations; this script
computes, over many draws of a generation's costs (no processes, no overhead),
the expectations of

* the greedy bound: list scheduling in index order, one individual at a time, to
  the first free worker (Graham 1966; :func:`scale_out.greedy`), which is what a
  dynamic schedule reaches at zero overhead when it does not know the costs;
* the static split: ``W`` contiguous blocks, the generation as long as the
  longest block (the split of ``MPIEvaluator(schedule="static")``);

as efficiency = (sum of costs / W) / makespan, and their ratio (the most a
dynamic schedule can gain over the static one). The costs are i.i.d., so no order
of handing them out does better in expectation without knowing them.

    python benchmarks/schedule_bounds.py [--workers 16] [--draws 400]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_out import greedy  # noqa: E402


def bounds(popsize: int, workers: int, sigma: float, draws: int, seed: int) -> dict:
    """Mean greedy and static efficiencies over ``draws`` generations of costs."""
    rng = np.random.default_rng(seed)
    eff_greedy, eff_static = [], []
    for _ in range(draws):
        costs = np.exp(sigma * rng.standard_normal(popsize) - sigma**2 / 2)
        ideal = costs.sum() / workers
        eff_greedy.append(ideal / greedy(costs.tolist(), workers))
        blocks = np.array_split(costs, workers)  # the static split's blocks
        eff_static.append(ideal / max(b.sum() for b in blocks))
    g, s = np.array(eff_greedy), np.array(eff_static)
    return {
        "popsize": popsize,
        "greedy": float(g.mean()),
        "greedy_p10": float(np.quantile(g, 0.1)),
        "static": float(s.mean()),
        "ratio": float(g.mean() / s.mean()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--popsizes", nargs="+", type=int, default=[256, 384, 512, 768, 1024, 2048]
    )
    args = parser.parse_args(argv)
    print(
        f"W = {args.workers}, log-normal sigma = {args.sigma}, {args.draws} draws; "
        "efficiency = (sum / W) / makespan, means over the draws"
    )
    print("| popsize | greedy bound | greedy, 10 % quantile | static split | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for p in args.popsizes:
        r = bounds(p, args.workers, args.sigma, args.draws, args.seed)
        print(
            f"| {p} | {r['greedy']:.3f} | {r['greedy_p10']:.3f} | {r['static']:.3f} "
            f"| {r['ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
