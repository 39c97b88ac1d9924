"""One generation on Ray actors: hand out chunks, re-run those of dead actors.

The driver side of :class:`~evostrat.evaluators.ray.RayEvaluator`, per call of
``evaluate``; see that module for the scheme.
"""

from __future__ import annotations

import math
import pickle
import time
import weakref
from collections import deque
from typing import Any

import numpy as np

from evostrat.evaluators.base import Failure, mark_asked
from evostrat.evaluators.ray_actor import digest
from evostrat.evaluators.timer import timeout_text

#: Default chunks per actor and generation. A Ray task costs ~0.5-2 ms of driver
#: time on this machine, and with ``DEPTH`` chunks in flight per actor the first
#: ``DEPTH`` chunks of every actor are handed out at once anyway: 2 chunks per
#: actor balanced nothing more than 1 and doubled the tasks. Measured at 32
#: actors, popsize 256 (docs/parallel.md, "Measured at scale"): 43-48 ms per
#: generation with one chunk per actor, 80-103 ms with two (the former
#: default). Uneven costs want ``chunk_size=1`` (or a few) instead.
CHUNKS_PER_ACTOR = 1
#: Chunks in flight per actor: it starts the next while a result travels back.
DEPTH = 2
#: Longest wait (seconds) between two checks for an overdue chunk (timeout only).
TIMEOUT_POLL = 0.25
#: Seconds past ``timeout`` x (chunk rows) before the driver kills an actor whose
#: own alarm did not fire (a hang inside C code).
GRACE = 2.0


