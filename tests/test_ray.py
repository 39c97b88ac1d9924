"""RayEvaluator on a local Ray (127.0.0.1, 2 CPUs), started once for this module.

The same results as serial for every strategy (xbest, xmean and the fitness of
every generation), side results, an actor killed mid-run, errors, timeouts, and
bytes that do not depend on the dimension. Ray is shut down at the end, so no
process is left behind.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import evostrat
from evostrat.evaluators import RayEvaluator, SerialEvaluator
from evostrat.evaluators.ray import LOCAL_ONLY_ENV
from evostrat.functions import rastrigin, sphere
from evostrat.strategies import REGISTRY, get_strategy

SCRIPTS = Path(__file__).resolve().parent / "mpi_scripts"
sys.path.insert(0, str(SCRIPTS))

from es_objectives import (  # noqa: E402
    FailOn,
    KillOnce,
    SleepOn,
    WithAux,
    WithAuxVectorized,
    aux_outcome,
)

os.environ.setdefault(LOCAL_ONLY_ENV, "0")  # Ray on 127.0.0.1 only
import ray  # noqa: E402  (a missing ray fails these tests, never skips them)

pytestmark = pytest.mark.slow  # Ray's start-up takes ~15 s on this machine

DIM, SEED, GENERATIONS = 5, 11, 4


def make(name: str, dim: int = DIM, **kw) -> evostrat.Strategy:
    return get_strategy(name)(np.full(dim, 1.5), 0.5, seed=SEED, **kw)


@pytest.fixture(scope="module")
def ev():
    # actors import es_objectives: Ray's workers inherit the driver's environment
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (path, str(SCRIPTS)) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    assert ray.nodes()[0]["NodeManagerAddress"] == "127.0.0.1"
    try:
        with RayEvaluator(2) as evaluator:
            yield evaluator
    finally:
        ray.shutdown()
        os.environ["PYTHONPATH"] = path


def history(evaluator, name: str, f, vectorized: bool) -> tuple:
    """Run GENERATIONS generations; the fitness of each and the result."""
    opt = make(name)
    seen = []
    for _ in range(GENERATIONS):
        fitness = np.asarray(evaluator.evaluate(opt, f, vectorized), dtype=np.float64)
        seen.append(fitness.tobytes())
        opt.tell(fitness)
    res = opt.result
    return res.xbest.tobytes(), res.xmean.tobytes(), tuple(seen)


def test_same_results_as_serial_for_every_strategy(ev):
    mismatches = []
    for name in REGISTRY:
        for vectorized in (False, True):
            want = history(SerialEvaluator(), name, rastrigin, vectorized)
            if history(ev, name, rastrigin, vectorized) != want:
                mismatches.append((name, vectorized))
    assert not mismatches
    assert ev.stats["generations"] >= 2 * len(REGISTRY) * GENERATIONS
    res = evostrat.fmin(rastrigin, np.full(DIM, 1.5), 0.5, "cmaes", restarts=1,
                        seed=SEED, max_evals=400)  # fmt: skip
    got = evostrat.fmin(rastrigin, np.full(DIM, 1.5), 0.5, "cmaes", restarts=1,
                        seed=SEED, max_evals=400, evaluator=ev)  # fmt: skip
    assert (got.xbest.tobytes(), got.fbest, got.evals) == (
        res.xbest.tobytes(), res.fbest, res.evals,
    )  # fmt: skip


@pytest.mark.parametrize("cls", [WithAux, WithAuxVectorized])
def test_side_results_and_context(ev, cls):
    vectorized = cls is WithAuxVectorized
    f, g = cls(), cls()
    want = aux_outcome(
        make("cmaes", max_generations=5).optimize(f, vectorized=vectorized), f
    )
    got = aux_outcome(
        make("cmaes", max_generations=5).optimize(g, ev, vectorized=vectorized), g
    )
    assert got == want and f.scale != 1.0


def test_killed_actor_is_replaced_and_nothing_is_lost(ev, tmp_path):
    want = make("simplees", max_generations=5).optimize(sphere)
    restarts = ev.stats["restarts"]
    f = KillOnce(str(tmp_path / "marker"))
    got = make("simplees", max_generations=5).optimize(f, ev)
    assert (tmp_path / "marker").exists()  # an actor did kill itself
    assert ev.stats["restarts"] == restarts + 1
    assert (got.xbest.tobytes(), got.xmean.tobytes(), got.fbest) == (
        want.xbest.tobytes(), want.xmean.tobytes(), want.fbest,
    )  # fmt: skip


def test_exception_in_f_and_timeout(ev):
    opt = make("simplees", popsize=16)
    X = opt.ask()
    state = pickle.dumps(opt)
    with pytest.raises(evostrat.EvaluationError) as info:
        ev.evaluate(opt, FailOn(X[5]))
    assert (info.value.generation, info.value.index) == (0, 5)
    assert "ZeroDivisionError: planted failure" in info.value.cause
    assert pickle.dumps(opt) == state
    with RayEvaluator(2, cpus_per_actor=0) as slow:
        # actors started and replicas built without a timeout first: the 10 s
        # bound is on the hang alone (start-up on a loaded machine takes longer);
        # the timeout travels with each generation's chunks
        plain = FailOn(np.full(DIM, np.nan))
        assert slow.evaluate(opt, plain).tolist() == [plain(x) for x in X]
        slow.timeout = 1.0
        t0 = time.monotonic()
        with pytest.raises(evostrat.EvaluationError, match="took longer") as info:
            slow.evaluate(opt, SleepOn(X[3]))
        assert time.monotonic() - t0 < 10 and info.value.index == 3
        assert slow.evaluate(opt, plain).tolist() == [plain(x) for x in X]
    assert ev.evaluate(opt, FailOn(X[0] + 1)).tolist() == [sphere(x) for x in X]


def test_bytes_per_generation_do_not_depend_on_dim(ev):
    sent = {}
    for dim in (10, 100_000):
        opt = make("simplees", dim=dim, popsize=16)
        opt.optimize(sphere, ev, max_generations=1)  # replicas built (set-up)
        b0, s0 = ev.stats["bytes_sent"], ev.stats["bytes_setup"]
        opt.optimize(sphere, ev, max_generations=3)
        sent[dim] = ev.stats["bytes_sent"] - b0
        assert ev.stats["bytes_setup"] == s0  # kept in step by fitness alone
    assert sent[10] == sent[100_000] < 2 * 16 * 8 * 2 + 4000


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_actors"):
        RayEvaluator(0)
    with pytest.raises(TypeError, match="chunk_size"):
        RayEvaluator(2, chunk_size=1.5)
    with pytest.raises(ValueError, match="timeout"):
        RayEvaluator(2, timeout=-1)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(RayEvaluator(1))


def test_actors_that_cannot_be_placed_give_a_clear_error(ev):
    with RayEvaluator(1, cpus_per_actor=64) as big:
        with pytest.raises(RuntimeError, match="did not start"):
            import evostrat.evaluators.ray as ray_module

            ray_module.START_TIMEOUT, old = 2.0, ray_module.START_TIMEOUT
            try:
                big.evaluate(make("simplees"), sphere)
            finally:
                ray_module.START_TIMEOUT = old


def test_an_objective_the_actors_cannot_import_gives_evaluation_error(ev):
    opt = make("simplees")
    # a pickle naming a module the actors do not have (as a class defined in a
    # module that only the driver can import would be)
    data = b"cno_such_module_for_evostrat\nThing\n)R."
    ev._f, ev._f_id, ev._f_size = object(), ev._f_id + 1, len(data)
    ev._f_ref = ray.put(data)
    with pytest.raises(evostrat.EvaluationError, match="could not be unpickled"):
        ev.evaluate(opt, ev._f)
    assert ev.evaluate(opt, sphere).tolist() == [sphere(x) for x in opt.ask()]
