"""``evostrat plot``: draw a run log (``evostrat.plot``) into an image file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evostrat.cli.common import CommandError


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``plot`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "plot",
        help="draw a run log (pycma's 4 panels)",
        description="Draw a run log written by `evostrat run --log FILE`, "
        "optimize(log=...) or fmin(log=...): fitness, mean, sigma and axis ratio, "
        "standard deviations (pycma's 4 panels).",
        formatter_class=fmt,
    )
    p.add_argument("log", help="the run log (CSV)")
    p.add_argument(
        "-o",
        "--out",
        help="image file to write (format from the suffix; default: the log's "
        "name with .png)",
    )
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="LOG",
        help="further run logs drawn over the first",
    )
    p.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """``evostrat plot``: write the figure and print where."""
    from evostrat.plotting import plot

    out = Path(args.out) if args.out else Path(args.log).with_suffix(".png")
    for path in (args.log, *args.compare):
        if not Path(path).is_file():
            raise CommandError(f"no such run log: {path}")
    try:
        plot(args.log, compare=args.compare, out=out)
    except (ValueError, ImportError, OSError) as err:
        raise CommandError(str(err)) from None
    print(f"wrote {out}")
    return 0
