"""Picklable objectives for the evaluator tests (pool workers import this module).

The tests put this directory on ``sys.path``; worker processes started with the
spawn method inherit it, so they can unpickle these by reference.
"""

from __future__ import annotations

import os
import signal

import numpy as np

from evostrat.functions import sphere


class FailOn:
    """Sphere, but raise ZeroDivisionError on the one point equal to ``row``."""

    def __init__(self, row: np.ndarray) -> None:
        self.row = np.array(row, dtype=np.float64)

    def __call__(self, x: np.ndarray) -> float:
        if np.array_equal(x, self.row):
            raise ZeroDivisionError(f"planted failure at x[0]={x[0]!r}")
        return float(np.sum(x * x))


class NotReal:
    """Return a string instead of a number for the point equal to ``row``."""

    def __init__(self, row: np.ndarray) -> None:
        self.row = np.array(row, dtype=np.float64)

    def __call__(self, x: np.ndarray):
        return "oops" if np.array_equal(x, self.row) else float(np.sum(x * x))


class KillOnce:
    """Sphere; the first call anywhere SIGKILLs its own process (marker file)."""

    def __init__(self, marker: str) -> None:
        self.marker = str(marker)

    def __call__(self, x: np.ndarray) -> float:
        try:  # atomic: exactly one process, of all workers, wins the marker
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return sphere(x)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
        return sphere(x)  # pragma: no cover


def always_die(x: np.ndarray) -> float:
    """Kill the calling process, every time."""
    os.kill(os.getpid(), signal.SIGKILL)
    return 0.0  # pragma: no cover


class Heavy:
    """Sphere carrying a large payload, to see how often the objective is shipped."""

    def __init__(self, nbytes: int) -> None:
        self.payload = np.zeros(nbytes // 8)

    def __call__(self, x: np.ndarray) -> float:
        return float(np.sum(x * x))


class WithAux:
    """Sphere scaled by a context, with two side results per individual.

    ``collect`` accumulates the side results and derives the next generation's
    scale from them (as RL's observation normalization does), so a copy of ``f``
    that missed a context would return other fitness values.
    """

    aux_size = 2

    def __init__(self) -> None:
        self.scale = 1.0
        self.count = 0
        self.total = np.zeros(2)
        self.seen: list[tuple[int, bytes]] = []

    def get_context(self) -> dict:
        return {"scale": self.scale}

    def set_context(self, context: dict) -> None:
        self.scale = context["scale"]

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        value = float(np.sum((x - self.scale) ** 2))
        return value, np.array([x[0], x[0] * x[0]])

    def collect(self, generation: int, aux: np.ndarray) -> None:
        self.seen.append((generation, aux.tobytes()))
        self.count += len(aux)
        self.total += aux.sum(axis=0)
        self.scale = 1.0 + self.total[1] / self.count


class WithAuxVectorized(WithAux):
    """``WithAux`` taking a block of rows."""

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        values = np.sum((X - self.scale) ** 2, axis=1)
        return values, np.stack([X[:, 0], X[:, 0] ** 2], axis=1)


class BadAux(WithAux):
    """Returns an aux of the wrong length."""

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(np.sum(x * x)), np.zeros(3)


class SleepOn:
    """Sphere; sleep ``seconds`` on the point equal to ``row`` (a hang)."""

    def __init__(self, row: np.ndarray, seconds: float = 600.0) -> None:
        self.row = np.array(row, dtype=np.float64)
        self.seconds = seconds

    def __call__(self, x: np.ndarray) -> float:
        if np.array_equal(x, self.row):
            import time

            time.sleep(self.seconds)
        return float(np.sum(x * x))


class KillOn:
    """Sphere; SIGKILL the calling process on the point equal to ``row``."""

    def __init__(self, row: np.ndarray) -> None:
        self.row = np.array(row, dtype=np.float64)

    def __call__(self, x: np.ndarray) -> float:
        if np.array_equal(x, self.row):
            os.kill(os.getpid(), signal.SIGKILL)
        return float(np.sum(x * x))


def aux_outcome(res, f: WithAux) -> tuple:
    """What must be identical whatever the evaluator: result, aux seen, statistics."""
    return (
        res.xbest.tobytes(),
        res.xmean.tobytes(),
        res.fbest,
        res.generations,
        tuple(f.seen),
        f.count,
        f.total.tobytes(),
        f.scale,
    )


class Recording:
    """An evaluator wrapper that keeps every generation's fitness vector (bytes).

    ``history()`` is what the tests compare across evaluators: the fitness of every
    individual of every generation, in index order.
    """

    def __init__(self, evaluator) -> None:
        self.evaluator = evaluator
        self.stats = evaluator.stats
        self.is_main = getattr(evaluator, "is_main", True)
        self.seen: list[bytes] = []

    def evaluate(self, strategy, f, vectorized: bool = False):
        fitness = self.evaluator.evaluate(strategy, f, vectorized)
        self.seen.append(np.asarray(fitness, dtype=np.float64).tobytes())
        return fitness

    def history(self) -> tuple[bytes, ...]:
        out, self.seen = tuple(self.seen), []
        return out
