"""OpenES: the update against a hand computation, antithetic pairs, large-dim memory,
noise table, options, robustness, pickling."""

from __future__ import annotations

import math
import pickle
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
@pytest.mark.parametrize("options", [{}, {"optimizer": "sgd"}, {"noise_table": 10**5}])
def test_reduces_sphere(n, options):
    opt = evostrat.OpenES(np.ones(n), 0.1, seed=3, learning_rate=0.05, **options)
    res = opt.optimize(sphere, max_generations=300, vectorized=True)
    assert sphere(opt.mean) < 0.01 * n  # from f(x0) = n
    assert res.fbest < 0.01 * n if n == 10 else res.fbest < 0.02 * n


@pytest.mark.parametrize("antithetic", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_one_update_equals_hand_computed_gradient_step(antithetic, weight_decay):
    popsize = 8 if antithetic else 7
    sigma, lr = 0.3, 0.7
    opt = evostrat.OpenES(
        np.linspace(-1, 2, 6),
        sigma,
        popsize=popsize,
        seed=11,
        learning_rate=lr,
        weight_decay=weight_decay,
        antithetic=antithetic,
        **PLAIN_SGD,
    )
    mean = opt.mean.copy()
    X = opt.ask()
    f = sphere(X)
    eps = (X - mean) / sigma
    u = centered_ranks_min(f)
    grad = -(u @ eps) / (popsize * sigma) + weight_decay * mean
    opt.tell(f)
    assert np.allclose(opt.mean, mean - lr * grad, rtol=0, atol=1e-12)
    assert opt.sigma == sigma


@pytest.mark.parametrize("b", [1, 3, 4, 9])
def test_top_pairs_uses_only_the_pairs_with_the_best_member(b):
    # ARS's top-b directions: the hand-computed step over the b selected pairs,
    # averaged over their 2b rows; b >= popsize / 2 is the plain step
    popsize, sigma, lr = 8, 0.3, 0.7
    opt = evostrat.OpenES(
        np.linspace(-1, 2, 6), sigma, popsize=popsize, seed=5, learning_rate=lr,
        weight_decay=0.0, top_pairs=b, **PLAIN_SGD,
    )  # fmt: skip
    mean = opt.mean.copy()
    X = opt.ask()
    f = sphere(X)
    eps = (X - mean) / sigma
    u = centered_ranks_min(f)
    best = np.maximum(u[0::2], u[1::2])
    chosen = np.argsort(-best, kind="stable")[: min(b, popsize // 2)]
    rows = np.concatenate([2 * chosen, 2 * chosen + 1])
    grad = -(u[rows] @ eps[rows]) / (len(rows) * sigma)
    opt.tell(f)
    assert np.allclose(opt.mean, mean - lr * grad, rtol=0, atol=1e-12)
    if b >= popsize // 2:
        plain = evostrat.OpenES(
            np.linspace(-1, 2, 6), sigma, popsize=popsize, seed=5, learning_rate=lr,
            weight_decay=0.0, **PLAIN_SGD,
        )  # fmt: skip
        plain.tell(sphere(plain.ask()))
        assert np.array_equal(plain.mean, opt.mean)


@pytest.mark.parametrize("b", [1, 2, 3])
def test_top_pairs_with_standardized_fitness_is_ars(b):
    # ARS V2-t (Mania et al. 2018, Algorithm 1) by hand, maximizing returns r:
    # theta += alpha / (b sigma_R) sum over the top b directions of (r+ - r-) delta,
    # sigma_R the std of those 2b returns; evostrat with lr = 2 sigma alpha
    popsize, nu, alpha = 8, 0.2, 0.05
    opt = evostrat.OpenES(
        np.linspace(-1, 2, 5), nu, popsize=popsize, seed=3, maximize=True,
        learning_rate=2 * nu * alpha, optimizer="sgd", momentum=0.0,
        weight_decay=0.0, rank_fitness=False, top_pairs=b,
    )  # fmt: skip
    theta = opt.mean.copy()
    X = opt.ask()
    r = -sphere(X) + np.arange(popsize) ** 1.5  # returns, no ties
    delta = (X[0::2] - theta) / nu
    plus, minus = r[0::2], r[1::2]
    top = np.argsort(-np.maximum(plus, minus), kind="stable")[:b]
    sigma_r = np.std(np.concatenate([plus[top], minus[top]]))
    step = (plus[top] - minus[top]) @ delta[top]
    opt.tell(r)
    expected = theta + alpha / (b * sigma_r) * step
    assert np.allclose(opt.mean, expected, rtol=0, atol=1e-12)


def test_top_pairs_needs_pairs():
    with pytest.raises(ValueError, match="top_pairs needs antithetic"):
        evostrat.OpenES(np.zeros(3), 0.1, antithetic=False, top_pairs=2)


def test_antithetic_pairs_are_exact_negatives():
    opt = evostrat.OpenES(np.zeros(1000), 0.5, popsize=10, seed=5)
    X = opt.ask()
    assert np.array_equal(X[0::2], -X[1::2])
    assert not np.array_equal(X[0], X[2])
    # also around a non-zero mean (after updates): the noise is mirrored
    opt.tell(sphere(X))
    X = opt.ask()
    d = X - opt.mean
    assert np.allclose(d[0::2], -d[1::2], rtol=0, atol=1e-15)
    off = evostrat.OpenES(np.zeros(50), 0.5, popsize=7, antithetic=False, seed=5)
    Y = off.ask()
    assert not np.allclose(Y[0], -Y[1])


def test_odd_popsize_with_antithetic_is_a_clear_error():
    with pytest.raises(ValueError, match="even popsize"):
        evostrat.OpenES(np.zeros(5), 0.1, popsize=7)
    assert evostrat.OpenES(np.zeros(5), 0.1, popsize=7, antithetic=False).popsize == 7
    assert evostrat.OpenES(np.zeros(50), 0.1).popsize % 2 == 0


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"learning_rate": "big"}, TypeError, "learning_rate"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"sigma_decay": 1.5}, ValueError, "sigma_decay"),
        ({"sigma_limit": -1.0}, ValueError, "sigma_limit"),
        ({"learning_rate_decay": 0.0}, ValueError, "learning_rate_decay"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
        ({"optimizer": "sgd", "momentum": 1.0}, ValueError, "momentum"),
        ({"antithetic": "yes"}, TypeError, "antithetic"),
        ({"noise_table": 3}, ValueError, "noise_table"),
        ({"noise_table": 1e6}, TypeError, "noise_table"),
    ],
)
def test_bad_options_are_named(options, error, message):
    with pytest.raises(error, match=message):
        evostrat.OpenES(np.zeros(5), 0.1, popsize=8, **options)


