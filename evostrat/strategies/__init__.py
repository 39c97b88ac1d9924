"""The strategies, one per module, all over :class:`~evostrat.strategies.base.Strategy`."""

from __future__ import annotations

import importlib
import importlib.util

#: ``fmin(strategy=name)`` -> (module, class name)
REGISTRY = {
    "simplees": ("evostrat.strategies.simple_es", "SimpleES"),
    "simplega": ("evostrat.strategies.simple_ga", "SimpleGA"),
    "cmaes": ("evostrat.strategies.cmaes", "CMAES"),
    "sepcmaes": ("evostrat.strategies.sepcmaes", "SepCMAES"),
    "pepg": ("evostrat.strategies.pepg", "PEPG"),
    "snes": ("evostrat.strategies.snes", "SNES"),
    "xnes": ("evostrat.strategies.xnes", "XNES"),
    "openes": ("evostrat.strategies.openes", "OpenES"),
}


def get_strategy(name: str) -> type:
    """The strategy class for a lower-case name such as ``"cmaes"``."""
    key = str(name).lower()
    if key not in REGISTRY:
        raise ValueError(
            f"unknown strategy {name!r}; choose one of {', '.join(REGISTRY)}"
        )
    module, cls = REGISTRY[key]
    return getattr(importlib.import_module(module), cls)


def available() -> list[str]:
    """Names of the strategies whose module is present."""
    names = []
    for key, (module, _) in REGISTRY.items():
        if importlib.util.find_spec(module) is not None:
            names.append(key)
    return names
