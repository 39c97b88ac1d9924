"""The columns of a run log (:mod:`evostrat.runlog`) and their digits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["COLUMNS", "DIGITS", "check_extra_names", "column_digits"]

#: the columns every log has, in order (then the extra columns, ``mean_i``, ``std_i``)
COLUMNS = (
    "run",
    "generation",
    "evaluations",
    "seconds",
    "best",
    "median",
    "best_so_far",
    "sigma",
    "min_std",
    "max_std",
    "axis_ratio",
    "condition",
)
#: significant digits written per column (0: an integer). Fitness with 16, so that
#: f - f_best is right near an optimum f* != 0 (read back, a value is within about
#: one unit in the last place of the double: 17 digits would not be exact either,
#: see evostrat.kernels.runlog); the rest with what a plot needs. Fewer digits are
#: cheaper: the text is a large part of a row's cost (``benchmarks/runlog.py``).
DIGITS = {"run": 0, "generation": 0, "evaluations": 0, "seconds": 8, "best": 16,
          "median": 16, "best_so_far": 16}  # fmt: skip
_DIGITS_EXTRA, _DIGITS_MEAN, _DIGITS_OTHER = 15, 8, 7
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def check_extra_names(extra_columns: Iterable[str]) -> tuple[str, ...]:
    """The extra column names as a tuple, or an error naming the bad one."""
    if isinstance(extra_columns, str):
        raise TypeError(
            f"extra_columns must be a sequence of names, got the string "
            f"{extra_columns!r} (write ({extra_columns!r},) for one column)"
        )
    extra = tuple(extra_columns)
    for name in extra:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"extra_columns: {name!r} is not a valid column name "
                "(letters, digits, '_' and '.', not starting with a digit)"
            )
    clash = sorted(set(extra) & set(COLUMNS)) or sorted(
        {n for n in extra if extra.count(n) > 1}
    )
    if clash:
        raise ValueError(f"extra_columns: duplicate column name(s) {clash}")
    return extra


def column_digits(names: Sequence[str], extra: Sequence[str]) -> np.ndarray:
    """Significant digits of each column (0: an integer), for ``format_rows``."""
    return np.array(
        [
            DIGITS.get(n, _DIGITS_EXTRA if n in extra else
                       _DIGITS_MEAN if n.startswith("mean_") else _DIGITS_OTHER)
            for n in names
        ],
        dtype=np.int64,
    )  # fmt: skip
