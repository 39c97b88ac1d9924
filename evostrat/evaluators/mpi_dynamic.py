"""The dynamic MPI schedule: chunks of indices handed out as ranks become free.

Rank 0 cuts the population into chunks of ``chunk_size`` consecutive indices and
sends each worker rank ``DEPTH`` chunk bounds ahead (so a worker never waits for
its next chunk while rank 0 is busy); each time a worker returns a chunk's
results it gets the next bounds, or a stop mark when none is left. Rank 0
evaluates chunks itself and answers the workers between two of its individuals.
Messages carry two indices (rank 0 to worker: 24 bytes) or the chunk's fitness
and side results (worker to rank 0: ``8 * (1 + m * (1 + k))`` bytes), never rows:
every rank rebuilds the individuals it is handed with ``strategy.ask(indices)``.
Rank 0 puts the results back by index and sends the full vector down the tree
of :func:`~evostrat.evaluators.mpi_common.spread`, so the outcome cannot depend
on who evaluated what: it is bit-identical to a serial run.
This is the self-scheduling of loop iterations ("chunk self-scheduling",
Kruskal & Weiss, IEEE TSE 11(10), 1985) applied to an ES population.
"""

from __future__ import annotations

import contextlib
import math
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

import evostrat.evaluators.mpi_common as mpi_common
from evostrat.evaluators.base import evaluate_share, mark_asked
from evostrat.evaluators.mpi_common import (
    TAG_ASSIGN,
    TAG_FAILURE,
    TAG_RESULT,
    abort,
    fingerprint,
    receive_share,
    spread,
)
from evostrat.evaluators.mpi_static import DESYNC, FAILED, OK, decode

#: Chunks a worker holds ahead: it starts its next chunk at once while its
#: result travels to rank 0, who may be in the middle of its own individual.
DEPTH = 2


def chunk_bounds(ev: Any, popsize: int) -> list[tuple[int, int]]:
    """The chunks ``(lo, hi)``, in hand-out order.

    ``ev.chunk_size`` individuals each when set. Otherwise guided
    self-scheduling (Polychronopoulos & Kuck, IEEE TC 36(12), 1987): each chunk
    takes ``ceil(R / (2 size))`` of the ``R`` individuals not yet handed out,
    so the chunks shrink from ``popsize / (2 size)`` to 1 -- large ones while
    there is work for everyone, single individuals at the end, where they
    balance the ranks -- in about ``2 size ln(popsize / (2 size)) + 2 size``
    messages instead of ``popsize``. The sequence depends on popsize and size
    only, so every rank could rebuild it; results go back by index anyway.
    """
    if ev.chunk_size:
        rows = ev.chunk_size
        return [(lo, min(lo + rows, popsize)) for lo in range(0, popsize, rows)]
    bounds, lo = [], 0
    while lo < popsize:
        hi = lo + math.ceil((popsize - lo) / (2 * ev.size))
        bounds.append((lo, hi))
        lo = hi
    return bounds


