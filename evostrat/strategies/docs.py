"""Keeps the option tables of ``docs/strategies.md`` in step with the ``OPTIONS``
tables of the code: ``python -m evostrat.strategies.docs docs/strategies.md``
rewrites every block between ``<!-- options: Name -->`` and ``<!-- /options -->``;
``tests/test_options.py`` fails while a block is stale."""

from __future__ import annotations

import re
import sys

from evostrat.strategies import CLASSES, get_strategy
from evostrat.strategies.options import COMMON_OPTIONS, Option, options_markdown

_BLOCK = re.compile(r"(<!-- options: (\w+) -->\n)(.*?)(<!-- /options -->)", re.S)


def common_markdown() -> str:
    """The options every strategy takes, as a Markdown table."""
    rows = ["| option | default; values | what it does |", "| --- | --- | --- |"]
    spec: Option
    for name, spec in COMMON_OPTIONS.items():
        rows.append(f"| `{name}` | {spec.describe()} | {spec.doc} |")
    return "\n".join(rows)


def render(text: str) -> str:
    """``text`` with every options block filled from the code."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name == "common":
            table = common_markdown()
        elif name in CLASSES:
            table = options_markdown(get_strategy(name.lower()))
        else:
            raise ValueError(f"unknown strategy {name!r} in an options block")
        return f"{match.group(1)}{table}\n{match.group(4)}"

    return _BLOCK.sub(fill, text)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
        new = render(old)
        if new != old:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(new)
            print(f"updated {path}")
