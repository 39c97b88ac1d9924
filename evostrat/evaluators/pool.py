"""Evaluation in a pool of worker processes on this machine.

The pool is a set of worker processes, each with its own duplex pipe. The parent
does the scheduling itself (rather than ``multiprocessing.Pool``, which hangs when a
worker dies, or ``concurrent.futures``, which fails every pending task when one
does): it asks the strategy for one chunk of rows at a time, sends it to an idle
worker (dynamic scheduling: a fast worker simply gets more chunks), and waits on
the pipes *and* the process sentinels together, so a worker that dies (e.g. killed
by the OOM killer) is noticed at once, replaced, and only its own chunk is
evaluated again. Each worker writes the index it is evaluating into a shared
double, so a death or a timeout names the individual, not just its chunk.

Workers are started with the ``"spawn"`` method by default: a fresh interpreter
that inherits no threads. ``"fork"`` copies a process that may be running numba's
worker threads (the parallel sampling kernels) and can deadlock in the child; the
spawn and forkserver methods cannot.
"""

from __future__ import annotations

import math
import multiprocessing
import numbers
import os
import pickle
import time
import weakref
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

import numpy as np

from evostrat.evaluators.base import (
    CHUNK_ELEMENTS,
    Failure,
    aux_size,
    check_timeout,
    collect,
    get_context,
    new_stats,
    raise_failure,
)
from evostrat.evaluators.pool_worker import (
    PROTOCOL,
    Worker,
    exit_reason,
    shutdown,
)
from evostrat.evaluators.timer import timeout_text

#: Longest wait (seconds) between two checks for an individual past ``timeout``.
TIMEOUT_POLL = 0.25


class _Round:
    """One generation's bookkeeping: chunks to do, tries, results, failures."""

    def __init__(self, strategy: Any, rows: int, k: int) -> None:
        self.strategy = strategy
        self.popsize, self.rows, self.k = strategy.popsize, rows, k
        self.generation = strategy.generation
        n = math.ceil(self.popsize / rows)
        self.todo = list(range(n))[::-1]  # chunk numbers, next one last
        self.tries = [0] * n
        self.results: list[tuple[list, np.ndarray] | None] = [None] * n
        self.errors: list[Failure] = []
        self.sent = self.setup = 0

    def indices(self, task: int) -> np.ndarray:
        start = task * self.rows
        return np.arange(start, min(start + self.rows, self.popsize))


