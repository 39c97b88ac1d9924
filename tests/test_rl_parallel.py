"""``evostrat train`` gives the same run, bit for bit, on the serial, pool and MPI
evaluators (CartPole, a few generations); under mpiexec only rank 0 prints and
writes."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from evostrat import rl  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# normalization on, several episodes, action noise: every side result is exercised
ARGS = ("--env", "CartPole-v1", "--strategy", "snes", "--popsize", "7")
ARGS += ("--generations", "4", "--max-steps", "60", "--episodes", "2")
ARGS += ("--eval-every", "2", "--eval-episodes", "2", "--seed", "3")
ARGS += ("--env-seed", "11", "--action-noise", "0.5")


def train(tmp_path: Path, name: str, *extra: str, prefix: tuple = ()) -> tuple:
    out, log = tmp_path / f"{name}.npz", tmp_path / f"{name}.csv"
    cmd = [*prefix, sys.executable, "-m", "evostrat", "train", *ARGS, *extra]
    cmd += ["--out", str(out), "--log", str(log)]
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x for x in log.read_text().splitlines() if not x.startswith("#")]
    drop = lines[0].split(",").index("seconds")
    curve = [[c for i, c in enumerate(x.split(",")) if i != drop] for x in lines]
    return rl.load_policy(str(out)), curve, proc.stdout


def assert_same(a: tuple, b: tuple) -> None:
    (pa, ca, _), (pb, cb, _) = a, b
    np.testing.assert_array_equal(pa.params, pb.params)
    np.testing.assert_array_equal(pa.obs_mean, pb.obs_mean)
    np.testing.assert_array_equal(pa.obs_std, pb.obs_std)
    assert pa.info == pb.info
    assert ca == cb and len(ca) == 5


@pytest.mark.slow
def test_serial_and_pool_give_the_same_run(tmp_path):
    serial = train(tmp_path, "serial", "--evaluator", "serial")
    pool = train(tmp_path, "pool", "--evaluator", "pool", "--processes", "2")
    assert_same(serial, pool)


@pytest.mark.mpi
@pytest.mark.slow
def test_mpi_gives_the_same_run_and_only_rank_0_writes(tmp_path):
    if importlib.util.find_spec("mpi4py") is None:
        pytest.fail("mpi4py is not installed: pip install '.[mpi]' (or -m 'not mpi')")
    here = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(here) if here.exists() else shutil.which("mpiexec")
    assert mpiexec, "mpiexec not found: pip install '.[mpi]'"
    serial = train(tmp_path, "serial", "--evaluator", "serial")
    mpi = train(tmp_path, "mpi", "--evaluator", "mpi", prefix=(mpiexec, "-n", "2"))
    assert_same(serial, mpi)
    out = mpi[2]
    assert out.count("training a linear policy") == 1
    assert out.count("saved to") == 1


@pytest.mark.mpi
@pytest.mark.slow
def test_mpi_ranks_agree_on_a_wall_time_budget(tmp_path):
    # each rank's clock differs; the ranks agree, so all stop after generation 1
    # (a rank left waiting would hang until the subprocess timeout)
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
    mpiexec = mpiexec or shutil.which("mpiexec")
    assert mpiexec, "mpiexec not found: pip install '.[mpi]'"
    extra = ("--evaluator", "mpi", "--max-seconds", "1e-9", "--generations", "1000")
    policy, curve, out = train(tmp_path, "t", *extra, prefix=(mpiexec, "-n", "2"))
    assert "stopped: {'max_seconds': 1e-09}" in out
    assert len(curve) == 2 and policy.info["generation"] == 1
