"""Rank 1 fails outside ``evaluate`` while rank 0 waits in a collective.

``mpiexec -n 2 python abort.py raise`` -- rank 1 raises an uncaught exception (the
MPIEvaluator's excepthook must abort the job); ``... abort.py exit`` -- rank 1 calls
``os._exit(1)``. Either way ``mpiexec`` must end with a non-zero exit, not hang.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import evostrat
from evostrat.functions import sphere


def main() -> None:
    mode = sys.argv[1]
    ev = evostrat.MPIEvaluator()
    opt = evostrat.SimpleES(np.zeros(3), 0.1, seed=1)
    if ev.rank == 1:
        if mode == "exit":
            os._exit(1)
        raise RuntimeError("rank 1 fails on purpose")
    opt.optimize(sphere, evaluator=ev, max_generations=1000)  # waits for rank 1


if __name__ == "__main__":
    main()
