"""Integer variables: CMA-ES with Margin (``integer_variables=``, ``margin=``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

import evostrat
from evostrat.strategies.cma.margin import Margin
from evostrat.strategies.options import option_table
from tests import test_contract as contract

#: coordinates 1 (step 1, unbounded), 2 (step 0.25 in [0, 1]) and 3 (binary)
MIXED = {"integer_variables": {1: 1, 2: 0.25, 3: 1}, "bounds": ([None, None, 0, 0], [None, None, 1, 1])}  # fmt: skip


class MixedCMAES(evostrat.CMAES):
    """CMAES with integer coordinates by default (for the contract suite)."""

    def __init__(self, x0, sigma0, popsize=None, seed=None, maximize=False, **kw):
        super().__init__(x0, sigma0, popsize, seed, maximize, **{**MIXED, **kw})


class MixedSepCMAES(evostrat.SepCMAES):
    def __init__(self, x0, sigma0, popsize=None, seed=None, maximize=False, **kw):
        super().__init__(x0, sigma0, popsize, seed, maximize, **{**MIXED, **kw})


contract.CLASSES.update(mixedcmaes=MixedCMAES, mixedsepcmaes=MixedSepCMAES)
MIXED_NAMES = ["mixedcmaes", "mixedsepcmaes"]
CONTRACT = [
    contract.test_ask_shape_dtype_and_idempotence,
    contract.test_ask_indices_equal_rows_of_full_ask,
    contract.test_same_seed_same_run_other_seed_other_run,
    contract.test_tell_before_ask_is_rejected_and_changes_nothing,
    contract.test_bad_fitness_is_rejected_and_changes_nothing,
    contract.test_nan_policy_worst_ranks_nan_last,
    contract.test_pickle_and_deepcopy_continue_bit_identically,
    contract.test_maximize_rewards_equals_minimizing_costs,
    contract.test_result_and_stop_options,
    contract.test_optimize_keywords_and_callback,
    contract.test_constant_fitness_stops_cleanly,
]
HYPOTHESIS = [
    contract.test_arbitrary_fitness_keeps_state_finite,
    contract.test_any_rejected_input_leaves_pickled_state_unchanged,
    contract.test_individual_is_a_function_of_seed_generation_index,
]


@pytest.mark.parametrize("name", MIXED_NAMES)
@pytest.mark.parametrize("check", CONTRACT, ids=lambda f: f.__name__)
def test_contract_holds_with_integer_variables(check, name):
    check(name)


@pytest.mark.parametrize("name", MIXED_NAMES)
@pytest.mark.parametrize("check", HYPOTHESIS, ids=lambda f: f.__name__)
def test_contract_properties_hold_with_integer_variables(check, name):
    check(strategy_name=name)


def on_grid(X):
    X = np.atleast_2d(X)
    return (
        np.array_equal(X[:, 1], np.round(X[:, 1]))
        and np.array_equal(X[:, 2] * 4, np.round(X[:, 2] * 4))
        and np.all((X[:, 2] >= 0) & (X[:, 2] <= 1))
        and np.all((X[:, 3] == 0) | (X[:, 3] == 1))
    )


@pytest.mark.parametrize("cls", [evostrat.CMAES, evostrat.SepCMAES])
def test_asked_points_lie_on_the_grid_and_the_rest_is_unchanged(cls):
    x0 = [0.3, 0.4, 0.6, 0.5]
    opt, plain = cls(x0, 0.7, seed=5, **MIXED), cls(x0, 0.7, seed=5)
    X, Y = opt.ask(), plain.ask()
    assert on_grid(X) and not on_grid(Y)
    assert np.array_equal(X[:, 0], Y[:, 0])  # continuous: the same sample
    assert np.array_equal(X[:, 1], np.ceil(Y[:, 1] - 0.5))  # A = 1 at the start
    assert np.array_equal(X[:, 3], (Y[:, 3] > 0.5).astype(float))
    for _ in range(30):
        opt.tell([float(x @ x) for x in opt.ask()])
        assert on_grid(opt.ask())
    res = opt.result
    assert on_grid(res.xbest) and res.fbest == float(res.xbest @ res.xbest)


def leave_probability(opt):
    """Probability that a sample encodes to another value than the mean's."""
    mg = opt._margin
    m = opt.mean[mg.index]
    s = opt.sigma * mg.A * np.sqrt(opt._sampling_variances(mg.index))
    lo, up = mg.thresholds(m)
    p_lo, p_up = ndtr((lo - m) / s), ndtr((m - up) / s)
    return np.where(lo == up, np.minimum(p_lo, p_up), p_lo + p_up)


@pytest.mark.parametrize("cls", [evostrat.CMAES, evostrat.SepCMAES])
def test_margin_keeps_the_probability_of_leaving_the_integer(cls):
    # sphere with its minimum at integer coordinates: without the margin the
    # variance of the integer coordinates collapses (Hamano et al. 2022, fig. 1)
    n = 6
    opt = cls(np.full(n, 2.3), 1.0, seed=3, integer_variables=[3, 4, 5])
    alpha = 1.0 / (n * opt.popsize)
    assert opt._margin.alpha == pytest.approx(alpha)
    for _ in range(300):
        X = opt.ask()
        opt.tell(np.sum(X * X, axis=1))
        assert np.all(leave_probability(opt) >= alpha * (1 - 1e-9))
    assert np.max(opt.result.stds[3:]) < 1e-3  # sigma C_jj alone did collapse
    assert np.all(opt._margin.A > 10)  # ... A keeps the margin


