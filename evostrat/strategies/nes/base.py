"""What SNES and XNES share: utilities and learning-rate options (Wierstra et al.,
"Natural Evolution Strategies", JMLR 15 (2014), section 3.1 and Table 1)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from evostrat.kernels import nes, shaping
from evostrat.strategies.base import Strategy
from evostrat.strategies.options import Option, positive

#: ``utilities`` option -> rank-indexed utilities of a population size
UTILITIES = {
    "nes": shaping.nes_utilities,
    "centered_ranks": nes.centered_rank_utilities_by_rank,
}

#: scales are kept in [SIGMA_MIN, SIGMA_MAX]: positive and finite
SIGMA_MIN, SIGMA_MAX = 1e-300, 1e300


def individual_utilities(utilities: str, fitness: np.ndarray) -> np.ndarray:
    """Utility of each individual (ties share their ranks' mean utility)."""
    order = shaping.argsort(fitness)
    return nes.tied_utilities(fitness, order, UTILITIES[utilities](fitness.shape[0]))


class NESStrategy(Strategy):
    """Base of SNES and XNES: the options they share (None learning rates are the
    paper's Table 1 defaults, which depend on the dimension)."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "learning_rate_mean": positive(
            "eta_mu; None: the paper's 1", None, none_ok=True
        ),
        "learning_rate_sigma": positive(
            "eta_sigma; None: the paper's Table 1 default", None, none_ok=True
        ),
        "utilities": Option(
            "nes",
            "fitness shaping: the paper's utilities or centered ranks",
            "choice",
            choices=tuple(UTILITIES),
        ),
    }
