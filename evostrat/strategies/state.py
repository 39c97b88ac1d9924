"""Copies of a strategy's state: what ``tell`` works on before it commits.

``Strategy.tell`` computes the update on a copy and commits it in one store, so an
exception anywhere in it (Ctrl-C, MemoryError) leaves the strategy as it was; and
``copy.copy(strategy)`` gives an independent strategy. Both need the state's
writable arrays copied, and nothing more (a noise table is read-only and shared).
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

import numpy as np

#: types whose values are never changed in place: shared, not copied
_ATOMS = frozenset(
    {int, float, bool, str, bytes, tuple, type(None), np.float64, np.int64, np.bool_}
)


def copied(value: Any) -> Any:
    """``value`` with every writable array in it copied (containers one level deep,
    objects with a ``__dict__`` such as an optimizer likewise)."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is np.ndarray:
        return value.copy() if value.flags.writeable and value.size else value
    if kind is list:
        return [copied(v) for v in value] if value and _mutable(value[0]) else value[:]
    if kind is deque:
        return value.copy()
    if kind is dict:
        return {k: copied(v) for k, v in value.items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        new = copy.copy(value)
        new.__dict__.update({k: copied(v) for k, v in value.__dict__.items()})
        return new
    return value


def _mutable(value: Any) -> bool:
    return type(value) not in _ATOMS


def clone(obj: Any, skip: tuple[str, ...], keep_cache: bool) -> Any:
    """A copy of ``obj`` whose state shares nothing writable with it.

    Attributes in ``skip`` are left out, except ``_cache``: shared shallowly with
    ``keep_cache`` (``tell`` reads this generation's samples from it), else empty.
    ``_opts`` is shared: after construction it is replaced, never changed in place.
    """
    new = object.__new__(type(obj))
    atoms = _ATOMS
    state = {
        k: v if type(v) in atoms or k == "_opts" else copied(v)
        for k, v in obj.__dict__.items()
        if k not in skip
    }
    state["_cache"] = dict(obj._cache) if keep_cache else {}
    new.__dict__.update(state)
    return new


def deep_copy(obj: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` through the pickled state (``__getstate__``/``__setstate__``)."""
    new = object.__new__(type(obj))
    memo[id(obj)] = new
    state = copy.deepcopy(obj.__getstate__(), memo)
    setstate = getattr(new, "__setstate__", None)
    if setstate is not None:
        setstate(state)
    else:
        new.__dict__.update(state)
    return new
