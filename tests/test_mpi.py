"""MPIEvaluator under real ``mpiexec`` jobs (the scripts are in tests/mpi_scripts).

Each test launches ``mpiexec -n K python tests/mpi_scripts/...``; every rank writes
what it saw to a file and the test compares the ranks with each other and with a
serial run made here. These tests need mpi4py and mpiexec (``pip install .[mpi]``
brings both); they fail, never skip, when those are missing. Deselect them with
``-m "not mpi"`` on a machine without MPI.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import evostrat
from evostrat.evaluators.mpi import split_population
from evostrat.functions import rastrigin, sphere
from evostrat.strategies import REGISTRY

SCRIPTS = Path(__file__).resolve().parent / "mpi_scripts"
sys.path.insert(0, str(SCRIPTS))

import run_checks  # noqa: E402  (the same DIM, SEED, GENERATIONS, make())
from es_objectives import (  # noqa: E402
    Recording,
    WithAux,
    WithAuxVectorized,
    aux_outcome,
)

pytestmark = pytest.mark.mpi


def find_mpiexec() -> str:
    """``mpiexec`` next to this Python (the mpich wheel), else on PATH; or fail."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.fail("mpi4py is not installed: pip install '.[mpi]' (or -m 'not mpi')")
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpiexec not found: pip install '.[mpi]' (or -m 'not mpi')")
    return found


def mpirun(n: int, script: str, *args: str, timeout: float = 180.0):
    """Run ``mpiexec -n n python script args`` and return the CompletedProcess."""
    cmd = [find_mpiexec(), "-n", str(n), sys.executable, str(SCRIPTS / script), *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def run_ranks(n: int, mode: str, tmp_path: Path) -> list[dict]:
    """Run run_checks.py MODE under n ranks; what each rank wrote, by rank."""
    out = tmp_path / mode
    proc = mpirun(n, "run_checks.py", mode, str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [pickle.loads(Path(f"{out}.{r}").read_bytes()) for r in range(n)]


def test_split_population_uneven_and_contiguous():
    for popsize in (1, 2, 7, 8, 16, 33):
        for size in (1, 2, 3, 4, 5):
            counts, starts = split_population(popsize, size)
            assert counts.sum() == popsize
            assert counts.max() - counts.min() <= 1
            assert np.array_equal(starts, np.concatenate(([0], np.cumsum(counts)[:-1])))
    counts, starts = split_population(8, 3)
    assert counts.tolist() == [3, 3, 2] and starts.tolist() == [0, 3, 6]


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3])
def test_same_result_as_serial_for_every_strategy(n, tmp_path):
    ranks = run_ranks(n, "same", tmp_path)
    names = list(REGISTRY)
    mismatches = []
    for name in names:
        for vectorized in (False, True):
            rec = Recording(evostrat.SerialEvaluator())
            res = run_checks.make(name).optimize(rastrigin, rec, vectorized=vectorized)
            want = (
                res.xbest.tobytes(),
                res.xmean.tobytes(),
                res.fbest,
                res.generations,
                rec.history(),
            )
            assert len(want[-1]) == run_checks.GENERATIONS
            for schedule in run_checks.SCHEDULES:
                for r, seen in enumerate(ranks):
                    if seen[schedule, name, vectorized] != want:
                        mismatches.append((schedule, name, vectorized, r))
    assert not mismatches, f"MPI -n {n} differs from serial: {mismatches}"
    res = evostrat.fmin(
        rastrigin, np.full(run_checks.DIM, 1.5), 0.5, "cmaes", restarts=1,
        seed=run_checks.SEED, max_evals=600,
    )  # fmt: skip
    for schedule in run_checks.SCHEDULES:
        for seen in ranks:
            assert seen[schedule, "fmin"] == (res.xbest.tobytes(), res.fbest, res.evals)
        for seen in ranks:
            assert seen["size"] == n
            stats = seen[schedule, "stats"]
            assert stats["generations"] >= 2 * len(names) * run_checks.GENERATIONS
        # the ranks shared the work: their local evaluations add up to the population
        total = sum(seen[schedule, "stats"]["local_evaluations"] for seen in ranks)
        assert total == ranks[0][schedule, "stats"]["evaluations"]
        assert all(seen[schedule, "stats"]["local_evaluations"] > 0 for seen in ranks)