def test_single_row_asks_in_any_order_equal_the_full_ask():
    for dim in (7, 30_000):  # serial path with the pair cache / parallel path
        opt = evostrat.OpenES(np.arange(dim) * 1e-3, 0.2, popsize=12, seed=2)
        opt.tell(sphere(opt.ask()))
        X = opt.ask()
        order = [5, 4, 4, 0, 11, 1, 10, 3, 2, 9, 8, 7, 6]
        rows = np.array([opt.ask([i])[0] for i in order])
        assert np.array_equal(rows, X[order])
        assert np.array_equal(opt.ask([3, 2, 2, 9]), X[[3, 2, 2, 9]])


def test_tell_at_large_dim_does_not_allocate_popsize_by_dim():
    dim, popsize = 200_000, 64
    opt = evostrat.OpenES(np.zeros(dim), 0.1, popsize=popsize, seed=1)

    def fitness():
        out = []
        for start in range(0, popsize, 8):  # the caller never holds the population
            out.extend(
                float(x[0] + x[-1]) for x in opt.ask(np.arange(start, start + 8))
            )
        return out

    opt.tell(fitness())  # compile, allocate the optimizer state
    f = fitness()
    tracemalloc.start()
    try:
        opt.tell(f)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # tell works on a copy of the state (mean, Adam's two moments) and commits it
    # (transactional): a few vectors, far from popsize x dim
    assert peak < 0.1 * popsize * dim * 8 + 3 * dim * 8, peak
    assert np.all(np.isfinite(opt.mean)) and opt.generation == 2


