"""A serial evaluator with the side-results protocol (temporary local fallback).

Used only until the library's evaluators implement the protocol of objectives with
``aux_size``/``get_context``/``set_context``/``collect``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from evostrat.evaluators.base import new_stats


class SerialAuxEvaluator:
    """Evaluate in this process; ``collect`` the side results in index order."""

    is_main = True

    def __init__(self) -> None:
        self.stats = new_stats()

    def evaluate(self, strategy: Any, f: Any, vectorized: bool = False) -> list:
        t0 = time.perf_counter()
        X = strategy.ask()
        pairs = [f(x) for x in X]
        fitness = [float(p[0]) for p in pairs]
        f.collect(strategy.generation, np.array([p[1] for p in pairs]))
        self.stats["generations"] += 1
        self.stats["evaluations"] += len(fitness)
        self.stats["seconds"] += time.perf_counter() - t0
        return fitness
