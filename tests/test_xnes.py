"""xNES (Wierstra et al., JMLR 2014, Algorithm 5) and its kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from helpers import (
    FITNESS,
    HYPO,
    assert_clone_continues,
    assert_maximize_mirrors,
    reference_nes_utilities,
)
from hypothesis import given
from hypothesis import strategies as st

import evostrat
from evostrat.functions import rosenbrock, sphere
from evostrat.kernels import nes, rng


def test_paper_defaults():
    opt = evostrat.XNES(np.zeros(10), 0.5, seed=1)
    assert opt.popsize == 10
    rate = 3 * (3 + math.log(10)) / (5 * 10 * math.sqrt(10))
    assert opt.eta_mean == 1.0
    assert opt.eta_sigma == pytest.approx(rate)
    assert opt.eta_B == pytest.approx(rate)
    assert isinstance(opt.sigma, float)
    np.testing.assert_array_equal(opt.B, np.eye(10))
    np.testing.assert_allclose(opt.cov, 0.25 * np.eye(10))


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        ((np.zeros(3), np.ones(3)), {}, "scalar sigma0"),
        ((np.zeros(3), 1.0), {"learning_rate_B": 0.0}, "learning_rate_B"),
        ((np.zeros(3), 1.0), {"learning_rate_sigma": math.inf}, "learning_rate_sigma"),
        ((np.zeros(3), 1.0), {"utilities": None}, "utilities"),
        ((np.zeros(3), 1.0), {"antithetic": True}, "antithetic"),
    ],
)
def test_bad_arguments_are_named(args, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        evostrat.XNES(*args, **options)


def test_expm_symmetric_matches_scipy():
    G = np.random.default_rng(0).normal(size=(6, 6))
    G = G + G.T
    np.testing.assert_allclose(
        nes.expm_symmetric(G), scipy.linalg.expm(G), rtol=1e-10, atol=1e-12
    )


def test_affine_rows_is_mean_plus_A_s():
    gen = np.random.default_rng(1)
    mean, A, S = gen.normal(size=4), gen.normal(size=(4, 4)), gen.normal(size=(7, 4))
    X = nes.affine_rows(mean, A, S)
    np.testing.assert_allclose(X, mean + S @ A.T, rtol=1e-13, atol=1e-14)
    for k in range(7):  # each row alone is bit-identical to the batch row
        np.testing.assert_array_equal(nes.affine_rows(mean, A, S[k : k + 1])[0], X[k])


def run_reference_update(opt, f):
    """Algorithm 5 written out with numpy and scipy.linalg.expm."""
    d = opt.dim
    S = rng.sample_normal(opt._key, opt.generation, np.arange(opt.popsize), d)
    u = reference_nes_utilities(np.asarray(f, dtype=float))
    g_delta = u @ S
    g_m = sum(uk * (np.outer(s, s) - np.eye(d)) for uk, s in zip(u, S, strict=True))
    g_sigma = np.trace(g_m) / d
    g_b = g_m - g_sigma * np.eye(d)
    mean = opt.mean + opt.eta_mean * opt.sigma * opt.B @ g_delta
    sigma = opt.sigma * math.exp(0.5 * opt.eta_sigma * g_sigma)
    B = opt.B @ scipy.linalg.expm(0.5 * opt.eta_B * g_b)
    return mean, sigma, B


def test_updates_match_algorithm_5():
    opt = evostrat.XNES(np.arange(4.0), 0.7, seed=3, learning_rate_B=0.3)
    for g in range(4):
        X = opt.ask()
        S = rng.sample_normal(opt._key, g, np.arange(opt.popsize), 4)
        np.testing.assert_allclose(
            X, opt.mean + opt.sigma * S @ opt.B.T, rtol=1e-12, atol=1e-12
        )
        f = rosenbrock(X)
        f[1] = f[3]  # a tie
        mean, sigma, B = run_reference_update(opt, f)
        opt.tell(f)
        np.testing.assert_allclose(opt.mean, mean, rtol=1e-12)
        assert opt.sigma == pytest.approx(sigma, rel=1e-12)
        np.testing.assert_allclose(opt.B, B, rtol=1e-10, atol=1e-12)
    assert abs(np.linalg.det(opt.B)) == pytest.approx(1.0, abs=1e-12)
    assert not np.allclose(opt.B, np.eye(4))


def test_cov_and_stds():
    opt = evostrat.XNES(np.zeros(5), 2.0, seed=4, learning_rate_B=0.5)
    for _ in range(10):
        opt.tell(sphere(opt.ask() * [1, 2, 4, 8, 16]))
    cov = opt.cov
    np.testing.assert_allclose(cov, opt.sigma**2 * opt.B @ opt.B.T)
    np.testing.assert_allclose(opt.result.stds, np.sqrt(np.diag(cov)), rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_constant_fitness_leaves_distribution_in_place():
    opt = evostrat.XNES(np.ones(4), 2.0, seed=4)
    opt.ask()
    opt.tell(np.full(opt.popsize, -3.0))
    np.testing.assert_allclose(opt.mean, 1.0, atol=1e-14)
    assert opt.sigma == pytest.approx(2.0, rel=1e-14)
    np.testing.assert_allclose(opt.B, np.eye(4), atol=1e-14)


@HYPO
@given(data=st.data())
def test_arbitrary_fitness_keeps_b_finite_and_nonsingular(data):
    opt = evostrat.XNES(np.full(3, 0.5), 0.3, popsize=6, seed=1, learning_rate_B=1.0)
    for _ in range(4):
        opt.ask()
        opt.tell(data.draw(st.lists(FITNESS, min_size=6, max_size=6)))
        assert np.all(np.isfinite(opt.mean))
        assert math.isfinite(opt.sigma) and opt.sigma > 0
        assert np.all(np.isfinite(opt.B))
        assert abs(np.linalg.det(opt.B)) == pytest.approx(1.0, rel=1e-9)
        assert np.linalg.cond(opt.B) < 1e12
        assert np.all(np.isfinite(opt.ask()))


@HYPO
@given(
    rewards=st.lists(st.lists(FITNESS, min_size=6, max_size=6), min_size=1, max_size=4)
)
def test_maximize_is_minimizing_the_negatives(rewards):
    def make(**kw):
        return evostrat.XNES(np.ones(3), 0.5, popsize=6, seed=8, **kw)

    assert_maximize_mirrors(
        make, lambda X, g: rewards[g], len(rewards), ("mean", "B", "sigma")
    )


def test_pickling_continues_bit_identically():
    opt = evostrat.XNES(np.ones(5), 0.5, seed=9)
    for _ in range(3):
        opt.tell(rosenbrock(opt.ask()))
    assert_clone_continues(opt, rosenbrock, 5, ("mean", "B", "sigma"))


@HYPO
@given(indices=st.lists(st.integers(0, 7), max_size=12))
def test_ask_indices_equals_rows_of_ask(indices):
    opt = evostrat.XNES(np.ones(4), 0.5, popsize=8, seed=10, learning_rate_B=0.5)
    for _ in range(3):
        opt.tell(rosenbrock(opt.ask()))
    idx = np.array(indices, dtype=np.int64)
    np.testing.assert_array_equal(opt.ask(idx), opt.ask()[idx])


def test_reaches_1e_minus_6_on_sphere_10():
    opt = evostrat.XNES(np.full(10, 3.0), 1.0, seed=1)
    res = opt.optimize(sphere, target=1e-6, max_evals=20_000, vectorized=True)
    assert res.fbest < 1e-6, res
    assert "target" in res.stop


def test_reaches_1e_minus_6_on_rosenbrock_10():
    opt = evostrat.XNES(np.zeros(10), 1.0, seed=2)
    res = opt.optimize(rosenbrock, target=1e-6, max_evals=30_000, vectorized=True)
    assert res.fbest < 1e-6, res
    np.testing.assert_allclose(res.xbest, 1.0, atol=1e-2)


def test_adaptation_sampling_statistic():
    order = np.arange(6)  # individual 0 is the best
    norms = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert nes.adaptation_sampling_statistic(norms, order, 0.0, 3) == 0.5
    # a smaller sigma weights small-norm samples up: here they are the better ones
    assert nes.adaptation_sampling_statistic(norms, order, -0.2, 3) > 0.5
    assert nes.adaptation_sampling_statistic(norms, order[::-1].copy(), -0.2, 3) < 0.5
    assert 0.0 <= nes.adaptation_sampling_statistic(norms, order, 50.0, 3) <= 1.0


def test_adaptation_sampling_raises_eta_sigma_on_sphere():
    opt = evostrat.XNES(np.ones(10), 1.0, seed=3, adaptation_sampling=True)
    eta0 = opt.eta_sigma
    assert opt.eta_sigma_init == eta0
    res = opt.optimize(sphere, target=1e-6, max_evals=20_000, vectorized=True)
    assert res.fbest < 1e-6
    assert eta0 < opt.eta_sigma <= 1.0
    plain = evostrat.XNES(np.ones(10), 1.0, seed=3)
    plain.optimize(sphere, target=1e-6, max_evals=20_000, vectorized=True)
    assert plain.eta_sigma == eta0 and res.evals < plain.evals


def test_adaptation_sampling_pickles_and_rejects_non_bool():
    with pytest.raises(TypeError, match="adaptation_sampling"):
        evostrat.XNES(np.zeros(3), 1.0, adaptation_sampling="yes")
    opt = evostrat.XNES(np.ones(4), 0.5, seed=2, adaptation_sampling=True)
    for _ in range(3):
        opt.tell(sphere(opt.ask()))
    assert_clone_continues(opt, sphere, 4, ("eta_sigma", "sigma"))
