"""What the static and dynamic MPI schedules share: waiting without taking a
core, noticing a rank that left, evaluating a share, ending the job clearly.

MPICH (and Open MPI) busy-poll inside blocking calls: a rank waiting in
``Allgatherv`` for a slow rank spins at 100 % CPU. Oversubscribed (more ranks than
cores, as on a shared node) that spinning steals the CPU the working ranks need.
Every wait here is a non-blocking request tested between short sleeps that grow
from ``FIRST_SLEEP`` to ``MAX_SLEEP``: a waiting rank wakes at most ~1000 times a
second and costs almost no CPU, at the price of <= ``MAX_SLEEP`` of latency.

A rank whose run stopped while the others go on (a callback that returned True on
that rank only, a rank a generation ahead whose ``stop()`` fired) would leave the
others waiting forever. So every rank, when its interpreter exits (or
:meth:`Control.leave` is called), sends a small notice on a private communicator:
to rank 0, or from rank 0 to every rank. A waiting rank tests for such a notice
at every wake-up and ends the job with a message naming the rank that left.
"""

from __future__ import annotations

import atexit
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

#: First and longest sleep between two tests of a request (seconds). 1 ms bounds
#: the latency a wait adds to a generation (the 5 ms overhead budget of issue 11
#: at 32 ranks) while 32 waiting ranks wake only ~32 000 times a second in total.
FIRST_SLEEP = 5e-5
MAX_SLEEP = 1e-3

#: Message tags on the evaluator's private communicator.
TAG_LEFT, TAG_ASSIGN, TAG_RESULT, TAG_FAILURE = 70, 71, 72, 73

_hook_installed = False


def fingerprint(strategy: Any) -> float:
    """A positive float64 (exact integer) identifying seed, generation and popsize.

    Exchanged as each rank's status word, it lets every rank check that all ranks
    evaluate the same generation of the same strategy, at no extra bytes.
    """
    words = (getattr(strategy, "seed", 0), strategy.generation, strategy.popsize)
    return float(zlib.crc32(repr(words).encode()) + 1)


def abort(comm: Any, message: str) -> None:  # pragma: no cover - ends the job
    """Print ``message`` to stderr and end every rank of the job."""
    rank = comm.Get_rank()
    print(f"evostrat MPIEvaluator, rank {rank}: {message}", file=sys.stderr, flush=True)
    comm.Abort(1)


def install_abort_hook(comm: Any) -> None:
    """Make an uncaught exception on any rank abort the whole job.

    Without it, the failing rank's interpreter would finalize MPI and exit while the
    other ranks wait in a collective forever. The hook prints the traceback, then
    calls ``comm.Abort(1)``, and ``mpiexec`` ends every rank with a non-zero exit.
    """
    global _hook_installed
    if _hook_installed:
        return
    previous = sys.excepthook

    def abort_on_uncaught(exc_type, exc, tb):  # pragma: no cover - ends the process
        try:
            previous(exc_type, exc, tb)
            sys.stderr.flush()
        finally:
            comm.Abort(1)

    sys.excepthook = abort_on_uncaught
    _hook_installed = True


class Control:
    """The private communicator of one evaluator, and the leaving notices on it."""

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.generation = -1  # generation of the current (or last) evaluate call
        self.calls = 0  # evaluate calls so far: equal on ranks in lockstep
        self.notes: list[np.ndarray] = []  # [rank, calls, generation] of leavers
        self._left = False
        atexit.register(self.leave)

    def begin(self, generation: int) -> None:
        """An ``evaluate`` call (the same on every rank in lockstep) begins."""
        self.calls += 1
        self.generation = generation

    def leave(self) -> None:
        """Tell the other ranks this rank evaluates no more (idempotent)."""
        if self._left or self.MPI.Is_finalized():
            return
        self._left = True
        note = np.array([self.rank, self.calls, self.generation], dtype=np.int64)
        targets = range(1, self.size) if self.rank == 0 else [0]
        for q in targets:
            self.comm.Send(note, dest=q, tag=TAG_LEFT)  # 24 bytes: sent eagerly

    def check(self) -> None:
        """End the job if a rank left before taking part in the current call.

        A rank that took part in this call may finish it (and exit) before this
        rank sees the call complete: its notice is kept, and acted on only if
        this rank then waits in a later call.
        """
        MPI = self.MPI
        while self.size > 1 and self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_LEFT):
            note = np.empty(3, dtype=np.int64)
            self.comm.Recv(note, source=MPI.ANY_SOURCE, tag=TAG_LEFT)
            self.notes.append(note)
        for rank, calls, generation in self.notes:
            if calls < self.calls:
                abort(  # pragma: no cover - ends the job
                    self.comm,
                    f"rank {rank} stopped after evaluating generation {generation} "
                    f"while this rank waits to evaluate generation "
                    f"{self.generation}: the ranks disagree on when to stop (a "
                    "callback or stop criterion that fired on some ranks only, or "
                    "ranks holding different strategies). Make the stop decision "
                    "the same on every rank. Ending the job.",
                )

    def wait(self, request: Any, deadline: float, what: Callable[[], str]) -> None:
        """Wait for ``request`` politely, checking for leaving ranks.

        Past ``deadline`` (a ``time.monotonic()`` value) the job ends with
        ``what()`` as its message.
        """
        sleep = FIRST_SLEEP
        while not request.Test():
            self.check()
            if time.monotonic() > deadline:
                abort(self.comm, what())  # pragma: no cover - ends the job
            time.sleep(sleep)
            sleep = min(2.0 * sleep, MAX_SLEEP)
