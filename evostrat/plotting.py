"""``evostrat.plot``: a run log (:mod:`evostrat.runlog`) drawn in pycma's 4 panels.

The layout of pycma's ``cma.plot()`` (N. Hansen, pycma, ``cma/logger.py``,
``CMADataLogger.plot``): fitness on a log scale (top left), the mean's coordinates
(top right), step size and axis ratio (bottom left, pycma puts them with the
fitness), the per-coordinate standard deviations (bottom right). The x axis is the
number of evaluations, as pycma's default; restarts are dotted vertical lines.
matplotlib is imported on first use (``pip install evostrat[plot]``).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LogData", "plot", "read_log"]

#: points drawn per line at most; more rows are thinned (a 1e5-generation log
#: stays readable and draws in about a second)
MAX_POINTS = 2000
_RUN_LINE = re.compile(r"^# run (\d+): (\S+)(.*)$")
_EMPTY_CELL = re.compile(r"(?<=,)(?=,|$)|^(?=,)", re.MULTILINE)


@dataclass
class LogData:
    """A run log read back: ``columns[name]`` arrays (NaN for an empty cell) and
    ``runs``, one dict per run (``strategy``, ``dim``, ``popsize``, ``seed``,
    ``maximize``) from the comment lines."""

    path: str
    columns: dict[str, np.ndarray]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def rows(self) -> int:
        return len(self.columns["generation"])

    @property
    def maximize(self) -> bool:
        return bool(self.runs and self.runs[0].get("maximize"))

    def prefixed(self, prefix: str) -> list[str]:
        """Names ``prefix0, prefix1, ...`` present, in coordinate order."""
        names = [
            n
            for n in self.columns
            if n.startswith(prefix) and n[len(prefix) :].isdigit()
        ]
        return sorted(names, key=lambda n: int(n[len(prefix) :]))


def _run_meta(match: re.Match[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"run": int(match.group(1)), "strategy": match.group(2)}
    for item in match.group(3).split():
        key, _, value = item.partition("=")
        meta[key] = value == "True" if value in ("True", "False") else value
    for key in ("dim", "popsize"):
        if key in meta:
            meta[key] = int(meta[key])
    return meta


def read_log(path: str | PathLike[str]) -> LogData:
    """Read a run log written by :class:`evostrat.runlog.RunLog`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a run log (no header line with ``generation`` and
        ``evaluations``), naming the file.
    """
    text = Path(path).read_text(encoding="ascii", errors="replace")
    runs, rows, header = [], [], None
    for line in text.splitlines():
        if line.startswith("#"):
            match = _RUN_LINE.match(line)
            if match:
                runs.append(_run_meta(match))
        elif header is None:
            header = line.split(",")
        elif line:
            rows.append(line)
    if header is None or not {"generation", "evaluations"} <= set(header):
        raise ValueError(
            f"{path}: not an evostrat run log (no header line with 'generation' "
            "and 'evaluations')"
        )
    if not rows:
        data = np.empty((0, len(header)))
    else:
        body = _EMPTY_CELL.sub("nan", "\n".join(rows))
        data = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
    columns = {name: data[:, i] for i, name in enumerate(header)}
    return LogData(str(path), columns, runs)


def _thin(rows: int) -> np.ndarray:
    """Indices of at most about ``MAX_POINTS`` rows, evenly spread, last included."""
    if rows <= MAX_POINTS:
        return np.arange(rows)
    return np.unique(np.r_[np.linspace(0, rows - 1, MAX_POINTS).astype(int), rows - 1])


def _binned_min(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The smallest value between consecutive kept rows (so no best value is
    dropped by the thinning; NaN ignored)."""
    if keep.size == values.size:
        return values
    filled = np.where(np.isnan(values), np.inf, values)
    out = np.minimum.reduceat(filled, keep)
    return np.where(np.isinf(out), np.nan, out)


def _broken(log: LogData, keep: np.ndarray, y: np.ndarray) -> tuple:
    """``(x, y)`` of the kept rows with a NaN point where a new run starts, so a
    restart does not draw a line back to the first run's values."""
    x = log["evaluations"][keep]
    starts = np.flatnonzero(np.diff(log["run"][keep]) != 0) + 1
    if not starts.size:
        return x, y
    return np.insert(x, starts, np.nan), np.insert(y, starts, np.nan)


def _positive(y: np.ndarray) -> np.ndarray:
    """``y`` with non-positive values masked (a log axis cannot show them)."""
    return np.where(y > 0, y, np.nan)


def _draw_fitness(ax: Any, log: LogData, keep: np.ndarray, fbest: float,
                  color: Any, label: str, single: bool) -> None:  # fmt: skip
    sign = -1.0 if log.maximize else 1.0
    styles: tuple[tuple[str, dict[str, Any], str], ...] = (
        ("best_so_far", {"lw": 1.6}, "best so far"),
        ("best", {"lw": 0.7, "alpha": 0.8}, "generation's best"),
        ("median", {"lw": 0.7, "ls": "--", "alpha": 0.7}, "median"),
    )
    for i, (name, style, what) in enumerate(styles):
        y = sign * (_binned_min(sign * log[name], keep) - sign * fbest)
        c = f"C{i}" if single else color
        x, y = _broken(log, keep, _positive(y))
        ax.plot(x, y, color=c, label=what if single else f"{label}: {what}", **style)


