"""Evaluation across the ranks of an MPI job, by seed reconstruction.

Every rank runs the same script and holds the same strategy (same seed, same
state). Each generation a rank rebuilds only the individuals it evaluates with
``strategy.ask(indices)`` -- every individual is a pure function of (seed,
generation, index, state) -- and the ranks exchange fitness scalars (and the
objective's side results) only. Every rank then holds the full fitness vector and
calls ``tell`` in lockstep, so every rank keeps the same state. This is the
communication scheme of Salimans et al., "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning" (arXiv:1703.03864, 2017, section 2.1 and
Algorithm 2): nothing of size ``dim`` crosses the network after start-up.

Two schedules: ``"static"`` (:mod:`evostrat.evaluators.mpi_static`) gives every
rank a fixed contiguous block; ``"dynamic"``
(:mod:`evostrat.evaluators.mpi_dynamic`) hands out chunks of indices as ranks
become free, which keeps ranks busy when evaluation costs vary. Both send the
results to rank 0 and rank 0 sends the full vector back down a tree
(:func:`~evostrat.evaluators.mpi_common.spread`): two hops per generation.
"""

from __future__ import annotations

import math
import numbers
import pickle
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import evostrat.evaluators.mpi_dynamic as mpi_dynamic
import evostrat.evaluators.mpi_static as mpi_static
from evostrat.evaluators.base import (
    aux_size,
    check_timeout,
    collect,
    new_stats,
    raise_failure,
)
from evostrat.evaluators.mpi_common import (
    TAG_VERDICT,
    TAG_VOTE,
    Control,
    fingerprint,
    install_abort_hook,
    receive_share,
    spread,
)
from evostrat.evaluators.mpi_static import split_population

__all__ = ["MPIEvaluator", "fingerprint", "install_abort_hook", "split_population"]

#: Seconds the ranks wait past ``timeout`` x (largest share) for a rank whose own
#: alarm should have fired before they end the job (its objective hangs where
#: SIGALRM cannot interrupt it, e.g. inside C code).
GRACE = 2.0