def evaluate(
    ev: Any, strategy: Any, f: Callable, vectorized: bool, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """This generation's fitness and aux on every rank (dynamic schedule)."""
    mark_asked(strategy)  # a rank may be handed no chunk this generation
    if ev.rank == 0:
        buf, failure = _Coordinator(ev, strategy, f, vectorized, k).run()
    else:
        buf, failure = _work(ev, strategy, f, vectorized, k), None
    return decode(ev, strategy, buf, failure, k)


def _spread(ev: Any, buf: np.ndarray, pending: list, generation: int, until: float):
    """Rank 0's ``[code, extra, fitness, aux]`` to every rank, waited politely."""
    what = lambda: ev.stalled_text(generation)  # noqa: E731
    ev.stats["bytes_sent"] += spread(ev.control, buf, pending, until, what)


def _work(ev: Any, strategy: Any, f: Callable, vectorized: bool, k: int) -> np.ndarray:
    """A worker rank: evaluate the chunks rank 0 hands out, until the stop mark."""
    comm, generation = ev.control.comm, strategy.generation
    until = ev.deadline(time.monotonic(), strategy.popsize)
    mine = fingerprint(strategy)
    buf = np.empty(2 + strategy.popsize * (1 + k))
    sends: list = receive_share(ev.control, buf)
    while True:
        note = np.empty(3, dtype=np.int64)
        request = comm.Irecv(note, source=0, tag=TAG_ASSIGN)
        ev.control.wait([request], until, lambda: ev.stalled_text(generation))
        lo, hi = int(note[1]), int(note[2])
        if lo < 0:
            break
        idx = np.arange(lo, hi, dtype=np.int64)
        values, aux, failure = evaluate_share(
            strategy, f, idx, vectorized, k, ev.timeout
        )
        out = np.concatenate(([-mine if failure else mine], values, aux.ravel()))
        sends.append(comm.Isend(out, dest=0, tag=TAG_RESULT))
        ev.stats["bytes_sent"] += out.nbytes
        ev.stats["local_evaluations"] += len(idx)
        if failure:
            data = pickle.dumps(failure, pickle.HIGHEST_PROTOCOL)
            sends.append(comm.Isend(data, dest=0, tag=TAG_FAILURE))
            ev.stats["bytes_sent"] += len(data)
    _spread(ev, buf, sends, generation, until)
    return buf


class _Coordinator:
    """Rank 0 of the dynamic schedule: hands out chunks, evaluates, gathers."""

    def __init__(
        self, ev: Any, strategy: Any, f: Callable, vectorized: bool, k: int
    ) -> None:
        self.ev, self.strategy, self.f, self.vectorized, self.k = (
            ev, strategy, f, vectorized, k,
        )  # fmt: skip
        self.comm = ev.control.comm
        n = strategy.popsize
        self.bounds = chunk_bounds(ev, n)
        self.queue = deque(range(len(self.bounds)))
        self.buf = np.full(2 + n * (1 + k), np.nan)
        self.buf[:2] = OK, 0.0
        self.fitness = self.buf[2 : 2 + n]
        self.aux = self.buf[2 + n :].reshape(n, k)
        self.failures: list = []
        self.mine = fingerprint(strategy)
        self.held: dict[int, deque] = {w: deque() for w in range(1, ev.size)}
        self.since = {w: time.monotonic() for w in self.held}
        self.stopped: set[int] = set()
        self.sends: list = []

    def _halted(self) -> bool:
        return bool(self.failures) or self.buf[0] == DESYNC

    def assign(self, w: int) -> None:
        """Send worker ``w`` the next chunk's bounds, or (once) the stop mark."""
        if self.queue and not self._halted():
            c = self.queue.popleft()
            self.held[w].append(c)
            lo, hi = self.bounds[c]
        elif w in self.stopped:
            return
        else:
            lo = hi = -1
            self.stopped.add(w)
        note = np.array([self.strategy.generation, lo, hi], dtype=np.int64)
        self.sends.append(self.comm.Isend(note, dest=w, tag=TAG_ASSIGN))
        self.ev.stats["bytes_sent"] += note.nbytes

    def serve(self) -> int:
        """Take every result that has arrived, hand out the next chunks; count."""
        MPI = self.ev._MPI
        status = MPI.Status()
        count = 0
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_RESULT, status=status):
            count += 1
            w = status.Get_source()
            msg = np.empty(status.Get_count(MPI.DOUBLE))
            self.comm.Recv(msg, source=w, tag=TAG_RESULT)
            lo, hi = self.bounds[self.held[w].popleft()]
            self.since[w] = time.monotonic()
            if abs(msg[0]) != self.mine:
                self.buf[:2] = DESYNC, abs(msg[0])
            if msg[0] < 0.0:
                self.failures.append(self.comm.recv(source=w, tag=TAG_FAILURE))
            m = hi - lo
            self.fitness[lo:hi] = msg[1 : 1 + m]
            self.aux[lo:hi] = msg[1 + m :].reshape(m, self.k)
            self.assign(w)
        return count

    def _evaluate_own(self, lock: Any) -> None:
        """Evaluate chunks here while any is left.

        With a serving thread, ``lock`` guards the shared bookkeeping; without
        one (``lock`` is None) this thread serves the workers between two of
        its own individuals.
        """
        between = None if lock is not None else self.serve
        guard = lock if lock is not None else contextlib.nullcontext()
        while True:
            with guard:
                if not self.queue or self._halted():
                    return
                lo, hi = self.bounds[self.queue.popleft()]
            idx = np.arange(lo, hi, dtype=np.int64)
            values, aux, failure = evaluate_share(
                self.strategy, self.f, idx, self.vectorized, self.k,
                self.ev.timeout, between=between,
            )  # fmt: skip
            with guard:
                self.fitness[lo:hi], self.aux[lo:hi] = values, aux
                self.ev.stats["local_evaluations"] += hi - lo
                if failure:
                    self.failures.append(failure)
                if between is not None:
                    self.serve()

    def _overdue(self) -> int | None:
        """A worker whose chunk should have ended ``GRACE`` s ago, if any."""
        if self.ev.timeout is None:
            return None
        now = time.monotonic()
        for w, held in self.held.items():
            if held:
                lo, hi = self.bounds[held[0]]
                if now > self.ev.deadline(self.since[w], hi - lo):
                    return w
        return None

    def _serve_until_done(self, lock: Any, own_done: threading.Event) -> None:
        """Serve the workers until every chunk is back (a thread, or this one)."""
        generation = self.strategy.generation
        sleep, first = mpi_common.FIRST_SLEEP, mpi_common.FIRST_SLEEP
        longest = mpi_common.longest_sleep(0)
        while True:
            with lock:
                busy = self.serve()
                if own_done.is_set():
                    for w in self.held:
                        if not self.held[w]:
                            self.assign(w)  # the stop mark, if not sent yet
                    if not any(self.held.values()):
                        return
                late = self._overdue()
            self.ev.control.check()
            if late is not None:  # pragma: no cover - ends the job
                abort(self.comm, self.ev.stalled_text(generation) + f" (rank {late})")
            sleep = first if busy else min(2.0 * sleep, longest)
            time.sleep(sleep)

    def _threaded(self) -> bool:
        """Whether a second thread may make MPI calls (MPI_THREAD_SERIALIZED+)."""
        MPI = self.ev._MPI
        return self.ev.size > 1 and MPI.Query_thread() >= MPI.THREAD_SERIALIZED

    def run(self) -> tuple[np.ndarray, Any]:
        """Evaluate the generation; return the broadcast buffer and the failure.

        Rank 0 serves the workers from a second thread while this one evaluates
        (the thread sleeps between polls; Python's GIL lets it run within ~5 ms
        even while ``f`` runs Python code), so a worker never waits for rank 0's
        own individual to end; without thread support it serves between two of
        its individuals instead.
        """
        for w in self.held:
            for _ in range(DEPTH):
                self.assign(w)
        own_done = threading.Event()
        if self._threaded():
            lock = threading.Lock()
            errors: list[BaseException] = []

            def serve() -> None:
                try:
                    self._serve_until_done(lock, own_done)
                except BaseException as err:  # re-raised in the main thread
                    errors.append(err)

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            try:
                self._evaluate_own(lock)
            finally:
                own_done.set()
                thread.join()
            if errors:
                raise errors[0]
        else:
            self._evaluate_own(None)
            own_done.set()
            self._serve_until_done(contextlib.nullcontext(), own_done)
        generation = self.strategy.generation
        until = self.ev.deadline(time.monotonic(), 1)
        failure = None
        if self.failures and self.buf[0] == OK:
            self.buf[:2] = FAILED, 0.0  # rank 0 holds the failure
            failure = min(self.failures, key=lambda e: e[1])
        _spread(self.ev, self.buf, self.sends, generation, until)
        return self.buf, failure
