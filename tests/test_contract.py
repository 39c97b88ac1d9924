"""The ask/tell contract of API.md, checked generically on every strategy.

Every strategy in ``evostrat.strategies.REGISTRY``, a user's own subclass (the
(1+1)-ES of ``tests/oneplusone.py``) and CMAES with two-point step-size adaptation
(``cmaes-tpa``) and OpenES with ARS's top directions (``openes-top``) are
exercised: ask semantics,
every rejected input leaves the pickled state unchanged, arbitrary fitness vectors
keep the state finite, checkpoints continue bit-identically, ``maximize`` mirrors
minimization.
"""

from __future__ import annotations

import copy
import math
import pickle
from dataclasses import replace
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evostrat
from evostrat.strategies import REGISTRY
from evostrat.strategies import get_strategy as get_shipped
from evostrat.strategies.options import Option, option_table
from tests.oneplusone import OnePlusOneES


class CMAESWithTPA(evostrat.CMAES):
    """CMAES with ``step_size_adaptation="tpa"`` by default: the contract with TPA."""

    name = "cmaes-tpa"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "step_size_adaptation": replace(
            option_table(evostrat.CMAES)["step_size_adaptation"], default="tpa"
        )
    }


class OpenESTopPairs(evostrat.OpenES):
    """OpenES with ``top_pairs=1`` by default: the contract with pair selection."""

    name = "openes-top"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "top_pairs": replace(option_table(evostrat.OpenES)["top_pairs"], default=1)
    }


#: the shipped strategies, one written against the documented hooks and a variant
CLASSES = {
    **{name: get_shipped(name) for name in REGISTRY},
    "oneplusonees": OnePlusOneES,
    "cmaes-tpa": CMAESWithTPA,
    "openes-top": OpenESTopPairs,
}
NAMES = list(CLASSES)
DIM = 4


def get_strategy(name):
    return CLASSES[name]


def make(name, **kw):
    kw.setdefault("seed", 7)
    return get_strategy(name)(np.full(DIM, 0.5), 0.3, **kw)


def sphere_values(X):
    return [float(np.sum(x * x)) for x in X]


def state_bytes(opt):
    return pickle.dumps(opt)


def run(opt, f, generations):
    for _ in range(generations):
        opt.tell(f(opt.ask()))


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registry_classes_are_exported(name):
    cls = get_strategy(name)
    assert getattr(evostrat, cls.__name__) is cls
    assert cls.name == name


def test_ask_shape_dtype_and_idempotence(name):
    opt = make(name)
    X = opt.ask()
    assert X.shape == (opt.popsize, DIM) and X.dtype == np.float64
    X[:] = 123.0  # the caller may scribble on what it got
    Y = opt.ask()
    assert not np.any(Y == 123.0)
    assert np.array_equal(Y, opt.ask())
    run(opt, sphere_values, 2)
    Z = opt.ask()
    assert np.array_equal(Z, opt.ask())
    assert not np.array_equal(Z, Y)


def test_ask_indices_equal_rows_of_full_ask(name):
    opt = make(name)
    run(opt, sphere_values, 2)
    X = opt.ask()
    idx = [opt.popsize - 1, 0, 1 % opt.popsize]
    assert np.array_equal(opt.ask(idx), X[idx])
    assert opt.ask([]).shape == (0, DIM)
    # a fresh copy of the state rebuilds any individual alone
    other = pickle.loads(pickle.dumps(opt))
    assert np.array_equal(other.ask([opt.popsize - 1]), X[[-1]])


def test_ask_rejects_bad_indices(name):
    opt = make(name)
    for bad in ([opt.popsize], [-1], [[0, 1]], ["a"], [0.5]):
        with pytest.raises(ValueError, match="indices"):
            opt.ask(bad)


def test_same_seed_same_run_other_seed_other_run(name):
    a, b, c = make(name, seed=3), make(name, seed=3), make(name, seed=4)
    run(a, sphere_values, 3)
    run(b, sphere_values, 3)
    run(c, sphere_values, 3)
    assert a.ask().tobytes() == b.ask().tobytes()
    assert a.ask().tobytes() != c.ask().tobytes()


