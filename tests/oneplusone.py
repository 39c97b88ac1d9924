"""A (1+1)-ES with the 1/5th success rule, written against the documented hooks of
``docs/design.md`` ("Writing a strategy") as a user would: the contract suite and
``fmin`` run it like the shipped strategies."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.strategies.base import Strategy
from evostrat.strategies.options import Option, positive


class OnePlusOneES(Strategy):
    """(1+1)-ES: one offspring per generation; sigma grows by exp(1/3) on success and
    shrinks by exp(-1/12) otherwise, stationary at a 1/5 success rate (Kern et al.,
    "Learning probability distributions in continuous evolutionary algorithms",
    Natural Computing 3 (2004), section 3.1)."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "up": positive("log factor of sigma after a success", 1 / 3),
    }
    _min_popsize = 1

    @classmethod
    def fit_popsize(cls, popsize: int, **options: Any) -> int:
        return 1  # a fixed population: restarts cannot grow it

    def _setup(self) -> None:
        self._fparent = math.inf

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        z = rng.sample_normal(self._key, self.generation, indices, self.dim)
        return self.mean + self.sigma * z

    def _update(self, fitness: np.ndarray) -> None:
        up = self.options["up"]
        if fitness[0] <= self._fparent:
            self.mean, self._fparent = self._row(0), float(fitness[0])
            self.sigma *= math.exp(up)
        else:
            self.sigma *= math.exp(-up / 4)  # 1/5 successes keep sigma
