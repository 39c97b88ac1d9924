"""The option tables: one declaration per option, checked, documented, parsed."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from evostrat.strategies import REGISTRY, get_strategy
from evostrat.strategies.options import COMMON_OPTIONS, Option, option_table

DOCS = (Path(__file__).parent.parent / "docs" / "strategies.md").read_text()


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_option_is_documented_and_its_default_passes_its_check(name):
    table = option_table(get_strategy(name))
    assert set(COMMON_OPTIONS) <= set(table)
    for option, spec in table.items():
        if spec.default is not None:
            assert spec.check(option, spec.default) == spec.default
        if option not in COMMON_OPTIONS:
            assert re.search(rf"`{option}`", DOCS), f"{name}: {option} not in docs"


def test_docs_option_tables_are_current():
    from evostrat.strategies.docs import render

    assert render(DOCS) == DOCS, (
        "docs/strategies.md is stale: run "
        "python -m evostrat.strategies.docs docs/strategies.md"
    )
    assert DOCS.count("<!-- options: ") == len(REGISTRY) + 1  # and the common ones


def test_parse_reads_command_line_values():
    real = Option(0.5, "a rate", "real", 0.0, 1.0)
    assert real.parse("rate", "0.25") == 0.25 and real.parse("rate", "1") == 1.0
    assert Option(True, "flag", "bool").parse("flag", "false") is False
    choice = Option("adam", "opt", "choice", choices=("adam", "sgd"))
    assert choice.parse("optimizer", "sgd") == "sgd"
    assert Option(None, "n", "int", 1, none_ok=True).parse("n", "None") is None
    with pytest.raises(ValueError, match="rate must be in"):
        real.parse("rate", "2")
    with pytest.raises(TypeError, match="rate must be a real number"):
        real.parse("rate", "fast")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        choice.parse("optimizer", "rmsprop")


def test_describe_lists_default_and_range():
    spec = Option(0.2, "x", "real", 0.0, 1.0, open_low=True)
    assert spec.describe() == "default 0.2; real in (0, 1]"
    assert "None" in Option(None, "n", "int", 0, none_ok=True).describe()


def test_options_are_read_only_and_optimize_changes_stop_options():
    opt = get_strategy("cmaes")([1.0, 2.0], 0.5, seed=1)
    with pytest.raises(TypeError):
        opt.options["max_generations"] = 3  # type: ignore[index]
    opt.optimize(lambda x: float(x @ x), max_generations=3)
    assert opt.options["max_generations"] == 3 and opt.generation == 3
    assert math.isfinite(opt.result.fbest)
