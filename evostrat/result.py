"""What a run returns, and the error an evaluator raises when ``f`` fails."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Result(NamedTuple):
    """The outcome of a run (API.md, "The loop").

    Attributes
    ----------
    xbest : ndarray
        Best solution evaluated.
    fbest : float
        Its fitness, in the user's sense (a reward where ``maximize=True``).
    evals : int
        Number of fitness evaluations.
    generations : int
        Number of completed generations (``tell`` calls).
    xmean : ndarray
        The distribution mean at the end.
    stds : ndarray
        Per-coordinate standard deviations of the search distribution at the end.
    stop : dict
        ``{criterion: value}`` of the criteria met (empty if the run was not finished).
    """

    xbest: np.ndarray | None
    fbest: float
    evals: int
    generations: int
    xmean: np.ndarray
    stds: np.ndarray
    stop: dict[str, Any]


class EvaluationError(RuntimeError):
    """The objective raised while evaluating one individual.

    Attributes
    ----------
    generation : int
        Generation being evaluated.
    index : int
        Index of the individual in the population.
    cause : str
        The original error with its traceback, as text (it may come from another
        process).
    """

    def __init__(self, generation: int, index: int, cause: str):
        self.generation = int(generation)
        self.index = int(index)
        self.cause = str(cause)
        super().__init__(
            f"objective failed on individual {self.index} of generation "
            f"{self.generation}:\n{self.cause}"
        )

    def __reduce__(self):
        return (type(self), (self.generation, self.index, self.cause))