@pytest.mark.slow
def test_bytes_sent_do_not_depend_on_dim(tmp_path):
    ranks = run_ranks(2, "bytes", tmp_path)
    counts, _ = split_population(16, 2)
    for r, seen in enumerate(ranks):
        small, large = seen[10], seen[100_000]
        assert small["generations"] == large["generations"] == 2
        # per generation: rank 1 sends its 8 fitness values and one status word to
        # rank 0, which sends it [code, extra, 16 fitness values]; 8 bytes each
        want = 8 * (2 + 16) if r == 0 else 8 * (counts[r] + 1)
        assert small["bytes_sent"] == large["bytes_sent"] == 2 * want


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3])
def test_errors_reach_every_rank_and_leave_the_strategy_ready(n, tmp_path):
    ranks = run_ranks(n, "errors", tmp_path)
    opt = evostrat.SimpleES(
        np.full(run_checks.DIM, 1.5), 0.5, seed=run_checks.SEED, max_generations=3
    )
    want_after = opt.optimize(sphere).xbest.tobytes()
    last = opt.popsize - 1
    for schedule in run_checks.SCHEDULES:
        for seen in (rank[schedule] for rank in ranks):
            kind, generation, index, cause = seen["error"]
            assert (kind, generation, index) == ("EvaluationError", 1, last)
            assert "ZeroDivisionError: planted failure" in cause
            assert "Traceback" in cause and "es_objectives.py" in cause
            assert seen["unchanged"]
            assert seen["not_real"][0] == "ValueError"
            assert f"index {last} is not a real number" in seen["not_real"][1]
            assert seen["shape"][0] == "ValueError" and "shape" in seen["shape"][1]
            assert seen["after"] == (want_after, 3)
            assert seen["desync"][0] == "RuntimeError"
            assert "different strategies" in seen["desync"][1]
    # static: only the failing rank (the last) sent the error text, on top of its
    # fitness; the others (rank 0 apart, which sends the result) their fitness
    counts, _ = split_population(opt.popsize, n)
    sent = [rank["static"]["failure_bytes"] for rank in ranks]
    assert sent[-1] > 8 * (counts[-1] + 1) + 100
    assert all(sent[r] == 8 * (counts[r] + 1) for r in range(1, n - 1))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["raise", "exit"])
def test_a_failing_rank_ends_the_job(mode):
    t0 = time.perf_counter()
    proc = mpirun(2, "abort.py", mode, timeout=60)
    assert proc.returncode != 0
    assert time.perf_counter() - t0 < 30
    if mode == "raise":
        assert "rank 1 fails on purpose" in proc.stderr


@pytest.mark.slow
def test_side_results_are_the_same_as_serial(tmp_path):
    ranks = run_ranks(2, "aux", tmp_path)
    popsize = run_checks.make("cmaes").popsize
    for cls in (WithAux, WithAuxVectorized):
        f = cls()
        res = run_checks.make("cmaes").optimize(f, vectorized=cls is not WithAux)
        want = aux_outcome(res, f)
        assert f.count == run_checks.GENERATIONS * popsize
        for seen in ranks:
            for schedule in run_checks.SCHEDULES:
                assert seen[schedule, cls.__name__] == want
    # static, per generation: rank 1 sends its fitness + 2 aux each + a status
    # word, rank 0 the whole [code, extra, fitness, aux]
    counts, _ = split_population(popsize, 2)
    for r, seen in enumerate(ranks):
        per_gen = 8 * (3 * popsize + 2) if r == 0 else 8 * (3 * counts[r] + 1)
        stats = seen["static", "stats"]
        assert stats["bytes_sent"] == 2 * run_checks.GENERATIONS * per_gen


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode, schedule", [("stop-0", "static"), ("stop-last", "dynamic")]
)
def test_a_rank_that_stops_alone_ends_the_job_with_a_message(mode, schedule, tmp_path):
    t0 = time.perf_counter()
    proc = mpirun(3, "stops.py", mode, schedule, str(tmp_path / "out"), timeout=60)
    assert proc.returncode != 0
    assert time.perf_counter() - t0 < 20  # mpiexec start-up included
    stopper = 0 if mode == "stop-0" else 2
    assert f"rank {stopper} stopped after evaluating generation 1" in proc.stderr
    assert "Make the stop decision the same on every rank" in proc.stderr


def stops_outputs(ranks, mode, schedule, tmp_path):
    """Run ``stops.py`` in a mode that ends cleanly; what each rank wrote."""
    out = tmp_path / "out"
    proc = mpirun(ranks, "stops.py", mode, schedule, str(out), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [pickle.loads(Path(f"{out}.{r}").read_bytes()) for r in range(ranks)]


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["static", "dynamic"])
def test_a_callback_true_on_one_rank_stops_every_rank(schedule, tmp_path):
    want = evostrat.SimpleES(np.zeros(3), 0.1, popsize=12, seed=1).optimize(
        sphere, max_generations=2
    )
    for seen in stops_outputs(3, "callback", schedule, tmp_path):
        assert seen == {"generations": 2, "xbest": want.xbest.tobytes()}


@pytest.mark.slow
def test_agree_is_a_collective_or(tmp_path):
    for seen in stops_outputs(3, "agree", "static", tmp_path):
        assert seen["agree"] == (True, False)


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["static", "dynamic"])
def test_timeout_turns_a_hang_into_evaluation_error_on_every_rank(schedule, tmp_path):
    opt = evostrat.SimpleES(np.zeros(3), 0.1, popsize=12, seed=1)
    want = [sphere(x) for x in opt.ask()]
    for seen in stops_outputs(2, "timeout", schedule, tmp_path):
        generation, index, cause = seen["error"]
        assert (generation, index) == (0, 11)
        assert "individual 11 took longer than timeout=1" in cause
        assert seen["seconds"] < 10
        assert seen["after"] == want


@pytest.mark.slow
def test_a_hang_that_cannot_be_interrupted_ends_the_job(tmp_path):
    t0 = time.perf_counter()
    proc = mpirun(2, "stops.py", "hang", "static", str(tmp_path / "out"), timeout=60)
    assert proc.returncode != 0
    assert time.perf_counter() - t0 < 20
    assert "its objective hangs where it cannot be interrupted" in proc.stderr
