"""Ranks that disagree on stopping, and objectives that hang, under ``mpiexec``.

``mpiexec -n K python stops.py MODE SCHEDULE OUT``:

stop-0    rank 0 leaves its own ask/evaluate/tell loop after generation 2, the
          other ranks go on: the job must end (non-zero exit) with a message
          naming rank 0.
stop-last the same with the last rank stopping.
callback  ``optimize`` whose callback returns True on rank 0 only, from
          generation 2 on: every rank stops after generation 2 (``optimize``
          votes with ``ev.agree``). Each rank writes OUT.<rank>.
timeout   one individual of the last rank's share sleeps for 10 minutes; with
          ``timeout=1`` every rank raises EvaluationError naming it, then the same
          generation evaluates with a good objective. Each rank writes OUT.<rank>.
agree     ``ev.agree(rank == 0)`` on every rank: True everywhere (then False).
hang      the same individual hangs with SIGALRM blocked (a hang the rank cannot
          interrupt): the other ranks must end the job with a message.
"""

from __future__ import annotations

import pickle
import signal
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from es_objectives import SleepOn  # noqa: E402

import evostrat  # noqa: E402
from evostrat.functions import sphere  # noqa: E402


class Unstoppable(SleepOn):
    """SleepOn with SIGALRM blocked while it sleeps."""

    def __call__(self, x: np.ndarray) -> float:
        if np.array_equal(x, self.row):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(self.seconds)
        return float(np.sum(x * x))


def main() -> None:
    mode, schedule, path = sys.argv[1], sys.argv[2], sys.argv[3]
    ev = evostrat.MPIEvaluator(schedule=schedule, timeout=1.0)
    opt = evostrat.SimpleES(np.zeros(3), 0.1, popsize=12, seed=1)
    if mode == "agree":
        out = {"agree": (ev.agree(ev.rank == 0), ev.agree(False))}
        Path(f"{path}.{ev.rank}").write_bytes(pickle.dumps(out))
        return
    if mode == "callback":
        res = opt.optimize(
            sphere, ev, max_generations=1000,
            callback=lambda o: ev.rank == 0 and o.generation >= 2,
        )  # fmt: skip
        out = {"generations": res.generations, "xbest": res.xbest.tobytes()}
        Path(f"{path}.{ev.rank}").write_bytes(pickle.dumps(out))
        return
    if mode.startswith("stop"):
        stopper = 0 if mode == "stop-0" else ev.size - 1
        while True:  # a loop of one's own, whose stop decision is rank-local
            opt.tell(ev.evaluate(opt, sphere))
            if ev.rank == stopper and opt.generation >= 2:
                return  # the stopper exits; the others wait for it in generation 2
    last = opt.ask()[-1]  # in the last rank's share (static), somewhere (dynamic)
    f = SleepOn(last) if mode == "timeout" else Unstoppable(last)
    out = {}
    t0 = time.monotonic()
    try:
        ev.evaluate(opt, f)
    except evostrat.EvaluationError as err:
        out["error"] = (err.generation, err.index, err.cause)
    out["seconds"] = time.monotonic() - t0
    out["after"] = ev.evaluate(opt, sphere).tolist()
    Path(f"{path}.{ev.rank}").write_bytes(pickle.dumps(out))


if __name__ == "__main__":
    main()
