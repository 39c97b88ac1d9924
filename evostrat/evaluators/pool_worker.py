"""The worker side of :class:`~evostrat.evaluators.pool.PoolEvaluator`.

A worker process runs :func:`worker_main`; the parent holds a :class:`Worker`
per process (its pipe, its process, and a shared pair of doubles in which the
worker writes the index it is evaluating and since when).
"""

from __future__ import annotations

import pickle
import signal
import time
import traceback
from typing import Any

from evostrat.evaluators.base import evaluate_rows, failure_of, set_context

PROTOCOL = pickle.HIGHEST_PROTOCOL


def worker_main(conn: Any, where: Any) -> None:
    """Loop of one worker process: receive a message, answer it, until "stop".

    Messages (pickled tuples): the worker first says ``("ready",)``;
    ``("f", f_id, f_bytes)`` stores the objective under ``f_id`` (the previous one is
    dropped); ``("eval", task, f_id, generation, indices, X, vectorized, k, ctx)``
    (``ctx``: the pickled context or None) answers ``("ok", task, values, aux)`` or
    ``("err", task, failure)``; ``("stop",)`` ends the loop. ``where`` holds the
    index being evaluated and when (``time.monotonic()``) its evaluation began.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    conn.send_bytes(pickle.dumps(("ready",)))
    cache: dict[int, Any] = {}

    def on_row(i: int) -> None:
        where[0], where[1] = i, time.monotonic()

    while True:
        try:
            msg = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        if msg[0] == "f":
            try:
                cache = {msg[1]: pickle.loads(msg[2])}
            except Exception:
                text = "the objective could not be unpickled in the worker:\n"
                cache = {msg[1]: Unpicklable(text + traceback.format_exc())}
            continue
        _, task, f_id, generation, indices, X, vectorized, k, ctx = msg
        f = cache[f_id]
        try:
            if isinstance(f, Unpicklable):
                raise f
            if ctx is not None:
                set_context(f, pickle.loads(ctx))
            values, aux = evaluate_rows(
                f, X, indices, generation, vectorized, k, on_row
            )
            reply: tuple = ("ok", task, values, aux)
        except Exception as err:  # e.g. a vectorized f returning a wrong shape
            reply = ("err", task, failure_of(err, int(where[0])))
        try:
            data = pickle.dumps(reply, PROTOCOL)
        except Exception:  # f returned something that does not pickle
            failure = ("eval", int(indices[0]), traceback.format_exc())
            data = pickle.dumps(("err", task, failure))
        conn.send_bytes(data)


class Unpicklable(Exception):
    """Stands for an objective the worker could not unpickle."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.cause = text


class Worker:
    """One worker process, its pipe, and what the parent knows of it."""

    def __init__(self, ctx: Any) -> None:
        self.conn, child_conn = ctx.Pipe(duplex=True)
        # index being evaluated and since when (written by the child)
        self.where = ctx.RawArray("d", 2)
        self.process = ctx.Process(
            target=worker_main, args=(child_conn, self.where), daemon=True
        )
        self.process.start()
        child_conn.close()
        self.f_id = -1  # id of the objective this worker holds
        self.call = -1  # evaluate() call whose context this worker holds
        self.task: int | None = None  # chunk being evaluated
        self.ready = False  # whether its ("ready",) message was read

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


def shutdown(workers: list[Worker]) -> None:
    for w in workers:
        w.stop()
    workers.clear()


def exit_reason(code: int | None) -> str:
    """``exit code 1`` or ``killed by signal SIGKILL`` from a process's exit code."""
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
