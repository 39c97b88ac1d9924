"""The fitness check of ``Strategy.tell``: what it accepts, and in which sense."""

from __future__ import annotations

from typing import Any

import numpy as np

from evostrat.kernels.fitness import prepare_fitness
from evostrat.validation import real_array


def checked_fitness(
    fitnesses: Any, popsize: int, maximize: bool, nan_policy: str
) -> tuple[np.ndarray, int, float]:
    """Validated fitness in minimization sense (NaN made +inf, a new array), the index
    of the best and the spread of the finite values; or a ValueError that says what
    was wrong (not 1-D, wrong length, not real numbers, NaN with ``nan_policy`` not
    ``"worst"``)."""
    f = real_array(fitnesses)
    if f.ndim != 1:
        raise ValueError(
            f"tell() takes a 1-D sequence of {popsize} fitness values, "
            f"got an array of shape {f.shape}"
        )
    if f.shape[0] != popsize:
        raise ValueError(
            f"tell() takes {popsize} fitness values (popsize), got {f.shape[0]}"
        )
    where = np.flatnonzero(np.isnan(f))
    best, spread, n_nan = prepare_fitness(f, maximize)
    if n_nan and nan_policy != "worst":
        raise ValueError(
            f"fitness is NaN at indices {where.tolist()}; "
            "pass nan_policy='worst' to rank NaN last"
        )
    return f, best, spread
