"""``evostrat run``: one optimization of a test function (``evostrat.fmin``)."""

from __future__ import annotations

import argparse
from typing import Any

from evostrat.cli.common import (
    CommandError,
    ProgressEvaluator,
    check_function,
    close_evaluator,
    format_x,
    make_evaluator,
)
from evostrat.restarts import RESTART_STRATEGIES


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``run`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "run",
        help="one optimization of a test function",
        description="Minimize one test function of evostrat.functions.",
        formatter_class=fmt,
    )
    p.add_argument(
        "--function",
        default="rastrigin",
        help="a test function of evostrat.functions, e.g. sphere, "
        "rastrigin, rosenbrock, schaffer, ackley",
    )
    p.add_argument("--dim", type=int, help="dimension (default 10; 2 for Schaffer)")
    p.add_argument("--strategy", default="cmaes", help="lower-case strategy name")
    p.add_argument("--seed", type=int, default=1, help="seed of the strategy")
    p.add_argument(
        "--x0", type=float, default=3.0, help="every coordinate of the start"
    )
    p.add_argument("--sigma0", type=float, default=1.0, help="initial step size")
    p.add_argument("--popsize", type=int, help="population size (strategy default)")
    p.add_argument("--max-evals", type=int, default=100_000, help="evaluation budget")
    p.add_argument("--target", type=float, default=1e-8, help="stop at this fitness")
    p.add_argument("--restarts", type=int, default=0, help="IPOP restarts (fmin)")
    p.add_argument(
        "--restart-strategy", choices=RESTART_STRATEGIES, default="ipop",
        help="how restarts grow the population",
    )  # fmt: skip
    p.add_argument(
        "--evaluator", choices=("serial", "pool"), default="serial",
        help="where the objective runs",
    )  # fmt: skip
    p.add_argument("--processes", type=int, help="pool size (default: all cores)")
    p.add_argument(
        "--progress-every",
        type=float,
        default=1.0,
        help="seconds between progress lines",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--log",
        metavar="FILE",
        help="write one CSV row per generation (draw it with `evostrat plot FILE`)",
    )
    p.set_defaults(handler=command)


def _problem(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """``(f, x0, options)`` of the command line, every argument checked."""
    import numpy as np

    from evostrat.functions import DIMS, FUNCTIONS
    from evostrat.strategies import get_strategy

    check_function(args.function)
    lo, hi = DIMS[args.function]
    dim = args.dim if args.dim is not None else (2 if hi == 2 else 10)
    if dim < lo or (hi is not None and dim > hi):
        raise CommandError(
            f"{args.function} needs a dimension in [{lo}, {hi or 'inf'}], got {dim}"
        )
    x0 = np.full(dim, args.x0)
    options: dict[str, Any] = {"max_evals": args.max_evals, "target": args.target}
    options = {k: v for k, v in options.items() if v is not None}
    try:  # bad arguments fail here, with the strategy's own message
        get_strategy(args.strategy)(x0, args.sigma0, args.popsize, args.seed, **options)
    except (ValueError, TypeError, ImportError) as err:
        raise CommandError(str(err)) from None
    return FUNCTIONS[args.function], x0, options


def _report(result: Any, progress: ProgressEvaluator, args: argparse.Namespace) -> int:
    """Print the result (or the best so far when there is none); the exit status."""
    if progress.interrupted:
        print("interrupted; best so far:")
    if result is None:
        print(f"best so far: f = {progress.best_f:.10g} after {progress.evals} evals")
        print(f"x = {format_x(progress.best_x)}")
        return 130
    print(f"fbest   {result.fbest:.10g}")
    print(f"xbest   {format_x(result.xbest)}")
    print(f"evals   {result.evals}")
    print(f"gens    {result.generations}")
    print(f"stop    {result.stop}")
    if getattr(result, "restarts", 0):
        print(f"restarts {result.restarts}")
    if args.log:
        print(f"log     {args.log} (draw it: evostrat plot {args.log})")
    return 130 if progress.interrupted else 0


def command(args: argparse.Namespace) -> int:
    """``evostrat run``: one optimization of a test function (``fmin``)."""
    import evostrat

    f, x0, options = _problem(args)
    print(
        f"{args.strategy} on {args.function} {len(x0)}-D from x0={args.x0}, "
        f"sigma0={args.sigma0}, seed={args.seed}"
        + (f", {args.restarts} restarts" if args.restarts else ""),
        flush=True,
    )
    inner = make_evaluator(args.evaluator, args.processes)
    progress = ProgressEvaluator(inner, every=args.progress_every, quiet=args.quiet)
    result = None
    try:
        result = evostrat.fmin(
            f,
            x0,
            args.sigma0,
            strategy=args.strategy,
            restarts=args.restarts,
            restart_strategy=args.restart_strategy,
            seed=args.seed,
            evaluator=progress,
            popsize=args.popsize,
            log=args.log,
            **options,
        )
    except KeyboardInterrupt:
        print("interrupted")
    except (ValueError, TypeError, OSError) as err:  # a negative --restarts, --log
        raise CommandError(str(err)) from None
    finally:
        close_evaluator(inner)
    return _report(result, progress, args)
