"""Simple ES: keep the best solution, add Gaussian noise of fixed sigma."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.strategies.base import Strategy
from evostrat.strategies.options import SIGMA_SCHEDULE, Option, decayed, flag


class SimpleES(Strategy):
    r"""The simplest evolution strategy (Ha, "A Visual Guide to Evolution Strategies", 2017).

    Each generation samples :math:`x_i = m + \sigma z_i`, :math:`z_i \sim N(0, I)`, and
    the next mean is the best :math:`x_i`. With ``elitism=True`` the mean only moves
    when a sample beats it (a (1+λ)-ES), otherwise it always moves (a (1,λ)-ES).
    After each generation :math:`\sigma \leftarrow \max(\sigma \cdot
    \text{sigma\_decay}, \text{sigma\_limit})` (estool's options).

    Options
    -------
    elitism : bool, default False
        Keep the current mean unless a sample is better.
    sigma_decay : float, default 1.0
        Factor applied to sigma after each generation (1 keeps it fixed).
    sigma_limit : float, default 0.0
        Floor of sigma under decay.
    """

    OPTIONS: ClassVar[dict[str, Option]] = {
        "elitism": flag("keep the current mean unless a sample is better", False),
        **SIGMA_SCHEDULE,
    }
    _vector_sigma = True

    def _setup(self) -> None:
        self._fmean = math.inf  # fitness of the current mean (elitism)

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        z = rng.sample_normal(self._key, self.generation, indices, self.dim)
        return self.mean + self.sigma * z

    def _row(self, index: int) -> np.ndarray:
        # tell asks for the best row twice (the base for xbest, _update for the
        # mean): it is drawn once per generation
        hit = self._cache.get("row")
        if hit is None or hit[0] != index:
            hit = (index, super()._row(index))
            self._cache["row"] = hit
        return hit[1].copy()

    def _update(self, fitness: np.ndarray) -> None:
        best = int(np.argmin(fitness))
        if not self.options["elitism"] or fitness[best] < self._fmean:
            self.mean = self._row(best)
            self._fmean = float(fitness[best])
        o = self.options
        self.sigma = decayed(self.sigma, o["sigma_decay"], o["sigma_limit"])