class Round:
    """The bookkeeping of one generation's evaluation on the actors."""

    def __init__(
        self, ev: Any, strategy: Any, vectorized: bool, k: int, context: Any
    ) -> None:
        self.ev, self.strategy, self.vectorized, self.k = ev, strategy, vectorized, k
        n, self.generation = strategy.popsize, strategy.generation
        rows = ev.chunk_size or max(
            1, math.ceil(n / (CHUNKS_PER_ACTOR * len(ev._slots)))
        )
        self.bounds = [(lo, min(lo + rows, n)) for lo in range(0, n, rows)]
        self.queue = deque(range(len(self.bounds)))
        self.tries = [0] * len(self.bounds)
        self.fitness = np.full(n, np.nan)
        self.aux = np.full((n, k), np.nan)
        self.failures: list[Failure] = []
        self.context = None if context is None else pickle.dumps(context)
        self.digest = digest(strategy)
        mark_asked(strategy)  # the driver rebuilds no row
        self.synced: set[int] = set()  # slots whose replica was synced this round
        self.got_context: set[int] = set()
        self._reset: Any = None  # object-store references, put once per round
        self._tell: Any = None
        self.sent = self.setup = 0

    # ------------------------------------------------------------ hand-out
    def _sync_for(self, slot: Any) -> str | None:
        """What brings ``slot``'s replica to the driver's state: None (nothing),
        ``"tell"`` (the previous generation's fitness) or ``"reset"``."""
        ev, st, s = self.ev, slot.state, self.strategy
        if st is not None and st[0]() is s:
            if st[1] == self.generation and st[2] == self.digest:
                return None
            last = ev._last
            if st[1] == self.generation - 1 and last is not None:
                if ev._owner is not None and ev._owner() is s:
                    if last[0] == self.generation - 1:
                        return "tell"
        return "reset"

    def _payload(self, kind: str) -> Any:
        """The object-store reference of what ``kind`` needs, put once per round.

        The fitness vector (``"tell"``) is counted once in ``sent``, the strategy
        pickle (``"reset"``) once in ``setup``: the driver hands Ray one copy, and
        every actor's task refers to it.
        """
        ray = self.ev._ray
        if kind == "tell":
            if self._tell is None:
                fitness = self.ev._last[1]
                self._tell = ray.put(fitness)
                self.sent += fitness.nbytes
            return self._tell
        if self._reset is None:
            from ray import cloudpickle  # a strategy class defined in a script too

            data = cloudpickle.dumps(self.strategy)
            self._reset = ray.put(data)
            self.setup += len(data)
        return self._reset

    def dispatch(self, slot: Any) -> None:
        """Send ``slot`` the next chunk, with what its actor lacks first."""
        ev = self.ev
        c = self.queue.popleft()
        lo, hi = self.bounds[c]
        kind = None
        if id(slot) not in self.synced:
            kind = self._sync_for(slot)
            slot.state = (weakref.ref(self.strategy), self.generation, self.digest)
            self.synced.add(id(slot))
        context = None if id(slot) in self.got_context else self.context
        self.got_context.add(id(slot))
        if slot.f_id != ev._f_id:
            slot.handle.set_objective.remote(ev._f_ref)
            slot.f_id = ev._f_id
            self.setup += ev._f_size
        want = self.digest if kind == "tell" else None
        args = (kind, None, want, context, lo, hi, self.vectorized, self.k, ev.timeout)
        self.sent += len(pickle.dumps(args, pickle.HIGHEST_PROTOCOL))
        if kind is not None:
            args = (kind, self._payload(kind), *args[2:])
        if not slot.flight:
            slot.since = time.monotonic()
        slot.flight.append((slot.handle.evaluate.remote(*args), c))

    def _fill(self, slot: Any) -> None:
        while self.queue and not self.failures and len(slot.flight) < DEPTH:
            self.dispatch(slot)

    # ------------------------------------------------------------- answers
    def run(self) -> None:
        """Evaluate every chunk (or stop handing out at the first failure)."""
        ray = self.ev._ray
        for slot in list(self.ev._slots):
            self._fill(slot)
        while any(slot.flight for slot in self.ev._slots):
            owner = {
                ref: slot for slot in self.ev._slots for ref, _ in slot.flight
            }  # fmt: skip
            refs = list(owner)
            ready, _ = ray.wait(refs, num_returns=1, timeout=self._wake())
            if ready:  # take every answer already there, not only the first
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                self._receive(owner[ref], ref)
            self._check_overdue()

    def _receive(self, slot: Any, ref: Any) -> None:
        ray = self.ev._ray
        if slot not in self.ev._slots:  # replaced meanwhile
            return
        try:
            reply = ray.get(ref)
        except ray.exceptions.RayActorError:
            self._on_death(slot)
            return
        c = next(c for r, c in slot.flight if r == ref)
        slot.flight = type(slot.flight)((r, d) for r, d in slot.flight if r != ref)
        slot.since = time.monotonic()
        if reply[0] == "resync":  # its replica was out of step: reset it
            slot.state = None
            self.synced.discard(id(slot))
            self.queue.appendleft(c)
        else:
            _, values, aux, failure = reply
            lo, hi = self.bounds[c]
            self.fitness[lo:hi], self.aux[lo:hi] = values, aux
            if failure is not None:
                self.failures.append(failure)
        self._fill(slot)

    def _on_death(self, slot: Any) -> None:
        """Re-queue the chunks of a dead actor (or give up) and replace it."""
        for _, c in slot.flight:
            self.tries[c] += 1
            lo, hi = self.bounds[c]
            if self.tries[c] > self.ev.max_retries:
                text = (
                    f"the Ray actor evaluating individuals {lo}..{hi - 1} died "
                    f"{self.tries[c]} times; max_retries={self.ev.max_retries}"
                )
                self.failures.append(("died", lo, text))
            else:
                self.queue.appendleft(c)
        new = self.ev._replace(slot)
        self._fill(new)

    def _wake(self) -> float | None:
        return None if self.ev.timeout is None else TIMEOUT_POLL

    def _check_overdue(self) -> None:
        """Kill an actor whose chunk ran ``GRACE`` s past its timeout."""
        timeout = self.ev.timeout
        if timeout is None:
            return
        now = time.monotonic()
        for slot in list(self.ev._slots):
            if slot.flight:
                lo, hi = self.bounds[slot.flight[0][1]]
                if now > slot.since + (hi - lo) * timeout + GRACE:
                    text = timeout_text(timeout, lo) + (
                        f" (individuals {lo}..{hi - 1}: the actor could not be "
                        "interrupted and was replaced)"
                    )
                    self.failures.append(("timeout", lo, text))
                    slot.flight.clear()
                    self.ev._replace(slot)
