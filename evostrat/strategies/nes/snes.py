"""SNES: separable natural evolution strategies (Wierstra et al., JMLR 2014)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import nes, rng
from evostrat.strategies.nes.base import (
    SIGMA_MAX,
    SIGMA_MIN,
    NESStrategy,
    individual_utilities,
)
from evostrat.strategies.options import Option, flag


class SNES(NESStrategy):
    r"""Separable natural evolution strategy (SNES).

    D. Wierstra, T. Schaul, T. Glasmachers, Y. Sun, J. Peters, J. Schmidhuber,
    "Natural Evolution Strategies", JMLR 15 (2014), Algorithm 6 and Table 1. The
    search distribution is :math:`N(\mu, \mathrm{diag}(\sigma)^2)`: individual
    :math:`k` is :math:`z_k = \mu + \sigma \odot s_k`, :math:`s_k \sim N(0, I)`.
    From the utilities :math:`u_k` of the ranked population (section 3.1):

    .. math::

        \nabla_\mu J = \sum_k u_k s_k, \qquad
        \nabla_\sigma J = \sum_k u_k (s_k^2 - 1),

        \mu \leftarrow \mu + \eta_\mu \sigma \odot \nabla_\mu J, \qquad
        \sigma \leftarrow \sigma \odot \exp(\tfrac{\eta_\sigma}{2} \nabla_\sigma J).

    Defaults (Table 1): :math:`\eta_\mu = 1`,
    :math:`\eta_\sigma = (3 + \ln d) / (5 \sqrt d)`, popsize
    :math:`4 + \lfloor 3 \ln d \rfloor`. ``sigma`` is an array of length ``dim``
    (``sigma0`` may be a scalar or such an array). ``tell`` regenerates every
    :math:`s_k` from its random stream instead of keeping the population, so its
    memory is a few rows of length ``dim`` at any population size.

    Options
    -------
    learning_rate_mean : float, optional
        :math:`\eta_\mu`; None gives the paper's 1.
    learning_rate_sigma : float, optional
        :math:`\eta_\sigma`; None gives the paper's :math:`(3 + \ln d)/(5\sqrt d)`.
    antithetic : bool, default False
        Mirrored sampling: individuals ``2j`` and ``2j + 1`` are
        :math:`\mu \pm \sigma \odot s_j`. The population size must then be even
        (the default one is rounded up).
    utilities : {"nes", "centered_ranks"}, default "nes"
        Fitness shaping: the paper's :math:`u_k = \max(0, \ln(\lambda/2 + 1) -
        \ln k) / \sum_j \max(0, \ln(\lambda/2+1) - \ln j) - 1/\lambda`, or centered
        ranks in :math:`[-0.5, 0.5]` (OpenAI-ES). Tied fitness values share the
        mean utility of their ranks.
    """

    OPTIONS: ClassVar[dict[str, Option]] = {
        "antithetic": flag("mirrored pairs (popsize must then be even)", False),
    }
    _vector_sigma = True

    @classmethod
    def fit_popsize(cls, popsize: int, **options: Any) -> int:
        """Even with ``antithetic=True``."""
        popsize = max(int(popsize), cls._min_popsize)
        return popsize + popsize % 2 if options.get("antithetic") else popsize

    def _setup(self) -> None:
        o = self.options
        eta_mean, eta_sigma = o["learning_rate_mean"], o["learning_rate_sigma"]
        if o["antithetic"] and self.popsize % 2:
            raise ValueError(
                f"antithetic sampling needs an even popsize, got {self.popsize}"
            )
        d = self.dim
        self.eta_mean = 1.0 if eta_mean is None else eta_mean
        self.eta_sigma = (
            (3.0 + math.log(d)) / (5.0 * math.sqrt(d))
            if eta_sigma is None
            else eta_sigma
        )
        self.sigma = np.array(
            np.broadcast_to(self.sigma, (d,)), dtype=np.float64, copy=True
        )

    def _noise(self, indices: np.ndarray) -> np.ndarray:
        """The standard normal rows ``s_k`` of individuals ``indices``."""
        if not self.options["antithetic"]:
            return rng.sample_normal(self._key, self.generation, indices, self.dim)
        s = rng.sample_normal(self._key, self.generation, indices // 2, self.dim)
        s[indices % 2 == 1] *= -1.0
        return s

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        return self.mean + self.sigma * self._noise(indices)

    def _update(self, fitness: np.ndarray) -> None:
        u = individual_utilities(self.options["utilities"], fitness)
        if self.options["antithetic"]:
            up, um = u[0::2], u[1::2]
            streams = np.arange(self.popsize // 2, dtype=np.int64)
            coeff_mean, coeff_var = up - um, up + um
        else:
            streams = self._all_indices
            coeff_mean = coeff_var = u
        grad_mean, grad_sigma = nes.snes_gradients(
            self._key, self.generation, streams, coeff_mean, coeff_var, self.dim
        )
        self.mean = self.mean + self.eta_mean * self.sigma * grad_mean
        sigma = self.sigma * np.exp(0.5 * self.eta_sigma * grad_sigma)
        self.sigma = np.clip(sigma, SIGMA_MIN, SIGMA_MAX)

    def _stds(self) -> np.ndarray:
        return np.array(self.sigma)  # a copy (sigma is an array here)
