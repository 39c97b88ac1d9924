"""What several commands share: the user-error type, evaluators, progress, parsing.

A leaf module: it imports only the library (inside functions where the library is
heavy), never another module of :mod:`evostrat.cli`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

#: ``--evaluator`` choices of the commands that evaluate
EVALUATORS = ("serial", "pool", "mpi", "ray")


class CommandError(Exception):
    """A user error: printed as ``evostrat COMMAND: error: ...``, exit status 2."""


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
        return self.inner.stats  # type: ignore[no-any-return]

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


def make_evaluator(kind: str, processes: int | None = None) -> Any:
    """The evaluator of ``--evaluator kind`` (one of :data:`EVALUATORS`)."""
    import evostrat

    if kind not in EVALUATORS:
        raise CommandError(
            f"unknown evaluator {kind!r}; choose one of {', '.join(EVALUATORS)}"
        )
    if processes is not None and processes < 1:
        raise CommandError(f"--processes must be >= 1, got {processes}")
    if kind == "serial":
        return evostrat.SerialEvaluator()
    if kind == "pool":
        return evostrat.PoolEvaluator(processes=processes)
    name = "MPIEvaluator" if kind == "mpi" else "RayEvaluator"
    try:
        return getattr(evostrat, name)()
    except AttributeError:
        raise CommandError(f"this evostrat has no {kind} evaluator") from None
    except ImportError as err:
        package = "mpi4py" if kind == "mpi" else "ray"
        raise CommandError(f"the {kind} evaluator needs {package}: {err}") from None


def close_evaluator(evaluator: Any) -> None:
    """Release an evaluator's workers (pool) if it has any."""
    close = getattr(evaluator, "close", None)
    if close is not None:
        close()


def format_x(x: Any, limit: int = 8) -> str:
    """At most ``limit`` coordinates of ``x`` on one line, with the total count."""
    import numpy as np

    if x is None:
        return "None"
    x = np.asarray(x)
    body = np.array2string(x[:limit], precision=5, separator=", ", max_line_width=10**6)
    return body if x.size <= limit else body[:-1] + f", ... ({x.size} values)]"


def check_function(name: str) -> None:
    """Refuse a test-function name that :data:`evostrat.functions.FUNCTIONS` lacks."""
    from evostrat.functions import FUNCTIONS

    if name not in FUNCTIONS:
        raise CommandError(
            f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)}"
        )


def check_strategy(name: str) -> str:
    """``name`` if it is an available strategy, else a CommandError listing them."""
    from evostrat.strategies import REGISTRY

    names = list(REGISTRY)
    if name not in names:
        raise CommandError(f"unknown strategy {name!r}; choose one of {names}")
    return name


def parse_options(
    pairs: Sequence[str] | None, strategy: str, flag: str = "--option"
) -> dict:
    """``key=value`` strings as a dict, each value read by the strategy's option
    table (:meth:`evostrat.strategies.options.Option.parse`): the same check as
    the constructor's, with the option named in the error."""
    from evostrat.strategies import get_strategy
    from evostrat.strategies.options import option_table

    table = option_table(get_strategy(strategy))
    out: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise CommandError(f"{flag} takes key=value, got {pair!r}")
        if key in out:
            raise CommandError(f"{flag} {key} given twice")
        if key not in table:
            raise CommandError(
                f"{flag} {key}: {strategy} has no such option; its options: "
                f"{', '.join(sorted(table))}"
            )
        try:
            out[key] = table[key].parse(key, text)
        except (TypeError, ValueError) as err:
            raise CommandError(f"{flag} {err}") from None
    return out
