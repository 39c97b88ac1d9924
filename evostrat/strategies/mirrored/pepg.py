"""PEPG: parameter-exploring policy gradients with symmetric sampling."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import es_grad, rng
from evostrat.strategies.base import default_popsize
from evostrat.strategies.mirrored.base import SIGMA_FLOOR, MirroredStrategy
from evostrat.strategies.options import Option, fraction


class PEPG(MirroredStrategy):
    r"""Parameter-exploring policy gradients (F. Sehnke, C. Osendorfer, T. Rückstieß,
    A. Graves, J. Peters, J. Schmidhuber, "Parameter-exploring policy gradients",
    Neural Networks 23(4), 2010, section 2.3 "symmetric sampling"; options as in
    estool's ``PEPG``).

    Pair :math:`k` draws :math:`\epsilon_k = \sigma \odot z_k`,
    :math:`z_k \sim N(0, I)`; individuals :math:`2k` and :math:`2k+1` are
    :math:`m + \epsilon_k` and :math:`m - \epsilon_k`. Their fitness is shaped into
    utilities :math:`u^+_k, u^-_k` (larger is better; centered ranks by default).
    With :math:`d_k = u^+_k - u^-_k`, :math:`a_k = (u^+_k + u^-_k)/2 - b` and
    :math:`P` pairs, the mean follows the loss gradient

    .. math:: g = -\frac{1}{P} \sum_k \frac{d_k}{2} \epsilon_k + w\, m

    through the optimizer (Adam by default), and each coordinate's sigma follows
    the likelihood gradient :math:`(\epsilon^2 - \sigma^2)/\sigma = \sigma (z^2 - 1)`:

    .. math:: \Delta\sigma = \frac{\alpha_\sigma}{2P} \sigma \odot \sum_k a_k
              (z_k^2 - 1),

    clipped to :math:`\pm` ``sigma_max_change`` :math:`\cdot \sigma`, then decayed
    by ``sigma_decay`` down to ``sigma_limit``. The baseline :math:`b` is the mean
    utility of the generation (``baseline="average"``) or the utility of the
    current mean itself, evaluated as the last individual (``baseline="mean"``,
    popsize odd). ``tell`` regenerates each :math:`z_k` once from its stream and
    accumulates both sums in one pass: no ``popsize x dim`` matrix is held.

    Options
    -------
    learning_rate, learning_rate_decay, learning_rate_limit : float
        The optimizer's step size (Adam's alpha; default 0.01), the factor applied
        to it after each generation (in (0, 1]; default 1.0) and its floor under
        that decay (default 0.0), as in :class:`~evostrat.OpenES`.
    sigma_alpha : float, default 0.2
        Learning rate :math:`\alpha_\sigma` of sigma (0 keeps sigma fixed).
    sigma_max_change : float, default 0.2
        Largest relative change of a sigma coordinate per generation, in (0, 1).
    sigma_decay : float, default 1.0
        Factor applied to sigma after each generation, in (0, 1].
    sigma_limit : float, default 0.0
        Sigma coordinates above it are not decayed below it.
    weight_decay : float, default 0.0
        L2 coefficient :math:`w` added to the mean's gradient (Sehnke et al. have
        none; estool's 0.01 is a penalty on the fitness instead).
    rank_fitness : bool, default True
        Centered-rank utilities in [-0.5, 0.5]; if False, standardized fitness
        :math:`u = -(f - \bar f)/\mathrm{std}(f)`.
    baseline : {"average", "mean"}, default "average"
        The baseline :math:`b` of the sigma update (see above).
    elite_ratio : float, default 0.0
        If positive, the mean instead moves to the average of the best
        ``max(1, int(elite_ratio * 2P))`` perturbed individuals (estool's greedy
        option); the optimizer is then unused.
    optimizer : {"adam", "sgd"}, default "adam"
        :class:`evostrat.Adam` or :class:`evostrat.SGD`.
    momentum : float, default 0.9
        Momentum of ``optimizer="sgd"``.

    ``sigma0`` may be a positive array of length dim; ``sigma`` is always such an
    array. The default popsize is ``2 * ceil((4 + floor(3 ln n)) / 2)``, plus one
    with ``baseline="mean"``.
    """

    _vector_sigma = True
    OPTIONS: ClassVar[dict[str, Option]] = {
        "sigma_alpha": Option(
            0.2, "learning rate of sigma (0 keeps it fixed)", "real", 0
        ),
        "sigma_max_change": Option(
            0.2,
            "largest relative change of a sigma coordinate per generation",
            "real",
            0.0,
            1.0,
            open_low=True,
            open_high=True,
        ),
        "weight_decay": Option(
            0.0, "L2 coefficient added to the mean's gradient", "real", 0.0
        ),
        "baseline": Option(
            "average",
            "baseline of the sigma update: the generation's average utility, or "
            "the current mean's (evaluated as the last individual)",
            "choice",
            choices=("average", "mean"),
        ),
        "elite_ratio": fraction(
            "if positive, move the mean to the average of the best perturbed rows",
            0.0,
        ),
    }

    @classmethod
    def fit_popsize(cls, popsize: int, **options: Any) -> int:
        """Pairs, plus the mean's row with ``baseline="mean"``."""
        if options.get("baseline") == "mean":
            popsize = max(int(popsize), 3)
            return popsize + 1 - popsize % 2  # odd: pairs and the mean
        popsize = max(int(popsize), 2)
        return popsize + popsize % 2

    def _default_popsize(self) -> int:
        even = 2 * math.ceil(default_popsize(self.dim) / 2)
        return even + (self.options["baseline"] == "mean")

    def _setup(self) -> None:
        o = self.options
        self._setup_gradient_step()
        self._pairs = True
        if o["baseline"] == "mean":
            if self.popsize % 2 == 0 or self.popsize < 3:
                raise ValueError(
                    "baseline='mean' needs an odd popsize >= 3 (pairs plus the mean), "
                    f"got popsize={self.popsize}"
                )
            self._mean_row = self.popsize - 1
        else:
            if self.popsize % 2:
                raise ValueError(
                    "PEPG samples symmetric pairs: popsize must be even with "
                    f"baseline='average', got popsize={self.popsize}"
                )
            self._mean_row = -1
        n_noise = self.popsize - (self._mean_row >= 0)
        self._n_elite = (
            max(1, int(o["elite_ratio"] * n_noise)) if o["elite_ratio"] > 0 else 0
        )
        self.sigma = np.array(
            np.broadcast_to(self.sigma, (self.dim,)), dtype=np.float64
        )

    # ------------------------------------------------------------------ hooks
    def _sample(self, indices: np.ndarray) -> np.ndarray:
        return self._mirrored_rows(indices, np.asarray(self.sigma))

    def _stds(self) -> np.ndarray:
        return np.array(self.sigma)  # a copy (sigma is an array here)

    def _update(self, fitness: np.ndarray) -> None:
        o = self.options
        utility = self._utilities(fitness)
        if self._mean_row >= 0:
            baseline = utility[self._mean_row]
        else:
            baseline = float(np.mean(utility))
        diff, avg = self._pair_coefficients(utility)
        npairs = diff.shape[0]
        if self._n_elite:
            coeffs = self._elite_coefficients(utility)
        else:
            coeffs = diff / (2.0 * npairs)
        streams = self._noise_streams()
        # one pass over the regenerated noise; blocks depend on the size only
        blocks = self._tell_blocks(npairs)
        key, g, tag = self._key, self.generation, rng.STREAM_NORMAL
        z = np.empty((blocks, self.dim))
        if blocks == 1:
            step_mean, step_sigma = np.empty(self.dim), np.empty(self.dim)
            es_grad.accumulate_pepg_serial(
                key, g, streams, coeffs, avg - baseline, tag, step_mean, step_sigma, z
            )
        else:
            step_mean, step_sigma = es_grad.accumulate_pepg(
                key,
                g,
                streams,
                coeffs,
                avg - baseline,
                tag,
                np.empty((blocks, self.dim)),
                np.empty((blocks, self.dim)),
                z,
            )
        del z
        np.multiply(step_mean, self.sigma, out=step_mean)  # sum of c_k eps_k
        if self._n_elite:
            np.add(self.mean, step_mean, out=self.mean)
        else:
            np.negative(step_mean, out=step_mean)  # the loss gradient
            self._descend(step_mean)
        es_grad.pepg_sigma_step(
            self.sigma,
            step_sigma,
            float(o["sigma_alpha"]) / (2.0 * npairs),
            float(o["sigma_max_change"]),
            float(o["sigma_decay"]),
            float(o["sigma_limit"]),
            SIGMA_FLOOR,
        )
        self._decay_learning_rate()

    def _elite_coefficients(self, utility: np.ndarray) -> np.ndarray:
        """Per pair, (elite + rows - elite - rows) / n_elite (estool's greedy move)."""
        perturbed = np.arange(self.popsize)
        if self._mean_row >= 0:
            perturbed = perturbed[perturbed != self._mean_row]
        order = np.argsort(-utility[perturbed], kind="stable")[: self._n_elite]
        elite = perturbed[order]
        coeffs = np.zeros(perturbed.shape[0] // 2)
        np.add.at(coeffs, elite // 2, np.where(elite % 2 == 0, 1.0, -1.0))
        return coeffs / self._n_elite
