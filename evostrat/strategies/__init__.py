"""The strategies, grouped by family, all over :class:`~evostrat.strategies.base.Strategy`.

:data:`CLASSES` is the one list of them: ``evostrat``'s lazy exports, ``fmin``'s
strategy names (the lower-case class names) and the contract tests all read it.
Importing this package imports no strategy (and so no numba).
"""

from __future__ import annotations

import importlib

#: class name -> module, for every strategy the library ships
CLASSES = {
    "SimpleES": "evostrat.strategies.simple.simple_es",
    "SimpleGA": "evostrat.strategies.simple.simple_ga",
    "CMAES": "evostrat.strategies.cma.cmaes",
    "SepCMAES": "evostrat.strategies.cma.sepcmaes",
    "PEPG": "evostrat.strategies.mirrored.pepg",
    "SNES": "evostrat.strategies.nes.snes",
    "XNES": "evostrat.strategies.nes.xnes",
    "OpenES": "evostrat.strategies.mirrored.openes",
}

#: ``fmin(strategy=name)`` -> (module, class name)
REGISTRY = {cls.lower(): (module, cls) for cls, module in CLASSES.items()}


def get_strategy(name: str) -> type:
    """The strategy class for a lower-case name such as ``"cmaes"``."""
    key = str(name).lower()
    if key not in REGISTRY:
        raise ValueError(
            f"unknown strategy {name!r}; choose one of {', '.join(REGISTRY)}"
        )
    module, cls = REGISTRY[key]
    return getattr(importlib.import_module(module), cls)
