"""Evaluation in the calling process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators.base import chunks, evaluate_rows, new_stats


class SerialEvaluator:
    """Evaluate in this process, in blocks of rows (memory stays bounded)."""

    is_main = True

    def __init__(self) -> None:
        self.stats = new_stats()

    def evaluate(self, strategy: Any, f: Callable, vectorized: bool = False) -> list:
        """One fitness per individual of ``strategy``'s current generation."""
        t0 = time.perf_counter()
        fitness: list = []
        for idx in chunks(np.arange(strategy.popsize), strategy.dim):
            X = strategy.ask(idx)
            fitness.extend(evaluate_rows(f, X, idx, strategy.generation, vectorized))
        self.stats["generations"] += 1
        self.stats["evaluations"] += len(fitness)
        self.stats["seconds"] += time.perf_counter() - t0
        return fitness

    def __repr__(self) -> str:
        return "SerialEvaluator()"
