"""The learning curve of a training run: a run log (:class:`evostrat.runlog.RunLog`,
one CSV row per generation) with the training columns, and its picture.

The run log's own columns hold the generation, evaluations, wall seconds, the
generation's best (= maximal) and median training return, sigma and the mean's
first coordinates; :data:`EXTRA_COLUMNS` adds the training environment steps, the
mean training return and the validation return of the center (empty where the
center was not validated).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

EXTRA_COLUMNS = ("env_steps", "return_mean", "validation_return")


class CurveLog:
    """Write a trainer's learning curve; a resumed run keeps the earlier rows.

    Parameters
    ----------
    path : str
        CSV file (replaced).
    resumed_at : int, optional
        The generation a resumed run starts from: the rows up to it that ``path``
        already holds are kept, and the new rows follow them.
    main : bool
        Whether this process writes (rank 0 under MPI).
    """

    def __init__(self, path: str, resumed_at: int | None = None, main: bool = True):
        from evostrat.runlog import RunLog

        self.path, self.kept = path, []
        if main and resumed_at is not None and os.path.isfile(path):
            self.kept = _lines_up_to(path, resumed_at)
        self.log = RunLog(path, extra_columns=EXTRA_COLUMNS, main=main)
        self.main = main

    def write(self, trainer: Any, row: dict[str, Any]) -> None:
        """The row of the generation the trainer just finished."""
        self.log.write(
            trainer.strategy,
            fitness=trainer.last_fitness,
            env_steps=row["env_steps"],
            return_mean=row["return_mean"],
            validation_return=row["validation_return"],
        )

    def close(self) -> None:
        self.log.close()
        if self.main and self.kept:
            with open(self.path) as fh:
                lines = fh.read().splitlines()
            start = next(i for i, x in enumerate(lines) if not x.startswith("#")) + 1
            with open(self.path, "w") as fh:
                fh.write("\n".join(self.kept + lines[start:]) + "\n")


def _lines_up_to(path: str, generation: int) -> list[str]:
    """Comment, header and data lines of a run log up to ``generation``."""
    with open(path) as fh:
        lines = fh.read().splitlines()
    out, column = [], None
    for line in lines:
        if line.startswith("#"):
            out.append(line)
        elif column is None:
            column = line.split(",").index("generation")
            out.append(line)
        elif line and float(line.split(",")[column]) <= generation:
            out.append(line)
    return out


def plot_curve(log_path: str, png_path: str, title: str = "") -> str:
    """Draw training returns (mean, max) and validation returns against
    environment steps to ``png_path``; needs matplotlib."""
    from evostrat.demo import agg_subplots
    from evostrat.plotting import read_log

    log = read_log(log_path)
    steps = log["env_steps"]
    fig, axes = agg_subplots(1, 1, (7.0, 4.2))
    ax = axes[0, 0]
    ax.plot(steps, log["return_mean"], label="training mean", linewidth=1.0)
    ax.plot(steps, log["best"], label="training max", linewidth=0.8, alpha=0.6)
    val = log["validation_return"]
    ok = np.isfinite(val)
    ax.plot(steps[ok], val[ok], "o-", label="validation (center)", markersize=3)
    ax.set_xlabel("environment steps (training)")
    ax.set_ylabel("return")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or log_path)
    fig.savefig(png_path, dpi=100)
    return png_path
