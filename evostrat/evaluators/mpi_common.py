"""What the static and dynamic MPI schedules share: waiting without taking a
core, noticing a rank that left, spreading rank 0's result, ending the job
clearly.

MPICH (and Open MPI) busy-poll inside blocking calls: a rank waiting in a
collective for a slow rank spins at 100 % CPU. Oversubscribed (more ranks than
cores, as on a shared node) that spinning steals the CPU the working ranks need.
Every wait here is a non-blocking request tested between short sleeps that grow
from ``FIRST_SLEEP`` to ``MAX_SLEEP``: a waiting rank wakes at most ~1000 times a
second and costs almost no CPU, at the price of <= ``MAX_SLEEP`` of latency.

That latency is paid once per *hop*: a collective whose algorithm takes log2(W)
rounds (recursive doubling, a binomial tree) pays it in every round, because each
round progresses only when the sleeping rank wakes and tests. So both schedules
exchange results in two hops: every rank sends its results to rank 0
point-to-point, and rank 0 sends the assembled vector down a tree of fan-out
``FANOUT`` built from point-to-point messages (:func:`spread`): one hop up to
``FANOUT + 1`` ranks, two up to ``FANOUT**2 + FANOUT + 1``.

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

#: First and longest sleep between two tests of a request (seconds). A sleep
#: costs a waking rank ~12-17 us of CPU (measured with 32 ranks on this 2-core
#: machine), so a rank waiting with 1 ms sleeps takes ~1.5 % of a core.
FIRST_SLEEP = 5e-5
MAX_SLEEP = 1e-3
#: Longest sleep of rank 0, which every generation waits for twice (the last
#: result in, then the result vector out). With 32 ranks on this machine at
#: load average ~30, a probe timing 30 generations gave ~12 ms per generation
#: with rank 0's sleeps capped at 0.2 ms against ~24 ms at 1 ms (2 December
#: 2026); ``benchmarks/scale_out.py --mpi-wait-study`` at load ~20 an hour later
#: found no difference (44-46 ms, the ranks starved by other jobs). It costs
#: rank 0 ~6 % of a core while it waits.
ROOT_MAX_SLEEP = 2e-4

#: Message tags on the evaluator's private communicator.
TAG_LEFT, TAG_ASSIGN, TAG_RESULT, TAG_FAILURE, TAG_SHARE = 70, 71, 72, 73, 74
TAG_VOTE, TAG_VERDICT = 75, 76  # agree(): up to rank 0, and back down

#: Children per rank of the tree that carries rank 0's result to every rank.
#: Measured at 32 ranks on 2 cores (benchmarks/scale_out.py, docs/parallel.md):
#: a hop costs a waiting rank's wake-up, up to ``MAX_SLEEP``, so few hops beat
#: a small fan-out; rank 0 sends at most 32 copies of the ``8 * popsize``-byte
#: vector (one generation at popsize 32 000 and 1 000 ranks: 8 MB, 2 hops).
FANOUT = 32

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
        self.calls = 0  # collective calls so far: equal on ranks in lockstep
        self.doing = ""  # what the current call waits for, for the messages
        self.notes: list[np.ndarray] = []  # [rank, calls, generation] of leavers
        self._left = False
        atexit.register(self.leave)

    def begin(self, generation: int | None) -> None:
        """A collective call (the same on every rank in lockstep) begins: an
        ``evaluate`` of ``generation``, or (None) an ``agree``."""
        self.calls += 1
        if generation is None:
            self.doing = f"in agree() after generation {self.generation}"
        else:
            self.generation = generation
            self.doing = f"to evaluate generation {generation}"

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
                    f"while this rank waits {self.doing}: the ranks disagree on when to stop (a "
                    "callback or stop criterion that fired on some ranks only, or "
                    "ranks holding different strategies). Make the stop decision "
                    "the same on every rank. Ending the job.",
                )

    def wait(self, requests: list, deadline: float, what: Callable[[], str]) -> None:
        """Wait for every request of ``requests`` politely, checking for leaving
        ranks.

        Past ``deadline`` (a ``time.monotonic()`` value) the job ends with
        ``what()`` as its message.
        """
        if not requests:
            return
        test = self.MPI.Request.Testall
        sleep, longest = FIRST_SLEEP, longest_sleep(self.rank)
        while not test(requests):
            self.check()
            if time.monotonic() > deadline:
                abort(self.comm, what())  # pragma: no cover - ends the job
            time.sleep(sleep)
            sleep = min(2.0 * sleep, longest)


def longest_sleep(rank: int) -> float:
    """The cap of a waiting rank's sleeps: ``ROOT_MAX_SLEEP`` on rank 0."""
    return ROOT_MAX_SLEEP if rank == 0 else MAX_SLEEP


def children(rank: int, size: int) -> range:
    """The ranks ``rank`` forwards rank 0's result to (a ``FANOUT``-ary tree)."""
    first = FANOUT * rank + 1
    return range(min(first, size), min(first + FANOUT, size))


def parent(rank: int) -> int:
    """The rank that forwards rank 0's result to ``rank`` (> 0)."""
    return (rank - 1) // FANOUT


def spread(
    control: Control,
    buf: np.ndarray,
    pending: list,
    deadline: float,
    what: Callable[[], str],
    tag: int = TAG_SHARE,
) -> int:
    """Rank 0's ``buf`` on every rank: wait for it (and ``pending``), pass it on.

    On a rank other than 0, ``pending`` must hold the receive of ``buf`` from
    :func:`parent` with ``tag``, posted by the caller (early: before
    evaluating, so that the message lands as soon as it is sent). Returns the
    bytes this rank sent.
    """
    control.wait(pending, deadline, what)
    sends = [
        control.comm.Isend(buf, dest=c, tag=tag)
        for c in children(control.rank, control.size)
    ]
    control.wait(sends, deadline, what)
    return buf.nbytes * len(sends)


def receive_share(control: Control, buf: np.ndarray, tag: int = TAG_SHARE) -> list:
    """Post the receive of rank 0's result into ``buf`` (none on rank 0)."""
    if control.rank == 0:
        return []
    return [control.comm.Irecv(buf, source=parent(control.rank), tag=tag)]
