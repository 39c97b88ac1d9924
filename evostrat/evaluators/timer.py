"""An in-process timeout: turn a hang of ``f`` in this process into an exception.

Used by the evaluators that run ``f`` in the calling process (serial, each MPI
rank). :class:`Alarm` is the ``on_row`` hook of ``evaluate_rows``: before each
individual (vectorized: each block) it re-arms ``SIGALRM`` (``signal.setitimer``)
for ``timeout`` seconds; the handler raises :class:`Timeout`, a ``BaseException``
so that an objective's own ``except Exception`` cannot swallow it. Python runs the
handler between bytecodes, so a hang inside C code that never returns to Python is
not interrupted: the pool (which kills the worker) and MPI (whose waiting ranks
end the job) cover that case.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


class Timeout(BaseException):
    """One individual's evaluation ran past its ``timeout``."""


def _raise_timeout(signum: int, frame: Any) -> None:
    raise Timeout


class Alarm:
    """``with Alarm(timeout) as on_row:`` -- ``on_row(i)`` before individual ``i``.

    Remembers the index being evaluated (``index``) and, when ``timeout`` is not
    None, gives each individual ``timeout`` seconds.
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.index = 0
        self._previous: Any = None

    def __enter__(self) -> Alarm:
        if self.timeout is not None:
            if threading.current_thread() is not threading.main_thread():
                raise RuntimeError(
                    "an evaluator's timeout works only in the main thread "
                    "(it uses SIGALRM)"
                )
            self._previous = signal.signal(signal.SIGALRM, _raise_timeout)
        return self

    def __call__(self, index: int) -> None:
        self.index = index
        if self.timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, self.timeout)

    def pause(self) -> None:
        """Disarm the alarm until the next ``on_row`` call."""
        if self.timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, 0.0)

    def __exit__(self, *exc: Any) -> None:
        if self.timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
            signal.signal(signal.SIGALRM, self._previous)

    def failure(self) -> tuple[str, int, str]:
        """The failure a :class:`Timeout` caught in the block stands for."""
        return ("timeout", self.index, timeout_text(self.timeout or 0.0, self.index))


def timeout_text(timeout: float, index: int) -> str:
    """The message of the EvaluationError a timeout becomes."""
    return (
        f"timeout: evaluating individual {index} took longer than timeout={timeout:g} s;"
        " the objective hangs or is slower than the timeout allows"
    )
