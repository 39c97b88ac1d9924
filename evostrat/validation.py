"""Argument checks shared by strategies, evaluators and ``fmin``.

Each check returns the cleaned value or raises an error that names the argument and
says what was wrong; none of them changes anything else.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an int, or TypeError (not an integer) / ValueError (< minimum)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_real(name: str, value: Any) -> float:
    """``value`` as a float, or TypeError if it is not a real number (bools aren't)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def real_array(values: Any) -> np.ndarray:
    """``values`` as an array of a real dtype (not yet float64, not yet checked for
    shape), or ValueError naming the first element that is not a real number."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as err:  # e.g. ragged nested sequences
        raise ValueError(
            f"fitness values must be a flat sequence of real numbers ({err})"
        ) from None
    if arr.dtype.kind in "iuf":
        return arr
    if arr.dtype.kind != "O":
        raise ValueError(f"fitness values must be real numbers, got dtype {arr.dtype}")
    flat = arr.ravel()
    for i, value in enumerate(flat):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"fitness value at index {i} is not a real number: {value!r}"
            )
    return np.array(flat.tolist(), dtype=np.float64).reshape(arr.shape)


def check_indices(indices: Any, popsize: int) -> np.ndarray:
    """``indices`` as a 1-D int64 array of values in ``[0, popsize)``, or ValueError."""
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"indices must be a 1-D sequence of integers, got {indices!r}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= popsize):
        raise ValueError(
            f"indices must lie in [0, {popsize}), got min {idx.min()} and max {idx.max()}"
        )
    return idx


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool, or TypeError if it is neither ``bool`` nor ``numpy.bool_``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False (a bool), got {value!r}")
    return bool(value)


def check_in_range(
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
    none_ok: bool = False,
) -> float | None:
    """``value`` as a float in the interval from ``low`` to ``high``.

    ``open_low``/``open_high`` exclude the bound; NaN is never in range, and an
    infinite bound is always open (``check_in_range("lr", x, 0, open_low=True)``
    accepts the positive finite floats). With ``none_ok``, None passes through
    (an option whose default is computed later). TypeError if ``value`` is not a
    real number, ValueError (naming the interval) if it lies outside.
    """
    if none_ok and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        either = " or None" if none_ok else ""
        raise TypeError(f"{name} must be a real number{either}, got {value!r}")
    v = float(value)
    open_high = open_high or high == math.inf
    above = v > low if open_low else v >= low
    below = v < high if open_high else v <= high
    if not (above and below):  # False for NaN
        lb, hb = "(" if open_low else "[", ")" if open_high else "]"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{hb}, got {value!r}")
    return v
