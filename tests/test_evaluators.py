"""PoolEvaluator (and the evaluator protocol): same results as serial, faults, bytes.

The objectives live in tests/mpi_scripts/es_objectives.py, put on ``sys.path`` here
so that spawned worker processes (which inherit ``sys.path``) can unpickle them.
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import evostrat
from evostrat.evaluators import Evaluator, PoolEvaluator, SerialEvaluator
from evostrat.functions import rastrigin, sphere
from evostrat.strategies import REGISTRY, get_strategy

sys.path.insert(0, str(Path(__file__).resolve().parent / "mpi_scripts"))

from es_objectives import (  # noqa: E402
    BadAux,
    FailOn,
    Heavy,
    KillOn,
    KillOnce,
    NotReal,
    Recording,
    SleepOn,
    WithAux,
    WithAuxVectorized,
    always_die,
    aux_outcome,
)

DIM = 5
SEED = 11


def make(name: str, **kw) -> evostrat.Strategy:
    kw.setdefault("max_generations", 5)
    return get_strategy(name)(np.full(DIM, 1.5), 0.5, seed=SEED, **kw)


def outcome(res) -> tuple:
    return res.xbest.tobytes(), res.xmean.tobytes(), res.fbest, res.generations


@pytest.fixture(scope="module")
def pool():
    with PoolEvaluator(2) as ev:
        yield ev


@pytest.mark.parametrize("name", list(REGISTRY))
@pytest.mark.parametrize("vectorized", [False, True])
def test_pool_same_result_as_serial(pool, name, vectorized):
    serial = Recording(SerialEvaluator())
    want = outcome(make(name).optimize(rastrigin, serial, vectorized=vectorized))
    before = dict(pool.stats)
    rec = Recording(pool)
    got = outcome(make(name).optimize(rastrigin, rec, vectorized=vectorized))
    assert got == want
    assert rec.history() == serial.history()  # every generation's fitness
    assert pool.stats["generations"] - before["generations"] == 5
    assert pool.stats["evaluations"] - before["evaluations"] == 5 * make(name).popsize
    assert pool.stats["bytes_sent"] > before["bytes_sent"]


def test_pool_uneven_chunks_and_order(pool):
    # popsize 13 over 2 workers: chunks of ceil(13/8) = 2 rows, the last one short
    opt = evostrat.SimpleES(np.arange(4.0), 1.0, popsize=13, seed=3)
    fitness = pool.evaluate(opt, sphere)
    assert fitness == [sphere(x) for x in opt.ask()]
    assert pool._chunk_rows(32, 10) == 4
    assert pool._chunk_rows(32, 10**7) == 1  # long rows: one per message


def test_evaluators_follow_the_protocol(pool):
    for ev in (pool, SerialEvaluator()):
        assert isinstance(ev, Evaluator)
        assert ev.is_main
        assert {"generations", "evaluations", "seconds", "bytes_sent"} <= set(ev.stats)


def test_objective_is_shipped_once_per_worker_as_setup(pool):
    heavy = Heavy(200_000)
    opt = evostrat.SimpleES(np.zeros(3), 0.1, popsize=16, seed=1)
    b0, s0 = pool.stats["bytes_sent"], pool.stats["bytes_setup"]
    pool.evaluate(opt, heavy)
    first = pool.stats["bytes_sent"] - b0
    assert pool.stats["bytes_setup"] - s0 > 2 * 200_000  # f went to both workers
    pool.evaluate(opt, heavy)
    second = pool.stats["bytes_sent"] - b0 - first
    # evaluation traffic only: the rows (16 x 3 float64) and headers, every time
    assert 16 * 3 * 8 < first == second < 20_000
    s1 = pool.stats["bytes_setup"]
    assert s1 - s0 < 2 * 200_000 + 20_000  # not shipped again for the same f
    pool.evaluate(opt, Heavy(200_000))  # a different objective is shipped again
    assert pool.stats["bytes_setup"] - s1 > 2 * 200_000
    assert pool.stats["bytes_sent"] - b0 - first - second == first


def test_exception_in_f_gives_evaluation_error_and_leaves_strategy(pool):
    opt = make("simplees")
    opt.optimize(sphere, max_generations=1)
    X = opt.ask()
    bad = FailOn(X[5])
    state = pickle.dumps(opt)
    with pytest.raises(evostrat.EvaluationError) as serial_err:
        SerialEvaluator().evaluate(opt, bad)
    with pytest.raises(evostrat.EvaluationError) as pool_err:
        pool.evaluate(opt, bad)
    err = pool_err.value
    assert (err.generation, err.index) == (1, 5)
    assert (err.generation, err.index) == (
        serial_err.value.generation,
        serial_err.value.index,
    )
    assert "ZeroDivisionError: planted failure" in err.cause
    assert "Traceback" in err.cause and "es_objectives.py" in err.cause
    assert "individual 5 of generation 1" in str(err)
    assert pickle.dumps(opt) == state
    # the same generation evaluates again, and the run goes on as a serial one
    assert pool.evaluate(opt, sphere) == [sphere(x) for x in X]
    want = outcome(make("simplees").optimize(sphere))
    assert outcome(opt.optimize(sphere, pool, max_generations=5)) == want


def test_non_real_fitness_and_wrong_vectorized_shape(pool):
    opt = make("simplees")
    X = opt.ask()
    with pytest.raises(ValueError, match="real number"):
        opt.tell(pool.evaluate(opt, NotReal(X[2])))
    with pytest.raises(ValueError, match="shape"):
        pool.evaluate(opt, Heavy(8), vectorized=True)  # returns a scalar for a block
    assert opt.generation == 0


@pytest.mark.slow
def test_killed_worker_is_replaced_and_nothing_is_lost(tmp_path):
    want = make("simplees").optimize(sphere)
    with PoolEvaluator(2) as ev:
        got = make("simplees").optimize(KillOnce(str(tmp_path / "marker")), ev)
        assert ev.stats["restarts"] == 1
        assert ev.stats["evaluations"] == 5 * make("simplees").popsize
    assert (tmp_path / "marker").exists()
    assert outcome(got) == outcome(want)


@pytest.mark.slow
def test_worker_dying_every_time_gives_up_after_max_retries():
    opt = make("simplees")
    with PoolEvaluator(2, max_retries=1) as ev:
        with pytest.raises(evostrat.EvaluationError, match="died") as info:
            ev.evaluate(opt, always_die)
        assert "max_retries=1" in info.value.cause
        assert info.value.generation == 0
        # the pool is whole again and usable
        assert ev.evaluate(opt, sphere) == [sphere(x) for x in opt.ask()]
        assert len(ev._workers) == 2


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="processes"):
        PoolEvaluator(0)
    with pytest.raises(TypeError, match="processes"):
        PoolEvaluator("2")
    with pytest.raises(ValueError, match="max_retries"):
        PoolEvaluator(1, max_retries=-1)
    with pytest.raises(ValueError, match="start_method"):
        PoolEvaluator(1, start_method="teleport")
    ev = PoolEvaluator(1)
    opt = make("simplees")
    with pytest.raises(TypeError, match="picklable"):
        ev.evaluate(opt, lambda x: 0.0)
    assert ev.stats["generations"] == 0 and not ev._workers
    ev.close()
    ev.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        ev.evaluate(opt, sphere)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(PoolEvaluator(1))


def test_mpi_evaluator_import_is_lazy():
    # importing evostrat's evaluators must not need (nor load) mpi4py
    import subprocess

    code = "import evostrat, sys; evostrat.MPIEvaluator; print('mpi4py' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("cls", [WithAux, WithAuxVectorized])
def test_side_results_are_the_same_on_serial_and_pool(pool, cls):
    vectorized = cls is WithAuxVectorized
    f = cls()
    want = aux_outcome(make("cmaes").optimize(f, vectorized=vectorized), f)
    b0 = pool.stats["bytes_sent"]
    g = cls()
    got = aux_outcome(make("cmaes").optimize(g, pool, vectorized=vectorized), g)
    assert got == want
    assert f.count == 5 * make("cmaes").popsize and f.scale != 1.0
    assert [gen for gen, _ in f.seen] == [0, 1, 2, 3, 4]
    # the context went to every worker each generation: more bytes than sphere
    plain = make("cmaes")
    b1 = pool.stats["bytes_sent"]
    plain.optimize(sphere, pool, vectorized=vectorized)
    assert b1 - b0 > pool.stats["bytes_sent"] - b1


def test_side_results_errors_name_what_was_wrong(pool):
    class NoCollect:
        aux_size = 2

        def __call__(self, x):
            return 0.0, np.zeros(2)

    class Plain(WithAux):
        def __call__(self, x):
            return 0.0

    opt = make("simplees")
    for ev in (SerialEvaluator(), pool):
        with pytest.raises(TypeError, match="collect"):
            ev.evaluate(opt, NoCollect())
        with pytest.raises(ValueError, match="aux has shape"):
            ev.evaluate(opt, BadAux())
        if ev is not pool:  # Plain is local to this test: it does not pickle
            with pytest.raises(ValueError, match="pair"):
                ev.evaluate(opt, Plain())
    assert opt.generation == 0


def test_timeout_turns_a_hang_into_evaluation_error():
    opt = make("simplees", popsize=16)
    X = opt.ask()
    with PoolEvaluator(2, timeout=1.0) as pool_ev:
        for ev in (SerialEvaluator(timeout=1.0), pool_ev):
            t0 = time.monotonic()
            with pytest.raises(
                evostrat.EvaluationError,
                match="individual 3 took longer than timeout=1",
            ) as info:
                ev.evaluate(opt, SleepOn(X[3]))
            assert time.monotonic() - t0 < 10
            assert (info.value.generation, info.value.index) == (0, 3)
            # usable again (a pure-Python f: numba's first compile of sphere in a
            # fresh worker could itself take over a second)
            plain = FailOn(np.full(DIM, np.nan))
            assert ev.evaluate(opt, plain) == [plain(x) for x in X]
        assert pool_ev.stats["restarts"] == 1
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            SerialEvaluator(timeout=bad)
    with pytest.raises(TypeError, match="timeout"):
        PoolEvaluator(1, timeout="1")


@pytest.mark.slow
def test_worker_killed_by_a_signal_names_the_individual():
    opt = make("simplees", popsize=16)  # chunks of 2 rows: [4, 5] holds row 5
    with PoolEvaluator(2, max_retries=0) as ev:
        with pytest.raises(evostrat.EvaluationError, match="SIGKILL") as info:
            ev.evaluate(opt, KillOn(opt.ask()[5]))
        assert info.value.index == 5
