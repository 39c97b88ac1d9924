"""xNES: exponential natural evolution strategies (Wierstra et al., JMLR 2014)."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from evostrat.kernels import nes, rng, shaping
from evostrat.strategies.nes.base import (
    SIGMA_MAX,
    SIGMA_MIN,
    NESStrategy,
    individual_utilities,
)
from evostrat.strategies.options import Option, flag, positive


class XNES(NESStrategy):
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
    ``cov`` (:math:`\sigma^2 B B^T`) are attributes.

    With ``adaptation_sampling=True`` (xNES-as, Algorithm 4; experimental, off by
    default) the step-size learning rate adapts online: each generation the samples are re-weighted as if drawn
    from the distribution the last step would have given with :math:`1.5 \eta_\sigma`
    (:math:`\sigma' = \sigma (\sigma / \sigma_{\rm prev})^{1/2}`); if a weighted
    Mann-Whitney test finds it no worse (statistic :math:`\ge \rho = 1/2 -
    1/(3(d+1))`), :math:`\eta_\sigma \leftarrow \min(1, (1 + c') \eta_\sigma)`,
    else :math:`\eta_\sigma \leftarrow (1 - c') \eta_\sigma + c' \eta_\sigma^{\rm
    init}`, with :math:`c' = 1/10`.

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
        Fitness shaping, as in :class:`~evostrat.strategies.nes.snes.SNES`.
    adaptation_sampling : bool, default False
        Adapt :math:`\eta_\sigma` online (Algorithm 4); ``eta_sigma`` then holds
        the current rate and ``learning_rate_sigma`` its initial value.
        Experimental: much faster on the sphere, but the rate grows towards 1 and
        hurts on ill-conditioned and curved problems (``benchmarks/nes.py``).
    """

    OPTIONS: ClassVar[dict[str, Option]] = {
        "learning_rate_B": positive(
            "eta_B; None: the same default as eta_sigma", None, none_ok=True
        ),
        "adaptation_sampling": flag("adapt eta_sigma online (Algorithm 4)", False),
    }
    _vector_sigma = False

    def _memory_bytes(self) -> int:
        return 8 * (3 * self.dim * self.dim + 2 * self.popsize * self.dim)

    def _setup(self) -> None:
        rates = self.options
        d = self.dim
        default = 3.0 * (3.0 + math.log(d)) / (5.0 * d * math.sqrt(d))
        self.eta_mean = rates["learning_rate_mean"] or 1.0
        self.eta_sigma = rates["learning_rate_sigma"] or default
        self.eta_B = rates["learning_rate_B"] or default
        self.eta_sigma_init = self.eta_sigma
        self.B = np.eye(d)
        self._sigma_prev: float | None = None  # sigma before the last update

    @property
    def cov(self) -> np.ndarray:
        r"""Covariance of the search distribution, :math:`\sigma^2 B B^T`."""
        return self.sigma**2 * (self.B @ self.B.T)

    def _noise(self, indices: np.ndarray) -> np.ndarray:
        return rng.sample_normal(self._key, self.generation, indices, self.dim)

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        S = self._noise(indices)
        if self._is_everyone(indices):
            self._cache["noise"] = S  # the whole population: tell reuses it
        return nes.affine_rows(self.mean, self.sigma * self.B, S)

    def _update(self, fitness: np.ndarray) -> None:
        u = individual_utilities(self.options["utilities"], fitness)
        S = self._cache.get("noise")
        if S is None:  # asked by parts, or unpickled in between
            S = self._noise(self._all_indices)
        if self.options["adaptation_sampling"] and self._sigma_prev is not None:
            self._adapt_eta_sigma(S, fitness)
        g_delta, g_m = nes.xnes_gradients(S, u)
        g_sigma = np.trace(g_m) / self.dim
        g_b = g_m - g_sigma * np.eye(self.dim)
        self.mean = self.mean + self.eta_mean * self.sigma * (self.B @ g_delta)
        self._sigma_prev = float(self.sigma)  # XNES's sigma is a float
        sigma = self.sigma * math.exp(0.5 * self.eta_sigma * g_sigma)
        self.sigma = float(min(max(sigma, SIGMA_MIN), SIGMA_MAX))
        self.B = nes.xnes_shape_update(self.B, g_b, self.eta_B)

    def _adapt_eta_sigma(self, S: np.ndarray, fitness: np.ndarray) -> None:
        """Adaptation sampling of the step-size learning rate (Algorithm 4)."""
        assert self._sigma_prev is not None  # adaptation starts at generation 1
        log_scale = 0.5 * math.log(float(self.sigma) / self._sigma_prev)
        statistic = nes.adaptation_sampling_statistic(
            np.einsum("ij,ij->i", S, S), shaping.argsort(fitness), log_scale, self.dim
        )
        rho = 0.5 - 1.0 / (3.0 * (self.dim + 1))
        c = 0.1
        if statistic < rho:
            self.eta_sigma = (1.0 - c) * self.eta_sigma + c * self.eta_sigma_init
        else:
            self.eta_sigma = min(1.0, (1.0 + c) * self.eta_sigma)

    def _stds(self) -> np.ndarray:
        return self.sigma * np.sqrt(np.einsum("ij,ij->i", self.B, self.B))
