"""The actor side of :class:`~evostrat.evaluators.ray.RayEvaluator`.

A :class:`Replica` lives in a Ray worker process for the whole run. It holds a
copy of the strategy (built once from a pickle) and of the objective, and
evaluates the chunks of indices it is handed with ``strategy.ask(indices)``: seed
reconstruction, as under MPI. Between generations it is kept in step by receiving
the previous generation's fitness vector and calling ``tell`` on its copy
(O(popsize) bytes); a digest of the state, compared with the driver's, makes sure
the copy really is in step before any row is rebuilt (a copy that is not asks for
a fresh pickle instead of returning wrong rows).
"""

from __future__ import annotations

import pickle
import traceback
import zlib
from typing import Any

import numpy as np

from evostrat.evaluators.base import evaluate_share, mark_asked, set_context

#: Entries of the mean (and of a vector sigma) the digest reads: enough to catch
#: a replica out of step, few enough to cost microseconds at any dimension.
DIGEST_ENTRIES = 4096


def _sampled(values: Any) -> bytes:
    a = np.ravel(np.asarray(values, dtype=np.float64))
    if a.size > DIGEST_ENTRIES:
        a = np.concatenate((a[:: a.size // DIGEST_ENTRIES], a[-1:]))
    return a.tobytes()


def digest(strategy: Any) -> tuple:
    """A cheap fingerprint of a strategy's state: counters, mean and sigma.

    Two copies that rebuild different rows almost surely differ in it (the
    update of an ES moves every coordinate of the mean); it reads at most
    ``DIGEST_ENTRIES`` entries of each vector.
    """
    return (
        getattr(strategy, "seed", None),
        strategy.generation,
        strategy.evals,
        strategy.popsize,
        zlib.crc32(_sampled(strategy.mean)),
        zlib.crc32(_sampled(strategy.sigma)),
    )


class Replica:
    """One actor: a strategy replica and an objective, evaluating chunks."""

    def __init__(self) -> None:
        self.strategy: Any = None
        self.f: Any = None
        self.f_error = ""

    def ready(self) -> bool:
        """Answers once the actor's process runs (start-up is not timed)."""
        return True

    def set_objective(self, f_bytes: bytes) -> None:
        """Keep the objective (pickled once by the driver)."""
        try:
            self.f = pickle.loads(f_bytes)
        except Exception:
            self.f = None
            self.f_error = traceback.format_exc()

    def _sync(self, kind: str | None, payload: Any, want: tuple | None) -> bool:
        """Bring the replica to the driver's state; False if it is not there."""
        if kind is None:
            return self.strategy is not None
        if kind == "reset":
            self.strategy = pickle.loads(payload)
            return True
        if self.strategy is None:
            return False
        try:
            mark_asked(self.strategy)
            self.strategy.tell(payload)
        except Exception:
            return False
        return digest(self.strategy) == want

    def evaluate(
        self,
        kind: str | None,
        payload: Any,
        want: tuple | None,
        context: bytes | None,
        lo: int,
        hi: int,
        vectorized: bool,
        k: int,
        timeout: float | None,
    ) -> tuple:
        """Fitness, aux and failure of individuals ``lo .. hi - 1``.

        ``kind`` is None (the replica is in step), ``"tell"`` (``payload`` is the
        previous generation's fitness vector, after which the replica's digest
        must be ``want``) or ``"reset"`` (``payload`` is a strategy pickle). The
        driver puts ``payload`` into Ray's object store once per generation and
        passes its reference, which Ray resolves before this method runs.
        ``context`` is the objective's pickled context for this generation, or
        None. Answers ``("resync",)`` when the replica could not be brought in
        step.
        """
        try:
            if not self._sync(kind, payload, want):
                self.strategy = None
                return ("resync",)
            if self.f is None:
                raise RuntimeError(
                    "the objective could not be unpickled in the actor:\n"
                    + self.f_error
                )
            if context is not None:
                set_context(self.f, pickle.loads(context))
        except Exception:  # e.g. a class the actor's Python cannot import
            self.strategy = None if kind is not None else self.strategy
            text = "setting up the actor failed:\n" + traceback.format_exc()
            empty = np.full(hi - lo, np.nan), np.full((hi - lo, k), np.nan)
            return ("ok", *empty, ("eval", lo, text))
        idx = np.arange(lo, hi, dtype=np.int64)
        values, aux, failure = evaluate_share(
            self.strategy, self.f, idx, vectorized, k, timeout
        )
        return ("ok", values, aux, failure)
