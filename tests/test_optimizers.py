"""SGD and Adam against hand-computed steps; state, pickling and input checks."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from evostrat.optimizers import SGD, Adam


def test_adam_first_two_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = Adam(lr, beta1=b1, beta2=b2, epsilon=eps)
    g1 = np.array([2.0, -0.5, 0.0])
    g2 = np.array([1.0, 1.0, -3.0])
    d1 = opt.step(g1)
    # t = 1: m_hat = g, v_hat = g**2, delta = -lr g / (|g| + eps)
    expected1 = [-lr * 2.0 / (2.0 + eps), lr * 0.5 / (0.5 + eps), 0.0]
    assert d1 == pytest.approx(expected1, rel=1e-15, abs=0.0)
    d2 = opt.step(g2)
    for j in range(3):
        m = b1 * (1 - b1) * g1[j] + (1 - b1) * g2[j]
        v = b2 * (1 - b2) * g1[j] ** 2 + (1 - b2) * g2[j] ** 2
        m_hat, v_hat = m / (1 - b1**2), v / (1 - b2**2)
        assert d2[j] == pytest.approx(-lr * m_hat / (math.sqrt(v_hat) + eps), rel=1e-13)
    assert opt.t == 2
    assert opt.m == pytest.approx(b1 * (1 - b1) * g1 + (1 - b1) * g2, rel=1e-15)


def test_sgd_momentum_steps_by_hand():
    opt = SGD(0.5, momentum=0.9)
    g1, g2 = np.array([1.0, -2.0]), np.array([3.0, 0.0])
    assert opt.step(g1) == pytest.approx(-0.5 * 0.1 * g1, rel=1e-15)
    v2 = 0.9 * 0.1 * g1 + 0.1 * g2
    assert opt.step(g2) == pytest.approx(-0.5 * v2, rel=1e-15)
    plain = SGD(0.5, momentum=0.0)
    assert np.array_equal(plain.step(g1), -0.5 * g1)
    assert np.array_equal(plain.step(g2), -0.5 * g2)


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: SGD(0.01)])
def test_apply_equals_params_plus_step_and_pickles(make):
    rng = np.random.default_rng(0)
    a, b = make(), make()
    params = rng.standard_normal(50)
    other = params.copy()
    for i in range(5):
        g = rng.standard_normal(50)
        a.apply(params, g)
        other = other + b.step(g)
        assert params.tobytes() == other.tobytes()
        if i == 2:
            b = pickle.loads(pickle.dumps(b))


def test_adam_minimizes_an_ill_conditioned_quadratic():
    scale = np.logspace(0, 3, 20)
    x = np.ones(20)
    opt = Adam(0.05)
    for _ in range(3000):
        opt.apply(x, 2 * scale * x)
    assert np.max(np.abs(x)) < 1e-3


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Adam(0.0), "learning_rate"),
        (lambda: Adam(-1.0), "learning_rate"),
        (lambda: Adam(math.inf), "learning_rate"),
        (lambda: Adam(0.1, beta1=1.0), "beta1"),
        (lambda: Adam(0.1, beta2=-0.1), "beta2"),
        (lambda: Adam(0.1, epsilon=0.0), "epsilon"),
        (lambda: SGD(0.1, momentum=1.0), "momentum"),
        (lambda: SGD(math.nan), "learning_rate"),
    ],
)
def test_bad_hyperparameters_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
    with pytest.raises(TypeError, match="learning_rate"):
        SGD("0.1")


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: SGD(0.01)])
def test_bad_gradients_are_rejected_without_changing_state(make):
    opt = make()
    opt.step(np.ones(3))
    before = pickle.dumps(opt)
    for bad, message in [
        (np.ones(4), "length"),
        (np.ones((3, 1)), "1-D"),
        ([1.0, math.nan, 0.0], "finite"),
        ([1.0, math.inf, 0.0], "finite"),
    ]:
        with pytest.raises(ValueError, match=message):
            opt.step(bad)
        assert pickle.dumps(opt) == before
    with pytest.raises(ValueError, match="params"):
        opt.apply(np.ones(3, dtype=np.int64), np.ones(3))
    with pytest.raises(ValueError, match="length"):
        opt.apply(np.ones(2), np.ones(3))
    assert pickle.dumps(opt) == before
    opt.reset()
    assert opt.t == 0
    assert opt.step(np.ones(5)).shape == (5,)  # a new dimension after reset
