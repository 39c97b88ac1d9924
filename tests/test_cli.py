"""The ``evostrat`` command line: help, demo, run, visualize, bench, train and play."""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evostrat import cli, demo
from evostrat.strategies import REGISTRY

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("demo", "run", "visualize", "bench", "train", "play")
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
HAVE_GYM = importlib.util.find_spec("gymnasium") is not None
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = list(REGISTRY)  # strategies present when the tests were collected


def run_cli(capsys, *argv):
    """``main(argv)`` in this process: (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_png(path: Path, min_bytes: int = 10_000):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > min_bytes, f"{path} is suspiciously small ({len(data)} bytes)"


def test_module_help_lists_every_command():
    proc = subprocess.run(
        [sys.executable, "-m", "evostrat", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\b", proc.stdout, re.MULTILINE), command


@pytest.mark.parametrize("command", COMMANDS)
def test_subcommand_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: evostrat {command}")
    assert "--" in out  # it documents options


def test_no_command_prints_help_and_fails(capsys):
    status, out, _ = run_cli(capsys)
    assert status == 2
    assert "usage: evostrat" in out


@pytest.mark.slow
def test_demo_quick_table_and_png(tmp_path, capsys):
    png = tmp_path / "demo.png"
    status, out, _ = run_cli(capsys, "demo", "--quick", "--out", str(png))
    assert status == 0
    table = out[out.index("strategy ") :]
    for label in ("rastrigin 2-D", "schaffer 2-D", "rastrigin 10-D"):
        assert label in out
    rows = {line.split()[0]: line for line in table.splitlines()[2:] if "|" in line}
    announced = re.search(r"seed 1\): (.+) on ", out).group(1).split(", ")
    assert set(rows) == set(announced) >= set(NAMES)
    for name, line in rows.items():
        numbers = re.findall(r"\|\s+(\S+)\s+(\d+)\s+(\S+)", line)
        assert len(numbers) == 3, line
        for fbest, evals, seconds in numbers:
            assert math.isfinite(float(fbest)) and float(fbest) >= 0, (name, line)
            assert int(evals) > 0 and float(seconds) >= 0
    if HAVE_MPL:
        assert_png(png, 20_000)
        assert f"saved to {png}" in out
    else:
        assert not png.exists() and "matplotlib is not installed" in out


def test_demo_simple_strategies_solve_the_2d_problems(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(
        capsys, "demo", "--strategies", "simplees,simplega", "--no-plot"
    )
    assert status == 0
    for name in ("simplees", "simplega"):
        line = next(row for row in out.splitlines() if row.startswith(name + " "))
        fbest = [float(v) for v in re.findall(r"\|\s+(\S+)", line)]
        assert len(fbest) == 3
        assert fbest[0] < 1e-2 and fbest[1] < 1e-2, line  # 2-D Rastrigin, Schaffer
    assert not list(tmp_path.iterdir())  # --no-plot wrote nothing


def test_demo_rejects_unknown_strategy(capsys):
    status, _, err = run_cli(capsys, "demo", "--strategies", "nosuch", "--no-plot")
    assert status == 2
    assert "nosuch" in err


def test_run_sphere(capsys):
    name = "cmaes" if "cmaes" in list(REGISTRY) else list(REGISTRY)[-1]
    status, out, _ = run_cli(
        capsys,
        *("run", "--function", "sphere", "--dim", "3", "--strategy", name),
        *("--max-evals", "3000", "--target", "1e-6", "--seed", "2"),
    )
    assert status == 0
    fbest = float(re.search(r"^fbest\s+(\S+)", out, re.MULTILINE).group(1))
    evals = int(re.search(r"^evals\s+(\d+)", out, re.MULTILINE).group(1))
    assert fbest < 27.0  # better than the start (3, 3, 3)
    assert 0 < evals <= 3000 + 100
    assert "gen" in out  # progress was printed


def test_run_rejects_bad_function_and_dimension(capsys):
    status, _, err = run_cli(capsys, "run", "--function", "nosuch")
    assert status == 2 and "unknown function 'nosuch'" in err
    status, _, err = run_cli(capsys, "run", "--function", "schaffer", "--dim", "3")
    assert status == 2 and "schaffer" in err and "dimension" in err
    status, _, err = run_cli(capsys, "run", "--sigma0", "-1")
    assert status == 2 and "sigma0" in err
    status, _, err = run_cli(capsys, "run", "--strategy", "nosuch")
    assert status == 2 and "unknown strategy 'nosuch'" in err


def test_run_ctrl_c_prints_best_so_far(capsys, monkeypatch):
    from evostrat import functions

    calls = {"n": 0}

    def interrupted_sphere(x):
        calls["n"] += 1
        if calls["n"] > 200:
            raise KeyboardInterrupt
        return float(np.sum(np.asarray(x) ** 2))

    monkeypatch.setitem(functions.FUNCTIONS, "sphere", interrupted_sphere)
    status, out, _ = run_cli(
        capsys, "run", "--function", "sphere", "--dim", "4", "--strategy", "simplees"
    )
    assert "interrupted" in out
    best = re.search(r"(?:fbest\s+|f = )(\S+)", out).group(1)
    assert math.isfinite(float(best)) and float(best) < 36.0
    assert status == 130


def test_visualize_writes_png(tmp_path, capsys):
    out_pattern = tmp_path / "pic-{function}.png"
    status, out, err = run_cli(
        capsys,
        *("visualize", "--strategy", "simplega", "--function", "rastrigin"),
        *("schaffer", "--generations", "0,1,3", "--out", str(out_pattern)),
    )
    if not HAVE_MPL:
        assert status == 2 and "pip install matplotlib" in err
        return
    assert status == 0
    for function in ("rastrigin", "schaffer"):
        path = tmp_path / f"pic-{function}.png"
        assert_png(path)
        assert str(path) in out


def test_visualize_without_matplotlib_says_so(capsys, monkeypatch):
    monkeypatch.setattr(demo, "have_matplotlib", lambda: False)
    status, _, err = run_cli(capsys, "visualize")
    assert status == 2 and "pip install matplotlib" in err


def test_visualize_rejects_bad_generations(capsys):
    status, _, err = run_cli(capsys, "visualize", "--generations", "0,x")
    assert status == 2 and "--generations" in err


def test_bench_lists_benchmarks(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    status, out, _ = run_cli(capsys, "bench")
    assert status == 0
    scripts = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py"))
    assert scripts
    for stem in scripts:
        assert re.search(rf"^\s+{stem}\b", out, re.MULTILINE), stem


def test_bench_runs_a_script_with_its_arguments(tmp_path, capsys):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "echo.py").write_text(
        '"""Echo the arguments."""\nimport sys\nsys.exit(len(sys.argv[1:]))\n'
    )
    status, _, _ = run_cli(capsys, "bench", "--dir", str(folder), "echo", "a", "--b")
    assert status == 2  # the script saw both arguments, "--b" included
    status, _, err = run_cli(capsys, "bench", "--dir", str(folder), "nosuch")
    assert status == 2 and "no benchmark 'nosuch'" in err and "echo" in err


def test_bench_without_folder_is_a_clear_error(tmp_path, capsys):
    status, _, err = run_cli(capsys, "bench", "--dir", str(tmp_path / "none"))
    assert status == 2 and "no benchmarks folder" in err


def test_demo_ctrl_c_prints_the_table_so_far(capsys, monkeypatch):
    real_run_one = demo.run_one
    done = []

    def run_one_then_interrupt(*args, **kwargs):
        if done:
            raise KeyboardInterrupt
        done.append(real_run_one(*args, **kwargs))
        return done[-1]

    monkeypatch.setattr(demo, "run_one", run_one_then_interrupt)
    status, out, _ = run_cli(capsys, "demo", "--quick", "--no-plot")
    assert status == 130
    assert "interrupted" in out
    row = next(line for line in out.splitlines() if line.startswith(done[0].strategy))
    assert f"{done[0].fbest:10.3e}" in row


def test_demo_default_output_path():
    args = cli.build_parser().parse_args(["demo"])
    assert args.out == "evostrat-demo.png" and args.seed == 1 and not args.quick


def test_demo_restarts_step_size_strategies_within_the_budget():
    problem = next(p for p in demo.PROBLEMS if p.function == "rastrigin" and p.dim == 2)
    run = demo.run_one("cmaes", problem, seed=1, generations=60)
    budget = 60 * demo.BUDGET_POPSIZE
    # CMA-ES alone stalls in a local optimum of Rastrigin; IPOP restarts reach 0
    assert run.fbest <= demo.TARGET
    assert run.evals <= budget + 64
    assert run.curve_evals == sorted(run.curve_evals)
    single = demo.run_one("pepg", problem, seed=1, generations=60)  # no restarts
    assert single.evals == budget


def test_every_option_says_what_it_does_and_its_default_once():
    import argparse

    from evostrat.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.option_strings and action.help != argparse.SUPPRESS:
                assert action.help, (name, action.option_strings)
        text = " ".join(command.format_help().split())
        assert "(default: None)" not in text and "(default: )" not in text, name
    run_help = " ".join(sub.choices["run"].format_help().split())
    assert "(default 10; 2 for Schaffer)" in run_help
    assert "(default 10; 2 for Schaffer) (default" not in run_help
    assert "seed of the strategy (default: 1)" in run_help