def test_tell_before_ask_is_rejected_and_changes_nothing(name):
    opt = make(name)
    before = state_bytes(opt)
    with pytest.raises(RuntimeError, match="before ask"):
        opt.tell(np.zeros(opt.popsize))
    assert state_bytes(opt) == before
    run(opt, sphere_values, 1)
    with pytest.raises(RuntimeError, match="before ask"):
        opt.tell(np.zeros(opt.popsize))


def bad_fitness_vectors(n):
    good = list(np.linspace(1.0, 2.0, n))
    yield "wrong length", good[:-1], "popsize"
    yield "too long", [*good, 1.0], "popsize"
    yield "2-D column", np.array(good)[:, None], "shape"
    yield "2-D row", np.array(good)[None, :], "shape"
    yield "scalar", 1.0, "shape"
    yield "string", [*good[:-1], "x"], "real"
    yield "None", [*good[:-1], None], "real"
    yield "complex", np.array(good, dtype=complex), "real"
    yield "nan", [*good[:-1], math.nan], "NaN"


def test_bad_fitness_is_rejected_and_changes_nothing(name):
    opt = make(name)
    run(opt, sphere_values, 2)
    X = opt.ask()
    before = state_bytes(opt)
    for label, bad, message in bad_fitness_vectors(opt.popsize):
        with pytest.raises(ValueError, match=message):
            opt.tell(bad)
        assert state_bytes(opt) == before, label
    reference = pickle.loads(before)
    opt.tell(sphere_values(X))  # a corrected tell still works ...
    reference.tell(sphere_values(X))
    assert (
        opt.ask().tobytes() == reference.ask().tobytes()
    )  # ... as if nothing happened


def test_nan_policy_worst_ranks_nan_last(name):
    opt = make(name, nan_policy="worst")
    X = opt.ask()
    f = sphere_values(X)
    f[0] = math.nan
    opt.tell(f)
    assert opt.result.fbest == min(f[1:], default=math.inf)  # popsize 1: only NaN
    assert np.all(np.isfinite(opt.ask()))


def test_unknown_option_is_named(name):
    with pytest.raises(TypeError, match="no_such_option"):
        make(name, no_such_option=1)
    with pytest.raises(ValueError, match="nan_policy"):
        make(name, nan_policy="ignore")


def test_bad_constructor_arguments(name):
    cls = get_strategy(name)
    with pytest.raises(ValueError, match="x0"):
        cls(np.zeros((2, 2)), 0.3)
    with pytest.raises(ValueError, match="x0"):
        cls([], 0.3)
    with pytest.raises(ValueError, match="sigma0"):
        cls(np.zeros(DIM), -1.0)
    with pytest.raises(ValueError, match="sigma0"):
        cls(np.zeros(DIM), math.nan)
    with pytest.raises((TypeError, ValueError), match="popsize"):
        cls(np.zeros(DIM), 0.3, popsize=cls._min_popsize - 1)
    with pytest.raises(TypeError, match="seed"):
        cls(np.zeros(DIM), 0.3, seed="abc")


def test_pickle_and_deepcopy_continue_bit_identically(name):
    opt = make(name)
    run(opt, sphere_values, 3)
    opt.ask()  # checkpoint between ask and tell too
    clones = [pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)]
    for o in [opt, *clones]:
        o.tell(sphere_values(o.ask()))
        run(o, sphere_values, 3)
    for clone in clones:
        assert clone.ask().tobytes() == opt.ask().tobytes()
        assert clone.result.xbest.tobytes() == opt.result.xbest.tobytes()


def test_maximize_rewards_equals_minimizing_costs(name):
    lo, hi = make(name), make(name, maximize=True)
    for _ in range(4):
        X = lo.ask()
        assert np.array_equal(X, hi.ask())
        cost = sphere_values(X)
        lo.tell(cost)
        hi.tell([-c for c in cost])
    assert lo.ask().tobytes() == hi.ask().tobytes()
    assert hi.result.fbest == -lo.result.fbest
    assert np.array_equal(hi.result.xbest, lo.result.xbest)


