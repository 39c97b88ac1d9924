"""Evaluation in a pool of worker processes on this machine.

The pool is a set of worker processes, each with its own duplex pipe. The parent
does the scheduling itself (rather than ``multiprocessing.Pool``, which hangs when a
worker dies, or ``concurrent.futures``, which fails every pending task when one
does): it asks the strategy for one chunk of rows at a time, sends it to an idle
worker, and waits on the pipes *and* the process sentinels together, so a worker
that dies (e.g. killed by the OOM killer) is noticed at once, replaced, and only its
own chunk is evaluated again.

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
import signal
import time
import traceback
import weakref
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

import numpy as np

from evostrat.evaluators.base import CHUNK_ELEMENTS, evaluate_rows, new_stats
from evostrat.result import EvaluationError

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def _worker_main(conn: Any) -> None:
    """Loop of one worker process: receive a message, answer it, until "stop".

    Messages (pickled tuples):
    ``("f", f_id, f_bytes)`` stores the objective under ``f_id`` (the previous one is
    dropped); ``("eval", task, f_id, generation, indices, X, vectorized)`` answers
    ``("ok", task, values)`` or ``("err", task, kind, index, text)``;
    ``("stop",)`` ends the loop.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    cache: dict[int, Callable] = {}
    while True:
        try:
            msg = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        if msg[0] == "f":
            _, f_id, f_bytes = msg
            try:
                cache = {f_id: pickle.loads(f_bytes)}
            except Exception:
                cache = {f_id: _Unpicklable(traceback.format_exc())}
            continue
        _, task, f_id, generation, indices, X, vectorized = msg
        try:
            f = cache[f_id]
            if isinstance(f, _Unpicklable):
                reply = ("err", task, "eval", int(indices[0]), f.text)
            else:
                values = evaluate_rows(f, X, indices, generation, vectorized)
                reply = ("ok", task, values)
        except EvaluationError as err:
            reply = ("err", task, "eval", err.index, err.cause)
        except Exception as err:  # e.g. a vectorized f returning a wrong shape
            reply = ("err", task, type(err).__name__, int(indices[0]), str(err))
        try:
            data = pickle.dumps(reply, _PROTOCOL)
        except Exception:  # f returned something that does not pickle
            text = traceback.format_exc()
            data = pickle.dumps(("err", task, "eval", int(indices[0]), text))
        conn.send_bytes(data)


class _Unpicklable:
    """Placeholder for an objective the worker could not unpickle."""

    def __init__(self, text: str) -> None:
        self.text = "the objective could not be unpickled in the worker:\n" + text


class _Worker:
    """One worker process, its pipe, and what the parent knows of it."""

    def __init__(self, ctx: Any) -> None:
        self.conn, child_conn = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child_conn,), daemon=True)
        self.process.start()
        child_conn.close()
        self.f_id = -1  # id of the objective this worker holds
        self.task: int | None = None  # chunk being evaluated

    def send(self, data: bytes) -> int:
        self.conn.send_bytes(data)
        return len(data)

    def stop(self, timeout: float = 2.0) -> None:
        try:
            self.conn.send_bytes(pickle.dumps(("stop",)))
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()


