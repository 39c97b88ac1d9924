"""Running observation statistics for observation normalization.

As in Salimans et al. (2017, section 2.2 and their code,
openai/evolution-strategies-starter ``RunningStat``) and Mania et al. (2018, ARS
V2): every rollout reports the count, sum and sum of squares of the observations it
saw; the statistics add them up, and policies see ``clip((o - mean) / std, -5, 5)``
with mean and std frozen for a whole generation.
"""

from __future__ import annotations

import numpy as np

#: variance floor: ``std = sqrt(max(var, 1e-2))`` (openai/evolution-strategies-
#: starter, ``RunningStat.std``); a coordinate that never moves keeps a finite scale
VAR_FLOOR = 1e-2


class ObsStats:
    """Count, sum and sum of squares of observations, combined in a fixed order.

    Parameters
    ----------
    dim : int
        Observation size.
    """

    def __init__(self, dim: int) -> None:
        self.count = 0.0
        self.sum = np.zeros(dim)
        self.sumsq = np.zeros(dim)

    @property
    def dim(self) -> int:
        return int(self.sum.size)

    def add(self, count: float, total: np.ndarray, squares: np.ndarray) -> None:
        """Add one rollout's (or one individual's) sums."""
        self.count += float(count)
        self.sum += total
        self.sumsq += squares

    def add_rows(self, rows: np.ndarray) -> None:
        """Add the rows ``[count, sum (dim), sumsq (dim)]`` one by one, in order.

        The order is fixed (index order), so the floating-point result is the same
        whichever process computed which row.
        """
        d = self.dim
        for row in np.asarray(rows, dtype=np.float64):
            self.add(row[0], row[1 : 1 + d], row[1 + d : 1 + 2 * d])

    @property
    def mean(self) -> np.ndarray:
        if self.count == 0:
            return np.zeros(self.dim)
        return self.sum / self.count

    @property
    def std(self) -> np.ndarray:
        """``sqrt(max(var, VAR_FLOOR))``; ones before any observation."""
        if self.count == 0:
            return np.ones(self.dim)
        var = self.sumsq / self.count - np.square(self.mean)
        return np.sqrt(np.maximum(var, VAR_FLOOR))

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` as of now: the frozen statistics of a generation."""
        return self.mean.copy(), self.std.copy()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ObsStats)
            and self.count == other.count
            and np.array_equal(self.sum, other.sum)
            and np.array_equal(self.sumsq, other.sumsq)
        )
