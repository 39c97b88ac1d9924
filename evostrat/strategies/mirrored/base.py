"""What OpenES and PEPG share: mirrored rows rebuilt from their random streams, the
options of the gradient step, and the step itself.

``tell`` regenerates each pair's noise and accumulates the gradient in one pass, so
no ``popsize x dim`` matrix is ever held (the seed trick of Salimans et al., 2017,
Algorithm 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import es_grad, rng, shaping
from evostrat.optimizers import SGD, Adam
from evostrat.strategies.base import Strategy
from evostrat.strategies.options import (
    SIGMA_SCHEDULE,
    Option,
    decayed,
    flag,
    fraction,
    positive,
)

#: above this many numbers (rows x dim) a batch of rows is made by many threads
PARALLEL_ROWS_MIN = 1 << 16
#: most blocks the pairs of a ``tell`` are split into (one accumulator row each);
#: fixed by the problem size, never by the thread count, so runs are reproducible
MAX_TELL_BLOCKS = 2
#: sigma never decays below this: 1 / (popsize * sigma) must stay finite
SIGMA_FLOOR = 1e-300


def make_optimizer(options: Mapping[str, Any]) -> Adam | SGD:
    """The optimizer named by ``options["optimizer"]`` ("adam" or "sgd")."""
    if options["optimizer"] == "adam":
        return Adam(options["learning_rate"])
    return SGD(options["learning_rate"], momentum=options["momentum"])


class MirroredStrategy(Strategy):
    """Base of OpenES and PEPG: rows ``mean +- sigma * z_k`` rebuilt from the stream
    of pair ``k``, and a gradient step on the mean.

    A subclass sets ``self._pairs`` (whether rows ``2k`` and ``2k + 1`` share the
    stream ``k`` with opposite signs; otherwise row ``i`` has stream ``i``) and
    ``self._mean_row`` (an index whose row is the unperturbed mean, or -1), and calls
    :meth:`_setup_gradient_step` from its ``_setup``. The options below are
    documented by OpenES and PEPG.
    """

    OPTIONS: ClassVar[dict[str, Option]] = {
        "learning_rate": positive("the optimizer's step size (Adam's alpha)", 0.01),
        "learning_rate_decay": fraction(
            "factor applied to the learning rate after each generation",
            1.0,
            open_low=True,
        ),
        "learning_rate_limit": Option(
            0.0, "floor of the learning rate under decay", "real", 0.0
        ),
        **SIGMA_SCHEDULE,
        "rank_fitness": flag(
            "centered-rank utilities; False: standardized fitness", True
        ),
        "optimizer": Option(
            "adam", "the optimizer of the mean", "choice", choices=("adam", "sgd")
        ),
        "momentum": Option(
            0.9, "momentum of optimizer='sgd'", "real", 0.0, 1.0, open_high=True
        ),
    }
    _pairs: bool
    _mean_row: int

    # ------------------------------------------------------------ the gradient step
    def _setup_gradient_step(self) -> None:
        """Build the optimizer (the options are checked by the base)."""
        self._optimizer = make_optimizer(self.options)

    @property
    def learning_rate(self) -> float:
        """The optimizer's current step size (decayed after every generation)."""
        return self._optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._optimizer.learning_rate = positive("", 0.01).check("learning_rate", value)

    def _utilities(self, fitness: np.ndarray) -> np.ndarray:
        """Centered ranks (``rank_fitness``) or negated z-scores, larger is better."""
        if self.options["rank_fitness"]:
            return shaping.centered_rank_utilities(fitness)
        return -shaping.zscores(fitness)

    def _descend(self, grad: np.ndarray) -> None:
        """One optimizer step on the loss gradient ``grad`` (plus the L2 term
        ``weight_decay * mean``), in place on ``self.mean``."""
        o = self.options
        if o["weight_decay"] > 0.0:
            es_grad.add_scaled(grad, float(o["weight_decay"]), self.mean)
        self._optimizer.apply(self.mean, grad)

    def _decay_learning_rate(self) -> None:
        """``learning_rate <- max(learning_rate * decay, limit)`` (estool's options)."""
        o = self.options
        self._optimizer.learning_rate = decayed(
            self.learning_rate, o["learning_rate_decay"], o["learning_rate_limit"]
        )

    # ------------------------------------------------------------- mirrored rows
    def _streams(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stream (pair) and sign of each row; stream -1 means "the mean itself"."""
        if self._pairs:
            streams = indices // 2
            signs = np.where(indices % 2 == 0, 1.0, -1.0)
        else:
            streams = indices.copy()
            signs = np.ones(indices.shape[0])
        if self._mean_row >= 0:
            streams[indices == self._mean_row] = -1
        return streams, signs

    def _noise_streams(self) -> np.ndarray:
        """The streams of this generation's noise vectors, each once."""
        n = self.popsize - (self._mean_row >= 0)
        return np.arange(n // 2 if self._pairs else n, dtype=np.int64)

    def _tell_blocks(self, nstreams: int) -> int:
        if nstreams * self.dim < PARALLEL_ROWS_MIN:
            return 1
        return max(1, min(MAX_TELL_BLOCKS, nstreams))

    def _mirrored_rows(self, indices: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Rows ``indices``: ``mean + sign * sigma * z_stream`` (``sigma`` 1-D)."""
        streams, signs = self._streams(indices)
        out = np.empty((indices.shape[0], self.dim))
        if indices.shape[0] == 0:
            return out
        key, g, tag = self._key, self.generation, rng.STREAM_NORMAL
        if indices.shape[0] > 1 and indices.shape[0] * self.dim >= PARALLEL_ROWS_MIN:
            es_grad.perturbed_rows_parallel(
                key, g, streams, signs, self.mean, sigma, tag, out
            )
            return out
        # serially, keeping the last stream's noise: the other row of a pair,
        # asked for next (one row per chunk at large dim), costs no new draw
        z, last = self._cache.get("noise", (None, -1))
        if z is None:
            z = np.empty(self.dim)
        last = es_grad.perturbed_rows(
            key, g, streams, signs, self.mean, sigma, tag, out, z, last
        )
        self._cache["noise"] = (z, last)
        return out

    def _pair_coefficients(self, utility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u_plus - u_minus, (u_plus + u_minus) / 2)`` per noise vector.

        Without pairs: ``(u, u)`` per individual (the mean row excluded).
        """
        if self._mean_row >= 0:
            utility = np.delete(utility, self._mean_row)
        if not self._pairs:
            return utility, utility
        plus, minus = utility[0::2], utility[1::2]
        return plus - minus, 0.5 * (plus + minus)
