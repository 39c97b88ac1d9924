"""``evostrat bench``: list the scripts of ``benchmarks/`` or run one."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from evostrat.cli.common import CommandError


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``bench`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "bench",
        help="list or run the scripts of benchmarks/",
        description="Without NAME list the benchmark scripts; with NAME run "
        "benchmarks/NAME.py with the remaining arguments.",
        formatter_class=fmt,
    )
    p.add_argument(
        "--dir", help="benchmarks folder (default ./benchmarks or the repo's)"
    )
    p.add_argument("name", nargs="?", help="benchmark to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to it")
    p.set_defaults(handler=command)


def find_benchmarks(directory: str | None = None) -> Path:
    """The ``benchmarks`` folder: ``directory``, else ./benchmarks, else the repo's."""
    candidates = (
        [Path(directory)]
        if directory
        else [
            Path.cwd() / "benchmarks",
            Path(__file__).resolve().parents[2] / "benchmarks",
        ]
    )
    for path in candidates:
        if path.is_dir():
            return path
    raise CommandError(
        "no benchmarks folder found (looked in "
        + ", ".join(str(p) for p in candidates)
        + "); the benchmarks live in the source repository, not the installed "
        "package: run from a checkout or pass --dir"
    )


def _describe(script: Path) -> str:
    import ast

    try:
        doc = ast.get_docstring(ast.parse(script.read_text()))
    except (SyntaxError, OSError):
        doc = None
    return doc.strip().splitlines()[0] if doc else ""


def command(args: argparse.Namespace) -> int:
    """``evostrat bench``: list the benchmark scripts or run one."""
    folder = find_benchmarks(args.dir)
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    if args.name is None:
        print(f"benchmarks in {folder}:")
        for p in scripts:
            print(f"  {p.stem:24s} {_describe(p)}")
        print("run one with: evostrat bench NAME [its arguments]")
        return 0
    name = args.name[:-3] if args.name.endswith(".py") else args.name
    script = folder / f"{name}.py"
    if not script.is_file():
        raise CommandError(
            f"no benchmark {args.name!r} in {folder}; choose one of "
            + ", ".join(p.stem for p in scripts)
        )
    try:
        return subprocess.call([sys.executable, str(script), *args.args])
    except KeyboardInterrupt:
        print("interrupted")
        return 130