class MPIEvaluator:
    """Evaluate across the ranks of an MPI job (``mpiexec -n K python script.py``).

    Every rank constructs the same strategy (same seed and arguments) and calls
    ``opt.optimize(f, evaluator=MPIEvaluator())``. Every rank gets the full fitness
    vector, identical to a serial run's, whichever schedule evaluated it.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator; ``MPI.COMM_WORLD`` when None.
    schedule : {"static", "dynamic"}
        ``"static"`` (default): rank ``r`` evaluates a fixed contiguous block and
        sends its results to rank 0. ``"dynamic"``: rank 0 hands out
        chunks of ``chunk_size`` indices to ranks as they become free (and
        evaluates chunks itself in between); for costs that vary.
    chunk_size : int, optional
        Individuals per chunk of the dynamic schedule. None (default): guided
        self-scheduling, chunks shrinking from ``popsize / (2 * size)`` to 1
        (:func:`~evostrat.evaluators.mpi_dynamic.chunk_bounds`).
    abort_on_error : bool
        Install a ``sys.excepthook`` that calls ``comm.Abort(1)`` on an uncaught
        exception, so a failing rank ends the job instead of leaving the others
        waiting in a collective (default True).
    timeout : float, optional
        Seconds one individual's evaluation (vectorized: one block's) may take.
        A rank whose individual runs past it interrupts ``f`` (``SIGALRM``) and
        every rank raises the same :class:`~evostrat.EvaluationError`; if a rank
        cannot be interrupted, the others end the job ``GRACE`` seconds after its
        share should have ended, with a message saying so. None (default): no
        limit.

    Notes
    -----
    ``stats["bytes_sent"]`` is the number of bytes this rank sends for
    evaluation, independent of ``dim``. Static: a rank other than 0 sends, per
    generation, ``8 * (own block * (1 + k) + 1)`` bytes to rank 0 (the fitness
    of its individuals, their ``k = f.aux_size`` side results, and one status
    word: a fingerprint of seed, generation and popsize, negated when ``f``
    failed on this rank). Dynamic: a worker rank sends ``8 * (1 + m * (1 + k))``
    bytes per chunk of ``m``; rank 0 sends 24 bytes per chunk it hands out.
    Both: a rank that forwards the result vector (rank 0, and ranks 1 to
    ``FANOUT`` in jobs of more than ``FANOUT + 1`` ranks: see
    :func:`~evostrat.evaluators.mpi_common.spread`) sends ``8 * (popsize * (1 +
    k) + 2)`` bytes to each of its children. Plus, only when ``f`` failed, the
    pickled error text. ``stats["evaluations"]`` counts the
    whole population (as a serial run would); ``stats["local_evaluations"]`` this
    rank's share.

    Every rank holds its own objective; ``f.collect(generation, aux)`` runs on
    every rank with the identical gathered matrix, so nothing of the objective's
    context needs shipping. Waiting ranks sleep between tests of non-blocking
    requests (:mod:`evostrat.evaluators.mpi_common`), so they do not take a core
    from the working ranks. A rank whose run stops while others go on tells
    them when its interpreter exits (or :meth:`close` is called); they end the
    job with a message instead of waiting forever.

    An exception in ``f`` on any rank makes ``evaluate`` raise the same
    :class:`~evostrat.EvaluationError` (generation, index, the failing rank's
    traceback text) on every rank; the strategy is untouched. A rank that dies
    cannot be recovered: ``mpiexec`` ends the job.
    """

    def __init__(
        self,
        comm: Any = None,
        *,
        schedule: str = "static",
        chunk_size: int | None = None,
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
        comm = MPI.COMM_WORLD if comm is None else comm
        if not isinstance(comm, MPI.Comm):
            raise TypeError(f"comm must be an mpi4py communicator, got {comm!r}")
        if schedule not in ("static", "dynamic"):
            raise ValueError(
                f"schedule must be 'static' or 'dynamic', got {schedule!r}"
            )
        if chunk_size is not None and (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, numbers.Integral)
            or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
        self.comm = comm
        self.schedule = schedule
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.timeout = check_timeout(timeout)
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.is_main = self.rank == 0
        self.control = Control(comm)
        self.stats = new_stats()
        self.stats["local_evaluations"] = 0
        if abort_on_error:
            install_abort_hook(comm)

    def __repr__(self) -> str:
        return (
            f"MPIEvaluator(rank={self.rank}, size={self.size}, "
            f"schedule={self.schedule!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("an MPIEvaluator holds a communicator and cannot be pickled")

    def close(self) -> None:
        """Say this rank evaluates no more (also done when the interpreter exits).

        Call it when a rank goes on with other work after its run: a rank still
        waiting in ``evaluate`` then ends the job with a clear message.
        """
        self.control.leave()

    def agree(self, stop: bool) -> bool:
        """Whether any rank wants to stop: a collective OR of ``stop``.

        For loops that decide to stop on one rank only (a callback looking at
        rank-local state): ``if ev.agree(callback(opt)): break`` on every rank
        keeps them in lockstep (``optimize`` does this with its ``callback``).
        Every rank sends 8 bytes to rank 0, which sends the verdict down the tree
        of :func:`~evostrat.evaluators.mpi_common.spread`; waits without
        spinning, and ends the job if a rank left instead of agreeing.
        """
        control = self.control
        control.begin(None)
        verdict = np.array([1.0 if stop else 0.0])
        pending = receive_share(control, verdict, TAG_VERDICT)
        if self.is_main:
            votes = np.zeros(self.size)
            pending = [
                control.comm.Irecv(votes[q : q + 1], source=q, tag=TAG_VOTE)
                for q in range(1, self.size)
            ]
            control.wait(pending, math.inf, str)
            verdict[0] = max(verdict[0], votes.max())
            pending = []
        else:
            pending.append(control.comm.Isend(verdict.copy(), dest=0, tag=TAG_VOTE))
            self.stats["bytes_sent"] += verdict.nbytes
        self.stats["bytes_sent"] += spread(
            control, verdict, pending, math.inf, str, TAG_VERDICT
        )
        return bool(verdict[0])

    # ---------------------------------------------------------------- helpers
    def deadline(self, t0: float, rows: int) -> float:
        """When ranks waiting for shares of ``rows`` rows give up (monotonic)."""
        return math.inf if self.timeout is None else t0 + rows * self.timeout + GRACE

    def stalled_text(self, generation: int) -> str:
        return (
            f"generation {generation}: another rank has not finished its share "
            f"{GRACE:g} s after its individuals' timeout={self.timeout} s ran out; "
            "its objective hangs where it cannot be interrupted. Ending the job."
        )

    def share_failure(self, generation: int, root: int, failure: Any) -> None:
        """Raise on every rank the failure ``root`` holds."""
        if self.rank == root:
            nbytes = len(pickle.dumps(failure, pickle.HIGHEST_PROTOCOL))
            self.stats["bytes_sent"] += nbytes
        raise_failure(generation, self.control.comm.bcast(failure, root=root))

    def desync_text(self, fingerprints: list[float]) -> str:
        return (
            f"rank {self.rank}: the ranks hold different strategies (fingerprints "
            f"of seed, generation and popsize: {fingerprints}); every rank must "
            "build the strategy with the same arguments and an explicit seed "
            "(seed=None draws a different one on each rank)"
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
        self.control.begin(strategy.generation)
        schedule = mpi_static if self.schedule == "static" else mpi_dynamic
        run = schedule.evaluate
        try:
            fitness, aux = run(self, strategy, f, vectorized, k)
        finally:
            self.stats["seconds"] += time.perf_counter() - t0
        collect(f, strategy.generation, aux)
        self.stats["generations"] += 1
        self.stats["evaluations"] += strategy.popsize
        return fitness
