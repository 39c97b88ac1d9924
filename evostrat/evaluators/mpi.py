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

import numbers
import pickle
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators.base import chunks, evaluate_rows, new_stats
from evostrat.result import EvaluationError

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

    Notes
    -----
    ``stats["bytes_sent"]`` is the number of bytes this rank contributes to the
    communicator: per generation its send buffer for the ``Allgatherv``,
    ``8 * (own block + 1)`` bytes (the fitness of its individuals and one status
    word: a fingerprint of seed, generation and popsize, negated when ``f``
    failed on this rank), independent of ``dim``; and, only when ``f`` failed, the pickled error
    text broadcast by the failing rank. ``stats["evaluations"]`` counts the whole
    population (as a serial run would); ``stats["local_evaluations"]`` this rank's
    share.

    An exception in ``f`` on any rank makes ``evaluate`` raise the same
    :class:`~evostrat.EvaluationError` (generation, index, the failing rank's
    traceback text) on every rank; the strategy is untouched. A rank that dies or
    hangs cannot be recovered: ``mpiexec`` ends the job.
    """

    def __init__(self, comm: Any = None, *, abort_on_error: bool = True) -> None:
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

    def _evaluate_own(
        self, strategy: Any, f: Callable, indices: np.ndarray, vectorized: bool
    ) -> tuple[np.ndarray, tuple | None]:
        """This rank's fitness block, and ``(kind, index, text)`` if something failed."""
        out = np.full(len(indices) + 1, np.nan)
        out[-1] = fingerprint(strategy)  # status word, negated below on failure
        generation = strategy.generation
        pos = 0
        try:
            for idx in chunks(indices, strategy.dim):
                X = strategy.ask(idx)
                values = evaluate_rows(f, X, idx, generation, vectorized)
                for k, value in enumerate(values):
                    if isinstance(value, bool) or not isinstance(value, numbers.Real):
                        raise ValueError(
                            f"fitness value at index {idx[k]} is not a real number: "
                            f"{value!r}"
                        )
                out[pos : pos + len(values)] = values
                pos += len(values)
        except EvaluationError as err:
            out[-1] = -out[-1]
            return out, ("eval", err.index, err.cause)
        except Exception as err:
            out[-1] = -out[-1]
            first = int(indices[min(pos, len(indices) - 1)])
            return out, (type(err).__name__, first, str(err) or traceback.format_exc())
        return out, None

    def evaluate(
        self, strategy: Any, f: Callable, vectorized: bool = False
    ) -> np.ndarray:
        """The full fitness vector of this generation, on every rank.

        Collective: every rank of the communicator must call it in the same
        generation with an identical strategy.

        Raises
        ------
        EvaluationError
            ``f`` raised on some rank (on every rank; the lowest failing index).
        ValueError
            ``f`` returned something that is not a real number, or a vectorized
            ``f`` returned a wrong shape (on every rank).
        RuntimeError
            The ranks hold different strategies (seed, generation or popsize
            differ), e.g. because ``seed=None`` drew a different seed on each rank.
        """
        t0 = time.perf_counter()
        MPI = self._MPI
        popsize = strategy.popsize
        counts, starts = split_population(popsize, self.size)
        r = self.rank
        own = np.arange(starts[r], starts[r] + counts[r], dtype=np.int64)
        send, failure = self._evaluate_own(strategy, f, own, vectorized)
        recv = np.empty(popsize + self.size, dtype=np.float64)
        block_counts = counts + 1
        block_starts = starts + np.arange(self.size)
        self.comm.Allgatherv(
            [send, MPI.DOUBLE], [recv, (block_counts, block_starts), MPI.DOUBLE]
        )
        sent = send.nbytes
        status = recv[block_starts + counts]
        try:
            if np.any(np.abs(status) != abs(send[-1])):
                raise RuntimeError(
                    f"rank {r}: the ranks hold different strategies (fingerprints of "
                    f"seed, generation and popsize: {np.abs(status).tolist()}); "
                    "every rank must build the strategy with the same arguments and "
                    "an explicit seed (seed=None draws a different one on each rank)"
                )
            if np.any(status < 0.0):
                root = int(np.flatnonzero(status < 0.0)[0])
                payload = None
                if r == root:
                    payload = failure
                    sent += len(pickle.dumps(failure, pickle.HIGHEST_PROTOCOL))
                kind, index, text = self.comm.bcast(payload, root=root)
                if kind == "eval":
                    raise EvaluationError(strategy.generation, index, text)
                if kind == "ValueError":
                    raise ValueError(text)
                raise EvaluationError(strategy.generation, index, f"{kind}: {text}")
        finally:
            self.stats["bytes_sent"] += sent
            self.stats["seconds"] += time.perf_counter() - t0
        fitness = np.delete(recv, block_starts + counts)
        self.stats["generations"] += 1
        self.stats["evaluations"] += popsize
        self.stats["local_evaluations"] += len(own)
        return fitness
