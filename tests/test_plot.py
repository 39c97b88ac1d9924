"""``evostrat.plot`` and ``evostrat plot``: pycma's 4 panels from run logs."""

from __future__ import annotations

import numpy as np
import pytest

import evostrat
from evostrat.cli import main
from evostrat.functions import rastrigin, rosenbrock
from evostrat.plotting import MAX_POINTS, plot, read_log

pytest.importorskip("matplotlib")  # an extra: evostrat[plot]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("logs")
    a, b = tmp / "a.csv", tmp / "b.csv"
    evostrat.fmin(rastrigin, np.full(4, 2.0), 1.0, restarts=1, seed=1, log=a,
                  max_evals=3000)  # fmt: skip
    evostrat.CMAES(np.zeros(4), 0.5, seed=2).optimize(rosenbrock, log=b)
    return a, b


def lines(ax):
    return [line for line in ax.get_lines() if np.size(line.get_xdata()) > 2]


def test_four_panels_with_what_the_log_holds(logs, tmp_path):
    out = tmp_path / "a.png"
    fig = plot(logs[0], out=out)
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
    fit, mean, sigma, stds = fig.axes
    assert fit.get_yscale() == sigma.get_yscale() == stds.get_yscale() == "log"
    assert "f - f_best" in fit.get_title() and "mean" in mean.get_title()
    log = read_log(logs[0])
    assert len(lines(mean)) == 4 == len(log.prefixed("mean_"))
    assert len(lines(stds)) == 4
    # sigma is drawn as logged, with a gap (NaN) where the restart begins
    y = lines(sigma)[0].get_ydata()
    assert np.isnan(y).sum() == 1 and np.allclose(y[~np.isnan(y)], log["sigma"])
    # the restart is marked in every panel
    assert all(any(line.get_linestyle() == ":" for line in ax.get_lines())
               for ax in fig.axes)  # fmt: skip


def test_logs_overlaid(logs):
    one = plot(logs[0])
    two = plot(logs[0], compare=[logs[1]])
    assert len(lines(two.axes[0])) == 2 * len(lines(one.axes[0]))
    labels = [t.get_text() for t in two.axes[0].get_legend().get_texts()]
    assert any(t.startswith("a:") for t in labels)
    assert any(t.startswith("b:") for t in labels)


def test_long_logs_are_thinned_without_losing_the_best(tmp_path):
    """1e5 generations: at most MAX_POINTS points a line, the best kept."""
    rows = 100_000
    rng = np.random.default_rng(0)
    best = np.exp(-np.arange(rows) / 1e4) * (1 + rng.random(rows))
    best[54_321] = 1e-9  # a single excellent generation (neighbours: about 5e-3)
    best[-1] = 0.0  # f_best
    cols = {"run": np.zeros(rows), "generation": np.arange(1, rows + 1),
            "evaluations": 10 * np.arange(1, rows + 1), "seconds": np.arange(rows),
            "best": best, "median": 2 * best,
            "best_so_far": np.minimum.accumulate(best), "sigma": best,
            "min_std": best, "max_std": 2 * best, "axis_ratio": np.ones(rows),
            "condition": np.ones(rows), "mean_0": best, "std_0": best}  # fmt: skip
    path = tmp_path / "long.csv"
    header = "# run 0: CMAES dim=1 popsize=10 seed=1 maximize=False\n"
    np.savetxt(path, np.column_stack(list(cols.values())), delimiter=",",
               header=",".join(cols), comments="")  # fmt: skip
    path.write_text(header + path.read_text())
    fig = plot(path, out=tmp_path / "long.png")
    for line in lines(fig.axes[0]):
        assert line.get_xdata().size <= MAX_POINTS + 1
    generation_best = lines(fig.axes[0])[1].get_ydata()  # best - f_best, f_best 0
    assert np.nanmin(generation_best) == 1e-9  # kept though 49 of 50 rows are not


def test_not_a_log_is_named(tmp_path):
    bad = tmp_path / "notes.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="notes.csv: not an evostrat run log"):
        read_log(bad)


def test_command_line(logs, tmp_path, capsys):
    out = tmp_path / "cli.png"
    assert main(["plot", str(logs[0]), "-o", str(out), "--compare", str(logs[1])]) == 0
    assert out.exists() and str(out) in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "missing.csv")]) == 2
    assert "no such run log" in capsys.readouterr().err
    log = tmp_path / "run.csv"
    status = main(["run", "--function", "sphere", "--dim", "3", "--quiet",
                   "--log", str(log)])  # fmt: skip
    assert status == 0 and read_log(log).rows > 10
    assert main(["plot", str(log)]) == 0 and log.with_suffix(".png").exists()
