"""The run log: what each column holds, restarts, MPI rank 0, buffering (the text
and the row kernel: test_runlog_kernels.py)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import evostrat
from evostrat.functions import ellipsoid, rastrigin, rosenbrock, sphere
from evostrat.plotting import read_log
from evostrat.runlog import COLUMNS, RunLog

ROOT = Path(__file__).resolve().parents[1]


def logged_loop(path, opt, f, generations, **log_kw):
    """ask/tell with ``log.write(opt, fitness=...)``; returns the fitness told."""
    told = []
    with RunLog(path, **log_kw) as log:
        for _ in range(generations):
            fitness = [f(x) for x in opt.ask()]
            opt.tell(fitness)
            log.write(opt, fitness=fitness)
            told.append(fitness)
    return told


def test_columns_hold_what_they_say(tmp_path):
    path = tmp_path / "run.csv"
    opt = evostrat.CMAES(np.full(12, 2.0), 0.5, seed=3)
    told = logged_loop(path, opt, ellipsoid, 40)
    log = read_log(path)
    assert list(log.columns)[: len(COLUMNS)] == list(COLUMNS)
    assert log.prefixed("mean_") == [f"mean_{i}" for i in range(10)]  # 10 of 12
    assert np.array_equal(log["generation"], np.arange(1, 41))
    assert np.array_equal(log["evaluations"], opt.popsize * np.arange(1, 41))
    assert np.all(log["run"] == 0)
    best = np.array([min(f) for f in told])
    np.testing.assert_allclose(log["best"], best, rtol=1e-15)
    np.testing.assert_allclose(log["median"], [np.median(f) for f in told], rtol=1e-15)
    np.testing.assert_allclose(log["best_so_far"], np.minimum.accumulate(best), 1e-15)
    assert np.all(np.diff(log["seconds"]) >= 0)
    # the last row is the strategy's state now (7-10 significant digits written)
    res = opt.result
    np.testing.assert_allclose(log["sigma"][-1], opt.sigma, rtol=1e-6)
    np.testing.assert_allclose(log["min_std"][-1], res.stds.min(), rtol=1e-6)
    np.testing.assert_allclose(log["max_std"][-1], res.stds.max(), rtol=1e-6)
    ev = opt.eigenvalues
    np.testing.assert_allclose(log["condition"][-1], ev.max() / ev.min(), rtol=1e-6)
    np.testing.assert_allclose(log["axis_ratio"][-1], math.sqrt(ev.max() / ev.min()),
                               rtol=1e-6)  # fmt: skip
    mean = [log[f"mean_{i}"][-1] for i in range(10)]
    np.testing.assert_allclose(mean, opt.mean[:10], rtol=1e-7)  # 8 digits
    stds = [log[f"std_{i}"][-1] for i in range(10)]
    np.testing.assert_allclose(stds, res.stds[:10], rtol=1e-6)


def test_optimize_log_matches_a_hand_written_loop(tmp_path):
    a = evostrat.CMAES(np.full(4, 1.0), 0.3, seed=5)
    ra = a.optimize(sphere, max_generations=30, log=tmp_path / "a.csv")
    b = evostrat.CMAES(np.full(4, 1.0), 0.3, seed=5)
    logged_loop(tmp_path / "b.csv", b, sphere, 30)
    la, lb = read_log(tmp_path / "a.csv"), read_log(tmp_path / "b.csv")
    assert la.rows == lb.rows == ra.generations == 30
    for name in la.columns:
        if name != "seconds":
            np.testing.assert_array_equal(la[name], lb[name], err_msg=name)
    assert la.runs == [
        {"run": 0, "strategy": "CMAES", "dim": 4, "popsize": a.popsize, "seed": "5",
         "maximize": False}
    ]  # fmt: skip


def test_strategy_without_covariance_leaves_cells_empty(tmp_path):
    path = tmp_path / "snes.csv"
    opt = evostrat.SNES(np.ones(3), np.array([0.5, 1.0, 2.0]), seed=1)
    opt.optimize(sphere, max_generations=5, log=path)
    log = read_log(path)
    assert np.all(np.isnan(log["axis_ratio"])) and np.all(np.isnan(log["condition"]))
    np.testing.assert_allclose(log["sigma"][-1], np.mean(opt.sigma), rtol=1e-6)
    np.testing.assert_allclose(log["max_std"][-1], np.max(opt.sigma), rtol=1e-6)
    row = path.read_text().splitlines()[3].split(",")
    assert row[COLUMNS.index("axis_ratio")] == "" == row[COLUMNS.index("condition")]


def test_eigenvalues_of_a_strategy_without_cma_rows(tmp_path):
    """A strategy with ``eigenvalues`` but not CMA's ``_vecs`` rows: its axis ratio
    and condition come from the property."""

    class Eig(evostrat.SNES):
        @property
        def eigenvalues(self):
            return np.sort(self.sigma**2)

    path = tmp_path / "eig.csv"
    opt = Eig(np.ones(3), np.array([0.5, 1.0, 2.0]), seed=1)
    opt.optimize(sphere, max_generations=5, log=path)
    log = read_log(path)
    ev = opt.eigenvalues
    np.testing.assert_allclose(log["condition"][-1], ev[-1] / ev[0], rtol=1e-6)
    np.testing.assert_allclose(log["axis_ratio"][-1], math.sqrt(ev[-1] / ev[0]),
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(log["min_std"][-1], np.min(opt.sigma), rtol=1e-6)


def test_fmin_restarts_are_runs_in_one_log(tmp_path):
    path = tmp_path / "fmin.csv"
    res = evostrat.fmin(rastrigin, np.full(3, 3.0), 1.0, restarts=2, seed=4,
                        log=path, max_evals=6000)  # fmt: skip
    log = read_log(path)
    assert [r["popsize"] for r in log.runs] == [run.popsize for run in res.runs]
    assert np.array_equal(np.unique(log["run"]), np.arange(len(res.runs)))
    assert np.all(np.diff(log["run"]) >= 0)
    # generations and evaluations count over the whole log
    assert np.all(np.diff(log["evaluations"]) > 0)
    assert log["evaluations"][-1] == res.evals
    assert log["generation"][-1] == res.generations
    for r, run in enumerate(res.runs):
        rows = log["run"] == r
        assert np.diff(log["evaluations"][rows]).tolist() == [run.popsize] * (
            rows.sum() - 1
        )
        np.testing.assert_allclose(np.min(log["best"][rows]), run.fbest, rtol=1e-15)
    np.testing.assert_allclose(log["best_so_far"][-1], res.fbest, rtol=1e-15)


def test_maximize_and_nan_rank_last(tmp_path):
    path = tmp_path / "max.csv"
    opt = evostrat.CMAES(np.zeros(2), 1.0, seed=2, maximize=True, nan_policy="worst")
    with RunLog(path) as log:
        for g in range(6):
            X = opt.ask()
            fitness = [-float(x @ x) for x in X]
            if g == 2:
                fitness[0] = math.nan
            opt.tell(fitness)
            log.write(opt, fitness=fitness)
    data = read_log(path)
    assert data.maximize
    assert np.all(np.diff(data["best_so_far"]) >= 0)  # a reward: it only grows
    np.testing.assert_allclose(data["best_so_far"][-1], opt.result.fbest, rtol=1e-15)
    assert np.all(np.isfinite(data["best"])) and np.all(data["median"] <= data["best"])


def test_extra_columns_and_bad_writes(tmp_path):
    path = tmp_path / "extra.csv"
    opt = evostrat.CMAES(np.ones(3), 0.5, seed=1)
    log = RunLog(path, extra_columns=("env_steps", "mean_return"))
    opt.tell([sphere(x) for x in opt.ask()])
    log.write(opt, fitness=[1.0] * opt.popsize, env_steps=1000, mean_return=-3.5)
    with pytest.raises(ValueError, match="unknown column.*'steps'"):
        log.write(opt, steps=3)
    with pytest.raises(TypeError, match="env_steps must be a real number"):
        log.write(opt, env_steps="many")
    told = np.array(opt._told)
    log.write(opt)  # the values told last; no extras: those cells stay empty
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.write(opt)
    data = read_log(path)
    assert data.rows == 2  # the bad writes added nothing
    assert data["env_steps"].tolist()[0] == 1000 and data["mean_return"][0] == -3.5
    assert np.isnan(data["env_steps"][1]) and data["best"][1] == told.min()
    assert data["median"][1] == np.median(told)
    # without fitness, the best so far also knows the strategy's own record
    assert data["best_so_far"][0] == 1.0 > opt.result.fbest
    np.testing.assert_allclose(data["best_so_far"][1], opt.result.fbest, rtol=1e-15)


def test_lean_rows_before_a_tell_and_after_close(tmp_path):
    """write(opt) of a CMA strategy (the lean way): before any tell its fitness
    cells are empty; a closed log refuses it; two strategies alternating on one
    log make a run each time."""
    path = tmp_path / "lean.csv"
    a, b = (evostrat.CMAES(np.ones(3), 0.5, seed=s) for s in (1, 2))
    log = RunLog(path)
    log.write(a)  # nothing told yet
    for opt in (a, b, a):
        opt.tell([sphere(x) for x in opt.ask()])
        log.write(opt)
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.write(a)
    data = read_log(path)
    assert data["run"].tolist() == [0, 0, 1, 2]
    assert np.isnan(data["best"][0]) and np.isfinite(data["best"][1:]).all()
    np.testing.assert_allclose(data["best"][3], a._told.min(), rtol=1e-15)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"extra_columns": "steps"}, TypeError),
        ({"extra_columns": ("best",)}, ValueError),
        ({"extra_columns": ("a b",)}, ValueError),
        ({"extra_columns": ("a", "a")}, ValueError),
        ({"buffer": 0}, ValueError),
        ({"coordinates": -1}, ValueError),
    ],
)
def test_bad_arguments_name_themselves(tmp_path, kwargs, error):
    with pytest.raises(error):
        RunLog(tmp_path / "bad.csv", **kwargs)


def test_other_ranks_write_nothing(tmp_path):
    """``main=False`` (what optimize passes on MPI ranks > 0): no file at all."""
    path = tmp_path / "rank1.csv"
    log = RunLog(path, main=False)
    opt = evostrat.CMAES(np.ones(2), 0.5, seed=1)
    opt.optimize(sphere, max_generations=3, log=log)
    log.close()
    assert not path.exists()

    class Rank1:  # an evaluator on a rank other than 0
        is_main = False
        stats: dict = {}

        def evaluate(self, strategy, f, vectorized=False):
            return [f(x) for x in strategy.ask()]

    opt.optimize(sphere, Rank1(), max_generations=5, log=path)
    assert not path.exists()


def test_rows_reach_the_file_in_blocks(tmp_path):
    path = tmp_path / "blocks.csv"
    opt = evostrat.CMAES(np.ones(2), 0.5, seed=1)
    log = RunLog(path, buffer=4)
    for g in range(1, 10):
        fitness = [sphere(x) for x in opt.ask()]
        opt.tell(fitness)
        log.write(opt, fitness=fitness)
        rows = sum(line[:1].isdigit() for line in path.read_text().splitlines())
        assert rows == 4 * (g // 4)
    log.close()
    assert read_log(path).rows == 9


def test_a_log_left_open_is_complete_at_exit(tmp_path):
    path = tmp_path / "open.csv"
    code = (
        "import numpy as np, evostrat\n"
        "from evostrat.runlog import RunLog\n"
        f"log = RunLog({str(path)!r})\n"
        "opt = evostrat.CMAES(np.ones(2), 0.5, seed=1)\n"
        "opt.optimize(lambda x: float(x @ x), max_generations=7, log=log)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
    assert read_log(path).rows == 7


def test_fitness_reused_by_the_caller_is_copied(tmp_path):
    """The statistics are computed when the block is written; the row keeps the
    values passed, even if the caller's array or list changes afterwards."""
    path = tmp_path / "reuse.csv"
    opt = evostrat.CMAES(np.ones(2), 0.5, seed=1)
    buffer_array = np.empty(opt.popsize)
    buffer_list = [0.0] * opt.popsize
    best, median = [], []
    with RunLog(path) as log:
        for g in range(4):
            X = opt.ask()
            buffer_array[:] = [sphere(x) for x in X]
            buffer_list[:] = buffer_array.tolist()
            opt.tell(buffer_array)
            log.write(opt, fitness=buffer_array if g % 2 else buffer_list)
            best.append(float(buffer_array.min()))
            median.append(float(np.median(buffer_array)))
            buffer_array[:] = -1.0  # overwritten before the block is written
            buffer_list[:] = [-1.0] * opt.popsize
    data = read_log(path)
    np.testing.assert_allclose(data["best"], best, rtol=1e-15)
    np.testing.assert_allclose(data["median"], median, rtol=1e-15)


