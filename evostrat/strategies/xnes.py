"""xNES: exponential natural evolution strategies (Wierstra et al., JMLR 2014)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import nes, rng
from evostrat.strategies.base import Strategy
from evostrat.strategies.snes import (
    check_learning_rate,
    check_utilities,
    individual_utilities,
)

_SIGMA_MIN = 1e-300  # sigma is kept in [_SIGMA_MIN, _SIGMA_MAX]: positive, finite
_SIGMA_MAX = 1e300


class XNES(Strategy):
    r"""Exponential natural evolution strategy (xNES), full covariance.

    D. Wierstra, T. Schaul, T. Glasmachers, Y. Sun, J. Peters, J. Schmidhuber,
    "Natural Evolution Strategies", JMLR 15 (2014), Algorithm 5 and Table 1. The
    search distribution is :math:`N(\mu, \sigma^2 B B^T)` with a scalar step size
    :math:`\sigma` and a normalized shape :math:`B` (:math:`|\det B| = 1`, so
    :math:`A = \sigma B`): individual :math:`k` is
    :math:`z_k = \mu + \sigma B s_k`, :math:`s_k \sim N(0, I)`. From the utilities
    :math:`u_k` of the ranked population (section 3.1), the natural gradient in
    local coordinates is

    .. math::

        G_\delta = \sum_k u_k s_k, \quad
        G_M = \sum_k u_k (s_k s_k^T - I), \quad
        G_\sigma = \mathrm{tr}(G_M) / d, \quad
        G_B = G_M - G_\sigma I,

    and the update, in the exponential parametrization,

    .. math::

        \mu \leftarrow \mu + \eta_\mu \sigma B G_\delta, \quad
        \sigma \leftarrow \sigma \exp(\tfrac{\eta_\sigma}{2} G_\sigma), \quad
        B \leftarrow B \exp(\tfrac{\eta_B}{2} G_B).

    The exponential of the symmetric :math:`G_B` is computed exactly from its
    eigendecomposition. Defaults (Table 1): :math:`\eta_\mu = 1`,
    :math:`\eta_\sigma = \eta_B = 3 (3 + \ln d) / (5 d \sqrt d)`, popsize
    :math:`4 + \lfloor 3 \ln d \rfloor`. ``sigma`` is a float; ``B`` and
    ``cov`` (:math:`\sigma^2 B B^T`) are attributes. Adaptation sampling is not
    implemented.

    Options
    -------
    learning_rate_mean : float, optional
        :math:`\eta_\mu`; None gives the paper's 1.
    learning_rate_sigma : float, optional
        :math:`\eta_\sigma`; None gives the paper's
        :math:`3 (3 + \ln d) / (5 d \sqrt d)`.
    learning_rate_B : float, optional
        :math:`\eta_B`; None gives the same default as :math:`\eta_\sigma`.
    utilities : {"nes", "centered_ranks"}, default "nes"
        Fitness shaping, as in :class:`~evostrat.strategies.snes.SNES`.
    """

    name = "xnes"
    _options: ClassVar[dict[str, Any]] = {
        "learning_rate_mean": None,
        "learning_rate_sigma": None,
        "learning_rate_B": None,
        "utilities": "nes",
    }
    _vector_sigma = False

    def _setup(self) -> None:
        o = self.options
        rates = {
            name: check_learning_rate(name, o[name])
            for name in ("learning_rate_mean", "learning_rate_sigma", "learning_rate_B")
        }
        check_utilities(o["utilities"])
        d = self.dim
        default = 3.0 * (3.0 + math.log(d)) / (5.0 * d * math.sqrt(d))
        self.eta_mean = rates["learning_rate_mean"] or 1.0
        self.eta_sigma = rates["learning_rate_sigma"] or default
        self.eta_B = rates["learning_rate_B"] or default
        self.B = np.eye(d)

    @property
    def cov(self) -> np.ndarray:
        r"""Covariance of the search distribution, :math:`\sigma^2 B B^T`."""
        return self.sigma**2 * (self.B @ self.B.T)

    def _noise(self, indices: np.ndarray) -> np.ndarray:
        return rng.sample_normal(self._key, self.generation, indices, self.dim)

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        return nes.affine_rows(self.mean, self.sigma * self.B, self._noise(indices))

    def _update(self, fitness: np.ndarray) -> None:
        u = individual_utilities(self.options["utilities"], fitness)
        S = self._noise(np.arange(self.popsize, dtype=np.int64))
        g_delta, g_m = nes.xnes_gradients(S, u)
        g_sigma = np.trace(g_m) / self.dim
        g_b = g_m - g_sigma * np.eye(self.dim)
        self.mean = self.mean + self.eta_mean * self.sigma * (self.B @ g_delta)
        sigma = self.sigma * math.exp(0.5 * self.eta_sigma * g_sigma)
        self.sigma = float(min(max(sigma, _SIGMA_MIN), _SIGMA_MAX))
        self.B = nes.xnes_shape_update(self.B, g_b, self.eta_B)

    def _stds(self) -> np.ndarray:
        return self.sigma * np.sqrt(np.einsum("ij,ij->i", self.B, self.B))

    def _stop_criteria(self) -> dict[str, Any]:
        return {}
