"""Simple GA: elites, uniform crossover of two random elites, Gaussian mutation."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from evostrat.kernels import rng
from evostrat.strategies.base import Strategy, default_popsize
from evostrat.strategies.options import (
    SIGMA_SCHEDULE,
    Option,
    decayed,
    flag,
    fraction,
)


class SimpleGA(Strategy):
    r"""A simple genetic algorithm (Ha, "A Visual Guide to Evolution Strategies", 2017;
    estool's ``SimpleGA``).

    The best ``ceil(elite_ratio * popsize)`` solutions are the elites. Individual
    :math:`i` picks two elites :math:`a, b` uniformly at random, takes each coordinate
    from :math:`a` or :math:`b` with probability 1/2 (uniform crossover) and adds
    :math:`\sigma z_i`. The first generation samples around ``x0``. With
    ``elitism=True`` (estool's ``forget_best=False``) the previous elites compete
    with the new population for the elite places. The parent choice and the mask of
    individual :math:`i` come from its own random stream, so ``ask(indices)`` needs
    no other individual.

    Options
    -------
    elite_ratio : float, default 0.1
        Fraction of the population kept as elites (at least one).
    elitism : bool, default True
        Keep previous elites in the selection.
    sigma_decay : float, default 1.0
        Factor applied to sigma after each generation.
    sigma_limit : float, default 0.0
        Floor of sigma under decay.
    """

    OPTIONS: ClassVar[dict[str, Option]] = {
        "elite_ratio": fraction(
            "fraction of the population kept as elites (at least one)",
            0.1,
            open_low=True,
        ),
        "elitism": flag("keep previous elites in the selection", True),
        **SIGMA_SCHEDULE,
    }
    _vector_sigma = True

    def _default_popsize(self) -> int:
        return max(16, default_popsize(self.dim))  # estool's SimpleGA: 16 at least

    def _setup(self) -> None:
        o = self.options
        self.n_elites = max(1, math.ceil(o["elite_ratio"] * self.popsize))
        self.elites = self.mean[None, :].copy()  # generation 0: everyone from x0
        self.elite_fitness = np.array([math.inf])

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        X = self._children(indices)
        if self._is_everyone(indices):
            self._cache["population"] = X.copy()  # tell selects from it
        return X

    def _children(self, indices: np.ndarray) -> np.ndarray:
        """Crossover of two random elites plus mutation, per row of ``indices``."""
        g = self.generation
        z = rng.sample_normal(self._key, g, indices, self.dim)
        k = self.elites.shape[0]
        if k == 1:
            return self.elites[0] + self.sigma * z
        u = rng.uniform_rows(self._key, g, indices, self.dim + 2, rng.STREAM_AUX)
        a = (u[:, 0] * k).astype(np.int64)
        b = (u[:, 1] * k).astype(np.int64)
        children = np.where(u[:, 2:] < 0.5, self.elites[a], self.elites[b])
        return children + self.sigma * z

    def _update(self, fitness: np.ndarray) -> None:
        X = self._cache.get("population")
        if X is None:  # asked by parts, or unpickled in between
            X = self._children(self._all_indices)
        if self.options["elitism"] and self.generation > 0:
            X = np.concatenate([self.elites, X])
            fitness = np.concatenate([self.elite_fitness, fitness])
        order = np.argsort(fitness, kind="stable")[: self.n_elites]
        self.elites = X[order]
        self.elite_fitness = fitness[order]
        self.mean = self.elites.mean(axis=0)
        o = self.options
        self.sigma = decayed(self.sigma, o["sigma_decay"], o["sigma_limit"])
