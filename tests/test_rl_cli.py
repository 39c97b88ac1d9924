"""``evostrat train`` and ``evostrat play`` (CartPole-sized problems only)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from evostrat import cli

gym = pytest.importorskip("gymnasium")  # the rl extra; CI installs it

from evostrat import rl  # noqa: E402


def run_cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_train_and_play_cartpole(tmp_path, capsys):
    policy = tmp_path / "policy"  # no suffix: the file named is the file written
    status, out, _ = run_cli(
        capsys,
        *("train", "--env", "CartPole-v1", "--strategy", "openes"),
        *("--generations", "3", "--popsize", "6", "--max-steps", "60"),
        *("--eval-episodes", "2", "--out", policy, "--quiet"),
    )
    assert status == 0, out
    assert policy.exists() and not (tmp_path / "policy.npz").exists()
    m = re.search(r"validation return (\S+) ± (\S+) over 2 episodes", out)
    assert m and 1.0 <= float(m.group(1)) <= 60.0  # 1 per step, cut at 60 steps
    assert "stopped: {'max_generations': 3}" in out
    status, out, _ = run_cli(capsys, "play", "--policy", policy, "--episodes", "2")
    assert status == 0
    seeds = [int(s) for s in re.findall(r"\(seed (\d+)\)", out)]
    assert seeds == [10**9, 10**9 + 1]  # test episodes by default
    assert re.search(r"^mean return \S+ ± \S+ over 2 episodes$", out, re.MULTILINE)
    saved = rl.load_policy(str(policy))
    assert saved.env_id == "CartPole-v1"
    assert saved.params.shape == (saved.policy.num_params,)
    assert saved.obs_mean is not None and saved.obs_std.shape == (4,)


def test_train_unknown_environment(capsys, tmp_path):
    status, _, err = run_cli(
        capsys, "train", "--env", "NoSuchEnv-v0", "--out", tmp_path / "p.npz"
    )
    assert status == 2 and "'NoSuchEnv-v0'" in err and "registered" in err


def test_gymnasium_missing_message(capsys, monkeypatch, tmp_path):
    policy = tmp_path / "p.npz"
    rl.save_policy(
        str(policy), rl.PolicyFile(rl.Policy(4, 2), np.zeros(10), "CartPole-v1")
    )
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import now fails
    status, _, err = run_cli(capsys, "train", "--out", tmp_path / "q.npz")
    assert status == 2 and "pip install gymnasium" in err
    status, _, err = run_cli(capsys, "play", "--policy", policy)
    assert status == 2 and "pip install gymnasium" in err


def test_train_rejects_bad_hidden(capsys):
    status, _, err = run_cli(capsys, "train", "--hidden", "8,x")
    assert status == 2 and "--hidden" in err


def test_play_rejects_a_file_that_is_not_a_policy(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=np.zeros(3))
    status, _, err = run_cli(capsys, "play", "--policy", bad)
    assert status == 2 and "not a valid evostrat policy file" in err
    assert len(err.strip().splitlines()) == 1
    status, _, err = run_cli(capsys, "play", "--policy", tmp_path / "none.npz")
    assert status == 2 and "no policy file" in err
