"""evostrat.fmin: restarts (IPOP, BIPOP), global budget and target, the result."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import evostrat
from evostrat.api import FminResult, RunInfo
from evostrat.functions import rastrigin, sphere
from evostrat.result import Result

X0 = np.full(4, 2.0)


def fmin_es(f=sphere, **kwargs):
    """fmin with SimpleES and a short fixed run length (fast, deterministic)."""
    args = {
        "strategy": "simplees", "seed": 3, "max_generations": 20,
        "restart_strategy": "ipop",  # the default, pinned
        **kwargs,
    }  # fmt: skip
    return evostrat.fmin(f, X0, 0.5, **args)


def test_returns_a_result_of_seven_fields():
    res = fmin_es()
    assert isinstance(res, Result) and isinstance(res, FminResult)
    xbest, fbest, evals, generations, xmean, stds, stop = res
    assert len(res) == 7
    assert fbest == pytest.approx(sphere(xbest))
    assert fbest < sphere(X0)
    assert evals == 20 * res.runs[0].popsize and generations == 20
    assert xmean.shape == stds.shape == (4,)
    assert stop == {"max_generations": 20}
    assert res.restarts == 0 and len(res.runs) == 1 and res.seed == 3


def test_without_restarts_equals_optimize_with_the_same_seed():
    res = fmin_es()
    opt = evostrat.SimpleES(X0, 0.5, seed=3, max_generations=20)
    ref = opt.optimize(sphere)
    assert res.fbest == ref.fbest
    np.testing.assert_array_equal(res.xbest, ref.xbest)
    np.testing.assert_array_equal(res.xmean, ref.xmean)


@pytest.mark.parametrize("restart_strategy", ["ipop", "bipop"])
def test_deterministic_for_a_seed(restart_strategy):
    a = fmin_es(restarts=3, restart_strategy=restart_strategy)
    b = fmin_es(restarts=3, restart_strategy=restart_strategy)
    c = fmin_es(restarts=3, restart_strategy=restart_strategy, seed=4)
    assert a.fbest == b.fbest and a.runs == b.runs
    np.testing.assert_array_equal(a.xbest, b.xbest)
    assert a.fbest != c.fbest


def test_seed_none_is_drawn_once_and_reported():
    a = fmin_es(restarts=2, seed=None)
    assert isinstance(a.seed, int)
    b = fmin_es(restarts=2, seed=a.seed)
    assert a.fbest == b.fbest and a.runs == b.runs


def test_ipop_doubles_the_population_and_keeps_the_best():
    res = fmin_es(restarts=3)
    assert res.restarts == 3
    # as pycma: the unrounded default 4 + 3 ln 4 = 8.16 doubles (16.3, 32.6, 65.3)
    assert [r.popsize for r in res.runs] == [8, 16, 32, 65]
    assert [r.regime for r in res.runs] == ["first", "large", "large", "large"]
    assert all(r.sigma0 == 0.5 for r in res.runs)
    assert len({r.seed for r in res.runs}) == 4
    assert res.evals == sum(r.evals for r in res.runs) == 20 * (8 + 16 + 32 + 65)
    assert res.generations == 80
    assert res.fbest == min(r.fbest for r in res.runs)
    assert res.stop == res.runs[-1].stop


def test_popsize_sets_the_first_run():
    res = fmin_es(restarts=2, popsize=5)
    assert [r.popsize for r in res.runs] == [5, 10, 20]


def test_bipop_interlaces_small_runs_by_budget():
    res = fmin_es(f=rastrigin, restarts=3, restart_strategy="bipop")
    regimes = [r.regime for r in res.runs]
    assert regimes[:2] == ["first", "large"]
    assert regimes.count("large") == 3  # restarts bound the large runs (pycma)
    assert "small" in regimes and regimes[-1] == "large"
    large = [r.popsize for r in res.runs if r.regime == "large"]
    assert large == [16, 32, 65]  # int(8.16 * 2**k), as pycma
    small_evals = res.runs[0].evals
    large_evals = 0
    for run in res.runs[1:]:
        # the regime that has spent less so far runs next
        assert run.regime == ("small" if small_evals < large_evals else "large")
        if run.regime == "small":
            assert 8 <= run.popsize <= 64
            assert 0.5 * 0.01 <= run.sigma0 <= 0.5
            assert run.evals <= 0.5 * large_evals + run.popsize
            small_evals += run.evals
        else:
            large_evals += run.evals
    assert any(r.sigma0 < 0.5 for r in res.runs if r.regime == "small")


def test_global_max_evals_over_restarts():
    res = fmin_es(restarts=5, max_evals=1000)
    assert 1000 <= res.evals <= 1000 + res.runs[-1].popsize
    assert res.restarts < 5
    assert res.stop == {"max_evals": 1000}
    assert sum(r.evals for r in res.runs) == res.evals


def test_maxfevals_alias_needs_the_strategy_to_know_it():
    with pytest.raises(TypeError, match="maxfevals"):
        fmin_es(maxfevals=1000)


def test_target_stops_everything():
    res = fmin_es(restarts=5, max_generations=200, target=1e-2)
    assert "target" in res.stop
    assert res.fbest <= 1e-2
    assert all("target" not in r.stop for r in res.runs[:-1])


def test_maximize():
    res = fmin_es(f=lambda x: -sphere(x), maximize=True, restarts=4, target=-0.1)
    assert res.fbest >= -0.1 and res.fbest == max(r.fbest for r in res.runs)
    assert res.stop == {"target": -0.1}
    assert res.fbest == pytest.approx(-sphere(res.xbest))


def test_evaluator_is_used_by_every_run():
    evaluator = evostrat.SerialEvaluator()
    res = fmin_es(restarts=2, evaluator=evaluator)
    assert evaluator.stats["evaluations"] == res.evals
    assert evaluator.stats["generations"] == res.generations == 60


def test_vectorized():
    a = fmin_es(restarts=1, vectorized=True)
    b = fmin_es(restarts=1)
    assert a.fbest == b.fbest


def test_callable_x0_gets_a_seeded_generator():
    starts = []

    def x0(generator):
        starts.append(generator.uniform(-1, 1, 4))
        return starts[-1]

    a = evostrat.fmin(
        sphere, x0, 0.5, "simplees", restarts=2, seed=1, max_generations=5,
        restart_strategy="ipop",
    )  # fmt: skip
    first = [s.copy() for s in starts]
    starts.clear()
    b = evostrat.fmin(
        sphere, x0, 0.5, "simplees", restarts=2, seed=1, max_generations=5,
        restart_strategy="ipop",
    )  # fmt: skip
    assert len(first) == 3 and not np.array_equal(first[0], first[1])
    np.testing.assert_array_equal(np.array(first), np.array(starts))
    assert a.fbest == b.fbest


def test_result_pickles_and_is_read_only():
    res = fmin_es(restarts=1)
    back = pickle.loads(pickle.dumps(res))
    assert isinstance(back, FminResult) and back.restarts == 1
    assert back.runs == res.runs and isinstance(back.runs[0], RunInfo)
    with pytest.raises(AttributeError):
        res.restarts = 5
    assert res._replace(fbest=0.0).runs == res.runs


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"strategy": "nope"}, ValueError, "simplees.*cmaes.*openes"),
        ({"restarts": -1}, ValueError, "restarts"),
        ({"restarts": 1.5}, TypeError, "restarts"),
        ({"restart_strategy": "lpop"}, ValueError, "ipop"),
        ({"unknown_option": 1}, TypeError, "unknown_option"),
        ({"evaluator": object()}, TypeError, "evaluator"),
        ({"max_evals": -5}, ValueError, "max_evals"),
        ({"target": "low"}, TypeError, "target"),
        ({"popsize": 0}, ValueError, "popsize"),
        ({"callback": "stop"}, TypeError, "callback"),
    ],
)
def test_bad_arguments_fail_before_any_evaluation(kwargs, error, match):
    calls = []

    def f(x):
        calls.append(1)
        return sphere(x)

    with pytest.raises(error, match=match):
        fmin_es(f=f, **kwargs)
    assert calls == []


def test_callback_sees_every_run_and_true_ends_the_call():
    seen = []
    res = fmin_es(restarts=2, callback=lambda opt: seen.append(opt.popsize))
    first = res.runs[0].popsize
    assert [r.popsize for r in res.runs] == [first, 2 * first, 4 * first]
    assert seen == [r.popsize for r in res.runs for _ in range(20)]  # every tell

    stopped = fmin_es(restarts=5, callback=lambda opt: opt.generation == 7)
    assert stopped.restarts == 0 and stopped.generations == 7
    assert stopped.evals == 7 * first
    # the same run as without a callback, cut short: same trajectory
    ref = evostrat.SimpleES(X0, 0.5, seed=3, max_generations=7).optimize(sphere)
    assert stopped.fbest == ref.fbest


def test_callback_ends_the_call_in_a_later_run():
    res = fmin_es(
        restarts=5, callback=lambda opt: opt.popsize > 8 and opt.generation == 3
    )
    first = res.runs[0].popsize
    assert first <= 8 and res.restarts >= 1
    assert res.runs[-1].popsize > 8 and res.runs[-1].evals == 3 * res.runs[-1].popsize


def test_no_restarts_after_a_run_that_evaluated_nothing():
    res = fmin_es(restarts=3, max_generations=0)
    assert res.restarts == 0 and res.evals == 0 and len(res.runs) == 1
    assert res.stop == {"max_generations": 0}


def test_f_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        evostrat.fmin(None, X0, 0.5, "simplees")


def test_cmaes_restarts_popsize_default():
    res = evostrat.fmin(
        sphere, np.ones(10), 0.5, restarts=1, seed=1, max_generations=3,
        restart_strategy="ipop",
    )  # fmt: skip
    assert [r.popsize for r in res.runs] == [10, 21]  # int(2 * (4 + 3 ln 10)), pycma
    assert res.evals == 3 * 10 + 3 * 21


def test_cmaes_pycma_aliases_are_global_or_per_run():
    res = evostrat.fmin(
        rastrigin, np.full(5, 3.0), 2.0, restarts=9, seed=1, maxfevals=3000, maxiter=20,
        restart_strategy="ipop",
    )  # fmt: skip
    assert 3000 <= res.evals <= 3000 + res.runs[-1].popsize  # maxfevals: global
    assert res.stop == {"max_evals": 3000}
    assert all(r.evals == 20 * r.popsize for r in res.runs[:-1])  # maxiter: per run
    with pytest.raises(ValueError, match="maxfevals"):
        evostrat.fmin(sphere, np.ones(3), 1.0, max_evals=10, maxfevals=10)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "restart_strategy"), [(1, "ipop"), (2, "ipop"), (3, "ipop"), (1, "bipop")]
)
def test_restarts_solve_rastrigin_10(seed, restart_strategy):
    """IPOP-CMA-ES on 10-D Rastrigin, x0 ~ U[-5, 5]^n, sigma0 = 5 (Auger & Hansen
    2005), budget 2e5: a single run fails, restarts with larger populations succeed."""
    x0 = np.random.default_rng(seed).uniform(-5, 5, 10)
    res = evostrat.fmin(
        rastrigin, x0, 5.0, restarts=9, seed=seed, max_evals=200_000, target=1e-8,
        vectorized=True, restart_strategy=restart_strategy,
    )  # fmt: skip
    assert res.fbest < 1e-8, res.runs
    assert res.stop == {"target": 1e-8}
    assert res.restarts >= 1 and res.runs[0].fbest > 1e-8
    assert res.evals <= 200_000


@pytest.mark.parametrize("restart_strategy", ["ipop", "bipop"])
def test_restarts_respect_a_strategy_popsize_parity(restart_strategy):
    res = evostrat.fmin(
        sphere, np.ones(6), 0.5, "pepg", restarts=3, seed=5, max_generations=5,
        restart_strategy=restart_strategy, baseline="mean",
    )  # fmt: skip
    assert all(r.popsize % 2 == 1 for r in res.runs)  # pairs plus the mean
    assert res.restarts >= 3


@pytest.mark.parametrize("strategy", ["sepcmaes", "snes", "xnes", "openes", "simplega"])
def test_every_strategy_restarts(strategy):
    res = evostrat.fmin(
        sphere, np.ones(4), 0.5, strategy, restarts=2, seed=2, max_generations=5,
        restart_strategy="ipop",
    )  # fmt: skip
    p0 = res.runs[0].popsize
    assert [r.popsize for r in res.runs] == [p0, 2 * p0, 4 * p0]
    assert res.fbest < sphere(np.ones(4))


def test_bounds_pass_to_every_run():
    def f(x):
        assert np.all(np.abs(x) <= 1.0)  # the repaired points only
        return float(np.sum((x - 2.0) ** 2))

    res = evostrat.fmin(
        f, np.zeros(3), 0.5, restarts=2, seed=1, bounds=(-1.0, 1.0), max_generations=60,
        restart_strategy="ipop",
    )  # fmt: skip
    assert res.restarts == 2
    np.testing.assert_allclose(res.xbest, 1.0, atol=1e-3)


def test_nipop_divides_sigma0_as_the_population_doubles():
    res = fmin_es(restarts=3, restart_strategy="nipop")
    assert [r.popsize for r in res.runs] == [8, 16, 32, 65]
    assert [r.sigma0 for r in res.runs] == pytest.approx(
        [0.5, 0.5 / 1.6, 0.5 / 1.6**2, 0.5 / 1.6**3]
    )


def test_nbipop_gives_the_better_regime_twice_the_budget():
    res = fmin_es(f=rastrigin, restarts=4, restart_strategy="nbipop")
    regimes = [r.regime for r in res.runs]
    assert regimes.count("large") == 4 and "small" in regimes
    small_evals, large_evals = res.runs[0].evals, 0
    best, best_regime = res.runs[0].fbest, "small"
    for k, run in enumerate(res.runs[1:], start=1):
        share = 2.0 if best_regime == "small" else 0.5
        expected = "small" if small_evals < share * large_evals else "large"
        assert run.regime == expected
        if run.regime == "small":
            assert run.popsize == 8  # the default population size
            assert 0.5 * 0.01 <= run.sigma0 <= 0.5
            small_evals += run.evals
        else:
            large = [r for r in res.runs[:k] if r.regime == "large"]
            assert run.sigma0 == pytest.approx(0.5 / 1.6 ** (len(large) + 1))
            large_evals += run.evals
        if run.fbest < best:
            best, best_regime = run.fbest, run.regime


def test_default_restart_strategy_is_ipop():
    # API.md names IPOP the default; BIPOP (level on bbob) is one keyword away
    res = evostrat.fmin(rastrigin, X0, 0.5, strategy="simplees", seed=3, restarts=3,
                        max_generations=20)  # fmt: skip
    assert [r.regime for r in res.runs] == ["first", "large", "large", "large"]
    bipop = fmin_es(f=rastrigin, restarts=3, restart_strategy="bipop")
    assert "small" in [r.regime for r in bipop.runs]