def _shutdown(workers: list[_Worker]) -> None:
    for w in workers:
        w.stop()
    workers.clear()


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

    Notes
    -----
    ``f`` must be picklable: a module-level function (in a script, define it at
    top level and guard the main code with ``if __name__ == "__main__":``),
    a ``functools.partial`` of one, or an instance of a module-level class.
    An exception in ``f`` raises :class:`~evostrat.EvaluationError` (generation,
    index, the worker's traceback text) after the other chunks in flight have
    finished; the strategy is untouched and the generation can be evaluated again.
    ``stats["bytes_sent"]`` counts the pickled bytes of the evaluation messages sent
    to the workers (the rows and their indices); shipping the objective to a worker
    is set-up, counted apart in ``stats["bytes_setup"]``.
    """

    is_main = True

    def __init__(
        self,
        processes: int | None = None,
        *,
        max_retries: int = 2,
        start_method: str = "spawn",
    ) -> None:
        if processes is None:
            processes = (
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else (os.cpu_count() or 1)
            )
        if isinstance(processes, bool) or not isinstance(processes, numbers.Integral):
            raise TypeError(f"processes must be an integer or None, got {processes!r}")
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        if isinstance(max_retries, bool) or not isinstance(
            max_retries, numbers.Integral
        ):
            raise TypeError(f"max_retries must be an integer, got {max_retries!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        methods = multiprocessing.get_all_start_methods()
        if start_method not in methods:
            raise ValueError(
                f"start_method must be one of {', '.join(methods)}, got {start_method!r}"
            )
        self.processes = int(processes)
        self.max_retries = int(max_retries)
        self.start_method = start_method
        # bytes_setup: the objective shipped to workers; restarts: workers replaced
        self.stats = {**new_stats(), "bytes_setup": 0, "restarts": 0}
        self._ctx = multiprocessing.get_context(start_method)
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._workers)
        self._f: Callable | None = None
        self._f_id = 0
        self._f_bytes = b""
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
        while len(self._workers) < self.processes:
            self._workers.append(_Worker(self._ctx))

    def _set_objective(self, f: Callable) -> None:
        if f is self._f:
            return
        try:
            data = pickle.dumps(f, _PROTOCOL)
        except Exception as err:
            raise TypeError(
                f"PoolEvaluator needs a picklable objective (a module-level function, "
                f"a functools.partial of one, ...); pickling {f!r} failed: {err}"
            ) from err
        self._f_id += 1
        self._f_bytes = pickle.dumps(("f", self._f_id, data), _PROTOCOL)
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
            ``f`` raised on some individual (the lowest such index is reported), or
            a chunk's worker died more than ``max_retries`` times.
        """
        if self._closed:
            raise RuntimeError("this PoolEvaluator is closed")
        t0 = time.perf_counter()
        self._set_objective(f)
        self._start_workers()
        popsize, generation = strategy.popsize, strategy.generation
        rows = self._chunk_rows(popsize, strategy.dim)
        starts = list(range(0, popsize, rows))
        todo = list(range(len(starts)))[::-1]  # chunk numbers, next one last
        tries = [0] * len(starts)
        results: list[list | None] = [None] * len(starts)
        errors: list[tuple] = []
        sent = setup = 0

        def indices_of(task: int) -> np.ndarray:
            return np.arange(starts[task], min(starts[task] + rows, popsize))

        def dispatch(w: _Worker) -> None:
            """Send ``w`` the next chunk (and the objective first, if it lacks it)."""
            nonlocal sent, setup
            task = todo.pop()
            idx = indices_of(task)
            X = strategy.ask(idx)
            msg = ("eval", task, self._f_id, generation, idx, X, bool(vectorized))
            data = pickle.dumps(msg, _PROTOCOL)
            w.task = task
            try:
                if w.f_id != self._f_id:
                    setup += w.send(self._f_bytes)
                    w.f_id = self._f_id
                sent += w.send(data)
            except OSError:  # died meanwhile: its sentinel fires, the chunk is retried
                pass

        try:
            while True:
                if not errors:
                    for i, w in enumerate(list(self._workers)):
                        if w.task is None and todo:
                            if not w.process.is_alive():  # died while idle
                                w.task = -1
                                self._replace(i, w)
                                w = self._workers[i]
                            dispatch(w)
                busy = [w for w in self._workers if w.task is not None]
                if not busy:
                    break
                ready = wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy]
                )
                for i, w in enumerate(list(self._workers)):
                    if w.task is None or (
                        w.conn not in ready and w.process.sentinel not in ready
                    ):
                        continue
                    reply = None
                    try:
                        if w.conn.poll():
                            reply = pickle.loads(w.conn.recv_bytes())
                    except (EOFError, OSError):
                        reply = None
                    if reply is None:
                        task, code = self._replace(i, w)
                        tries[task] += 1
                        if tries[task] <= self.max_retries:
                            todo.append(task)
                            continue
                        idx = indices_of(task)
                        text = (
                            f"the worker evaluating individuals {idx[0]}..{idx[-1]} "
                            f"died (exit code {code}) {tries[task]} times; "
                            f"max_retries={self.max_retries}. If workers die at "
                            "start-up, check that a fresh interpreter can import "
                            "the objective and that the script's main code is "
                            "under `if __name__ == '__main__':`"
                        )
                        errors.append(("died", int(idx[0]), text))
                        continue
                    task = w.task
                    w.task = None
                    if reply[0] == "ok":
                        results[task] = reply[2]
                    else:
                        errors.append(reply[2:])
        except BaseException:
            # interrupted (Ctrl-C) or a broken pipe: workers may hold stale tasks
            _shutdown(self._workers)
            raise
        finally:
            self.stats["bytes_sent"] += sent
            self.stats["bytes_setup"] += setup
            self.stats["seconds"] += time.perf_counter() - t0
        if errors:
            kind, index, text = min(errors, key=lambda e: e[1])
            if kind in ("eval", "died"):
                raise EvaluationError(generation, index, text)
            if kind == "ValueError":
                raise ValueError(text)
            raise EvaluationError(generation, index, f"{kind}: {text}")
        fitness = [v for chunk in results for v in chunk]
        self.stats["generations"] += 1
        self.stats["evaluations"] += len(fitness)
        return fitness

    def _replace(self, i: int, w: _Worker) -> tuple[int, int | None]:
        """Worker ``i`` died: start another in its place; return its chunk and exit code."""
        task = w.task
        w.process.join(1.0)
        code = w.process.exitcode
        w.task = None
        w.stop(timeout=0.1)
        self._workers[i] = _Worker(self._ctx)
        self.stats["restarts"] += 1
        return task, code
