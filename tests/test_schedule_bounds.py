"""benchmarks/schedule_bounds.py: the expected bounds of a schedule's efficiency."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
schedule_bounds = pytest.importorskip("schedule_bounds")


def test_greedy_hands_each_cost_to_the_first_free_worker():
    # worker 1 takes 3; worker 2 takes the three 1s: makespan 3 (static: 3+1 = 4)
    assert schedule_bounds.greedy([3.0, 1.0, 1.0, 1.0], 2) == 3.0


def test_equal_costs_reach_the_ideal_with_either_schedule():
    r = schedule_bounds.bounds(256, 16, sigma=0.0, draws=3, seed=1)
    assert r["greedy"] == pytest.approx(1.0) and r["static"] == pytest.approx(1.0)


def test_heavy_tails_keep_the_two_targets_apart():
    small = schedule_bounds.bounds(256, 16, sigma=1.0, draws=200, seed=2)
    large = schedule_bounds.bounds(2048, 16, sigma=1.0, draws=200, seed=2)
    assert small["static"] < small["greedy"] < 0.85  # the bound, below the target
    assert large["greedy"] > 0.85 and large["ratio"] < 1.3
