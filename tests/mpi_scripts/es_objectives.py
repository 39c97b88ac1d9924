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
