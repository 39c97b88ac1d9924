"""The ``evostrat`` command (also ``python -m evostrat``).

Sub-commands: ``demo`` (every strategy on Rastrigin and Schaffer, a table and a
plot), ``run`` (one optimization of a test function), ``visualize`` (the 2-D visual
guide pictures), ``bench`` (the scripts of ``benchmarks/``), ``train`` and ``play``
(policies on Gymnasium environments). Every sub-command has ``--help``. Long runs
print progress; Ctrl-C stops them cleanly and prints the best solution so far.

Heavy modules (numba, matplotlib, gymnasium) are imported inside the handlers, so
``evostrat --help`` is fast.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class CommandError(Exception):
    """A user error: printed as ``evostrat COMMAND: error: ...``, exit status 2."""


# ----------------------------------------------------------------- progress
class ProgressEvaluator:
    """Wraps an evaluator: tracks the best solution seen and prints progress.

    Works for ``optimize`` and ``fmin`` alike (restarts included) and for any inner
    evaluator, because it only looks at the fitness vector the inner one returns.
    """

    def __init__(self, inner: Any, every: float = 1.0, quiet: bool = False) -> None:
        self.inner = inner
        self.every = every
        self.quiet = quiet
        self.is_main = getattr(inner, "is_main", True)
        self.best_f = math.nan  # the user's sense
        self.best_x: Any = None
        self._best_min = math.inf  # minimization sense
        self.interrupted = False
        self.evals = 0
        self.generations = 0
        self._last = -math.inf
        self._t0 = time.perf_counter()

    @property
    def stats(self) -> dict[str, Any]:
        return self.inner.stats

    def evaluate(self, strategy: Any, f: Any, vectorized: bool = False) -> Any:
        """The inner evaluator's fitness vector; records the best, prints progress."""
        import numpy as np

        if self.interrupted:  # Ctrl-C ends fmin's restarts too, not only one run
            raise KeyboardInterrupt
        try:
            fitness = self.inner.evaluate(strategy, f, vectorized=vectorized)
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        values = np.asarray(fitness, dtype=float)
        self.evals += len(values)
        self.generations += 1
        sign = -1.0 if strategy.maximize else 1.0
        finite = np.where(np.isnan(values), np.inf, sign * values)
        best = int(np.argmin(finite))
        if finite[best] < self._best_min:
            self._best_min = float(finite[best])
            self.best_f = float(values[best])
            self.best_x = strategy.ask([best])[0]
        now = time.perf_counter()
        if not self.quiet and self.is_main and now - self._last >= self.every:
            self._last = now
            print(
                f"  gen {self.generations:6d}  evals {self.evals:9d}  "
                f"best {self.best_f:.6e}  ({now - self._t0:.1f} s)",
                flush=True,
            )
        return fitness


def make_evaluator(kind: str, processes: int | None) -> Any:
    """The evaluator of ``--evaluator kind`` (``"serial"`` or ``"pool"``)."""
    import evostrat

    if kind == "serial":
        return evostrat.SerialEvaluator()
    try:
        pool = evostrat.PoolEvaluator
    except (AttributeError, ImportError):
        raise CommandError(
            "the pool evaluator is not available in this install"
        ) from None
    return pool(processes=processes)


def close_evaluator(evaluator: Any) -> None:
    """Release an evaluator's workers (pool) if it has any."""
    close = getattr(evaluator, "close", None)
    if close is not None:
        close()


def _format_x(x: Any, limit: int = 8) -> str:
    import numpy as np

    if x is None:
        return "None"
    x = np.asarray(x)
    body = np.array2string(x[:limit], precision=5, separator=", ", max_line_width=10**6)
    return body if x.size <= limit else body[:-1] + f", ... ({x.size} values)]"


# -------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    """``evostrat run``: one optimization of a test function (``fmin``)."""
    import importlib.util

    import numpy as np

    import evostrat
    from evostrat.functions import DIMS, FUNCTIONS
    from evostrat.strategies import get_strategy

    check_function(args.function)
    lo, hi = DIMS[args.function]
    dim = args.dim if args.dim is not None else (2 if hi == 2 else 10)
    if dim < lo or (hi is not None and dim > hi):
        raise CommandError(
            f"{args.function} needs a dimension in [{lo}, {hi or 'inf'}], got {dim}"
        )
    f = FUNCTIONS[args.function]
    x0 = np.full(dim, args.x0)
    options: dict[str, Any] = {}
    if args.max_evals is not None:
        options["max_evals"] = args.max_evals
    if args.target is not None:
        options["target"] = args.target
    try:  # bad arguments fail here, with the strategy's own message
        cls = get_strategy(args.strategy)
        cls(x0, args.sigma0, args.popsize, args.seed, **options)
    except (ValueError, TypeError, ImportError) as err:
        raise CommandError(str(err)) from None
    use_fmin = importlib.util.find_spec("evostrat.api") is not None
    if args.restarts and not use_fmin:
        raise CommandError("--restarts needs evostrat.fmin (evostrat/api.py)")
    print(
        f"{args.strategy} on {args.function} {dim}-D from x0={args.x0}, "
        f"sigma0={args.sigma0}, seed={args.seed}"
        + (f", {args.restarts} restarts" if args.restarts else ""),
        flush=True,
    )
    inner = make_evaluator(args.evaluator, args.processes)
    progress = ProgressEvaluator(inner, every=args.progress_every, quiet=args.quiet)
    result = None
    try:
        if use_fmin:
            if args.popsize is not None:
                options["popsize"] = args.popsize
            result = evostrat.fmin(
                f,
                x0,
                args.sigma0,
                strategy=args.strategy,
                restarts=args.restarts,
                restart_strategy=args.restart_strategy,
                seed=args.seed,
                evaluator=progress,
                **options,
            )
        else:
            opt = cls(x0, args.sigma0, args.popsize, args.seed, **options)
            result = opt.optimize(f, evaluator=progress)
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        close_evaluator(inner)
    if progress.interrupted:
        print("interrupted; best so far:")
    if result is None:
        print(f"best so far: f = {progress.best_f:.10g} after {progress.evals} evals")
        print(f"x = {_format_x(progress.best_x)}")
        return 130
    print(f"fbest   {result.fbest:.10g}")
    print(f"xbest   {_format_x(result.xbest)}")
    print(f"evals   {result.evals}")
    print(f"gens    {result.generations}")
    print(f"stop    {result.stop}")
    if getattr(result, "restarts", 0):
        print(f"restarts {result.restarts}")
    return 130 if progress.interrupted else 0


