r"""Two-point step-size adaptation (option ``step_size_adaptation="tpa"`` of CMAES).

N. Hansen, "CMA-ES with Two-Point Step-Size Adaptation", INRIA RR-6527 (2008),
arXiv:0805.0231, in the form pycma 4.x uses (``cma.sigma_adaptation.CMAAdaptSigmaTPA``;
N. Hansen, A. Atamna, A. Auger, "How to Assess Step-Size Adaptation Mechanisms in
Randomised Search", PPSN 2014; Y. Akimoto, N. Hansen, "Diagonal Acceleration for
Covariance Matrix Adaptation Evolution Strategies", ECJ 2020, section 3.4):

* from generation 1 on, individuals 0 and 1 lie on the line of the last mean shift
  :math:`\Delta m = m^{g} - m^{g-1}`: :math:`z_0 = \|\zeta\|\, u / \|u\|`,
  :math:`z_1 = -z_0` with :math:`u = D^{-1} B^T \Delta m` (``C = B D^2 B^T`` the
  decomposition that samples the generation) and :math:`\zeta` the normal vector of
  individual 0's stream, so :math:`x_{0,1} = m \pm \sigma \|\zeta\| \Delta m /
  \|\Delta m\|_C`: two points of a typical Mahalanobis length, which the update then
  uses like every other individual (as pycma does). Individual 1 is rebuilt from the
  stream of individual 0 alone, as a mirrored partner (:mod:`.mirrored`), so any
  individual stays a pure function of (seed, generation, index) and the state
  (:func:`evostrat.kernels.cma.place_pair`);
* after the evaluation, with :math:`r_i` the number of individuals strictly better
  than :math:`x_i`, :math:`z = (r_1 - r_0)/(\lambda - 1) \in [-1, 1]` (positive when
  the step along the last shift was the better one),
  :math:`s \leftarrow (1 - c) s + c\, \mathrm{sign}(z) |z|^{1/2}` and
  :math:`\sigma \leftarrow \sigma \exp(s / d)`, with pycma's :math:`c = 0.3` and
  :math:`d = 0.7 + 2 \ln n + 2 \ln \max(1, \lambda - n)`; CSA's path
  :math:`p_\sigma` is still kept, for :math:`h_\sigma`.

Generation 0 (no shift yet) and a generation whose shift was zero sample as without
TPA and leave :math:`\sigma` unchanged (pycma adapts from two ordinary samples there).
"""

from __future__ import annotations

import math

import numpy as np

#: pycma 4.x's smoothing constant of s (``CMAAdaptSigmaTPA.sp.c``)
SMOOTHING = 0.3
#: pycma 4.x's exponent of |z| (``sp.z_exponent``: enlarges small rank differences)
Z_EXPONENT = 0.5


def damping(dim: int, popsize: int) -> float:
    """pycma 4.x's TPA damping ``0.7 + 2 ln n + 2 ln max(1, lambda - n)``."""
    return 0.7 + 2.0 * math.log(dim) + 2.0 * math.log(max(1, popsize - dim))


class TwoPoint:
    """The TPA state: the smoothed rank difference ``s`` and the line of the pair."""

    def __init__(self, dim: int, popsize: int) -> None:
        self.damp = damping(dim, popsize)
        self.s = 0.0
        #: u / |u| (u = D^-1 B^T (m^g - m^{g-1})) in the coordinates of z; None: no pair
        self.line: np.ndarray | None = None

    def factor(self, fitness: np.ndarray) -> float:
        """Update ``s`` from the ranks of individuals 0 and 1 and return the
        step-size factor ``exp(s / d)`` (1 without a pair this generation)."""
        if self.line is None:
            return 1.0
        r0 = int(np.count_nonzero(fitness < fitness[0]))
        r1 = int(np.count_nonzero(fitness < fitness[1]))
        z = (r1 - r0) / (fitness.shape[0] - 1)
        step = math.copysign(abs(z) ** Z_EXPONENT, z)
        self.s = (1.0 - SMOOTHING) * self.s + SMOOTHING * step
        return math.exp(self.s / self.damp)

    def moved(self, shift: np.ndarray, B: np.ndarray, eigenvalues: np.ndarray) -> None:
        """Set the line of the next pair from this tell's mean shift and the
        decomposition ``C = B diag(eigenvalues) B^T`` that samples it."""
        u = (shift @ B) / np.sqrt(eigenvalues)
        norm = math.sqrt(float(u @ u))
        self.line = u / norm if math.isfinite(norm) and norm > 0.0 else None