def test_result_and_stop_options(name):
    opt = make(name, max_generations=3)
    res = opt.optimize(lambda x: float(np.sum(x * x)))
    assert isinstance(res, evostrat.Result) and len(res) == 7
    assert res.generations == 3 and res.evals == 3 * opt.popsize
    assert res.stop.get("max_generations") == 3
    assert res.fbest == pytest.approx(float(np.sum(res.xbest**2)), rel=1e-12)
    assert res.xmean.shape == res.stds.shape == (DIM,)
    opt = make(name, max_evals=opt.popsize)
    assert opt.optimize(lambda x: 1.0).stop.get("max_evals") == opt.popsize
    opt = make(name, target=1e6)
    res = opt.optimize(lambda x: float(np.sum(x * x)))
    assert res.stop.get("target") == 1e6 and res.generations == 1


def test_optimize_keywords_and_callback(name):
    opt = make(name)
    seen = []

    def callback(o):
        seen.append(o.generation)
        return o.generation == 2

    res = opt.optimize(lambda x: float(np.sum(x * x)), callback=callback)
    assert seen == [1, 2] and res.generations == 2
    res = opt.optimize(
        lambda X: np.sum(X * X, axis=1), max_generations=5, vectorized=True
    )
    assert res.generations == 5 and res.stop["max_generations"] == 5


def test_constant_fitness_stops_cleanly(name):
    opt = make(name)
    for _ in range(200):
        if opt.stop():
            break
        opt.ask()
        opt.tell(np.ones(opt.popsize))
    assert opt.stop(), "constant fitness must trigger a stop criterion"
    assert np.all(np.isfinite(opt.mean)) and np.all(np.isfinite(opt.sigma))


finite_or_inf = st.one_of(
    st.floats(allow_nan=False, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, 5e-324]),
)


@pytest.mark.parametrize("strategy_name", NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_fitness_keeps_state_finite(strategy_name, data):
    opt = make(strategy_name)
    for _ in range(5):
        opt.ask()
        f = data.draw(
            st.lists(finite_or_inf, min_size=opt.popsize, max_size=opt.popsize)
        )
        opt.tell(f)
        assert np.all(np.isfinite(opt.mean))
        sigma = np.asarray(opt.sigma, dtype=float)
        assert np.all(np.isfinite(sigma)) and np.all(sigma > 0)
        assert np.all(np.isfinite(opt.result.stds))
        assert np.all(np.isfinite(opt.ask()))


def bad_fitness(popsize):
    """Hypothesis strategy: fitness inputs that tell() must reject."""
    reals = st.floats(allow_nan=False, allow_infinity=True)
    wrong_length = st.integers(0, 3 * popsize).filter(lambda n: n != popsize)
    return st.one_of(
        wrong_length.flatmap(lambda n: st.lists(reals, min_size=n, max_size=n)),
        st.tuples(
            st.lists(reals, min_size=popsize, max_size=popsize),
            st.integers(0, popsize - 1),
            st.sampled_from([math.nan, None, "1.0", 1j, [1.0], b"x"]),
        ).map(lambda t: t[0][: t[1]] + [t[2]] + t[0][t[1] + 1 :]),
        st.integers(1, 3).map(lambda k: np.zeros((popsize, k))),
    )


@pytest.mark.parametrize("strategy_name", NAMES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_rejected_input_leaves_pickled_state_unchanged(strategy_name, data):
    opt = make(strategy_name)
    run(opt, sphere_values, 1)
    X = opt.ask()
    before = state_bytes(opt)
    bad = data.draw(bad_fitness(opt.popsize))
    with pytest.raises((ValueError, TypeError)):
        opt.tell(bad)
    assert state_bytes(opt) == before
    opt.tell(sphere_values(X))
    assert opt.generation == 2


@pytest.mark.parametrize("strategy_name", NAMES)
@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    generations=st.integers(0, 3),
    data=st.data(),
)
def test_individual_is_a_function_of_seed_generation_index(
    strategy_name, seed, generations, data
):
    a, b = make(strategy_name, seed=seed), make(strategy_name, seed=seed)
    run(a, sphere_values, generations)
    run(b, sphere_values, generations)
    idx = data.draw(st.lists(st.integers(0, a.popsize - 1), max_size=2 * a.popsize))
    full = a.ask()
    assert np.array_equal(b.ask(idx), full[idx])
    for i in idx:
        assert np.array_equal(b.ask([i])[0], full[i])
