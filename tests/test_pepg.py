"""PEPG: the update against a hand computation (Sehnke et al. 2010, symmetric
sampling), sigma adaptation, options, large-dim memory, robustness, pickling."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from helpers import (
    EXTREME_FITNESS,
    HYPO,
    PLAIN_SGD,
    assert_clone_mid_pair_continues,
    assert_maximize_mirrors,
    centered_ranks_min,
)
from hypothesis import given
from hypothesis import strategies as st

import evostrat
from evostrat.functions import sphere


@pytest.mark.parametrize("n", [10, 100])
@pytest.mark.parametrize("options", [{}, {"baseline": "mean"}, {"rank_fitness": False}])
def test_reduces_sphere(n, options):
    opt = evostrat.PEPG(np.ones(n), 0.1, seed=3, learning_rate=0.05, **options)
    res = opt.optimize(sphere, max_generations=300, vectorized=True)
    assert sphere(opt.mean) < 0.01 * n  # from f(x0) = n
    assert res.fbest < 0.01 * n
    assert np.median(opt.sigma) < 0.1  # sigma shrinks near the optimum (from 0.1)


@pytest.mark.parametrize("baseline", ["average", "mean"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.2])
def test_one_update_equals_hand_computation(baseline, weight_decay):
    popsize = 8 if baseline == "average" else 9
    lr, alpha, max_change = 0.5, 0.3, 0.9
    sigma0 = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    opt = evostrat.PEPG(
        np.linspace(-1, 1, 5),
        sigma0,
        popsize=popsize,
        seed=6,
        learning_rate=lr,
        weight_decay=weight_decay,
        baseline=baseline,
        sigma_alpha=alpha,
        sigma_max_change=max_change,
        **PLAIN_SGD,
    )
    mean = opt.mean.copy()
    X = opt.ask()
    f = sphere(X)
    u = centered_ranks_min(f)
    if baseline == "mean":
        assert np.array_equal(X[-1], mean)
        b, u_pairs, X = u[-1], u[:-1], X[:-1]
    else:
        b, u_pairs = u.mean(), u
    eps = X[0::2] - mean
    assert np.allclose(eps, mean - X[1::2], rtol=0, atol=1e-15)
    P = eps.shape[0]
    d = u_pairs[0::2] - u_pairs[1::2]
    a = 0.5 * (u_pairs[0::2] + u_pairs[1::2]) - b
    grad = -((d / 2) @ eps) / P + weight_decay * mean
    z = eps / sigma0
    dsigma = alpha / (2 * P) * sigma0 * (a @ (z * z - 1))
    dsigma = np.clip(dsigma, -max_change * sigma0, max_change * sigma0)
    opt.tell(f)
    assert np.allclose(opt.mean, mean - lr * grad, rtol=0, atol=1e-12)
    assert np.allclose(opt.sigma, sigma0 + dsigma, rtol=1e-12, atol=0)


def test_elite_ratio_moves_mean_to_average_of_elites():
    opt = evostrat.PEPG(np.ones(6), 0.5, popsize=10, seed=2, elite_ratio=0.3)
    mean = opt.mean.copy()
    X = opt.ask()
    f = sphere(X)
    opt.tell(f)
    elite = np.argsort(f, kind="stable")[:3]
    assert np.allclose(opt.mean, X[elite].mean(axis=0), rtol=0, atol=1e-14)
    assert not np.allclose(opt.mean, mean)


def test_sigma_shrinks_only_on_the_coordinate_that_matters():
    def first_coordinate(X):
        return X[:, 0] ** 2

    opt = evostrat.PEPG(np.zeros(8), 1.0, popsize=40, seed=1, learning_rate=0.01)
    opt.optimize(first_coordinate, max_generations=60, vectorized=True)
    assert opt.sigma[0] < 0.25
    assert np.all(opt.sigma[1:] > 0.6)


def test_sigma_max_change_bounds_every_step():
    mc = 0.15
    opt = evostrat.PEPG(
        np.ones(5), 0.5, popsize=8, seed=4, sigma_alpha=1e6, sigma_max_change=mc
    )
    extreme = 0.0
    for _ in range(10):
        before = opt.sigma.copy()
        opt.tell(sphere(opt.ask()))
        ratio = opt.sigma / before
        assert np.all(ratio >= 1 - mc - 1e-12) and np.all(ratio <= 1 + mc + 1e-12)
        extreme = max(extreme, float(np.max(np.abs(ratio - 1))))
    assert extreme == pytest.approx(mc)  # the huge sigma_alpha is clipped


def test_sigma_decay_stops_at_the_limit_and_vector_sigma0():
    opt = evostrat.PEPG(
        np.ones(2),
        [1.0, 0.05],
        popsize=4,
        seed=1,
        sigma_alpha=0.0,
        sigma_decay=0.5,
        sigma_limit=0.1,
    )
    for _ in range(6):
        opt.tell(sphere(opt.ask()))
    assert opt.sigma.tolist() == [0.1, 0.05]
    assert opt.result.stds.tolist() == [0.1, 0.05]
    opt = evostrat.PEPG(np.ones(3), 0.2, popsize=4)
    assert isinstance(opt.sigma, np.ndarray) and opt.sigma.tolist() == [0.2] * 3
    with pytest.raises(ValueError, match="sigma0"):
        evostrat.PEPG(np.ones(3), [0.1, 0.2], popsize=4)


def test_antithetic_pairs_are_exact_negatives():
    opt = evostrat.PEPG(np.zeros(500), np.linspace(0.1, 1, 500), popsize=12, seed=5)
    X = opt.ask()
    assert np.array_equal(X[0::2], -X[1::2])
    assert not np.array_equal(X[0], X[2])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"popsize": 7}, "even"),
        ({"popsize": 8, "baseline": "mean"}, "odd"),
        ({"baseline": "median"}, "baseline"),
        ({"sigma_max_change": 1.0}, "sigma_max_change"),
        ({"sigma_alpha": -0.1}, "sigma_alpha"),
        ({"elite_ratio": 1.5}, "elite_ratio"),
        ({"sigma_decay": 0.0}, "sigma_decay"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"learning_rate": -1}, "learning_rate"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        evostrat.PEPG(np.zeros(5), 0.1, **options)
    assert evostrat.PEPG(np.zeros(5), 0.1, baseline="mean").popsize % 2 == 1


@pytest.mark.parametrize("baseline", ["average", "mean"])
def test_tell_memory_is_a_few_vectors_whatever_the_popsize(baseline):
    """Peak of ``tell`` at dim 2e5: at most 2 blocks x (noise, mean sum, sigma sum)
    plus the new best row and its noise, 8 vectors of length dim, for any popsize."""
    dim = 200_000
    peaks = []
    for pairs in (32, 128):
        popsize = 2 * pairs + (baseline == "mean")
        opt = evostrat.PEPG(
            np.zeros(dim), 0.1, popsize=popsize, seed=1, baseline=baseline
        )

        def fitness(opt=opt, popsize=popsize):
            out = []
            for start in range(0, popsize, 8):  # the caller never holds the population
                rows = np.arange(start, min(start + 8, popsize))
                out.extend(float(x[0] + x[-1]) for x in opt.ask(rows))
            return out

        opt.tell(fitness())
        f = fitness()
        tracemalloc.start()
        try:
            opt.tell(f)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert np.all(np.isfinite(opt.mean)) and np.all(opt.sigma > 0)
    # 8.5 vectors of work, plus the copy of the state (mean, sigma, Adam's two
    # moments) that a transactional tell commits
    assert max(peaks) < 12.5 * dim * 8, peaks
    assert peaks[1] < 0.1 * 256 * dim * 8


def test_maximize_rewards_is_bit_identical_to_minimizing_costs():
    def make(**kw):
        return evostrat.PEPG(
            np.ones(6), 0.3, seed=4, popsize=10, rank_fitness=False, **kw
        )

    attrs = ("mean", "sigma", "learning_rate")
    assert_maximize_mirrors(make, lambda X, g: -sphere(X), 6, attrs, bitwise=True)


@pytest.mark.parametrize("options", [{}, {"baseline": "mean", "optimizer": "sgd"}])
def test_pickle_continues_bit_identically(options):
    opt = evostrat.PEPG(
        np.ones(40_000), 0.2, popsize=6 + ("baseline" in options), seed=8, **options
    )
    for _ in range(2):
        opt.tell(sphere(opt.ask()))
    assert_clone_mid_pair_continues(opt, 2, 3, sphere, 2)


@HYPO
@given(
    data=st.data(),
    rank=st.booleans(),
    baseline=st.sampled_from(["average", "mean"]),
    elite=st.sampled_from([0.0, 0.25]),
)
def test_arbitrary_fitness_keeps_sigma_positive_and_finite(data, rank, baseline, elite):
    popsize = 8 + (baseline == "mean")
    opt = evostrat.PEPG(
        np.ones(5),
        0.3,
        popsize=popsize,
        seed=1,
        rank_fitness=rank,
        baseline=baseline,
        elite_ratio=elite,
        sigma_alpha=5.0,
    )
    for _ in range(4):
        opt.ask()
        opt.tell(
            data.draw(st.lists(EXTREME_FITNESS, min_size=popsize, max_size=popsize))
        )
        assert np.all(np.isfinite(opt.mean))
        assert np.all(np.isfinite(opt.sigma)) and np.all(opt.sigma > 0)
