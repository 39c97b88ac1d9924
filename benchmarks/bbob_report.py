"""Tables and the ECDF figure of ``benchmarks/bbob.py`` (COCO's ERT, hits, ratios)."""

from __future__ import annotations

import math
from typing import Any

#: the issue's bar: aggregated ERT at most this fraction of pycma's
ERT_BAR = 0.9


def ert(runs: list) -> float:
    """COCO's expected running time: all evaluations over the number of hits."""
    hits = sum(r.hit for r in runs)
    return sum(r.evals for r in runs) / hits if hits else math.inf


def group(runs: list) -> dict[tuple[int, int], list]:
    """Runs by (function, dimension)."""
    out: dict[tuple[int, int], list] = {}
    for r in runs:
        out.setdefault((r.function, r.dim), []).append(r)
    return out


def aggregated_ratio(
    mine: dict[tuple[int, int], list],
    ref: dict[tuple[int, int], list],
    dims: list,
    every: bool = False,
) -> tuple[float, int]:
    """Geometric mean of ERT ratios over the (function, dim) both hit at least once
    (``every``: on every instance, the issue's original, less noisy measure)."""

    def kept(runs: list) -> bool:
        return all(r.hit for r in runs) if every else math.isfinite(ert(runs))

    logs = [
        math.log(ert(mine[k]) / ert(ref[k]))
        for k in mine
        if k[1] in dims and kept(mine[k]) and kept(ref[k])
    ]
    if not logs:
        return math.nan, 0
    return math.exp(sum(logs) / len(logs)), len(logs)


def report(results: dict[str, list], args: Any, references: list[str]) -> None:
    """The ERT table, the summary per dimension and the judge's lines."""
    solvers = list(results)
    tables = {s: group(runs) for s, runs in results.items()}
    keys = sorted(tables[solvers[0]], key=lambda k: (k[1], k[0]))
    print(
        f"# {args.suite}, instances {args.instances}, budget {args.budget:g} x dim, "
        f"restarts <= 9, sigma0 = 2, target f - fopt < 1e-8"
    )
    for i, s in enumerate(solvers):
        print(f"#  [{i}] {s}")
    print(
        "  f  dim"
        + "".join(f"{f'[{i}] ERT':>10}{'hits':>6}" for i in range(len(solvers)))
    )
    for key in keys:
        cells = ""
        for s in solvers:
            runs = tables[s][key]
            value = ert(runs)
            text = f"{value:.0f}" if math.isfinite(value) else "-"
            cells += f"{text:>10}{sum(r.hit for r in runs):>3}/{len(runs):<2}"
        print(f"{key[0]:>3} {key[1]:>4}" + cells)
    mine = [s for s in solvers if s not in references]
    print("\nsummary: hits, seconds; aggregated ERT ratio to each reference")
    print("(geometric means over the functions both hit at least once, then over")
    print("those both hit on every instance; in parentheses how many functions)")
    for dims in [[d] for d in args.dims] + (
        [list(args.dims)] if len(args.dims) > 1 else []
    ):
        label = f"{dims[0]}-D" if len(dims) == 1 else "all"
        print(f"  {label}")
        for i, s in enumerate(solvers):
            runs = [r for r in results[s] if r.dim in dims]
            line = f"    [{i}] {sum(r.hit for r in runs):>4}/{len(runs)} hit"
            line += f" {sum(r.seconds for r in runs):8.1f} s"
            for ref in references:
                if ref != s:
                    ratio, count = aggregated_ratio(tables[s], tables[ref], dims)
                    solved, n = aggregated_ratio(tables[s], tables[ref], dims, True)
                    line += f"  /[{solvers.index(ref)}] {ratio:4.2f} ({count})"
                    line += f" {solved:4.2f} ({n})"
            print(line)
        _judge(results, tables, mine, references, dims)


def _judge(results, tables, mine, references, dims) -> None:
    """The issue's bar: hits >= every reference's, ERT ratio <= 0.9 to pycma's."""
    if not references:
        return
    best_hits = max(
        sum(r.hit for r in results[ref] if r.dim in dims) for ref in references
    )
    for s in mine:
        hits = sum(r.hit for r in results[s] if r.dim in dims)
        ratios = [
            aggregated_ratio(tables[s], tables[ref], dims, every)[0]
            for ref in references
            if ref.startswith("pycma")
            for every in (False, True)
        ]
        ok_ert = all(r <= ERT_BAR for r in ratios)
        print(
            f"    judge {s}: hits {hits} vs best reference {best_hits} "
            f"({'ok' if hits >= best_hits else 'NOT met'}), ERT ratios to pycma "
            f"{', '.join(f'{r:.2f}' for r in ratios)} "
            f"({'ok' if ok_ert else 'NOT met'} at <= {ERT_BAR})"
        )


def plot_ecdf(results: dict[str, list], path: str) -> None:
    """Empirical runtime distributions: fraction of problems hit by evals / dim."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    dims = sorted({r.dim for runs in results.values() for r in runs})
    panels = dims + ([None] if len(dims) > 1 else [])
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4 * len(panels), 3.6), squeeze=False
    )
    for ax, dim in zip(axes[0], panels, strict=True):
        for s, runs in results.items():
            chosen = [r for r in runs if dim is None or r.dim == dim]
            x = np.sort([r.evals / r.dim for r in chosen if r.hit])
            y = np.arange(1, len(x) + 1) / max(1, len(chosen))
            ax.step(np.r_[1, x], np.r_[0, y], where="post", label=s)
        ax.set_xscale("log")
        ax.set_xlabel("evaluations / dimension")
        ax.set_ylim(0, 1)
        ax.set_title(f"{dim}-D" if dim is not None else "all dimensions")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of problems at f - fopt < 1e-8")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report_fbest(results: dict[str, list]) -> None:
    """Noisy suites, where few runs hit 1e-8: per (function, dim) the median over
    instances of log10(fbest - the best fbest any solver reached + 1e-8)."""
    import numpy as np

    solvers = list(results)
    tables = {s: group(runs) for s, runs in results.items()}
    print("\nmedian log10(fbest - best over the solvers + 1e-8), lower is better")
    print("  f  dim" + "".join(f"{f'[{i}]':>8}" for i in range(len(solvers))))
    for key in sorted(tables[solvers[0]], key=lambda k: (k[1], k[0])):
        per_instance = zip(*(tables[s][key] for s in solvers), strict=True)
        gaps = []
        for runs in per_instance:
            best = min(r.fbest for r in runs)
            gaps.append([math.log10(r.fbest - best + 1e-8) for r in runs])
        medians = np.median(np.array(gaps), axis=0)
        print(f"{key[0]:>3} {key[1]:>4}" + "".join(f"{m:8.2f}" for m in medians))
