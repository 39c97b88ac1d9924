"""The ask/evaluate/tell loop behind ``Strategy.optimize``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.result import Result

#: a strategy (``evostrat.strategies.base.Strategy``, not imported: no import circle)
Strategy = Any


def run(
    opt: Strategy,
    f: Callable,
    evaluator: Any,
    callback: Callable[[Strategy], Any] | None,
    progress: bool,
    vectorized: bool,
    log: Any = None,
) -> Result:
    """Tell ``opt`` the fitness of its generations until ``opt.stop()``, ``callback``
    or Ctrl-C ends the run; its result (see :meth:`Strategy.optimize`).

    With an evaluator that has ``agree(flag)`` (MPI: a collective OR over the
    ranks), the callback's verdict goes through it, so a callback that returns
    True on some ranks only stops every rank at the same generation instead of
    leaving the others waiting. ``opt.stop()`` needs no such vote: it reads the
    strategy's state, the same on every rank.
    """
    from evostrat.evaluators import SerialEvaluator
    from evostrat.evaluators.base import agreed, is_main_process
    from evostrat.runlog import open_log

    evaluator = SerialEvaluator() if evaluator is None else evaluator
    show = progress and is_main_process(evaluator)
    runlog, owned = open_log(log, evaluator)
    try:
        while not opt.stop():
            fitness = evaluator.evaluate(opt, f, vectorized=vectorized)
            opt.tell(fitness)
            if runlog is not None:
                runlog.write(opt)  # the values just told
            if show:
                print_progress(opt)
            if callback is not None:
                if agreed(evaluator, bool(callback(opt))):
                    break
    except KeyboardInterrupt:
        if show or progress:
            print(f"interrupted; best so far f={opt.result.fbest:.6g}")
    finally:
        if runlog is not None:
            runlog.close() if owned else runlog.flush()
    return opt.result


def print_progress(opt: Strategy) -> None:
    """One line: generation, evaluations, best fitness, mean step size (printed for
    the first 10 generations, then every 10 % of ``max_generations``)."""
    g = opt.generation
    if g <= 10 or g % max(1, opt.options["max_generations"] // 10) == 0:
        r = opt.result
        print(
            f"{opt.name} gen {g:6d} evals {opt.evals:8d} "
            f"fbest {r.fbest:.6e} sigma {float(np.mean(opt.sigma)):.3e}",
            flush=True,
        )
