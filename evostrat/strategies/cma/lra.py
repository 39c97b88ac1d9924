r"""Learning-rate adaptation of CMA-ES (option ``lr_adapt=True`` of CMAES).

M. Nomura, Y. Akimoto, I. Ono, "CMA-ES with Learning Rate Adaptation: Can CMA-ES
with Default Population Size Solve Multimodal and Noisy Problems?", GECCO 2023
(arXiv:2304.03473), Algorithm 1. After the ordinary update of generation ``t`` the
one-step changes :math:`\Delta_m = m^{t+1} - m^t` and
:math:`\Delta_\Sigma = \Sigma^{t+1} - \Sigma^t` (:math:`\Sigma = \sigma^2 C`) are
expressed in the old local coordinates (:math:`\Sigma^{-1/2}\Delta_m` and
:math:`\Sigma^{-1/2}\Delta_\Sigma\Sigma^{-1/2}/\sqrt2`); their exponential moving
averages :math:`E` and the averages :math:`V` of their squared norms (rates
:math:`\beta_m = 0.1`, :math:`\beta_\Sigma = 0.03`) estimate the signal-to-noise
ratio :math:`\widehat{SNR} = (\|E\|^2 - \beta/(2-\beta) V)/(V - \|E\|^2)`, and
each learning rate moves towards :math:`\eta = \widehat{SNR}/\alpha`
(:math:`\alpha = 1.4`):

.. math::

    \eta \leftarrow \min\left(1, \eta \exp\left(\min(\gamma\eta, \beta)\,
    \mathrm{clip}\left(\frac{\widehat{SNR}}{\alpha\eta} - 1, -1, 1\right)\right)
    \right), \quad \gamma = 0.1.

The parameters then move by :math:`\eta_m \Delta_m` and :math:`\eta_\Sigma
\Delta_\Sigma`; :math:`\Sigma` is split again into :math:`\sigma = \det(\Sigma)^{1/(2n)}`
and :math:`C = \Sigma/\sigma^2`, and :math:`\sigma` is multiplied by
:math:`\eta_m^{old}/\eta_m^{new}` (the paper's step-size correction). All constants
are the paper's (Section 4.3, as in ``cmaes``' ``lr_adapt=True``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: the paper's constants (Nomura et al. 2023, Section 4.3)
ALPHA, BETA_MEAN, BETA_SIGMA, GAMMA = 1.4, 0.1, 0.03, 0.1


class LearningRates:
    """The SNR statistics and learning rates :math:`\\eta_m, \\eta_\\Sigma`."""

    def __init__(self, dim: int) -> None:
        self.e_mean = np.zeros(dim)
        self.e_sigma = np.zeros(dim * dim)
        self.v_mean = self.v_sigma = 0.0
        self.eta_mean = self.eta_sigma = 1.0

    @staticmethod
    def before(opt: Any) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """What the adaptation needs from before the update: m, sigma, Sigma,
        Sigma^{-1/2} (``opt`` decomposed ``C`` in the previous generation)."""
        ev = np.maximum(opt.eigenvalues, 1e-300)
        B = opt.B
        inv_sqrt = (B / np.sqrt(ev)) @ B.T / opt.sigma
        return opt.mean.copy(), float(opt.sigma), opt.sigma**2 * opt.cov, inv_sqrt

    def _eta(self, eta: float, e: np.ndarray, v: float, beta: float) -> float:
        """One learning rate moved towards SNR / alpha (Algorithm 1, lines 13-16)."""
        e2 = float(e @ e)
        snr = (e2 - beta / (2.0 - beta) * v) / (v - e2) if v != e2 else 0.0
        relative = min(1.0, max(-1.0, snr / ALPHA / eta - 1.0))
        return min(1.0, eta * math.exp(min(GAMMA * eta, beta) * relative))

    def adapt(
        self, mean: np.ndarray, sigma: float, cov: np.ndarray, old: tuple
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """The adapted ``(mean, sigma, C)`` from the plain update's and ``old``."""
        old_mean, old_sigma, old_Sigma, inv_sqrt = old
        n = mean.size
        d_mean = mean - old_mean
        d_Sigma = sigma**2 * cov - old_Sigma
        local_mean = inv_sqrt @ d_mean
        local_Sigma = (inv_sqrt @ d_Sigma @ inv_sqrt).ravel() / math.sqrt(2.0)
        bm, bs = BETA_MEAN, BETA_SIGMA
        self.e_mean = (1 - bm) * self.e_mean + bm * local_mean
        self.e_sigma = (1 - bs) * self.e_sigma + bs * local_Sigma
        self.v_mean = (1 - bm) * self.v_mean + bm * float(local_mean @ local_mean)
        self.v_sigma = (1 - bs) * self.v_sigma + bs * float(local_Sigma @ local_Sigma)
        eta_mean_before = self.eta_mean
        self.eta_mean = self._eta(self.eta_mean, self.e_mean, self.v_mean, bm)
        self.eta_sigma = self._eta(self.eta_sigma, self.e_sigma, self.v_sigma, bs)
        new_mean = old_mean + self.eta_mean * d_mean
        Sigma = old_Sigma + self.eta_sigma * d_Sigma
        Sigma = 0.5 * (Sigma + Sigma.T)
        logdet = float(np.sum(np.log(np.maximum(np.linalg.eigvalsh(Sigma), 1e-300))))
        new_sigma = math.exp(logdet / 2.0 / n)
        new_cov = Sigma / new_sigma**2
        new_sigma *= eta_mean_before / self.eta_mean  # step-size correction
        return new_mean, new_sigma, new_cov
