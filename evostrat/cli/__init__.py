"""The ``evostrat`` command (also ``python -m evostrat``).

One module per sub-command, each with ``add_command(sub, fmt)`` registering its
parser and handler: ``demo`` (every strategy on Rastrigin and Schaffer, a table and a
plot), ``run`` (one optimization of a test function), ``visualize`` (the 2-D visual
guide pictures), ``bench`` (the scripts of ``benchmarks/``), ``plot`` (a run
log), ``train`` and ``play``
(policies on Gymnasium environments). :mod:`evostrat.cli.common` holds what they
share. The package imports the library; the library never imports it.

Heavy modules (numba, matplotlib, gymnasium) are imported inside the handlers, so
``evostrat --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from evostrat.cli.common import CommandError

__all__ = ["COMMANDS", "CommandError", "build_parser", "main"]

#: The sub-commands, in ``--help`` order: module ``evostrat.cli.<name>`` each.
COMMANDS: tuple[str, ...] = (
    "demo", "run", "visualize", "bench", "plot", "train", "play",
)  # fmt: skip


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's help with "(default: X)", unless the help already gives its
    default or there is none to give (None, False, "")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing = action.default is None or action.default is False
        if nothing or action.default == "" or "default" in text:
            return text
        return super()._get_help_string(action) or text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``evostrat`` command."""
    from evostrat import __version__

    parser = argparse.ArgumentParser(
        prog="evostrat",
        description="Evolution strategies with an ask/tell API: demo, runs, "
        "pictures, benchmarks and neuroevolution from the command line.",
    )
    parser.add_argument(
        "--version", action="version", version=f"evostrat {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    fmt = HelpFormatter
    for name in COMMANDS:
        importlib.import_module(f"evostrat.cli.{name}").add_command(sub, fmt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evostrat`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CommandError as err:
        print(f"evostrat {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `evostrat bench | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
