"""Argument checks shared by strategies, evaluators and ``fmin``.

Each check returns the cleaned value or raises an error that names the argument and
says what was wrong; none of them changes anything else.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, Literal, overload

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


def real_array(values: Any, name: str = "fitness values") -> np.ndarray:
    """``values`` as a float64 array (a new one, shape not yet checked), or ValueError
    naming the first element that is not a real number: bools, strings, bytes and
    ``Decimal`` are refused, and so is a number too large for a float."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as err:  # e.g. ragged nested sequences
        raise ValueError(f"{name} must be real numbers ({err})") from None
    if arr.dtype.kind in "iuf":
        if not _holds_bool(values):
            return arr.astype(np.float64)  # a copy: the caller's data stays as it was
        arr = np.array(values, dtype=object)  # find the bool below
    if arr.dtype.kind != "O":
        raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
    flat = arr.ravel()
    for i, value in enumerate(flat):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"{name}: the value at index {i} is not a real number: {value!r}"
            )
        try:
            float(value)
        except OverflowError:
            raise ValueError(
                f"{name}: the value at index {i} is too large for a float: {value!r:.40}"
            ) from None
    return np.array(flat.tolist(), dtype=np.float64).reshape(arr.shape)


def _holds_bool(values: Any) -> bool:
    """Whether a (nested) Python sequence holds a bool (numpy turns them into 0/1)."""
    if isinstance(values, np.ndarray):
        return False  # its dtype said it all
    if isinstance(values, bool | np.bool_):
        return True
    if isinstance(values, list | tuple):
        return any(
            v is True or v is False or (not isinstance(v, float) and _holds_bool(v))
            for v in values
        )
    return False


def real_vector(name: str, values: Any) -> np.ndarray:
    """A non-empty, finite 1-D float64 array (a new one), or ValueError naming ``name``."""
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a 1-D array of real numbers, got {values!r}")
    arr = real_array(values, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


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


@overload
def check_in_range(
    name: str,
    value: Any,
    low: float,
    high: float = ...,
    *,
    open_low: bool = ...,
    open_high: bool = ...,
    none_ok: Literal[False] = ...,
) -> float: ...


@overload
def check_in_range(
    name: str,
    value: Any,
    low: float,
    high: float = ...,
    *,
    open_low: bool = ...,
    open_high: bool = ...,
    none_ok: bool,
) -> float | None: ...


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


def check_sigma(
    sigma0: Any, dim: int, vector_ok: bool, owner: str
) -> float | np.ndarray:
    """``sigma0`` as a positive finite float or (``vector_ok``) an array of ``dim``."""
    if isinstance(sigma0, str | bytes):
        raise ValueError(f"sigma0 must be a positive number, got {sigma0!r}")
    sigma = real_array(sigma0, "sigma0")
    if sigma.ndim == 0:
        value = float(sigma)
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"sigma0 must be a positive finite number, got {sigma0!r}")
        return value
    if not vector_ok:
        raise ValueError(f"{owner} takes a scalar sigma0, got shape {sigma.shape}")
    if sigma.shape != (dim,):
        raise ValueError(
            f"sigma0 must be a scalar or have shape ({dim},), got {sigma.shape}"
        )
    if not np.all(np.isfinite(sigma) & (sigma > 0)):
        raise ValueError("every entry of sigma0 must be positive and finite")
    return sigma


def check_memory(need: int, what: str) -> None:
    """ValueError if ``need`` bytes exceed this machine's physical memory."""
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return
    if need > have:
        raise ValueError(
            f"{what} needs about {need / 2**30:.3g} GiB, more than this machine's "
            f"{have / 2**30:.3g} GiB"
        )
