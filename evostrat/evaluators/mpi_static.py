"""The static MPI schedule: every rank evaluates a fixed contiguous block.

Rank ``r`` evaluates individuals ``starts[r] .. starts[r] + counts[r] - 1``
(:func:`split_population`) and sends ``[status, fitness, aux]`` of its block to
rank 0 point-to-point (``8 * (counts[r] * (1 + k) + 1)`` bytes); rank 0 checks
the status words, puts the blocks in index order and sends
``[code, extra, fitness, aux]`` down the tree of
:func:`~evostrat.evaluators.mpi_common.spread`. Two hops per generation, each
waited without spinning; an ``Allgatherv`` of the same bytes takes log2(W)
rounds, each paying a sleeping rank's wake-up (docs/parallel.md, "Measured at
scale"). The status word is a fingerprint of seed, generation and popsize,
negated when ``f`` failed on the rank: rank 0 sees at once whether every rank
evaluated the same generation of the same strategy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators.base import evaluate_share
from evostrat.evaluators.mpi_common import (
    TAG_RESULT,
    fingerprint,
    receive_share,
    spread,
)

#: Header codes of rank 0's result (also used by the dynamic schedule).
OK, FAILED, DESYNC = 0.0, 1.0, 2.0


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


class Layout:
    """Where each rank's block lies in rank 0's receive buffer, and the gathers
    that put fitness and aux in index order (computed once per popsize and k)."""

    def __init__(self, popsize: int, size: int, k: int) -> None:
        self.key = (popsize, size, k)
        self.counts, self.starts = split_population(popsize, size)
        self.lengths = self.counts * (1 + k) + 1  # [status, fitness, aux]
        self.offsets = np.concatenate(([0], np.cumsum(self.lengths)[:-1]))
        owner = np.repeat(np.arange(size), self.counts)
        j = np.arange(popsize) - self.starts[owner]  # position in its block
        self.fitness_at = self.offsets[owner] + 1 + j
        first_aux = self.offsets[owner] + 1 + self.counts[owner] + j * k
        self.aux_at = first_aux[:, None] + np.arange(k)
        self.total = int(self.lengths.sum())


def layout(ev: Any, popsize: int, k: int) -> Layout:
    """``ev``'s cached :class:`Layout` for this popsize and ``k``."""
    lay = getattr(ev, "_layout", None)
    if lay is None or lay.key != (popsize, ev.size, k):
        lay = ev._layout = Layout(popsize, ev.size, k)
    return lay


def decode(ev: Any, strategy: Any, buf: np.ndarray, failure: Any, k: int) -> tuple:
    """Fitness and aux from rank 0's ``[code, extra, fitness, aux]``; or raise
    on every rank what the code says (``extra``: the fingerprint that differed,
    or the rank holding the failure)."""
    n = strategy.popsize
    if buf[0] == DESYNC:
        raise RuntimeError(ev.desync_text([fingerprint(strategy), float(buf[1])]))
    if buf[0] == FAILED:
        ev.share_failure(strategy.generation, int(buf[1]), failure)
    return buf[2 : 2 + n], buf[2 + n :].reshape(n, k)


def evaluate(
    ev: Any, strategy: Any, f: Callable, vectorized: bool, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """This generation's fitness and aux on every rank (static schedule)."""
    start = time.monotonic()
    lay = layout(ev, strategy.popsize, k)
    control, r = ev.control, ev.rank
    buf = np.empty(2 + strategy.popsize * (1 + k))
    if r == 0:
        gathered = np.empty(lay.total)
        pending = [
            control.comm.Irecv(
                gathered[lay.offsets[q] : lay.offsets[q] + lay.lengths[q]],
                source=q, tag=TAG_RESULT,
            )
            for q in range(1, ev.size)
        ]  # fmt: skip
    else:
        pending = receive_share(control, buf)
    own = np.arange(lay.starts[r], lay.starts[r] + lay.counts[r], dtype=np.int64)
    values, aux, failure = evaluate_share(strategy, f, own, vectorized, k, ev.timeout)
    mine = fingerprint(strategy)
    send = np.concatenate(([-mine if failure else mine], values, aux.ravel()))
    ev.stats["local_evaluations"] += len(own)
    until = ev.deadline(start, int(lay.counts.max()))
    what = lambda: ev.stalled_text(strategy.generation)  # noqa: E731
    if r == 0:
        control.wait(pending, until, what)
        gathered[: len(send)] = send
        assemble(lay, gathered, buf, mine)
        pending = []
    else:
        pending.append(control.comm.Isend(send, dest=0, tag=TAG_RESULT))
        ev.stats["bytes_sent"] += send.nbytes
    ev.stats["bytes_sent"] += spread(control, buf, pending, until, what)
    return decode(ev, strategy, buf, failure, k)


def assemble(lay: Layout, gathered: np.ndarray, buf: np.ndarray, mine: float) -> None:
    """Fill ``buf`` with ``[code, extra, fitness, aux]`` from the ranks' blocks."""
    n = len(lay.fitness_at)
    status = gathered[lay.offsets]
    buf[2 : 2 + n] = gathered[lay.fitness_at]
    buf[2 + n :] = gathered[lay.aux_at].ravel()
    differ = np.flatnonzero(np.abs(status) != mine)
    failed = np.flatnonzero(status < 0.0)
    if len(differ):
        buf[:2] = DESYNC, abs(status[differ[0]])
    elif len(failed):
        buf[:2] = FAILED, failed[0]  # the lowest failing rank: the lowest index
    else:
        buf[:2] = OK, 0.0
