"""Simple ES: keep the best solution, add Gaussian noise of fixed sigma."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.strategies.base import Strategy


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

    name = "simplees"
    _options: ClassVar[dict[str, Any]] = {
        "elitism": False,
        "sigma_decay": 1.0,
        "sigma_limit": 0.0,
    }
    _vector_sigma = True

    def _default_popsize(self) -> int:
        return 4 + int(3 * math.log(self.dim))

    def _setup(self) -> None:
        o = self.options
        if not 0.0 < o["sigma_decay"] <= 1.0:
            raise ValueError(f"sigma_decay must be in (0, 1], got {o['sigma_decay']}")
        if not o["sigma_limit"] >= 0.0:
            raise ValueError(f"sigma_limit must be >= 0, got {o['sigma_limit']}")
        self._fmean = math.inf  # fitness of the current mean (elitism)

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        z = rng.sample_normal(self._key, self.generation, indices, self.dim)
        return self.mean + self.sigma * z

    def _update(self, fitness: np.ndarray) -> None:
        best = int(np.argmin(fitness))
        if not self.options["elitism"] or fitness[best] < self._fmean:
            self.mean = self._sample(np.array([best], dtype=np.int64))[0]
            self._fmean = float(fitness[best])
        o = self.options
        self.sigma = np.maximum(self.sigma * o["sigma_decay"], o["sigma_limit"])
        if np.ndim(self.sigma) == 0:
            self.sigma = float(self.sigma)
