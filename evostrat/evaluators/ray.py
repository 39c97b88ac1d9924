"""Evaluation on Ray actors, on this machine or on a Ray cluster.

Long-lived actors (:class:`~evostrat.evaluators.ray_actor.Replica`) each hold a
replica of the strategy, built once from a pickle, and the objective. Each
generation the driver hands out chunks of indices as actors become free (at most
``DEPTH`` in flight per actor); an actor rebuilds its rows with
``strategy.ask(indices)`` and returns fitness scalars (and the objective's side
results). The driver puts the previous generation's fitness vector into Ray's
object store once per generation; the first chunk an actor gets in a
generation refers to it, and the actor ``tell``s its replica into step with it:
O(popsize) bytes per actor and generation, nothing of O(dim). An actor that dies
has its chunks evaluated again elsewhere and is replaced; the results are put
back by index, so the outcome is bit-identical to a serial run whoever
evaluated what. EvoTorch distributes its ES with Ray actors in the same spirit
(each actor holds a copy of the problem), and Moritz et al., "Ray: A Distributed
Framework for Emerging AI Applications" (OSDI 2018) run ES on it.
"""

from __future__ import annotations

import numbers
import os
import sys
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators.base import (
    aux_size,
    check_timeout,
    collect,
    get_context,
    new_stats,
    raise_failure,
)
from evostrat.evaluators.ray_actor import Replica
from evostrat.evaluators.ray_round import Round

#: Seconds actors may take to start (a process, imports) before ``evaluate``
#: says the cluster cannot place them; a local start takes ~3 s on this machine.
START_TIMEOUT = 60.0


