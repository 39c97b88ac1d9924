"""benchmarks/bbob.py: evostrat and pycma on COCO's bbob suite (cocoex)."""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import cocoex  # coco-experiment, in the test extra: a missing install fails
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bbob.py"
_spec = importlib.util.spec_from_file_location("bbob_benchmark", SCRIPT)
bbob = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bbob)


def problem(function: int, dim: int, instance: int = 1):
    suite = cocoex.Suite(
        "bbob",
        "",
        f"dimensions: {dim} function_indices: {function} instance_indices: {instance}",
    )
    return next(iter(suite))


@pytest.mark.parametrize("solver", ["cmaes", "pycma"])
def test_sphere_hit_is_counted_at_the_hitting_evaluation(solver):
    p = problem(1, 3)
    run = bbob.solve(p, solver, budget=3000, seed=1)
    assert run.hit and (run.function, run.dim, run.instance) == (1, 3, 1)
    assert p.final_target_hit and p.best_observed_fvalue1 is not None
    # the callback ends the call within the generation that hit the target
    assert run.evals <= p.evaluations < run.evals + 20


def test_budget_is_respected_when_the_target_is_not_hit():
    p = problem(15, 5)  # Rastrigin: not solved in 500 evaluations
    run = bbob.solve(p, "cmaes", budget=500, seed=1)
    # as in pycma, the budget is checked after each generation (popsize 8 here)
    assert not run.hit and run.evals == p.evaluations and 500 <= run.evals < 508


def test_solvers_get_the_same_start_points():
    p = problem(8, 5)
    a, b = bbob.start_points(p, 7), bbob.start_points(p, 7)
    first = a()
    np.testing.assert_array_equal(first, p.initial_solution)
    np.testing.assert_array_equal(first, b())
    later = [a() for _ in range(50)]
    assert all(np.array_equal(x, b()) for x in later)
    spread = np.array(later)
    assert spread.min() > -5 and spread.max() < 5 and spread.std() > 1


def test_ert_is_all_evaluations_over_the_hits():
    runs = [
        bbob.Run(1, 2, 1, 100, True, 0.0),
        bbob.Run(1, 2, 2, 1000, False, 0.0),
        bbob.Run(1, 2, 3, 300, True, 0.0),
    ]
    assert bbob.ert(runs) == (100 + 1000 + 300) / 2
    assert bbob.ert(runs[1:2]) == math.inf


def test_script_prints_the_table_and_writes_coco_data(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--dims", "2", "--functions", "1", "15"]
    cmd += ["--instances", "1", "--budget", "500", "--strategies", "cmaes", "snes"]
    out = subprocess.run(
        [*cmd, "--observe"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    rows = {
        tuple(line.split()[:2]): line.split()[2:]
        for line in out.stdout.splitlines()
        if re.match(r"\s*\d+\s+2\s", line)
    }
    assert set(rows) == {("1", "2"), ("15", "2")}
    cmaes_ert, cmaes_hits = int(rows["1", "2"][0]), rows["1", "2"][1]
    assert cmaes_hits == "1/1" and "summary" in out.stdout
    # COCO's own logger agrees: the run reached 1e-8 and used at least that many
    info = (tmp_path / "exdata" / "cmaes" / "bbobexp_f1.info").read_text()
    assert "funcId = 1, DIM = 2" in info and "algId = 'cmaes'" in info
    evals, precision = re.search(r"1:(\d+)\|([-+.e0-9]+)", info).groups()
    assert float(precision) < 1e-8 and int(evals) >= cmaes_ert
    for solver in ("snes", "pycma"):
        assert (tmp_path / "exdata" / solver / "bbobexp_f15.info").is_file()
