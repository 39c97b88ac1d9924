"""Waiting on MPI without taking a core, and giving up with a clear message.

MPICH (and Open MPI) busy-poll inside blocking calls: a rank waiting in
``Allgatherv`` for a slow rank spins at 100 % CPU. Oversubscribed (more ranks than
cores, as on a shared node) that spinning steals the CPU the working ranks need.
Every wait here is a non-blocking request tested between short sleeps that grow
from ``FIRST_SLEEP`` to ``MAX_SLEEP``: a waiting rank wakes at most ~1000 times a
second and costs almost no CPU, at the price of <= ``MAX_SLEEP`` of latency.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

#: First and longest sleep between two tests of a request (seconds). 1 ms bounds
#: the latency a wait adds to a generation (the 5 ms overhead budget of issue 11
#: at 32 ranks) while 32 waiting ranks wake only ~32 000 times a second in total.
FIRST_SLEEP = 5e-5
MAX_SLEEP = 1e-3


class Stalled(RuntimeError):
    """A wait ran past its deadline, or another rank left the job."""


def wait(
    request: Any,
    deadline: float = math.inf,
    check: Callable[[], None] | None = None,
) -> None:
    """Wait for ``request`` politely; raise :class:`Stalled` after ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value; ``check()`` runs at every wake-up
    and may raise (e.g. when another rank announced it left).
    """
    sleep = FIRST_SLEEP
    while not request.Test():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise Stalled("deadline passed")
        time.sleep(sleep)
        sleep = min(2.0 * sleep, MAX_SLEEP)


def abort(comm: Any, message: str) -> None:  # pragma: no cover - ends the job
    """Print ``message`` to stderr and end every rank of the job."""
    rank = comm.Get_rank()
    print(f"evostrat MPIEvaluator, rank {rank}: {message}", file=sys.stderr, flush=True)
    comm.Abort(1)
