"""The learning curve of a training run: a CSV file, one row per generation, and
its picture."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from typing import Any

from evostrat.rl.training import COLUMNS


class CurveLog:
    """Write learning-curve rows (:data:`evostrat.rl.training.COLUMNS`) to a CSV.

    The file is rewritten from ``rows`` (a resumed run's earlier rows) and every
    :meth:`write` appends one row and flushes, so a crash loses at most a row.
    """

    def __init__(self, path: str, rows: Iterable[dict[str, Any]] = ()) -> None:
        self.path = path
        self._fh = open(path, "w", newline="")  # noqa: SIM115 (closed in close())
        self._csv = csv.DictWriter(self._fh, fieldnames=COLUMNS)
        self._csv.writeheader()
        for row in rows:
            self.write(row)

    def write(self, row: dict[str, Any]) -> None:
        self._csv.writerow({k: _text(row[k]) for k in COLUMNS})
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _text(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def read_curve(path: str) -> dict[str, list[float]]:
    """The columns of a curve CSV as lists of floats (NaN where empty)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [float(r[k]) if r.get(k) else math.nan for r in rows] for k in COLUMNS}


def plot_curve(csv_path: str, png_path: str, title: str = "") -> str:
    """Draw training returns (mean, max) and validation returns against
    environment steps to ``png_path``; needs matplotlib."""
    import numpy as np

    from evostrat.demo import agg_subplots

    curve = read_curve(csv_path)
    steps = np.asarray(curve["env_steps"])
    fig, axes = agg_subplots(1, 1, (7.0, 4.2))
    ax = axes[0, 0]
    ax.plot(steps, curve["return_mean"], label="training mean", linewidth=1.0)
    ax.plot(steps, curve["return_max"], label="training max", linewidth=0.8, alpha=0.6)
    val = np.asarray(curve["validation_return"])
    ok = np.isfinite(val)
    ax.plot(steps[ok], val[ok], "o-", label="validation (center)", markersize=3)
    ax.set_xlabel("environment steps (training)")
    ax.set_ylabel("return")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or csv_path)
    fig.savefig(png_path, dpi=100)
    return png_path
