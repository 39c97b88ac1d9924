"""``evostrat visualize``: the 2-D visual guide pictures (:mod:`evostrat.visualize`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from evostrat.cli.common import CommandError, check_function


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``visualize`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "visualize",
        help="the 2-D visual guide pictures (PNG)",
        description="Draw a grid of generations of one strategy on 2-D test "
        "functions: landscape, population, mean.",
        formatter_class=fmt,
    )
    p.add_argument("--strategy", help="strategy name (default cmaes)")
    p.add_argument(
        "--function",
        nargs="+",
        default=["schaffer", "rastrigin"],
        help="2-D test functions, one picture each",
    )
    p.add_argument(
        "--generations",
        default="0,1,2,4,8,16,32,64",
        help="comma-separated generations, one panel each",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the strategy")
    p.add_argument("--sigma0", type=float, help="initial step size (demo setting)")
    p.add_argument("--popsize", type=int, help="population size (demo setting)")
    p.add_argument(
        "--out",
        default="evostrat-{strategy}-{function}.png",
        help="PNG path; {strategy} and {function} are filled in",
    )
    p.set_defaults(handler=command)


def _picture_path(pattern: str, strategy: str, function: str, several: bool) -> str:
    if "{function}" not in pattern and several:
        root, ext = os.path.splitext(pattern)
        pattern = f"{root}-{{function}}{ext or '.png'}"
    return pattern.format(strategy=strategy, function=function)


def _check(args: argparse.Namespace) -> tuple[str, list[int]]:
    """The strategy name and the generations; every argument checked."""
    from evostrat import demo
    from evostrat.functions import DIMS
    from evostrat.strategies import REGISTRY

    names = list(REGISTRY)
    strategy = args.strategy or ("cmaes" if "cmaes" in names else names[0])
    if strategy not in names:
        raise CommandError(f"unknown strategy {strategy!r}; available: {names}")
    try:
        generations = [int(g) for g in args.generations.split(",")]
    except ValueError:
        raise CommandError(
            f"--generations takes comma-separated integers, got {args.generations!r}"
        ) from None
    if min(generations) < 0:
        raise CommandError(f"--generations must be >= 0, got {args.generations!r}")
    for function in args.function:
        check_function(function)
        lo, hi = DIMS[function]
        if lo > 2 or (hi is not None and hi < 2):
            raise CommandError(f"{function} has no 2-D version")
    if not demo.have_matplotlib():
        raise CommandError("visualize needs matplotlib: pip install matplotlib")
    return strategy, generations


def command(args: argparse.Namespace) -> int:
    """``evostrat visualize``: save the grid of generations for each function."""
    from evostrat.visualize import generation_grid

    strategy, generations = _check(args)
    for function in args.function:
        path = _picture_path(args.out, strategy, function, len(args.function) > 1)
        try:
            generation_grid(
                strategy,
                function,
                path,
                generations,
                seed=args.seed,
                sigma0=args.sigma0,
                popsize=args.popsize,
            )
        except (ValueError, TypeError) as err:  # e.g. --sigma0 -1
            raise CommandError(str(err)) from None
        print(f"{strategy} on {function}: saved {os.path.abspath(path)}")
    return 0
