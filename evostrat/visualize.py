"""The 2-D pictures of "A Visual Guide to Evolution Strategies" (Ha, 2017).

For one strategy and one 2-D test function, :func:`generation_grid` runs the strategy
from ``x0`` with its demo settings (:data:`evostrat.demo.DEMO_SETTINGS`) and draws a
grid of chosen generations: the fitness landscape as a contour image, the population
of that generation (``ask()``) as dots, its mean as a cross and the global minimizer
as a star. Needs matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Generations shown by default (two rows of four panels).
DEFAULT_GENERATIONS: tuple[int, ...] = (0, 1, 2, 4, 8, 16, 32, 64)


def landscape(
    function: str, limits: tuple[float, float] = (-5.0, 5.0), points: int = 241
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid ``(x, y, f)`` of the 2-D test function ``function`` over a square.

    Parameters
    ----------
    function : str
        A name of :data:`evostrat.functions.FUNCTIONS`.
    limits : (float, float)
        Lower and upper bound of both coordinates.
    points : int
        Grid points per axis.
    """
    from evostrat.functions import FUNCTIONS

    f = FUNCTIONS[function]
    ticks = np.linspace(limits[0], limits[1], points)
    xx, yy = np.meshgrid(ticks, ticks)
    values = np.asarray(f(np.column_stack([xx.ravel(), yy.ravel()])))
    return xx, yy, values.reshape(xx.shape)


def record_generations(
    strategy: str,
    function: str,
    generations: Sequence[int] = DEFAULT_GENERATIONS,
    x0: Sequence[float] = (3.0, 3.0),
    seed: int = 1,
    sigma0: float | None = None,
    popsize: int | None = None,
) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """Run ``strategy`` on ``function`` and keep the wanted generations.

    Returns
    -------
    list of (generation, population, mean, best fitness so far)
        Population is ``ask()`` of that generation, mean the distribution mean
        from which it was drawn. ``sigma0``/``popsize`` override the demo settings.
    """
    from evostrat.demo import make_strategy
    from evostrat.functions import FUNCTIONS

    wanted = sorted({int(g) for g in generations})
    if not wanted or wanted[0] < 0:
        raise ValueError(
            f"generations must be non-negative integers, got {generations}"
        )
    f = FUNCTIONS[function]
    opt = make_strategy(strategy, x0, seed, sigma0, popsize, tolfun=None, tolx=None)
    frames = []
    best = np.inf
    for g in range(wanted[-1] + 1):
        X = opt.ask()
        fitness = np.asarray(f(X))
        best = min(best, float(fitness.min()))
        if g in wanted:
            frames.append((g, X, opt.mean.copy(), best))
        opt.tell(fitness)
    return frames


def generation_grid(
    strategy: str,
    function: str,
    path: str,
    generations: Sequence[int] = DEFAULT_GENERATIONS,
    x0: Sequence[float] = (3.0, 3.0),
    seed: int = 1,
    limits: tuple[float, float] = (-5.0, 5.0),
    columns: int = 4,
    sigma0: float | None = None,
    popsize: int | None = None,
) -> str:
    """Save the grid of generations of ``strategy`` on 2-D ``function`` to ``path``.

    Parameters
    ----------
    strategy, function : str
        Lower-case strategy name (``"cmaes"``); a 2-D test function (``"schaffer"``).
    path : str
        PNG file to write.
    generations : sequence of int
        Generations to draw, one panel each.
    x0, seed : start of the search and seed of the run
    limits : (float, float)
        Square shown in every panel.
    columns : int
        Panels per row.
    sigma0, popsize : optional
        Override the strategy's demo settings (:data:`evostrat.demo.DEMO_SETTINGS`).

    Returns
    -------
    str
        ``path``.
    """
    from matplotlib.colors import LogNorm

    from evostrat.demo import agg_subplots
    from evostrat.functions import OPTIMA

    if len(x0) != 2:
        raise ValueError(f"the pictures are 2-D: x0 must have 2 coordinates, got {x0}")
    frames = record_generations(
        strategy, function, generations, x0, seed, sigma0, popsize
    )
    xx, yy, values = landscape(function, limits)
    rows = -(-len(frames) // columns)
    fig, axes = agg_subplots(rows, columns, (3.2 * columns, 3.2 * rows + 0.5))
    axes = axes.ravel()
    floor = max(float(values[values > 0].min()), 1e-6) if np.any(values > 0) else 1e-6
    norm = LogNorm(vmin=floor, vmax=float(values.max()))
    optimum = OPTIMA[function](2)
    for ax, frame in zip(axes, frames, strict=False):
        _draw_panel(ax, frame, values, limits, norm, optimum)
    for ax in axes[len(frames) :]:
        ax.set_axis_off()
    fig.suptitle(
        f"{strategy} on {function}: population (black), mean (red x), optimum (star)"
    )
    fig.savefig(path, dpi=90)
    return path


def _draw_panel(
    ax: Any,
    frame: tuple[int, np.ndarray, np.ndarray, float],
    values: np.ndarray,
    limits: tuple[float, float],
    norm: Any,
    optimum: np.ndarray,
) -> None:
    """One generation: landscape image, population dots, mean cross, optimum star."""
    g, X, mean, best = frame
    ax.imshow(
        np.maximum(values, norm.vmin),
        extent=(*limits, *limits),
        origin="lower",
        cmap="viridis_r",
        norm=norm,
        interpolation="bilinear",
    )
    ax.scatter(X[:, 0], X[:, 1], s=9, c="black", alpha=0.8, linewidths=0)
    ax.scatter([mean[0]], [mean[1]], s=80, c="red", marker="x", linewidths=2)
    ax.scatter([optimum[0]], [optimum[1]], s=60, c="white", marker="*")
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.set_title(f"generation {g}  best {best:.2g}", fontsize=9)
    ax.tick_params(labelsize=7)