def test_samples_leave_the_mean_integer_at_least_at_rate_margin():
    # counted on the asked points, independently of the implementation's variances
    opt = evostrat.CMAES(
        np.full(4, 1.7), 1.0, popsize=2000, seed=4, integer_variables=[2, 3],
        margin=0.1,
    )  # fmt: skip
    for _ in range(40):
        X = opt.ask()
        opt.tell(np.sum((X - 0.2) ** 2, axis=1))
    X = opt.ask()
    mean_value = opt._margin.encode(opt.mean, opt.mean)[2:]
    assert np.array_equal(mean_value, [0.0, 0.0])
    assert np.max(opt.result.stds[2:]) < 0.05  # sigma C_jj alone: no leaving
    leave = np.mean(X[:, 2:] != mean_value, axis=0)
    assert np.all(leave > 0.1 - 4 * np.sqrt(0.09 / 2000)), leave
    assert np.all(opt.ask([0]) == X[0])
    assert evostrat.CMAES(np.zeros(2), 1.0, integer_variables=[])._margin is None


def test_binary_mean_is_moved_to_the_margin():
    opt = evostrat.CMAES(
        np.zeros(4), 1.0, seed=1, integer_variables=[2, 3], margin=0.05,
        bounds=([None, None, 0, 0], [None, None, 1, 1]),
    )  # fmt: skip
    while not opt.stop() and opt.generation < 300:  # until the run ends by itself
        X = opt.ask()
        opt.tell(np.sum(X[:, :2] ** 2, axis=1) + np.sum(X[:, 2:], axis=1))
    assert "tolfun" in opt.stop()
    p = leave_probability(opt)
    assert np.allclose(p, 0.05, rtol=1e-6)  # at the bound: exactly alpha
    assert np.all(opt.mean[2:] < 0.5)  # the mean's value is 0, the optimum


def test_sphere_onemax_is_solved():
    n, half = 10, 5

    def f(X):
        return np.sum(X[:, :half] ** 2, axis=1) + half - np.sum(X[:, half:], axis=1)

    x0 = np.r_[np.full(half, 2.0), np.full(half, 0.5)]
    bounds = ([None] * half + [0] * half, [None] * half + [1] * half)
    for seed in (1, 2):
        opt = evostrat.CMAES(
            x0, 1.0, seed=seed, integer_variables=list(range(half, n)),
            bounds=bounds, target=1e-10, max_evals=20_000,
        )  # fmt: skip
        res = opt.optimize(f, vectorized=True)
        assert "target" in res.stop and np.array_equal(res.xbest[half:], np.ones(half))


def test_encoding_grid_anchor_ties_and_clipping():
    lower = np.array([0.25, -np.inf, -np.inf])
    upper = np.array([2.0, 3.0, np.inf])
    mg = Margin({0: 0.5, 1: 2.0, 2: 1.0}, 3, 10, None, lower, upper)
    assert mg.alpha == pytest.approx(1 / 30)
    X = np.array([[0.5, 2.0, 0.5], [-7.0, 9.0, -0.5], [1.76, 1.9, 2.51]])
    E = mg.encode(X, np.zeros(3))
    # grid 0.25 + 0.5 k in [0.25, 2], ties to the lower value; 3 - 2 k up to 3
    assert E.tolist() == [[0.25, 1.0, 0.0], [0.25, 3.0, -1.0], [1.75, 1.0, 3.0]]
    lo, up = mg.thresholds(np.array([0.25, 3.0, 0.2]))
    assert lo.tolist() == [0.5, 2.0, -0.5] and up.tolist() == [0.5, 2.0, 0.5]


def test_bad_integer_options_are_named():
    x0 = np.zeros(3)
    cases = [
        ({"integer_variables": "01"}, TypeError, "integer_variables must be"),
        ({"integer_variables": [0.5]}, TypeError, "indices must be integers"),
        ({"integer_variables": [[0, 1]]}, TypeError, "flat sequence"),
        ({"integer_variables": [-1]}, ValueError, "indices must be >= 0"),
        ({"integer_variables": [1, 1]}, ValueError, "index 1 is given twice"),
        ({"integer_variables": [3]}, ValueError, "index 3 is out of range"),
        ({"integer_variables": {0: 0}}, ValueError, "step of coordinate 0"),
        ({"integer_variables": {0: True}}, ValueError, "step of coordinate 0"),
        ({"integer_variables": [0], "margin": 0.5}, ValueError, "margin"),
        ({"margin": 0.1}, ValueError, "only used with integer_variables"),
        (
            {"integer_variables": {0: 1}, "bounds": ([0.2, None, None], 1)},
            ValueError,
            "coordinate 0 has fewer than two values",
        ),
    ]
    for options, error, message in cases:
        with pytest.raises(error, match=message):
            evostrat.CMAES(x0, 1.0, **options)


def test_command_line_values_parse():
    table = option_table(evostrat.CMAES)
    assert table["integer_variables"].parse("i", "[2, 0]") == {0: 1.0, 2: 1.0}
    assert table["integer_variables"].parse("i", "{1: 0.5}") == {1: 0.5}
    assert table["margin"].parse("margin", "0.01") == 0.01


def test_bounds_penalty_leaves_integer_coordinates_alone():
    opt = evostrat.CMAES(
        np.zeros(3), 1.0, seed=2, integer_variables=[2],
        bounds=([-1, None, 0], [1, None, 1]),
    )  # fmt: skip
    assert opt._bounds.lower.tolist() == [-1, -np.inf, -np.inf]
    assert opt._bounds.upper.tolist() == [1, np.inf, np.inf]
    only_int = evostrat.CMAES(
        np.zeros(3),
        1.0,
        integer_variables=[2],
        bounds=([None, None, 0], [None, None, 1]),
    )
    assert only_int._bounds is None and only_int._margin is not None