class PoolEvaluator:
    """Evaluate in worker processes on this machine.

    ``with PoolEvaluator(2) as ev: opt.optimize(f, evaluator=ev)``. The population is
    cut into chunks of about ``popsize / (4 * processes)`` rows (fewer where the rows
    are long, so that at most ~1M numbers are in one message); each chunk is one
    task, sent to whichever worker is idle. The objective is pickled once and sent
    once to each worker; it is sent again only when a different ``f`` is passed.
    The fitness comes back in index order, identical to a serial run's.

    Parameters
    ----------
    processes : int, optional
        Number of workers; the CPUs available to this process when None.
    max_retries : int
        How many times a chunk whose worker died is given to a new worker before
        ``evaluate`` gives up with an :class:`~evostrat.EvaluationError`.
    start_method : str
        ``"spawn"`` (default, robust anywhere) or ``"forkserver"``; ``"fork"`` is
        accepted but can deadlock when numba threads are running in this process.
    timeout : float, optional
        Seconds one individual's evaluation (vectorized: one block's) may take,
        timed in the worker from when it calls ``f``; past it the busy workers are
        killed and replaced and ``evaluate`` raises
        :class:`~evostrat.EvaluationError` naming that individual. None (default):
        no limit.

    Notes
    -----
    ``f`` must be picklable: a module-level function (in a script, define it at
    top level and guard the main code with ``if __name__ == "__main__":``),
    a ``functools.partial`` of one, or an instance of a module-level class.
    An exception in ``f`` raises :class:`~evostrat.EvaluationError` (generation,
    index, the worker's traceback text) after the other chunks in flight have
    finished; the strategy is untouched and the generation can be evaluated again.
    ``stats["bytes_sent"]`` counts the pickled bytes of the evaluation messages sent
    to the workers (the rows, their indices, and the objective's context once per
    worker and generation); shipping the objective to a worker is set-up, counted
    apart in ``stats["bytes_setup"]``.
    """

    is_main = True

    def __init__(
        self,
        processes: int | None = None,
        *,
        max_retries: int = 2,
        start_method: str = "spawn",
        timeout: float | None = None,
    ) -> None:
        if processes is None:
            processes = (
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else (os.cpu_count() or 1)
            )
        for name, value, low in (
            ("processes", processes, 1),
            ("max_retries", max_retries, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {value!r}")
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        methods = multiprocessing.get_all_start_methods()
        if start_method not in methods:
            raise ValueError(
                f"start_method must be one of {', '.join(methods)}, got {start_method!r}"
            )
        self.processes = int(processes)
        self.max_retries = int(max_retries)
        self.start_method = start_method
        self.timeout = check_timeout(timeout)
        # bytes_setup: the objective shipped to workers; restarts: workers replaced
        self.stats = {**new_stats(), "bytes_setup": 0, "restarts": 0}
        self._ctx = multiprocessing.get_context(start_method)
        self._workers: list[Worker] = []
        self._finalizer = weakref.finalize(self, shutdown, self._workers)
        self._f: Callable | None = None
        self._f_id = 0
        self._f_bytes = b""
        self._calls = 0
        self._closed = False

    # ---------------------------------------------------------------- lifetime
    def __enter__(self) -> PoolEvaluator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (idempotent). The evaluator cannot be used after it."""
        self._closed = True
        self._finalizer()

    def __repr__(self) -> str:
        return f"PoolEvaluator(processes={self.processes})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a PoolEvaluator holds processes and cannot be pickled")

    def _start_workers(self) -> None:
        """Start missing workers and wait until they run (start-up is not timed)."""
        while len(self._workers) < self.processes:
            self._workers.append(Worker(self._ctx))
        for w in self._workers:
            if not w.ready:
                wait([w.conn, w.process.sentinel])
                w.ready = True
                try:
                    if w.conn.poll():
                        w.conn.recv_bytes()  # ("ready",)
                except (EOFError, OSError):
                    pass  # died at start-up: noticed and replaced at dispatch

    def _set_objective(self, f: Callable) -> None:
        if f is self._f:
            return
        try:
            data = pickle.dumps(f, PROTOCOL)
        except Exception as err:
            raise TypeError(
                f"PoolEvaluator needs a picklable objective (a module-level function, "
                f"a functools.partial of one, ...); pickling {f!r} failed: {err}"
            ) from err
        self._f_id += 1
        self._f_bytes = pickle.dumps(("f", self._f_id, data), PROTOCOL)
        self._f = f

    # -------------------------------------------------------------- evaluation
    def _chunk_rows(self, popsize: int, dim: int) -> int:
        rows = math.ceil(popsize / (4 * self.processes))
        return max(1, min(rows, CHUNK_ELEMENTS // max(1, dim)))

    def evaluate(self, strategy: Any, f: Callable, vectorized: bool = False) -> list:
        """One fitness per individual of ``strategy``'s current generation.

        Raises
        ------
        EvaluationError
            ``f`` raised on some individual (the lowest such index is reported), a
            chunk's worker died more than ``max_retries`` times, or an individual
            took longer than ``timeout``.
        """
        if self._closed:
            raise RuntimeError("this PoolEvaluator is closed")
        t0 = time.perf_counter()
        k = aux_size(f)
        self._set_objective(f)
        context = get_context(f)
        self._ctx_bytes = None if context is None else pickle.dumps(context, PROTOCOL)
        self._calls += 1
        self._start_workers()
        rnd = _Round(strategy, self._chunk_rows(strategy.popsize, strategy.dim), k)
        try:
            self._run(rnd, vectorized)
        except BaseException:
            # interrupted (Ctrl-C) or a broken pipe: workers may hold stale tasks
            shutdown(self._workers)
            raise
        finally:
            self.stats["bytes_sent"] += rnd.sent
            self.stats["bytes_setup"] += rnd.setup
            self.stats["seconds"] += time.perf_counter() - t0
        if rnd.errors:
            raise_failure(rnd.generation, min(rnd.errors, key=lambda e: e[1]))
        done = [r for r in rnd.results if r is not None]
        fitness = [v for values, _ in done for v in values]
        collect(f, rnd.generation, np.concatenate([aux for _, aux in done]))
        self.stats["generations"] += 1
        self.stats["evaluations"] += len(fitness)
        return fitness

    def _run(self, rnd: _Round, vectorized: bool) -> None:
        """Hand out chunks and take answers until none is left or one failed."""
        while True:
            if not rnd.errors:
                for i, w in enumerate(list(self._workers)):
                    if w.task is None and rnd.todo:
                        if not w.process.is_alive():  # died while idle
                            w.task = -1
                            self._replace(i, w)
                            w = self._workers[i]
                        self._dispatch(w, rnd, vectorized)
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                return
            ready = wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy],
                timeout=self._wake_in(busy),
            )
            if not ready and self._overdue(busy):
                self._time_out(busy, rnd)
                return
            for i, w in enumerate(list(self._workers)):
                if w.task is not None and (
                    w.conn in ready or w.process.sentinel in ready
                ):
                    self._receive(i, w, rnd)

    def _dispatch(self, w: Worker, rnd: _Round, vectorized: bool) -> None:
        """Send ``w`` the next chunk (and the objective and context it lacks)."""
        task = rnd.todo.pop()
        idx = rnd.indices(task)
        X = rnd.strategy.ask(idx)
        ctx = self._ctx_bytes if w.call != self._calls else None
        msg = ("eval", task, self._f_id, rnd.generation, idx, X, bool(vectorized))
        data = pickle.dumps((*msg, rnd.k, ctx), PROTOCOL)
        w.task = task
        w.where[0], w.where[1] = idx[0], math.inf  # the worker times its rows
        try:
            if w.f_id != self._f_id:
                rnd.setup += w.send(self._f_bytes)
                w.f_id = self._f_id
            rnd.sent += w.send(data)
            w.call = self._calls
        except OSError:  # died meanwhile: its sentinel fires, the chunk is retried
            pass

    def _receive(self, i: int, w: Worker, rnd: _Round) -> None:
        """Take worker ``i``'s answer, or handle its death."""
        reply = None
        try:
            if w.conn.poll():
                reply = pickle.loads(w.conn.recv_bytes())
        except (EOFError, OSError):
            reply = None
        if reply is None:
            self._on_death(i, w, rnd)
            return
        if reply[0] == "ready":  # a replacement worker has started
            w.ready = True
            return
        task, w.task = w.task, None
        assert task is not None
        if reply[0] == "ok":
            rnd.results[task] = (reply[2], reply[3])
        else:
            rnd.errors.append(reply[2])

    def _on_death(self, i: int, w: Worker, rnd: _Round) -> None:
        """Worker ``i`` died: retry its chunk, or give up after ``max_retries``."""
        index = int(w.where[0])
        task, code = self._replace(i, w)
        rnd.tries[task] += 1
        if rnd.tries[task] <= self.max_retries:
            rnd.todo.append(task)
            return
        text = (
            f"the worker evaluating individual {index} died ({exit_reason(code)}) "
            f"{rnd.tries[task]} times; max_retries={self.max_retries}. If workers "
            "die at start-up, check that a fresh interpreter can import the "
            "objective and that the script's main code is under "
            "`if __name__ == '__main__':`"
        )
        rnd.errors.append(("died", index, text))

    def _wake_in(self, busy: list[Worker]) -> float | None:
        """Seconds until the next individual could time out (None: no timeout).

        Capped at ``TIMEOUT_POLL`` so that a row started meanwhile is noticed.
        """
        if self.timeout is None:
            return None
        first = min(w.where[1] for w in busy) + self.timeout - time.monotonic()
        return min(TIMEOUT_POLL, max(0.0, first))

    def _overdue(self, busy: list[Worker]) -> bool:
        now = time.monotonic()
        return self.timeout is not None and any(
            now - w.where[1] > self.timeout for w in busy
        )

    def _time_out(self, busy: list[Worker], rnd: _Round) -> None:
        """An individual ran past ``timeout``: kill and replace the busy workers.

        The individual reported is the one whose evaluation has been running the
        longest (the others were merely interrupted).
        """
        index = int(min(busy, key=lambda w: w.where[1]).where[0])
        for i, w in enumerate(list(self._workers)):
            if w in busy:
                w.process.kill()
                self._replace(i, w)
        rnd.errors.append(("timeout", index, timeout_text(self.timeout or 0.0, index)))

    def _replace(self, i: int, w: Worker) -> tuple[int, int | None]:
        """Worker ``i`` died: start another in its place; return its chunk and exit code."""
        task = w.task
        assert task is not None
        w.process.join(1.0)
        code = w.process.exitcode
        w.task = None
        w.stop(timeout=0.1)
        self._workers[i] = Worker(self._ctx)
        self.stats["restarts"] += 1
        return task, code
