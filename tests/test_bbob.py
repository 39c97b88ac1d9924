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


def test_solver_specs_parse_to_fmin_keywords():
    assert bbob.parse_solver("evostrat") == ("cmaes", {})
    name, options = bbob.parse_solver("cmaes:restart_strategy=bipop,popsize=8")
    assert name == "cmaes" and options == {"restart_strategy": "bipop", "popsize": 8}
    with pytest.raises(ValueError, match="key=value"):
        bbob.parse_solver("cmaes:bipop")


@pytest.mark.parametrize("solver", ["pycma-bipop", "cmaes-pkg", "cmaes-pkg-lra"])
def test_references_solve_the_sphere_from_the_same_start(solver):
    p = problem(1, 2)
    run = bbob.solve(p, solver, budget=4000, seed=1)
    assert run.hit and run.evals <= p.evaluations < run.evals + 10


def test_cache_is_reused_and_aggregates_are_geometric_means(tmp_path, monkeypatch):
    args = bbob.argparse.Namespace(
        suite="bbob", budget=1e4, seed=1, dims=[2], functions=[1, 2], instances=[1],
        cache=str(tmp_path / "runs.jsonl"), observe=False, jobs=1,
    )  # fmt: skip
    lines = []
    for solver, evals in (("a", [100, 400]), ("ref", [200, 200])):
        for fid, e in zip((1, 2), evals, strict=True):
            record = bbob.Run(fid, 2, 1, e, True, 0.0)._asdict()
            key = bbob.cache_key(solver, args, fid, 2, 1)
            lines.append(bbob.json.dumps({"key": key, **record}))
    (tmp_path / "runs.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(bbob, "_solve_task", lambda task: pytest.fail("re-solved"))
    results = bbob.run_all(["a", "ref"], args)
    assert [r.evals for r in results["a"]] == [100, 400]
    tables = {s: bbob.group(runs) for s, runs in results.items()}
    ratio, count = bbob.aggregated_ratio(tables["a"], tables["ref"], [2])
    assert count == 2 and ratio == pytest.approx(math.sqrt(0.5 * 2.0))


def test_quick_mode_prints_the_table_judge_and_ecdf_and_writes_coco_data(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--quick", "--plot", "ecdf.png"]
    cmd += ["--strategies", "cmaes", "snes", "--references", "pycma-ipop"]
    out = subprocess.run(
        [*cmd, "--observe"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    rows = {
        tuple(line.split()[:2]): line.split()[2:]
        for line in out.stdout.splitlines()
        if re.match(r"\s*\d+\s+2\s", line)
    }
    assert set(rows) == {("1", "2"), ("8", "2"), ("15", "2")}
    cmaes_ert, cmaes_hits = int(rows["1", "2"][0]), rows["1", "2"][1]
    assert cmaes_hits == "1/1" and "summary" in out.stdout
    assert "judge cmaes: hits" in out.stdout and "ERT ratios to pycma" in out.stdout
    figure = tmp_path / "ecdf.png"
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.stat().st_size > 5000
    # COCO's own logger agrees: the run reached 1e-8 and used at least that many
    info = (tmp_path / "exdata" / "cmaes" / "bbobexp_f1.info").read_text()
    assert "funcId = 1, DIM = 2" in info and "algId = 'cmaes'" in info
    evals, precision = re.search(r"1:(\d+)\|([-+.e0-9]+)", info).groups()
    assert float(precision) < 1e-8 and int(evals) >= cmaes_ert
    for solver in ("snes", "pycma-ipop"):
        assert (tmp_path / "exdata" / solver / "bbobexp_f15.info").is_file()


def test_noisy_suite_reports_the_best_values_reached(capsys):
    bbob.main(
        ["--suite", "bbob-noisy", "--dims", "2", "--functions", "1", "--instances", "1",
         "--budget", "100", "--strategies", "cmaes", "--references", "cmaes-pkg",
         "--plot", ""]
    )  # fmt: skip
    out = capsys.readouterr().out
    table = out[out.index("median log10") :].splitlines()
    values = [float(v) for v in table[2].split()[2:]]
    assert table[2].split()[:2] == ["101", "2"] and len(values) == 2
    assert min(values) == -8.0  # the better solver's gap is 0 (+1e-8)


class _Recording:
    """A COCO problem that keeps every value it returned."""

    def __init__(self, problem):
        self._problem, self.values = problem, []

    def __getattr__(self, name):
        return getattr(self._problem, name)

    def __call__(self, x):
        self.values.append(self._problem(x))
        return self.values[-1]


@pytest.mark.parametrize("solver", ["cmaes", "pycma-ipop", "cmaes-pkg"])
def test_boxed_solvers_get_the_box_and_stay_in_it(solver):
    suite = cocoex.Suite(
        bbob.BOXED, "", "dimensions: 2 function_indices: 5 instance_indices: 1"
    )
    # the linear slope: optimum in a corner of the box, infinite outside it
    p = _Recording(next(iter(suite)))
    run = bbob.solve(p, solver, budget=2000, seed=1, boxed=True)
    assert len(p.values) == p.evaluations > 0
    # measured without the box: pycma and cmaes 327 and 340 infinite values
    assert np.all(np.isfinite(p.values)) and run.hit
