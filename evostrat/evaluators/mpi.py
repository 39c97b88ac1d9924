"""Evaluation across the ranks of an MPI job, by seed reconstruction.

Every rank runs the same script and holds the same strategy (same seed, same
state). Each generation rank ``r`` rebuilds only its own contiguous block of the
population with ``strategy.ask(own_indices)`` -- every individual is a pure function
of (seed, generation, index, state) -- evaluates it, and the ranks exchange the
fitness scalars with one ``Allgatherv`` of float64. Every rank then holds the full
fitness vector and calls ``tell`` in lockstep, so every rank keeps the same state.
This is the communication scheme of Salimans et al., "Evolution Strategies as a
Scalable Alternative to Reinforcement Learning" (arXiv:1703.03864, 2017, section
2.1 and Algorithm 2): nothing of size ``dim`` crosses the network after start-up.
"""

from __future__ import annotations

import math
import pickle
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators import mpi_wait
from evostrat.evaluators.base import (
    Failure,
    aux_size,
    check_real,
    check_timeout,
    chunks,
    collect,
    evaluate_rows,
    failure_of,
    new_stats,
    raise_failure,
)
from evostrat.evaluators.timer import Alarm, Timeout

_hook_installed = False


def split_population(popsize: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous blocks of ``popsize`` individuals over ``size`` ranks.

    Returns
    -------
    counts, starts : ndarray of int64, shape (size,)
        Rank ``r`` evaluates individuals ``starts[r] .. starts[r] + counts[r] - 1``;
        the first ``popsize % size`` ranks get one more than the others.
    """
    counts = np.full(size, popsize // size, dtype=np.int64)
    counts[: popsize % size] += 1
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return counts, starts


def fingerprint(strategy: Any) -> float:
    """A positive float64 (exact integer) identifying seed, generation and popsize.

    Exchanged as each rank's status word, it lets every rank check that all ranks
    evaluate the same generation of the same strategy, at no extra bytes.
    """
    words = (getattr(strategy, "seed", 0), strategy.generation, strategy.popsize)
    return float(zlib.crc32(repr(words).encode()) + 1)


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


#: Seconds the ranks wait past ``timeout`` x (largest share) for a rank whose own
#: alarm should have fired before they end the job (its objective hangs where
#: SIGALRM cannot interrupt it, e.g. inside C code).
GRACE = 2.0


class MPIEvaluator:
    """Evaluate across the ranks of an MPI job (``mpiexec -n K python script.py``).

    Every rank constructs the same strategy (same seed and arguments) and calls
    ``opt.optimize(f, evaluator=MPIEvaluator())``. Each generation every rank
    evaluates its own contiguous block of individuals (uneven splits are fine), the
    ranks exchange one float64 per individual, and every rank gets the full fitness
    vector, identical to a serial run's.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator; ``MPI.COMM_WORLD`` when None.
    abort_on_error : bool
        Install a ``sys.excepthook`` that calls ``comm.Abort(1)`` on an uncaught
        exception, so a failing rank ends the job instead of leaving the others
        waiting in a collective (default True).
    timeout : float, optional
        Seconds one individual's evaluation (vectorized: one block's) may take.
        A rank whose individual runs past it interrupts ``f`` (``SIGALRM``) and
        every rank raises the same :class:`~evostrat.EvaluationError`; if a rank
        cannot be interrupted, the others end the job ``GRACE`` seconds after its
        share should have ended, with a message saying so.
        None (default): no limit.

    Notes
    -----
    ``stats["bytes_sent"]`` is the number of bytes this rank contributes to the
    communicator: per generation its send buffer for the ``Allgatherv``,
    ``8 * (own block * (1 + k) + 1)`` bytes (the fitness of its individuals, their
    ``k = f.aux_size`` side results, and one status word: a fingerprint of seed,
    generation and popsize, negated when ``f`` failed on this rank), independent
    of ``dim``; and, only when ``f`` failed, the pickled error text broadcast by the
    failing rank. ``stats["evaluations"]`` counts the whole population (as a serial
    run would); ``stats["local_evaluations"]`` this rank's share.

    Every rank holds its own objective; ``f.collect(generation, aux)`` runs on
    every rank with the identical all-gathered matrix, so nothing of the
    objective's context needs shipping. Waiting ranks sleep between tests of a
    non-blocking collective (:mod:`evostrat.evaluators.mpi_wait`), so they do not
    take a core from the working ranks.

    An exception in ``f`` on any rank makes ``evaluate`` raise the same
    :class:`~evostrat.EvaluationError` (generation, index, the failing rank's
    traceback text) on every rank; the strategy is untouched. A rank that dies
    cannot be recovered: ``mpiexec`` ends the job.
    """

    def __init__(
        self,
        comm: Any = None,
        *,
        abort_on_error: bool = True,
        timeout: float | None = None,
    ) -> None:
        try:
            from mpi4py import MPI
        except ImportError as err:
            raise ImportError(
                "MPIEvaluator needs mpi4py: pip install 'evostrat[mpi]' "
                "(or pip install mpi4py mpich)"
            ) from err
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        if not isinstance(self.comm, MPI.Comm):
            raise TypeError(f"comm must be an mpi4py communicator, got {comm!r}")
        self.timeout = check_timeout(timeout)
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.is_main = self.rank == 0
        self.stats = new_stats()
        self.stats["local_evaluations"] = 0
        if abort_on_error:
            install_abort_hook(self.comm)

    def __repr__(self) -> str:
        return f"MPIEvaluator(rank={self.rank}, size={self.size})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("an MPIEvaluator holds a communicator and cannot be pickled")

    # ---------------------------------------------------------------- helpers
    def _deadline(self, t0: float, rows: int) -> float:
        """When ranks waiting for shares of ``rows`` rows give up (monotonic)."""
        return math.inf if self.timeout is None else t0 + rows * self.timeout + GRACE

    def _evaluate_own(
        self,
        strategy: Any,
        f: Callable,
        indices: np.ndarray,
        vectorized: bool,
        k: int,
    ) -> tuple[np.ndarray, np.ndarray, Failure | None]:
        """Fitness and aux of ``indices``, and the failure if something failed."""
        fitness = np.full(len(indices), np.nan)
        aux = np.full((len(indices), k), np.nan)
        generation = strategy.generation
        alarm, pos = Alarm(self.timeout), 0
        try:
            with alarm:
                for idx in chunks(indices, strategy.dim):
                    X = strategy.ask(idx)
                    values, block = evaluate_rows(
                        f, X, idx, generation, vectorized, k, alarm
                    )
                    check_real(values, idx)
                    fitness[pos : pos + len(values)] = values
                    aux[pos : pos + len(values)] = block
                    pos += len(values)
        except Timeout:
            return fitness, aux, alarm.failure()
        except Exception as err:
            return fitness, aux, failure_of(err, alarm.index)
        return fitness, aux, None

    def _share_failure(self, generation: int, status: np.ndarray, failure: Any) -> None:
        """Raise on every rank the failure of the first failing rank."""
        root = int(np.flatnonzero(status < 0.0)[0])
        if self.rank == root:
            self.stats["bytes_sent"] += len(
                pickle.dumps(failure, pickle.HIGHEST_PROTOCOL)
            )
        raise_failure(generation, self.comm.bcast(failure, root=root))

    def _check_same(self, status: np.ndarray, mine: float) -> None:
        if np.any(np.abs(status) != abs(mine)):
            raise RuntimeError(
                f"rank {self.rank}: the ranks hold different strategies (fingerprints "
                f"of seed, generation and popsize: {np.abs(status).tolist()}); every "
                "rank must build the strategy with the same arguments and an explicit "
                "seed (seed=None draws a different one on each rank)"
            )

    # ------------------------------------------------------------- evaluation
    def evaluate(
        self, strategy: Any, f: Callable, vectorized: bool = False
    ) -> np.ndarray:
        """The full fitness vector of this generation, on every rank.

        Collective: every rank of the communicator must call it in the same
        generation with an identical strategy.

        Raises
        ------
        EvaluationError
            ``f`` raised on some rank (on every rank; the lowest failing index), or
            an individual ran past ``timeout``.
        ValueError
            ``f`` returned something that is not a real number, or a vectorized
            ``f`` returned a wrong shape (on every rank).
        RuntimeError
            The ranks hold different strategies (seed, generation or popsize
            differ), e.g. because ``seed=None`` drew a different seed on each rank.
        """
        t0 = time.perf_counter()
        k = aux_size(f)
        try:
            fitness, aux = self._static(strategy, f, vectorized, k)
        finally:
            self.stats["seconds"] += time.perf_counter() - t0
        collect(f, strategy.generation, aux)
        self.stats["generations"] += 1
        self.stats["evaluations"] += strategy.popsize
        return fitness

    def _static(
        self, strategy: Any, f: Callable, vectorized: bool, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate this rank's contiguous block; all-gather fitness, aux, status."""
        start = time.monotonic()
        counts, starts = split_population(strategy.popsize, self.size)
        r, width = self.rank, 1 + k
        own = np.arange(starts[r], starts[r] + counts[r], dtype=np.int64)
        values, aux, failure = self._evaluate_own(strategy, f, own, vectorized, k)
        mine = fingerprint(strategy) * (-1.0 if failure else 1.0)
        send = np.concatenate((values, aux.ravel(), [mine]))
        block_counts = counts * width + 1
        block_starts = np.concatenate(([0], np.cumsum(block_counts)[:-1]))
        recv = np.empty(int(block_counts.sum()))
        MPI = self._MPI
        request = self.comm.Iallgatherv(
            [send, MPI.DOUBLE], [recv, (block_counts, block_starts), MPI.DOUBLE]
        )
        until = self._deadline(start, int(counts.max()))
        self._wait(request, until, strategy.generation)
        self.stats["bytes_sent"] += send.nbytes
        self.stats["local_evaluations"] += len(own)
        status = recv[block_starts + block_counts - 1]
        self._check_same(status, mine)
        if np.any(status < 0.0):
            self._share_failure(strategy.generation, status, failure)
        fitness = np.empty(strategy.popsize)
        gathered = np.empty((strategy.popsize, k))
        for q in range(self.size):
            block = recv[block_starts[q] : block_starts[q] + counts[q] * width]
            fitness[starts[q] : starts[q] + counts[q]] = block[: counts[q]]
            gathered[starts[q] : starts[q] + counts[q]] = block[counts[q] :].reshape(
                counts[q], k
            )
        return fitness, gathered

    def _wait(self, request: Any, until: float, generation: int) -> None:
        """Wait for ``request`` without spinning; end the job past ``until``."""
        try:
            mpi_wait.wait(request, until)
        except mpi_wait.Stalled:  # pragma: no cover - ends the job
            mpi_wait.abort(
                self.comm,
                f"generation {generation}: another rank has not finished its share "
                f"{GRACE:g} s after its individuals' timeout={self.timeout:g} s ran "
                "out; its objective hangs where it cannot be interrupted. Ending "
                "the job.",
            )
