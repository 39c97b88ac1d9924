"""Strategy options declared once: default, check, help text and command-line parsing.

Every strategy lists its options in a class attribute ``OPTIONS`` (a dict from name
to :class:`Option`); :class:`~evostrat.strategies.base.Strategy` merges the tables
along the class hierarchy with :data:`COMMON_OPTIONS`, checks every value the caller
gives with :meth:`Option.check` before any state is built, and keeps the result
read-only. ``docs/strategies.md`` and the command line's ``--option key=value``
read the same tables (:func:`option_table`, :meth:`Option.parse`).
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from evostrat.validation import check_bool, check_in_range, check_int


@dataclass(frozen=True)
class Option:
    """One option: its default, what values it takes, and a line of help.

    Parameters
    ----------
    default : object
        Value when the caller gives none (``None``: "computed by the strategy").
    doc : str
        One line for the docs and ``--help``.
    kind : {"bool", "int", "real", "choice", "any"}
        The type of the value; ``"any"`` defers entirely to ``check_fn``.
    low, high : float
        Range of an ``"int"``/``"real"`` option (infinite bounds are open).
    open_low, open_high : bool
        Whether the bound itself is excluded.
    choices : tuple
        Allowed values of a ``"choice"`` option.
    none_ok : bool
        Whether ``None`` is accepted (default computed later, or "off").
    check_fn : callable, optional
        ``check_fn(name, value) -> cleaned value`` for ``kind="any"``.
    """

    default: Any
    doc: str
    kind: str = "real"
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False
    choices: tuple[Any, ...] = ()
    none_ok: bool = False
    check_fn: Callable[[str, Any], Any] | None = None

    def check(self, name: str, value: Any) -> Any:
        """``value`` cleaned (an int, float, bool or one of the choices), or a
        TypeError/ValueError that names the option and says what was wrong."""
        if value is None and self.none_ok:
            return None
        if self.kind == "bool":
            return check_bool(name, value)
        if self.kind == "int":
            v = check_int(name, value)
            check_in_range(
                name, v, self.low, self.high,
                open_low=self.open_low, open_high=self.open_high,
            )  # fmt: skip
            return v
        if self.kind == "real":
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                if abs(int(value)) > 2**1023:  # float(10**400) would overflow
                    raise ValueError(f"{name} is too large, got {value!r}")
            return check_in_range(
                name, value, self.low, self.high,
                open_low=self.open_low, open_high=self.open_high,
            )  # fmt: skip
        if self.kind == "choice":
            if not any(value == c and type(value) is type(c) for c in self.choices):
                either = " or None" if self.none_ok else ""
                raise ValueError(
                    f"{name} must be one of {', '.join(map(repr, self.choices))}"
                    f"{either}, got {value!r}"
                )
            return value
        assert self.check_fn is not None, f"option {name}: kind 'any' needs check_fn"
        return self.check_fn(name, value)

    def parse(self, name: str, text: str) -> Any:
        """The value of ``--option name=text`` (command line), checked."""
        text = text.strip()
        if self.kind == "choice" and text in map(str, self.choices):
            return self.check(name, text)
        if text.lower() in ("true", "false") and self.kind == "bool":
            return text.lower() == "true"
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        if (
            self.kind == "real"
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = float(value)
        return self.check(name, value)

    def describe(self) -> str:
        """``default; range`` as the docs and ``--help`` show it."""
        if self.kind == "choice":
            allowed = "one of " + ", ".join(map(repr, self.choices))
        elif self.kind in ("int", "real"):
            lo = "[" if not self.open_low and self.low > -math.inf else "("
            hi = "]" if not self.open_high and self.high < math.inf else ")"
            allowed = f"{self.kind} in {lo}{self.low:g}, {self.high:g}{hi}"
        else:
            allowed = self.kind
        if self.none_ok:
            allowed += " or None"
        return f"default {self.default!r}; {allowed}"


def positive(doc: str, default: Any, none_ok: bool = False) -> Option:
    """A real option > 0."""
    return Option(default, doc, "real", 0.0, open_low=True, none_ok=none_ok)


def fraction(doc: str, default: Any, open_low: bool = False) -> Option:
    """A real option in [0, 1] (``open_low``: (0, 1])."""
    return Option(default, doc, "real", 0.0, 1.0, open_low=open_low)


def flag(doc: str, default: bool) -> Option:
    """A bool option."""
    return Option(default, doc, "bool")


def count(doc: str, default: Any, none_ok: bool = True) -> Option:
    """A non-negative integer option."""
    return Option(default, doc, "int", 0, none_ok=none_ok)


#: Options every strategy accepts (the stop criteria of ``API.md`` and ``nan_policy``).
COMMON_OPTIONS: dict[str, Option] = {
    "max_generations": count(
        "stop after this many generations (default: pycma's maxiter, "
        "100 + 150 (n+3)^2 / sqrt(popsize))",
        None,
    ),
    "max_evals": count("stop after this many evaluations", None),
    "target": Option(
        None,
        "stop once the best fitness reaches this value (in the user's sense)",
        "real",
        none_ok=True,
    ),
    "tolfun": Option(
        1e-11,
        "stop when the fitness spread of the generation and of the recent best "
        "values is below this",
        "real",
        0.0,
        none_ok=True,
    ),
    "tolx": Option(
        1e-11,
        "stop when every standard deviation is below this",
        "real",
        0.0,
        none_ok=True,
    ),
    "nan_policy": Option(
        "raise",
        "'raise': NaN fitness is an error; 'worst': ranked last",
        "choice",
        choices=("raise", "worst"),
    ),
    "tolupsigma": Option(
        1e20,
        "stop when the step size has grown by more than this factor since the "
        "start: the search diverges (pycma's name)",
        "real",
        0.0,
        open_low=True,
        none_ok=True,
    ),
}


def option_table(cls: type) -> dict[str, Option]:
    """All options of strategy class ``cls``: :data:`COMMON_OPTIONS`, then every
    ``OPTIONS`` along its class hierarchy (a subclass's entry wins)."""
    table = dict(COMMON_OPTIONS)
    for klass in reversed(cls.__mro__):
        table.update(klass.__dict__.get("OPTIONS", {}))
    return table


def resolve_aliases(cls: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with pycma's names (:attr:`ALIASES`) replaced by evostrat's;
    ``maxfevals=1e4`` and ``maxiter=inf`` are read as pycma users mean them."""
    out = dict(options)
    for alias, target in cls.ALIASES.items():
        if alias not in out:
            continue
        if target in out:
            raise TypeError(
                f"give either {alias!r} or {target!r}, not both "
                f"({alias} is pycma's name for {target})"
            )
        value = out.pop(alias)
        if isinstance(value, float) and option_table(cls)[target].kind == "int":
            if value == math.inf:
                value = None
            elif value.is_integer():
                value = int(value)
        out[target] = value
    return out


def check_options(cls: type, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of ``cls``: the checked values of ``given``, defaults elsewhere.

    TypeError names unknown options (and lists the known ones); the checks of
    :meth:`Option.check` name the option and the problem.
    """
    table = option_table(cls)
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise TypeError(
            f"{cls.__name__} got unknown option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(sorted(table))}"
        )
    return {
        name: opt.check(name, given[name]) if name in given else opt.default
        for name, opt in table.items()
    }


#: estool's step-size schedule, ``sigma <- max(sigma * sigma_decay, sigma_limit)``
#: after every generation (SimpleES, SimpleGA, OpenES, PEPG)
SIGMA_SCHEDULE: dict[str, Option] = {
    "sigma_decay": fraction(
        "factor applied to sigma after each generation (1 keeps it fixed)",
        1.0,
        open_low=True,
    ),
    "sigma_limit": Option(0.0, "floor of sigma under decay", "real", 0.0),
}


def decayed(value: Any, decay: float, limit: float, floor: float = 0.0) -> Any:
    """``max(value * decay, limit, floor)`` (estool's schedule), a float for a scalar
    ``value``, elementwise for an array."""
    out = np.maximum(np.maximum(np.multiply(value, decay), limit), floor)
    return float(out) if np.ndim(out) == 0 else out


def options_markdown(cls: type) -> str:
    """The option table of strategy ``cls`` as Markdown (``docs/strategies.md``)."""
    rows = ["| option | default; values | what it does |", "| --- | --- | --- |"]
    for name, spec in option_table(cls).items():
        if name not in COMMON_OPTIONS:
            rows.append(f"| `{name}` | {spec.describe()} | {spec.doc} |")
    return "\n".join(rows)
