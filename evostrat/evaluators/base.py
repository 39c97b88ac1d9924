"""The evaluator protocol and what all evaluators share.

An evaluator turns one generation of a strategy into its fitness vector:

    fitness = evaluator.evaluate(strategy, f, vectorized=False)

It asks the strategy for rows (``strategy.ask(indices)``), evaluates them wherever
it likes, and returns one fitness per individual in index order (the user's sense,
not yet validated: ``strategy.tell`` does that). It keeps ``stats``. Any object with
this method and attribute can be passed to ``optimize`` and ``fmin``, e.g. one over
Dask or Ray.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

from evostrat.result import EvaluationError

#: Rows are asked for and evaluated in blocks of at most this many numbers, so
#: memory stays bounded whatever popsize x dim is.
CHUNK_ELEMENTS = 1 << 20


@runtime_checkable
class Evaluator(Protocol):
    """What ``optimize`` and ``fmin`` need of an evaluator."""

    stats: dict[str, Any]

    def evaluate(self, strategy: Any, f: Callable, vectorized: bool = False) -> Any:
        """One fitness per individual of the current generation, in index order."""
        ...


def new_stats() -> dict[str, Any]:
    """A fresh ``stats`` dict (API.md, "Evaluators")."""
    return {"generations": 0, "evaluations": 0, "seconds": 0.0, "bytes_sent": 0}


def chunks(indices: np.ndarray, dim: int) -> Iterator[np.ndarray]:
    """Split ``indices`` into blocks of at most ``CHUNK_ELEMENTS // dim`` rows."""
    rows = max(1, CHUNK_ELEMENTS // max(1, dim))
    for start in range(0, len(indices), rows):
        yield indices[start : start + rows]


def evaluate_rows(
    f: Callable,
    X: np.ndarray,
    indices: np.ndarray,
    generation: int,
    vectorized: bool,
) -> list[float]:
    """Evaluate the rows ``X`` (individuals ``indices``); errors become EvaluationError."""
    if vectorized:
        try:
            values = np.asarray(f(X))
        except Exception:
            raise EvaluationError(
                generation, int(indices[0]), traceback.format_exc()
            ) from None
        if values.shape != (len(indices),):
            raise ValueError(
                f"vectorized objective returned shape {values.shape} for "
                f"{len(indices)} rows; expected ({len(indices)},)"
            )
        return values.tolist()
    out = []
    for i, x in zip(indices, X, strict=True):
        try:
            out.append(f(x))
        except Exception:
            raise EvaluationError(generation, int(i), traceback.format_exc()) from None
    return out


def is_main_process(evaluator: Any) -> bool:
    """Whether this process should print and log (rank 0 under MPI)."""
    return bool(getattr(evaluator, "is_main", True))
