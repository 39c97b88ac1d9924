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


def copied(value: Any) -> Any:
    """``value`` with every writable array in it copied (containers one level deep,
    objects with a ``__dict__`` such as an optimizer likewise)."""
    if isinstance(value, np.ndarray):
        return value.copy() if value.flags.writeable else value
    if isinstance(value, list):
        return [copied(v) for v in value] if value and _mutable(value[0]) else value[:]
    if isinstance(value, deque):
        return value.copy()
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        new = copy.copy(value)
        new.__dict__.update({k: copied(v) for k, v in value.__dict__.items()})
        return new
    return value


def _mutable(value: Any) -> bool:
    return not isinstance(value, int | float | str | bytes | tuple | type(None))
