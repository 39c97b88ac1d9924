"""Checks run under ``mpiexec -n K python run_checks.py MODE OUT`` by tests/test_mpi.py.

Every rank writes what it saw to ``OUT.<rank>`` (a pickle), and the test compares
the ranks with each other and with a serial run in the test process.

Modes
-----
same     every strategy of ``REGISTRY``: 5 generations on rastrigin (dim 5),
         plain and vectorized; fmin with CMA-ES and one restart; xbest, xmean,
         fbest, every generation's fitness vector and the evaluator's stats; under
         each of ``SCHEDULES``.
bytes    SimpleES, popsize 16, 2 generations at dim 10 and dim 1e5: bytes_sent.
errors   an exception in f on the last individual (rank K-1's block): the
         EvaluationError fields on every rank, then the same generation evaluated
         again with a good f; a non-real fitness value; a wrong vectorized shape;
         ranks holding strategies of different seeds; under each of ``SCHEDULES``.
aux      objectives with side results and a context (es_objectives.WithAux, plain
         and vectorized) with CMA-ES: result, aux seen by collect, statistics;
         under each of ``SCHEDULES``.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from es_objectives import (  # noqa: E402
    FailOn,
    NotReal,
    Recording,
    WithAux,
    WithAuxVectorized,
    aux_outcome,
)

import evostrat  # noqa: E402
from evostrat.functions import rastrigin, sphere  # noqa: E402
from evostrat.strategies import REGISTRY, get_strategy  # noqa: E402

DIM = 5
SEED = 11
GENERATIONS = 5


def make(name: str) -> evostrat.Strategy:
    """The strategy the tests compare against (same arguments in test_mpi.py)."""
    return get_strategy(name)(
        np.full(DIM, 1.5), 0.5, seed=SEED, max_generations=GENERATIONS
    )


#: The evaluators every check runs under: static, dynamic with one individual
#: per chunk (the most interleaved hand-out), and dynamic with its default
#: guided chunks (shrinking sizes).
SCHEDULES = {
    "static": {},
    "dynamic": {"schedule": "dynamic", "chunk_size": 1},
    "guided": {"schedule": "dynamic"},
}


def same() -> dict:
    out: dict = {}
    for schedule, kwargs in SCHEDULES.items():
        ev = evostrat.MPIEvaluator(**kwargs)
        rec = Recording(ev)
        for name in REGISTRY:
            for vectorized in (False, True):
                res = make(name).optimize(rastrigin, rec, vectorized=vectorized)
                out[schedule, name, vectorized] = (
                    res.xbest.tobytes(),
                    res.xmean.tobytes(),
                    res.fbest,
                    res.generations,
                    rec.history(),
                )
        res = evostrat.fmin(
            rastrigin, np.full(DIM, 1.5), 0.5, "cmaes", restarts=1, seed=SEED,
            max_evals=600, evaluator=ev,
        )  # fmt: skip
        out[schedule, "fmin"] = (res.xbest.tobytes(), res.fbest, res.evals)
        out[schedule, "stats"] = dict(ev.stats)
    return out


def bytes_sent() -> dict:
    out = {}
    for dim in (10, 100_000):
        ev = evostrat.MPIEvaluator()
        opt = evostrat.SimpleES(np.zeros(dim), 0.1, popsize=16, seed=SEED)
        opt.optimize(sphere, evaluator=ev, max_generations=2)
        out[dim] = dict(ev.stats)
    return out


def errors() -> dict:
    return {schedule: errors_with(kw) for schedule, kw in SCHEDULES.items()}


def errors_with(kwargs: dict) -> dict:
    ev = evostrat.MPIEvaluator(**kwargs)
    out = {}
    opt = evostrat.SimpleES(np.full(DIM, 1.5), 0.5, seed=SEED, max_generations=3)
    opt.optimize(sphere, evaluator=ev, max_generations=1)
    last = opt.ask()[-1]
    before = pickle.dumps(opt)
    b0 = ev.stats["bytes_sent"]
    try:
        ev.evaluate(opt, FailOn(last))
    except evostrat.EvaluationError as err:
        out["error"] = (type(err).__name__, err.generation, err.index, err.cause)
    out["failure_bytes"] = ev.stats["bytes_sent"] - b0
    out["unchanged"] = pickle.dumps(opt) == before
    try:
        ev.evaluate(opt, NotReal(last))
    except ValueError as err:
        out["not_real"] = (type(err).__name__, str(err))
    try:
        ev.evaluate(opt, lambda X: np.zeros(len(X) + 1), vectorized=True)
    except ValueError as err:
        out["shape"] = (type(err).__name__, str(err))
    res = opt.optimize(sphere, evaluator=ev, max_generations=3)
    out["after"] = (res.xbest.tobytes(), res.generations)
    rank = ev.comm.Get_rank()
    other = evostrat.SimpleES(np.zeros(DIM), 0.5, seed=SEED + rank)
    try:
        ev.evaluate(other, sphere)
    except RuntimeError as err:
        out["desync"] = (type(err).__name__, str(err))
    out["stats"] = dict(ev.stats)
    return out


def aux() -> dict:
    out: dict = {}
    for schedule, kwargs in SCHEDULES.items():
        ev = evostrat.MPIEvaluator(**kwargs)
        for cls in (WithAux, WithAuxVectorized):
            f = cls()
            res = make("cmaes").optimize(f, evaluator=ev, vectorized=cls is not WithAux)
            out[schedule, cls.__name__] = aux_outcome(res, f)
        out[schedule, "stats"] = dict(ev.stats)
    return out


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    result = {"same": same, "bytes": bytes_sent, "errors": errors, "aux": aux}[mode]()
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    result["size"] = MPI.COMM_WORLD.Get_size()
    Path(f"{path}.{rank}").write_bytes(pickle.dumps(result))


if __name__ == "__main__":
    main()