def test_noise_table_rows_are_table_slices_and_table_is_not_pickled():
    size = 5000
    opt = evostrat.OpenES(np.zeros(20), 1.0, popsize=6, seed=9, noise_table=size)
    X = opt.ask()
    table = opt._noise_table()
    windows = np.lib.stride_tricks.sliding_window_view(table, 20)
    for row in X[0::2]:
        assert np.any(np.all(windows == row, axis=1))
    assert np.array_equal(X[0::2], -X[1::2])
    blob = pickle.dumps(opt)
    assert len(blob) < size * 8 / 2
    clone = pickle.loads(blob)
    assert np.array_equal(clone.ask(), X)
    other = evostrat.OpenES(np.zeros(20), 1.0, popsize=6, seed=9)
    assert not np.array_equal(other.ask(), X)


def test_sigma_and_learning_rate_decay_to_their_limits():
    opt = evostrat.OpenES(
        np.ones(4),
        1.0,
        popsize=8,
        seed=1,
        sigma_decay=0.5,
        sigma_limit=0.1,
        learning_rate_decay=0.5,
        learning_rate_limit=0.002,
    )
    expected_sigma, expected_lr = [], []
    s, lr = 1.0, 0.01
    for _ in range(5):
        opt.tell(sphere(opt.ask()))
        s, lr = max(s * 0.5, 0.1), max(lr * 0.5, 0.002)
        expected_sigma.append(s)
        expected_lr.append(lr)
    assert opt.sigma == expected_sigma[-1] == 0.1
    assert opt.learning_rate == expected_lr[-1] == 0.002
    assert isinstance(opt.sigma, float)


def test_maximize_rewards_is_bit_identical_to_minimizing_costs():
    def make(**kw):
        return evostrat.OpenES(
            np.ones(6), 0.3, seed=4, popsize=10, rank_fitness=False, **kw
        )

    attrs = ("mean", "sigma", "learning_rate")
    assert_maximize_mirrors(make, lambda X, g: -sphere(X), 6, attrs, bitwise=True)


@pytest.mark.parametrize("options", [{}, {"noise_table": 4000}, {"optimizer": "sgd"}])
def test_pickle_mid_pair_continues_bit_identically(options):
    opt = evostrat.OpenES(np.ones(300), 0.2, popsize=6, seed=8, **options)
    for _ in range(3):
        opt.tell(sphere(opt.ask()))
    assert_clone_mid_pair_continues(opt, 0, 1, sphere, 3)


@HYPO
@given(data=st.data(), rank=st.booleans(), optimizer=st.sampled_from(["adam", "sgd"]))
def test_arbitrary_fitness_keeps_mean_finite_and_sigma_positive(data, rank, optimizer):
    opt = evostrat.OpenES(
        np.ones(5),
        0.3,
        popsize=8,
        seed=1,
        rank_fitness=rank,
        optimizer=optimizer,
        sigma_decay=0.9,
    )
    for _ in range(4):
        opt.ask()
        f = data.draw(st.lists(EXTREME_FITNESS, min_size=8, max_size=8))
        opt.tell(f)
        assert np.all(np.isfinite(opt.mean))
        assert math.isfinite(opt.sigma) and opt.sigma > 0


THREADS_SCRIPT = """
import sys, numpy as np, evostrat
from evostrat.functions import sphere
out = []
for cls in (evostrat.OpenES, evostrat.PEPG):
    opt = cls(np.linspace(-1, 1, 20_000), 0.1, popsize=16, seed=3)
    for _ in range(3):
        opt.tell(sphere(opt.ask()))
    out.append(opt.mean.tobytes().hex()[:64] + str(hash(opt.mean.tobytes())))
print(" ".join(out))
"""


@pytest.mark.slow
def test_parallel_kernels_give_the_same_run_on_one_thread():
    """Blocks depend on the problem size, never on the number of threads."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", THREADS_SCRIPT],
            env=e,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for e in (env, {**os.environ, "PYTHONHASHSEED": "0"})
    ]
    assert runs[0] == runs[1] and len(runs[0].split()) == 2
