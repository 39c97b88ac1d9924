"""evostrat: evolution strategies with an ask/tell API.

    import evostrat
    opt = evostrat.CMAES(x0, sigma0, seed=1)
    while not opt.stop():
        X = opt.ask()
        opt.tell([f(x) for x in X])
    print(opt.result)

Strategies: SimpleES, SimpleGA, CMAES, SepCMAES, PEPG, SNES, XNES, OpenES (listed
once, in :data:`evostrat.strategies.CLASSES`). Evaluators: SerialEvaluator,
PoolEvaluator, MPIEvaluator. One call: fmin.

Names are imported on first use, so ``import evostrat`` is fast and compiles
nothing; the numba kernels compile (or load from the cache) on first call.
"""

from __future__ import annotations

import importlib
from typing import Any

from evostrat.strategies import CLASSES

__version__ = "0.1.0"

_EXPORTS = {
    **CLASSES,
    "Strategy": "evostrat.strategies.base",
    "SGD": "evostrat.optimizers",
    "Adam": "evostrat.optimizers",
    "SerialEvaluator": "evostrat.evaluators",
    "PoolEvaluator": "evostrat.evaluators",
    "MPIEvaluator": "evostrat.evaluators",
    "RayEvaluator": "evostrat.evaluators",
    "Evaluator": "evostrat.evaluators",
    "fmin": "evostrat.api",
    "minimize": "evostrat.scipy_api",
    "plot": "evostrat.plotting",
    "Result": "evostrat.result",
    "EvaluationError": "evostrat.result",
}
_MODULES = ("functions", "kernels", "strategies", "evaluators")

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _MODULES:
        return importlib.import_module(f"evostrat.{name}")
    raise AttributeError(f"module 'evostrat' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
