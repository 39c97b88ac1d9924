"""``evostrat.minimize``: fmin's run with SciPy's calling convention and result."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import Bounds, OptimizeResult

import evostrat
from evostrat.functions import rastrigin, rosenbrock, sphere
from evostrat.scipy_api import SIGMA0_FRACTION


def box(n, low, high):
    return np.full(n, float(low)), np.full(n, float(high))


def test_same_x_and_nfev_as_fmin():
    res = evostrat.minimize(rosenbrock, np.zeros(4), sigma0=0.5, seed=11)
    ref = evostrat.fmin(rosenbrock, np.zeros(4), 0.5, seed=11)
    assert isinstance(res, OptimizeResult)
    assert np.array_equal(res.x, ref.xbest) and res.fun == ref.fbest
    assert res.nfev == ref.evals and res.nit == ref.generations
    assert res.success and res.status == 0 and "tolfun" in res.message


def test_bounds_sigma0_default_and_restarts_as_fmin():
    res = evostrat.minimize(
        rastrigin, np.full(3, 1.0), bounds=Bounds(-5, 5), seed=2,
        options={"restarts": 2, "maxfev": 5000, "tolfun": 1e-9},
    )  # fmt: skip
    sigma0 = SIGMA0_FRACTION * 10
    ref = evostrat.fmin(rastrigin, np.full(3, 1.0), sigma0, seed=2, restarts=2,
                        max_evals=5000, tolfun=1e-9, bounds=box(3, -5, 5))  # fmt: skip
    assert np.array_equal(res.x, ref.xbest) and res.nfev == ref.evals
    assert res.restarts == ref.restarts and res.stop == ref.stop
    # the same box as (low, high) pairs, None for a missing side
    pairs = evostrat.minimize(
        rastrigin, np.full(3, 1.0), bounds=[(-5, 5)] * 3, seed=2,
        options={"restarts": 2, "maxfev": 5000, "tolfun": 1e-9},
    )  # fmt: skip
    assert np.array_equal(pairs.x, res.x) and pairs.nfev == res.nfev


def test_narrowest_side_sets_sigma0_and_none_is_unbounded():
    bounds = [(0, 1), (-4, 4), (None, 3)]
    with pytest.raises(ValueError, match="sigma0 is required unless"):
        evostrat.minimize(sphere, np.full(3, 0.5), bounds=bounds, seed=1)
    bounds[2] = (-10, 10)
    res = evostrat.minimize(sphere, np.full(3, 0.5), bounds=bounds, seed=1,
                            options={"maxiter": 3})  # fmt: skip
    ref = evostrat.fmin(sphere, np.full(3, 0.5), SIGMA0_FRACTION * 1.0, seed=1,
                        max_generations=3,
                        bounds=([0, -4, -10], [1, 4, 10]))  # fmt: skip
    assert np.array_equal(res.x, ref.xbest)
    assert res.status == 2 and not res.success and "iterations" in res.message


def test_result_behaves_as_scipys(capsys):
    res = evostrat.minimize(sphere, np.ones(3), sigma0=0.3, seed=1,
                            options={"maxfev": 100, "disp": True})  # fmt: skip
    assert res.status == 1 and not res.success and res.nfev >= 100
    assert capsys.readouterr().out.strip() == res.message
    text = str(res)
    for key in ("message", "success", "status", "fun", "x", "nit", "nfev"):
        assert f"{key}:" in text
    assert res["x"] is res.x and sorted(res.keys())[:3] == ["fun", "message", "nfev"]
    assert sphere(res.x) == pytest.approx(res.fun, rel=1e-12)


@pytest.mark.parametrize("style", ["intermediate_result", "xk"])
def test_callback_styles_and_stop_iteration(style):
    seen = []

    def new_style(intermediate_result):
        seen.append((intermediate_result.nit, intermediate_result.fun))
        if intermediate_result.nit == 4:
            raise StopIteration

    def old_style(xk):
        seen.append(sphere(xk))
        return len(seen) == 4  # True stops, as fmin's callback

    cb = new_style if style == "intermediate_result" else old_style
    res = evostrat.minimize(sphere, np.ones(3), sigma0=0.3, seed=3, callback=cb)
    assert res.status == 99 and not res.success and res.nit == 4
    assert "callback" in res.message and len(seen) == 4
    best = [f for _, f in seen] if style == "intermediate_result" else seen
    assert best == sorted(best, reverse=True) and best[-1] == res.fun


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "bfgs"}, ValueError, "unknown method 'bfgs'"),
        ({"bounds": [(-1, 1)] * 2}, ValueError, "3 .low, high. pairs"),
        ({"bounds": [(1, -1)] * 3}, ValueError, "coordinate 0"),
        ({"bounds": 5}, TypeError, "bounds must be"),
        ({"bounds": [(-1, 0.5)] * 3}, ValueError, r"x0 lies outside.*\[0, 1, 2\]"),
        ({"bounds": [(-2, 2)] * 3, "method": "xnes"}, ValueError, "cmaes, sepcmaes"),
        ({"sigma0": None}, ValueError, "sigma0 is required"),
        ({"workers": 0}, ValueError, "workers"),
        ({"workers": "all"}, TypeError, "workers"),
        ({"options": [("maxiter", 3)]}, TypeError, "options must be a dict"),
        ({"options": {"maxiter": 3, "max_generations": 3}}, ValueError, "not both"),
        ({"options": {"tolerance": 1}}, TypeError, "tolerance"),
        ({"callback": 3}, TypeError, "callback"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    args = {"sigma0": 0.5, **kwargs}
    with pytest.raises(error, match=match):
        evostrat.minimize(sphere, np.ones(3), **args)


def test_x0_must_be_a_vector():
    with pytest.raises(ValueError, match="x0"):
        evostrat.minimize(sphere, [[1.0, 2.0]], sigma0=1.0)
    with pytest.raises(TypeError, match="fun must be callable"):
        evostrat.minimize("sphere", np.ones(2), sigma0=1.0)


@pytest.mark.slow
def test_workers_give_the_same_run():
    serial = evostrat.minimize(rosenbrock, np.zeros(3), sigma0=0.5, seed=9,
                               options={"maxiter": 40})  # fmt: skip
    pooled = evostrat.minimize(rosenbrock, np.zeros(3), sigma0=0.5, seed=9,
                               options={"maxiter": 40}, workers=2)  # fmt: skip
    assert np.array_equal(serial.x, pooled.x) and serial.nfev == pooled.nfev
    with evostrat.PoolEvaluator(2) as pool:  # an evaluator given stays open
        given = evostrat.minimize(rosenbrock, np.zeros(3), sigma0=0.5, seed=9,
                                  options={"maxiter": 40}, workers=pool)  # fmt: skip
        assert pool.evaluate is not None and pool.stats["evaluations"] == given.nfev
    assert np.array_equal(given.x, serial.x)
