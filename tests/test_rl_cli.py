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


def _good_arrays():
    policy = rl.Policy(4, 2, (3,))
    saved = rl.PolicyFile(
        policy, np.zeros(policy.num_params), "CartPole-v1", np.zeros(4), np.ones(4)
    )
    return saved


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _npy_header_only(shape):
    """The bytes of a .npy file whose header announces ``shape`` but holds 8 bytes."""
    import io

    buf = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\0" * 8


def _malformed_files(tmp_path):
    import zipfile

    good = tmp_path / "good.npz"
    rl.save_policy(str(good), _good_arrays())
    with np.load(good) as data:
        base = {k: data[k] for k in data.files}
    variants = {
        "params_length": {"params": np.zeros(3)},
        "params_nan": {"params": np.full(base["params"].size, np.nan)},
        "params_2d": {"params": np.zeros((2, 13))},
        "params_object": {"params": np.array([object()] * 3)},
        "obs_dim_huge": {"obs_dim": np.array(10**12)},
        "obs_dim_float": {"obs_dim": np.array(4.0)},
        "obs_dim_array": {"obs_dim": np.array([4, 4])},
        "hidden_negative": {"hidden": np.array([-5])},
        "hidden_deep": {"hidden": np.ones(1000, dtype=np.int64)},
        "discrete_int": {"discrete": np.array(1)},
        "activation": {"activation": np.array("sigmoid")},
        "format": {"format": np.array("something-else")},
        "env_id_number": {"env_id": np.array(3)},
        "std_zero": {"obs_std": np.zeros(4)},
        "stats_length": {"obs_mean": np.zeros(7)},
        "low_box": {"discrete": np.array(False), "low": np.zeros(1)},
    }
    paths = {}
    for name, change in variants.items():
        arrays = {**base, **change}
        paths[name] = _write(tmp_path / f"{name}.npz", **arrays)
    for field in ("params", "obs_dim", "env_id", "format"):
        arrays = {k: v for k, v in base.items() if k != field}
        paths[f"missing_{field}"] = _write(tmp_path / f"missing_{field}.npz", **arrays)
    (tmp_path / "empty.npz").write_bytes(b"")
    paths["empty"] = tmp_path / "empty.npz"
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    paths["garbage"] = tmp_path / "garbage.npz"
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "params.npy":
                data = _npy_header_only((10**9,))
            dst.writestr(item, data)
    paths["bomb"] = bomb
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:-200])
    paths["truncated"] = truncated
    return paths


def test_every_malformed_policy_file_is_one_line(tmp_path, capsys):
    paths = _malformed_files(tmp_path)
    assert len(paths) >= 24
    for name, path in paths.items():
        status, out, err = run_cli(capsys, "play", "--policy", path)
        assert status == 2, name
        lines = err.strip().splitlines()
        assert len(lines) == 1, (name, err)
        assert "not a valid evostrat policy file" in lines[0], (name, err)
        assert "Traceback" not in err


def test_play_refuses_module_env_ids_unless_allowed(tmp_path, capsys):
    saved = _good_arrays()
    saved.env_id = "os:system"
    path = tmp_path / "evil.npz"
    rl.save_policy(str(path), saved)
    status, _, err = run_cli(capsys, "play", "--policy", path)
    assert status == 2 and "not a registered Gymnasium environment" in err


def test_play_seeds_and_summary(tmp_path, capsys):
    path = tmp_path / "p.npz"
    rl.save_policy(str(path), _good_arrays())
    status, out, _ = run_cli(
        capsys, "play", "--policy", path, "--seed", "7", "--episodes", "3"
    )
    assert status == 0
    assert re.findall(r"\(seed (\d+)\)", out) == ["7", "8", "9"]
    assert out.strip().splitlines()[-1].startswith("mean return ")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (("--popsize", "0"), "--popsize"),
        (("--sigma0", "0"), "--sigma0"),
        (("--seed", "-1"), "--seed"),
        (("--env-seed", "-1"), "--env-seed"),
        (("--generations", "-1"), "--generations"),
        (("--hidden", "-5"), "hidden"),
        (("--episodes", "0"), "--episodes"),
        (("--eval-episodes", "0"), "--eval-episodes"),
        (("--processes", "0", "--evaluator", "pool"), "--processes"),
        (("--max-env-steps", "0"), "--max-env-steps"),
        (("--max-seconds", "-1"), "--max-seconds"),
        (("--action-noise", "-1"), "--action-noise"),
        (("--option", "nosuch=1"), "nosuch"),
        (("--option", "learning_rate"), "key=value"),
        (("--option", "maximize=False"), "maximize"),
        (("--option", "antithetic=yes"), "antithetic must be True or False"),
        (("--option", "optimizer=rmsprop"), "optimizer must be one of"),
        (("--strategy", "nosuch"), "nosuch"),
        (("--checkpoint-every", "-1"), "--checkpoint-every"),
        (("--plot", "x.png"), "--log"),
    ],
)
def test_train_rejects_bad_arguments_before_training(argv, needle, tmp_path, capsys):
    out = tmp_path / "p.npz"
    status, stdout, err = run_cli(capsys, "train", "--out", out, *argv)
    assert status == 2, (argv, err)
    assert needle in err and "Traceback" not in err
    assert "training a" not in stdout and not out.exists()