class _Slot:
    """One actor and what the driver knows of it."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.f_id = -1  # objective it holds
        self.state: tuple | None = None  # (owner, generation, digest) of its replica
        self.flight: deque = deque()  # (ref, chunk) in submission order
        self.since = time.monotonic()  # when its oldest chunk could have started


#: Set to "0" before Ray is imported, it makes a local Ray use the loopback
#: address as its node address, so every server it starts listens on 127.0.0.1
#: only (what Ray does on macOS and Windows; ray/_private/services.py).
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _import_ray(local: bool) -> Any:
    """The ``ray`` module, or an ImportError saying how to install it."""
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOCAL_ONLY_ENV, "0")
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "RayEvaluator needs ray: pip install 'evostrat[ray]'"
        ) from err
    return ray


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


class RayEvaluator:
    """Evaluate on Ray actors (``pip install "evostrat[ray]"``).

    ``with RayEvaluator(4) as ev: opt.optimize(f, evaluator=ev)``.

    Parameters
    ----------
    num_actors : int, optional
        Number of actors; the cluster's CPUs when None.
    address : str, optional
        Passed to ``ray.init`` when Ray is not initialized yet: None starts a local
        Ray whose servers listen on 127.0.0.1 only (when this constructor is what
        first imports Ray; see ``LOCAL_ONLY_ENV``), ``"auto"`` joins the cluster
        this machine belongs to.
    chunk_size : int, optional
        Individuals per task; ``ceil(popsize / num_actors)`` when None: one task
        per actor and generation (a task costs ~0.5-2 ms of driver time), right
        for even costs; 1 balances uneven costs best.
    timeout : float, optional
        Seconds one individual's evaluation (vectorized: one block's) may take;
        past it the actor interrupts ``f`` (``SIGALRM``), or the driver kills and
        replaces an actor that cannot be interrupted, and ``evaluate`` raises
        :class:`~evostrat.EvaluationError`. None (default): no limit.
    max_retries : int
        How many times a chunk whose actor died is given to another actor.
    cpus_per_actor : float
        Ray's ``num_cpus`` of an actor (0 to place more actors than CPUs).
    init_kwargs : dict, optional
        More keyword arguments for ``ray.init``.

    Notes
    -----
    ``f`` must pickle (cloudpickle: lambdas do). ``stats["bytes_sent"]`` counts
    the pickled arguments of the evaluation tasks (chunk bounds, a state digest,
    the objective's context once per actor and generation) and the previous
    generation's fitness vector once per generation (the driver puts it into
    Ray's object store once; each actor's task refers to it, and Ray brings it
    to the actor). Shipping the objective and a full
    strategy pickle (at the first generation, after a replacement, or when a
    replica fell out of step) is set-up, counted in ``stats["bytes_setup"]``;
    ``stats["restarts"]`` counts replaced actors.
    """

    is_main = True
    stats: dict[str, Any]
    address: str | None
    init_kwargs: dict[str, Any]
    cpus_per_actor: float
    _closed: bool
    _owns_ray: bool
    _f_id: int
    _f_size: int

    def __init__(
        self,
        num_actors: int | None = None,
        *,
        address: str | None = None,
        chunk_size: int | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        cpus_per_actor: float = 1.0,
        init_kwargs: dict | None = None,
    ) -> None:
        self._ray = _import_ray(address is None)
        self.num_actors = None if num_actors is None else _check_count(
            "num_actors", num_actors, 1
        )  # fmt: skip
        self.chunk_size = None if chunk_size is None else _check_count(
            "chunk_size", chunk_size, 1
        )  # fmt: skip
        self.max_retries = _check_count("max_retries", max_retries, 0)
        if not isinstance(cpus_per_actor, numbers.Real) or cpus_per_actor < 0:
            raise ValueError(f"cpus_per_actor must be >= 0, got {cpus_per_actor!r}")
        self.timeout = check_timeout(timeout)
        self.address = address
        self.cpus_per_actor = float(cpus_per_actor)
        self.init_kwargs = dict(init_kwargs or {})
        self.stats = {**new_stats(), "bytes_setup": 0, "restarts": 0}
        self._slots: list[_Slot] = []
        self._owns_ray = False
        self._f: Any = None
        self._f_id = 0
        self._f_ref: Any = None
        self._f_size = 0
        self._owner: Any = None  # weakref to the strategy last evaluated
        self._last: tuple[int, np.ndarray] | None = None  # its generation, fitness
        self._closed = False

    # ---------------------------------------------------------------- lifetime
    def __enter__(self) -> RayEvaluator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayEvaluator(num_actors={self.num_actors})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a RayEvaluator holds actors and cannot be pickled")

    def close(self) -> None:
        """Kill the actors, and stop Ray if this evaluator started it (idempotent)."""
        self._closed = True
        for slot in self._slots:
            self._ray.kill(slot.handle)
        self._slots.clear()
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False

    def _start(self) -> None:
        ray = self._ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False}
            ray.init(address=self.address, **{**kwargs, **self.init_kwargs})
            self._owns_ray = True
        if self.num_actors is None:
            self.num_actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
        new = [self._new_actor() for _ in range(self.num_actors - len(self._slots))]
        self._wait_ready(new)
        self._slots.extend(new)

    def _wait_ready(self, slots: list[_Slot]) -> None:
        """Wait until the actors run; fail clearly if the cluster cannot place them."""
        refs = [slot.handle.ready.remote() for slot in slots]
        ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=START_TIMEOUT)
        if len(ready) < len(refs):
            for slot in slots:
                self._ray.kill(slot.handle)
            cpus = self._ray.available_resources().get("CPU", 0.0)
            raise RuntimeError(
                f"{len(refs) - len(ready)} of {len(refs)} Ray actors did not start "
                f"within {START_TIMEOUT:g} s; each asks for cpus_per_actor="
                f"{self.cpus_per_actor:g} CPU and the cluster has {cpus:g} free "
                "(use fewer actors or a smaller cpus_per_actor)"
            )

    def _new_actor(self) -> _Slot:
        cls = self._ray.remote(num_cpus=self.cpus_per_actor, max_restarts=0)(Replica)
        return _Slot(cls.remote())

    def _set_objective(self, f: Callable) -> None:
        if f is self._f:
            return
        from ray import cloudpickle  # Ray's own, so that lambdas pickle too

        try:
            data = cloudpickle.dumps(f)
        except Exception as err:
            raise TypeError(
                f"RayEvaluator could not pickle the objective {f!r}: {err}"
            ) from err
        self._f, self._f_id, self._f_size = f, self._f_id + 1, len(data)
        self._f_ref = self._ray.put(data)

    def _replace(self, slot: _Slot) -> _Slot:
        """Kill ``slot``'s actor (if still alive) and put a new one in its place."""
        self._ray.kill(slot.handle)
        new = self._new_actor()
        self._wait_ready([new])
        self._slots[self._slots.index(slot)] = new
        self.stats["restarts"] += 1
        return new

    # -------------------------------------------------------------- evaluation
    def evaluate(
        self, strategy: Any, f: Callable, vectorized: bool = False
    ) -> np.ndarray:
        """One fitness per individual of ``strategy``'s current generation.

        Raises
        ------
        EvaluationError
            ``f`` raised on some individual (the lowest such index), a chunk's
            actor died more than ``max_retries`` times, or an individual took
            longer than ``timeout``.
        ValueError
            ``f`` returned something that is not a real number or a wrong shape.
        """
        if self._closed:
            raise RuntimeError("this RayEvaluator is closed")
        t0 = time.perf_counter()
        k = aux_size(f)
        self._set_objective(f)
        self._start()
        rnd = Round(self, strategy, vectorized, k, get_context(f))
        try:
            rnd.run()
        except BaseException:
            # interrupted (Ctrl-C): actors may hold stale tasks; start afresh
            for slot in self._slots:
                self._ray.kill(slot.handle)
            self._slots.clear()
            raise
        finally:
            self.stats["bytes_sent"] += rnd.sent
            self.stats["bytes_setup"] += rnd.setup
            self.stats["seconds"] += time.perf_counter() - t0
        if rnd.failures:
            raise_failure(rnd.generation, min(rnd.failures, key=lambda e: e[1]))
        collect(f, rnd.generation, rnd.aux)
        self._owner = weakref.ref(strategy)
        self._last = (rnd.generation, rnd.fitness.copy())
        self.stats["generations"] += 1
        self.stats["evaluations"] += strategy.popsize
        return rnd.fitness