def test_odd_fitness_values_as_numpy_reads_them(tmp_path):
    """A list that is not all floats (None, numeric strings, nested) gives the
    values numpy reads from it; one it cannot read leaves the cells empty; a
    non-list that is not numbers is an error."""
    path = tmp_path / "odd.csv"
    opt = evostrat.CMAES(np.ones(2), 0.5, seed=1)
    opt.tell([sphere(x) for x in opt.ask()])
    with RunLog(path, buffer=2) as log:
        log.write(opt, fitness=[3.0, None, 1, "2.5"])  # None: NaN, ranked last
        log.write(opt, fitness=[[4.0], [2.0]])
        log.write(opt, fitness=[1.0, "x"])
        log.write(opt, fitness=[])
        log.write(opt, fitness=(5.0, 7.0, 6.0))
        with pytest.raises((TypeError, ValueError)):
            log.write(opt, fitness=("x", 1.0))
    data = read_log(path)
    assert data.rows == 5
    assert data["best"].tolist()[:2] == [1.0, 2.0] and data["best"][4] == 5.0
    assert data["median"].tolist()[:2] == [2.75, 3.0] and data["median"][4] == 6.0
    assert np.isnan(data["best"][2:4]).all() and np.isnan(data["median"][2:4]).all()


@pytest.mark.mpi
def test_under_mpi_rank_0_writes_the_serial_log(tmp_path):
    from test_mpi import mpirun

    path = tmp_path / "mpi.csv"
    proc = mpirun(2, "runlog_ranks.py", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    serial = tmp_path / "serial.csv"
    evostrat.fmin(rosenbrock, np.zeros(4), 0.5, seed=3, restarts=1, log=serial,
                  max_evals=3000)  # fmt: skip
    a, b = read_log(path), read_log(serial)
    assert a.rows == b.rows and a.runs == b.runs and len(a.runs) == 2
    for name in a.columns:  # one writer (two would repeat or garble rows)
        if name != "seconds":
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_failed_write_leaves_no_trace(tmp_path):
    """A row the kernel refuses (here a float32 mean) adds neither a row nor its
    fitness values: the next rows keep their own best."""
    path = tmp_path / "failed.csv"
    opt = evostrat.CMAES(np.ones(3), 0.5, seed=1)
    with RunLog(path) as log:
        opt.tell([sphere(x) for x in opt.ask()])
        log.write(opt, fitness=[5.0, 6.0])
        mean = opt.mean
        opt.mean = mean.astype(np.float32)
        with pytest.raises(TypeError):
            log.write(opt, fitness=[-100.0, -200.0])
        opt.mean = mean
        log.write(opt, fitness=[3.0, 4.0, 8.0])
    data = read_log(path)
    assert data["best"].tolist() == [5.0, 3.0]
    assert data["median"].tolist() == [5.5, 4.0]