def test_train_checks_out_before_training(tmp_path, capsys):
    status, stdout, err = run_cli(
        capsys, "train", "--out", tmp_path / "nodir" / "p.npz", "--generations", "2"
    )
    assert status == 2 and "--out" in err and "no directory" in err
    assert "training a" not in stdout
    status, _, err = run_cli(capsys, "train", "--out", tmp_path)
    assert status == 2 and "is a directory" in err


def test_train_option_reaches_the_strategy(tmp_path, capsys):
    out = tmp_path / "p.npz"
    status, stdout, err = run_cli(
        capsys,
        *("train", "--strategy", "openes", "--option", "learning_rate=0.05"),
        *("--option", "weight_decay=0.01", "--generations", "2", "--popsize", "4"),
        *("--max-steps", "20", "--eval-episodes", "1", "--out", out, "--quiet"),
    )
    assert status == 0, err
    status, _, err = run_cli(
        capsys,
        "train",
        "--strategy",
        "openes",
        "--option",
        "learning_rate=-1",
        "--out",
        out,
    )
    assert status == 2 and "learning_rate" in err


def _curve(path):
    """A learning-curve log's lines without the wall-seconds column."""
    lines = [x for x in path.read_text().splitlines() if not x.startswith("#")]
    drop = lines[0].split(",").index("seconds")
    return [[c for i, c in enumerate(x.split(",")) if i != drop] for x in lines]


def test_interrupted_run_resumes_bit_for_bit(tmp_path, capsys, monkeypatch):
    common = ("--strategy", "snes", "--popsize", "6", "--max-steps", "40")
    common += ("--eval-every", "2", "--eval-episodes", "2", "--seed", "5")
    common += ("--generations", "5", "--quiet", "--env-seed", "9")
    whole, part, ckpt = tmp_path / "whole.npz", tmp_path / "part.npz", tmp_path / "c"
    status, _, err = run_cli(
        capsys, "train", *common, "--out", whole, "--log", tmp_path / "whole.csv"
    )
    assert status == 0, err
    real_step = rl.Trainer.step

    def step_then_interrupt(self):
        if self.generation == 3:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(rl.Trainer, "step", step_then_interrupt)
    argv = ("--out", part, "--checkpoint", ckpt, "--checkpoint-every", "2")
    argv += ("--log", tmp_path / "part.csv")
    status, out, _ = run_cli(capsys, "train", *common, *argv)
    assert status == 130 and ckpt.exists()
    assert "interrupted" in out and part.exists()  # the best so far is saved
    monkeypatch.setattr(rl.Trainer, "step", real_step)
    status, _, err = run_cli(capsys, "train", *argv, "--resume", ckpt, "--quiet")
    assert status == 0, err
    a, b = rl.load_policy(str(whole)), rl.load_policy(str(part))
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.obs_std, b.obs_std)
    assert a.info == b.info
    assert _curve(tmp_path / "whole.csv") == _curve(tmp_path / "part.csv")
    assert len(_curve(tmp_path / "part.csv")) == 1 + 5


def test_play_refuses_a_policy_for_other_spaces(tmp_path, capsys):
    saved = _good_arrays()
    saved.env_id = "Pendulum-v1"  # 3 observations, continuous actions
    path = tmp_path / "p.npz"
    rl.save_policy(str(path), saved)
    status, _, err = run_cli(capsys, "play", "--policy", path)
    assert status == 2 and "takes 4 observations" in err
