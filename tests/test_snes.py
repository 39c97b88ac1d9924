"""SNES (Wierstra et al., JMLR 2014, Algorithm 6) and its fused gradient kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest
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
from evostrat.functions import sphere
from evostrat.kernels import nes, rng


def test_paper_defaults():
    opt = evostrat.SNES(np.zeros(10), 0.5, seed=1)
    assert opt.popsize == 4 + int(3 * math.log(10)) == 10
    assert opt.eta_mean == 1.0
    assert opt.eta_sigma == pytest.approx((3 + math.log(10)) / (5 * math.sqrt(10)))
    assert isinstance(opt.sigma, np.ndarray) and opt.sigma.shape == (10,)
    np.testing.assert_array_equal(opt.sigma, 0.5)
    np.testing.assert_array_equal(opt.result.stds, 0.5)


def test_vector_sigma0_and_learning_rate_options():
    sigma0 = np.array([0.1, 1.0, 10.0])
    opt = evostrat.SNES(
        np.zeros(3), sigma0, learning_rate_mean=0.5, learning_rate_sigma=0.1
    )
    np.testing.assert_array_equal(opt.sigma, sigma0)
    assert (opt.eta_mean, opt.eta_sigma) == (0.5, 0.1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"learning_rate_mean": -1.0}, "learning_rate_mean"),
        ({"learning_rate_sigma": math.nan}, "learning_rate_sigma"),
        ({"learning_rate_sigma": "fast"}, "learning_rate_sigma"),
        ({"utilities": "linear"}, "utilities"),
        ({"antithetic": True, "popsize": 7}, "even popsize"),
        ({"antithetic": "yes"}, "antithetic"),
        ({"learning_rate": 0.1}, "learning_rate"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        evostrat.SNES(np.zeros(3), 1.0, **options)


def test_one_update_matches_algorithm_6():
    opt = evostrat.SNES(np.arange(5.0), np.array([0.5, 1, 2, 1, 0.5]), seed=3)
    X = opt.ask()
    f = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    S = rng.sample_normal(opt._key, 0, np.arange(opt.popsize), 5)
    np.testing.assert_allclose(X, opt.mean + opt.sigma * S, rtol=0, atol=1e-15)
    u = reference_nes_utilities(f)
    mean = opt.mean + opt.eta_mean * opt.sigma * (u @ S)
    sigma = opt.sigma * np.exp(0.5 * opt.eta_sigma * (u @ (S * S - 1)))
    opt.tell(f)
    np.testing.assert_allclose(opt.mean, mean, rtol=1e-13)
    np.testing.assert_allclose(opt.sigma, sigma, rtol=1e-13)


def test_centered_rank_utilities_option():
    opt = evostrat.SNES(np.zeros(4), 1.0, popsize=5, seed=2, utilities="centered_ranks")
    X = opt.ask()
    S = (X - opt.mean) / opt.sigma
    f = np.array([2.0, 0.0, 4.0, 1.0, 3.0])  # ranks 2, 0, 4, 1, 3
    u = np.array([0.0, 0.5, -0.5, 0.25, -0.25])
    mean = opt.mean + opt.sigma * (u @ S)
    opt.tell(f)
    np.testing.assert_allclose(opt.mean, mean, rtol=1e-12, atol=1e-15)


def test_constant_fitness_leaves_distribution_in_place():
    opt = evostrat.SNES(np.ones(6), 2.0, seed=4)
    opt.ask()
    opt.tell(np.full(opt.popsize, 7.0))
    np.testing.assert_allclose(opt.mean, 1.0, atol=1e-14)
    np.testing.assert_allclose(opt.sigma, 2.0, rtol=1e-14)


def test_antithetic_pairs_mirror_the_mean():
    opt = evostrat.SNES(np.arange(4.0), 1.5, seed=5, antithetic=True)
    assert opt.popsize % 2 == 0
    X = opt.ask()
    np.testing.assert_allclose(
        X[0::2] + X[1::2], np.tile(2 * opt.mean, (4, 1)), atol=1e-12
    )
    assert not np.allclose(X[0], X[2])
    f = sphere(X)
    S = (X - opt.mean) / opt.sigma
    u = reference_nes_utilities(f)
    mean = opt.mean + opt.sigma * (u @ S)
    sigma = opt.sigma * np.exp(0.5 * opt.eta_sigma * (u @ (S * S - 1)))
    opt.tell(f)
    np.testing.assert_allclose(opt.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(opt.sigma, sigma, rtol=1e-12)


@pytest.mark.parametrize("dim", [3, 1 << 14])
def test_fused_gradients_equal_dense_sums(dim):
    key = rng.derive_key(11)
    streams = np.array([4, 0, 7, 7, 2], dtype=np.int64)
    a = np.array([0.3, -0.1, 0.25, -0.05, 0.6])
    b = np.array([-0.2, 0.4, 0.1, 0.3, -0.6])
    g_mean, g_var = nes.snes_gradients(key, 9, streams, a, b, dim)
    S = rng.sample_normal(key, 9, streams, dim)
    np.testing.assert_allclose(g_mean, a @ S, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_var, b @ (S * S - 1), rtol=1e-12, atol=1e-12)


def test_parallel_gradients_bit_identical_to_serial():
    key = rng.derive_key(5)
    dim = 3 * 4096 + 17
    streams = np.arange(40, dtype=np.int64)
    u = np.linspace(0.5, -0.5, 40)
    assert streams.size * dim >= nes.PARALLEL_GRADIENT_MIN
    parallel = nes.snes_gradients(key, 2, streams, u, u, dim)
    signed = key - (1 << 64) if key >= 1 << 63 else key  # as an int64
    serial = nes._snes_gradients_serial(signed, 2, streams, u, u, dim)
    for batch in (2, 3, 8):
        other = nes._snes_gradients_parallel(signed, 2, streams, u, u, dim, batch)
        np.testing.assert_array_equal(other[0], serial[0])
        np.testing.assert_array_equal(other[1], serial[1])
    np.testing.assert_array_equal(parallel[0], serial[0])
    np.testing.assert_array_equal(parallel[1], serial[1])


def test_tied_utilities_average_ties():
    f = np.array([2.0, math.inf, 1.0, 2.0, math.inf])
    by_rank = np.array([4.0, 3.0, 2.0, 1.0, 0.0])
    order = np.argsort(f, kind="stable")
    u = nes.tied_utilities(f, order, by_rank)
    np.testing.assert_array_equal(u, [2.5, 0.5, 4.0, 2.5, 0.5])


@HYPO
@given(data=st.data(), antithetic=st.booleans())
def test_arbitrary_fitness_keeps_scales_positive_and_finite(data, antithetic):
    opt = evostrat.SNES(np.full(3, 0.5), 0.3, popsize=6, seed=1, antithetic=antithetic)
    for _ in range(4):
        opt.ask()
        f = data.draw(st.lists(FITNESS, min_size=6, max_size=6))
        opt.tell(f)
        assert np.all(np.isfinite(opt.mean))
        assert np.all(np.isfinite(opt.sigma)) and np.all(opt.sigma > 0)
        assert np.all(np.isfinite(opt.ask()))


@HYPO
@given(
    rewards=st.lists(st.lists(FITNESS, min_size=6, max_size=6), min_size=1, max_size=4)
)
def test_maximize_is_minimizing_the_negatives(rewards):
    def make(**kw):
        return evostrat.SNES(np.ones(3), 0.5, popsize=6, seed=8, **kw)

    assert_maximize_mirrors(
        make, lambda X, g: rewards[g], len(rewards), ("mean", "sigma")
    )


@pytest.mark.parametrize("antithetic", [False, True])
def test_pickling_continues_bit_identically(antithetic):
    opt = evostrat.SNES(np.ones(5), 0.5, seed=9, antithetic=antithetic)
    for _ in range(3):
        opt.tell(sphere(opt.ask()))
    assert_clone_continues(opt, sphere, 5, ("mean", "sigma"))


@HYPO
@given(
    indices=st.lists(st.integers(0, 7), max_size=12),
    antithetic=st.booleans(),
)
def test_ask_indices_equals_rows_of_ask(indices, antithetic):
    opt = evostrat.SNES(np.ones(4), 0.5, popsize=8, seed=10, antithetic=antithetic)
    opt.tell(sphere(opt.ask()))
    idx = np.array(indices, dtype=np.int64)
    np.testing.assert_array_equal(opt.ask(idx), opt.ask()[idx])


@pytest.mark.parametrize("antithetic", [False, True])
def test_reaches_1e_minus_6_on_sphere_10(antithetic):
    opt = evostrat.SNES(np.full(10, 3.0), 1.0, seed=1, antithetic=antithetic)
    res = opt.optimize(sphere, target=1e-6, max_evals=20_000, vectorized=True)
    assert res.fbest < 1e-6, res
    assert "target" in res.stop
