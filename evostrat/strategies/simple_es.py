"""Simple ES: keep the best solution, add Gaussian noise of fixed sigma."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.strategies.base import Strategy
from evostrat.validation import check_bool, check_in_range


def check_sigma_schedule(options: dict[str, Any]) -> None:
    """Check ``elitism`` (a bool), ``sigma_decay`` (in (0, 1]) and ``sigma_limit``
    (>= 0, finite): the options SimpleES and SimpleGA share."""
    check_bool("elitism", options["elitism"])
    check_in_range("sigma_decay", options["sigma_decay"], 0, 1, open_low=True)
    check_in_range("sigma_limit", options["sigma_limit"], 0)


def decayed_sigma(sigma: float | np.ndarray, options: dict[str, Any]) -> Any:
    """``max(sigma * sigma_decay, sigma_limit)``, a float for a scalar ``sigma``
    (estool's schedule)."""
    sigma = np.maximum(sigma * options["sigma_decay"], options["sigma_limit"])
    return float(sigma) if np.ndim(sigma) == 0 else sigma


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
        check_sigma_schedule(self.options)
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
        self.sigma = decayed_sigma(self.sigma, self.options)
