"""``evostrat demo``: every strategy on three small problems, a table and a plot.

The computation is the library's (:mod:`evostrat.demo`); this module parses the
command line and prints.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from evostrat.cli.common import CommandError


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``demo`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "demo",
        help="every strategy on Rastrigin and Schaffer: table and plot",
        description="Run every available strategy on 2-D Rastrigin and 2-D "
        "Schaffer from (3, 3) and on 10-D Rastrigin; print a table of best "
        "fitness, evaluations and seconds; save the convergence curves.",
        formatter_class=fmt,
    )
    p.add_argument("--seed", type=int, default=1, help="seed of every run")
    p.add_argument("--quick", action="store_true", help="short budgets (a few seconds)")
    p.add_argument(
        "--out", default="evostrat-demo.png", help="PNG of the convergence curves"
    )
    p.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    p.add_argument("--strategies", help="comma-separated subset, e.g. cmaes,openes")
    p.set_defaults(handler=command)


def _names(strategies: str | None) -> list[str]:
    from evostrat.strategies import REGISTRY

    names = list(REGISTRY) if strategies is None else strategies.split(",")
    unknown = sorted(set(names) - set(list(REGISTRY)))
    if unknown:
        raise CommandError(
            f"unknown or missing strategies {unknown}; available: {list(REGISTRY)}"
        )
    return names


def command(args: argparse.Namespace) -> int:
    """``evostrat demo``: run the demo, print the table, save the plot."""
    from evostrat import demo

    names = _names(args.strategies)
    budget = "quick" if args.quick else "full"
    print(
        f"evostrat demo ({budget} budget, seed {args.seed}): {', '.join(names)} on "
        + ", ".join(p.label for p in demo.PROBLEMS),
        flush=True,
    )
    runs: list = []

    def report(r: Any) -> None:
        runs.append(r)
        print(
            f"  {r.problem:15s} {r.strategy:9s} fbest {r.fbest:.3e} "
            f"evals {r.evals:7d} {r.seconds:6.2f} s",
            flush=True,
        )

    interrupted = False
    try:
        demo.run_demo(names, seed=args.seed, quick=args.quick, report=report)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted; results so far:")
    print()
    print(demo.format_table(runs))
    if runs and not args.no_plot:
        if demo.have_matplotlib():
            path = demo.plot_curves(runs, args.out)
            print(f"\nconvergence plot saved to {os.path.abspath(path)}")
        else:
            print("\nmatplotlib is not installed: no plot (pip install matplotlib)")
    return 130 if interrupted else 0