def _draw_sigma(ax: Any, log: LogData, keep: np.ndarray, color: Any, label: str,
                single: bool) -> None:  # fmt: skip
    x, y = _broken(log, keep, _positive(log["sigma"][keep]))
    ax.plot(x, y, color="C2" if single else color,
            label="sigma" if single else f"{label}: sigma")  # fmt: skip
    ratio = log["axis_ratio"][keep]
    if np.any(np.isfinite(ratio)):
        x, y = _broken(log, keep, ratio)
        ax.plot(x, y, color="C3" if single else color, ls="--",
                label="axis ratio" if single else f"{label}: axis ratio")  # fmt: skip


def _draw_coordinates(ax: Any, log: LogData, keep: np.ndarray, prefix: str,
                      color: Any, single: bool) -> None:  # fmt: skip
    names = log.prefixed(prefix)
    for i, name in enumerate(names):
        y = log[name][keep]
        x, y = _broken(log, keep, _positive(y) if prefix == "std_" else y)
        ax.plot(x, y, lw=0.8, color=f"C{i % 10}" if single else color,
                alpha=1.0 if single else 0.6,
                label=f"x{i}" if single and i < 10 else None)  # fmt: skip
    if prefix == "std_":
        x, low = _broken(log, keep, _positive(log["min_std"][keep]))
        ax.fill_between(x, low, _broken(log, keep, _positive(log["max_std"][keep]))[1],
                        color="0.5" if single else color, alpha=0.2, lw=0,
                        label="min-max over all" if single else None)  # fmt: skip


def _mark_restarts(ax: Any, log: LogData, color: Any) -> None:
    run = log["run"]
    starts = np.flatnonzero(np.diff(run) != 0) + 1
    for i in starts:
        ax.axvline(log["evaluations"][i] - 0.5, color=color, ls=":", lw=0.8)


def _best_value(logs: Sequence[LogData]) -> float:
    """The best fitness over all logs (user's sense of the first)."""
    values = [log["best_so_far"] for log in logs if log.rows]
    values = [v[np.isfinite(v)] for v in values]
    values = [v for v in values if v.size]
    if not values:
        return math.nan
    pick = np.max if logs[0].maximize else np.min
    return float(pick([pick(v) for v in values]))


def plot(path: str | PathLike[str], compare: Sequence[str | PathLike[str]] = (),
         out: str | PathLike[str] | None = None) -> Any:  # fmt: skip
    """Draw a run log in pycma's 4 panels, other logs overlaid.

    Parameters
    ----------
    path : str or path-like
        A CSV file written by ``optimize(..., log=path)``, ``fmin(..., log=path)``
        or :class:`evostrat.runlog.RunLog`.
    compare : sequence of paths
        Further logs drawn over the first (one colour each).
    out : str or path-like, optional
        Save the figure there (the format from the suffix, e.g. ``.png``, ``.pdf``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not shown: display it in a notebook, or save it with ``out``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "evostrat.plot needs matplotlib: pip install 'evostrat[plot]'"
        ) from None
    if isinstance(compare, (str, PathLike)):
        compare = (compare,)
    logs = [read_log(p) for p in (path, *compare)]
    single = len(logs) == 1
    fbest = _best_value(logs)
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    for i, log in enumerate(logs):
        if not log.rows:
            continue
        keep = _thin(log.rows)
        color = f"C{i % 10}"
        label = Path(log.path).stem
        _draw_fitness(axes[0, 0], log, keep, fbest, color, label, single)
        _draw_coordinates(axes[0, 1], log, keep, "mean_", color, single)
        _draw_sigma(axes[1, 0], log, keep, color, label, single)
        _draw_coordinates(axes[1, 1], log, keep, "std_", color, single)
        for ax in axes.flat:
            _mark_restarts(ax, log, "0.4" if single else color)
    _decorate(fig, axes, logs, fbest)
    if out is not None:
        fig.savefig(out, dpi=100)
    return fig


def _decorate(fig: Any, axes: Any, logs: Sequence[LogData], fbest: float) -> None:
    first = logs[0]
    sense = "f_best - f" if first.maximize else "f - f_best"
    axes[0, 0].set_title(f"fitness: {sense} (f_best = {fbest:.10g})")
    dim = first.runs[0].get("dim", "?") if first.runs else "?"
    shown = len(first.prefixed("mean_"))
    axes[0, 1].set_title(f"mean, coordinates 0-{shown - 1} of {dim}")
    axes[1, 0].set_title("step size sigma and axis ratio sqrt(cond C)")
    axes[1, 1].set_title(f"standard deviations, coordinates 0-{shown - 1} of {dim}")
    for ax in (axes[0, 0], axes[1, 0], axes[1, 1]):
        ax.set_yscale("log")
    for ax in axes.flat:
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("evaluations")
    for ax in (axes[0, 0], axes[1, 0]):
        ax.legend(fontsize="small", loc="best")
    if len(logs) == 1 and shown:
        axes[1, 1].legend(fontsize="x-small", ncol=2, loc="best")
    runs = first.runs
    what = f"{runs[0]['strategy']} dim={dim}" if runs else ""
    more = f", {len(runs) - 1} restarts" if len(runs) > 1 else ""
    names = ", ".join(Path(log.path).name for log in logs)
    fig.suptitle(f"{names}  {what}{more}")
