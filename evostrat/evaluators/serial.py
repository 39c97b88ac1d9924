"""Evaluation in the calling process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators.base import (
    aux_size,
    check_timeout,
    chunks,
    collect,
    evaluate_rows,
    new_stats,
    raise_failure,
)
from evostrat.evaluators.timer import Alarm, Timeout


class SerialEvaluator:
    """Evaluate in this process, in blocks of rows (memory stays bounded).

    Parameters
    ----------
    timeout : float, optional
        Seconds one individual's evaluation (vectorized: one block's) may take;
        past it ``f`` is interrupted (``SIGALRM``; main thread only) and
        ``evaluate`` raises :class:`~evostrat.EvaluationError` naming it.
        None (default): no limit.
    """

    is_main = True

    def __init__(self, *, timeout: float | None = None) -> None:
        self.timeout = check_timeout(timeout)
        self.stats = new_stats()

    def evaluate(self, strategy: Any, f: Callable, vectorized: bool = False) -> list:
        """One fitness per individual of ``strategy``'s current generation."""
        t0 = time.perf_counter()
        k = aux_size(f)
        generation = strategy.generation
        fitness: list = []
        blocks = []
        alarm = Alarm(self.timeout)
        try:
            with alarm:
                for idx in chunks(np.arange(strategy.popsize), strategy.dim):
                    X = strategy.ask(idx)
                    values, aux = evaluate_rows(
                        f, X, idx, generation, vectorized, k, alarm
                    )
                    fitness.extend(values)
                    blocks.append(aux)
        except Timeout:
            raise_failure(generation, alarm.failure())
        finally:
            self.stats["seconds"] += time.perf_counter() - t0
        collect(f, generation, np.concatenate(blocks) if blocks else np.empty((0, k)))
        self.stats["generations"] += 1
        self.stats["evaluations"] += len(fitness)
        return fitness

    def __repr__(self) -> str:
        return "SerialEvaluator()"
