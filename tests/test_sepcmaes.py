"""SepCMAES: learning rates, convergence, linear cost, robustness, pickling."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evostrat import functions as F
from evostrat.strategies.cma.cmaes import CMAES
from evostrat.strategies.cma.sepcmaes import SepCMAES


def _run(opt, f, target=1e-8, max_gen=100000):
    while not opt.stop() and opt.generation < max_gen:
        opt.tell(f(opt.ask()))
        if opt.result.fbest <= target:
            break
    return opt


@pytest.mark.parametrize("n", [2, 10, 100, 1000])
def test_learning_rates_scaled_by_n_plus_2_over_3(n):
    full = CMAES(np.zeros(n), 1.0, seed=0, defaults="tutorial")  # SepCMAES: Table 1
    sep = SepCMAES(np.zeros(n), 1.0, seed=0)
    fac = (n + 2) / 3  # Ros & Hansen 2008, eq. (6)
    assert sep.c1 == pytest.approx(min(1.0, full.c1 * fac), rel=1e-14)
    assert sep.cmu == pytest.approx(min(1 - sep.c1, full.cmu * fac), rel=1e-14)
    assert sep.c1 + sep.cmu <= 1.0
    for name in ("cs", "damps", "cc", "mueff", "popsize"):
        assert getattr(sep, name) == getattr(full, name)
    # the negative weights keep every variance positive (tutorial eq. (53))
    neg = -sep.weights[sep.weights < 0].sum()
    assert neg <= (1 - sep.c1 - sep.cmu) / sep.cmu / n + 1e-12


def test_sphere_and_ellipsoid_n10():
    opt = _run(SepCMAES(np.full(10, 0.5), 0.5, seed=1), F.sphere)
    assert opt.result.fbest <= 1e-8 and opt.evals < 1600
    # separable ill-conditioned problem: the diagonal learns the scaling, much
    # faster than full CMA-ES (about 4000 evaluations)
    opt = _run(SepCMAES(np.full(10, 0.5), 0.5, seed=1), F.ellipsoid)
    assert opt.result.fbest <= 1e-8 and opt.evals < 3000
    c = opt.cov_diag
    assert c[0] / c[-1] > 1e4  # variances follow the 1e6 axis ratio


def test_no_quadratic_memory_at_n_100000():
    n = 100_000
    opt = SepCMAES(np.ones(n), 0.01, seed=2)
    for _ in range(3):
        opt.tell(F.sphere(opt.ask()))
    sizes = [v.size for v in vars(opt).values() if isinstance(v, np.ndarray)]
    assert max(sizes) <= 4 * n  # paths, diagonal and its root
    assert opt.cov.shape == (n,) and opt._stds().shape == (n,)
    assert np.all(np.isfinite(opt.mean)) and F.sphere(opt.mean) < F.sphere(np.ones(n))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 8),
    seed=st.integers(0, 2**32),
    pool=st.lists(
        st.one_of(
            st.floats(-1e8, 1e8, allow_nan=False), st.sampled_from([math.inf, 0.0])
        ),
        min_size=1,
        max_size=20,
    ),
    gens=st.integers(20, 100),
)
def test_arbitrary_fitness_keeps_variances_positive(n, seed, pool, gens):
    opt = SepCMAES(np.zeros(n), 1.0, seed=seed)
    for g in range(gens):
        opt.ask()
        opt.tell([pool[(3 * g + i) % len(pool)] for i in range(opt.popsize)])
        c = opt.cov_diag
        assert np.all(np.isfinite(c)) and np.all(c > 0)
        assert c.max() / c.min() <= 1.0001e16
        assert math.isfinite(opt.sigma) and opt.sigma > 0
        assert np.all(np.isfinite(opt.mean))


def test_constant_fitness_stops_by_tolfun_then_tolflatfitness():
    opt = SepCMAES(np.zeros(4), 1.0, seed=3)
    opt.ask()
    opt.tell(np.full(opt.popsize, 2.0))
    assert set(opt.stop()) == {"tolfun"}
    opt.ask()
    opt.tell(np.full(opt.popsize, 2.0))
    assert set(opt.stop()) == {"tolfun", "tolflatfitness"}


def test_conditioncov_uses_the_diagonal():
    opt = SepCMAES(np.ones(6), 1.0, seed=4, conditioncov=1e3)
    while "conditioncov" not in opt.stop():
        assert opt.generation < 3000
        opt.tell(F.ellipsoid(opt.ask()))
    assert opt.cov_diag.max() / opt.cov_diag.min() > 1e3


def test_maximize_and_pickle_bit_identical():
    a = SepCMAES(np.ones(5), 0.7, seed=9, maximize=True)
    b = SepCMAES(np.ones(5), 0.7, seed=9)
    for _ in range(20):
        Xa, Xb = a.ask(), b.ask()
        np.testing.assert_array_equal(Xa, Xb)
        a.tell(-F.rosenbrock(Xa))
        b.tell(F.rosenbrock(Xb))
    np.testing.assert_array_equal(a.mean, b.mean)
    X = b.ask()
    c = pickle.loads(pickle.dumps(b))
    for o in (b, c):
        o.tell(F.rosenbrock(X))
        for _ in range(15):
            o.tell(F.rosenbrock(o.ask()))
    np.testing.assert_array_equal(b.mean, c.mean)
    np.testing.assert_array_equal(b.cov_diag, c.cov_diag)
    assert b.sigma == c.sigma
    np.testing.assert_array_equal(c.ask([3, 0]), b.ask()[[3, 0]])
    np.testing.assert_allclose(b._stds(), b.sigma * np.sqrt(b.cov_diag))


def test_large_n_subsets_are_rows_of_the_population():
    opt = SepCMAES(np.ones(300), 0.5, seed=3)
    for _ in range(3):
        opt.tell(np.sum(opt.ask() ** 2, axis=1))
    full = opt.ask()
    fresh = pickle.loads(pickle.dumps(opt))
    perm = np.arange(opt.popsize)[::-1]
    np.testing.assert_array_equal(fresh.ask(perm), full[perm])
    np.testing.assert_array_equal(fresh.ask([4, 4, 0]), full[[4, 4, 0]])
    fresh.tell(np.arange(opt.popsize, dtype=float))
    opt.tell(np.arange(opt.popsize, dtype=float))
    np.testing.assert_array_equal(fresh.mean, opt.mean)