# ------------------------------------------------------------------ bench
def find_benchmarks(directory: str | None = None) -> Path:
    """The ``benchmarks`` folder: ``directory``, else ./benchmarks, else the repo's."""
    candidates = (
        [Path(directory)]
        if directory
        else [
            Path.cwd() / "benchmarks",
            Path(__file__).resolve().parent.parent / "benchmarks",
        ]
    )
    for path in candidates:
        if path.is_dir():
            return path
    raise CommandError(
        "no benchmarks folder found (looked in "
        + ", ".join(str(p) for p in candidates)
        + "); the benchmarks live in the source repository, not the installed "
        "package: run from a checkout or pass --dir"
    )


def _describe(script: Path) -> str:
    import ast

    try:
        doc = ast.get_docstring(ast.parse(script.read_text()))
    except (SyntaxError, OSError):
        doc = None
    return doc.strip().splitlines()[0] if doc else ""


def cmd_bench(args: argparse.Namespace) -> int:
    """``evostrat bench``: list the benchmark scripts or run one."""
    folder = find_benchmarks(args.dir)
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    if args.name is None:
        print(f"benchmarks in {folder}:")
        for p in scripts:
            print(f"  {p.stem:24s} {_describe(p)}")
        print("run one with: evostrat bench NAME [its arguments]")
        return 0
    name = args.name[:-3] if args.name.endswith(".py") else args.name
    script = folder / f"{name}.py"
    if not script.is_file():
        raise CommandError(
            f"no benchmark {args.name!r} in {folder}; choose one of "
            + ", ".join(p.stem for p in scripts)
        )
    cmd = [sys.executable, str(script), *args.args]
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        print("interrupted")
        return 130


# ----------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``evostrat`` command."""
    from evostrat import __version__

    parser = argparse.ArgumentParser(
        prog="evostrat",
        description="Evolution strategies with an ask/tell API: demo, runs, "
        "pictures, benchmarks and neuroevolution from the command line.",
    )
    parser.add_argument(
        "--version", action="version", version=f"evostrat {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    fmt = argparse.ArgumentDefaultsHelpFormatter
    from evostrat import demo, neuro, visualize

    demo.add_command(sub, fmt)

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
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--x0", type=float, default=3.0, help="every coordinate of the start"
    )
    p.add_argument("--sigma0", type=float, default=1.0)
    p.add_argument("--popsize", type=int, help="population size (strategy default)")
    p.add_argument("--max-evals", type=int, default=100_000)
    p.add_argument("--target", type=float, default=1e-8, help="stop at this fitness")
    p.add_argument("--restarts", type=int, default=0, help="IPOP restarts (fmin)")
    p.add_argument("--restart-strategy", choices=("ipop", "bipop"), default="ipop")
    p.add_argument("--evaluator", choices=("serial", "pool"), default="serial")
    p.add_argument("--processes", type=int, help="pool size (default: all cores)")
    p.add_argument(
        "--progress-every",
        type=float,
        default=1.0,
        help="seconds between progress lines",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_run)
    visualize.add_command(sub, fmt)

    p = sub.add_parser(
        "bench",
        help="list or run the scripts of benchmarks/",
        description="Without NAME list the benchmark scripts; with NAME run "
        "benchmarks/NAME.py with the remaining arguments.",
        formatter_class=fmt,
    )
    p.add_argument(
        "--dir", help="benchmarks folder (default ./benchmarks or the repo's)"
    )
    p.add_argument("name", nargs="?", help="benchmark to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to it")
    p.set_defaults(handler=cmd_bench)
    neuro.add_commands(sub, fmt)

    return parser


def check_function(name: str) -> None:
    from evostrat.functions import FUNCTIONS

    if name not in FUNCTIONS:
        raise CommandError(
            f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evostrat`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CommandError as err:
        print(f"evostrat {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `evostrat bench | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
