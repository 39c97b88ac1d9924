"""Parallel evaluation: throughput, MPI overhead, bytes per generation, OpenES memory.

Figures (all measured in the same run; the MPI ones by launching this script under
``mpiexec -n 2`` as a subprocess):

1. Throughput with an objective that burns ``--burn-ms`` (20) ms of CPU per call (a
   busy loop on the process CPU clock, not a sleep), popsize 32: evaluations per
   second of SerialEvaluator, PoolEvaluator(2) and MPIEvaluator under -n 2, and the
   speedups over serial (target >= 1.8x on 2 cores). Pool and MPI start-up (worker
   spawn, ``mpiexec``) is excluded: one warm-up generation runs first. The
   speedups mean something only on an otherwise idle machine: ``mpiexec`` puts
   every rank in a session of its own, which Linux autogroup schedules as a
   separate group, while the serial run and the pool's workers share this
   process's session; ``--own-sessions`` evens that out on a busy machine.
2. The MPI evaluator's own overhead per generation at popsize 256, dim 1e5, with a
   trivial ``f``: ``evaluate`` timed on a stub strategy whose ``ask`` returns
   pre-made rows (so the time is the split, the exchange and the bookkeeping,
   plus 128 trivial calls of ``f``), and the cost of a real SimpleES ``ask`` of one
   rank's block reported separately (target < 5 ms for the former).
3. Bytes sent per generation and rank under MPI -n 2, popsize 32, at dim 10 and
   dim 1e6 (``stats["bytes_sent"]``), next to the pool's at dim 10 and 1e4.
4. OpenES at dim 2e6, popsize 64, under ``mpiexec -n 2``: each rank's peak RSS
   (``ru_maxrss``) after a few generations (target < 1 GB).

Usage::

    python benchmarks/parallel.py                 # everything
    python benchmarks/parallel.py --parts throughput bytes
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import evostrat
from evostrat.functions import sphere


def burn(x: np.ndarray, ms: float = 20.0) -> float:
    """Sphere after a busy loop of ``ms`` milliseconds of this process's CPU time."""
    t0 = time.process_time()
    while time.process_time() - t0 < ms / 1000.0:
        pass
    return float(np.dot(x, x))


class Burn:
    """Picklable ``burn`` with a fixed duration.

    With ``own_session=True`` the process calling it moves to a session of its own
    first (``os.setsid``), as ``mpiexec`` does for every rank: under Linux
    autogroup scheduling each session is scheduled as one group, so on a busy
    machine a serial run or a pool (one session for all its workers) would
    otherwise compete with the MPI ranks (one session each) on unequal terms.
    """

    def __init__(self, ms: float, own_session: bool = False) -> None:
        self.ms = ms
        self.own_session = own_session

    def __call__(self, x: np.ndarray) -> float:
        if self.own_session and os.getsid(0) != os.getpid():
            try:
                os.setsid()
            except OSError:
                pass
        return burn(x, self.ms)


def trivial(x: np.ndarray) -> float:
    return 0.0


class StubStrategy:
    """Just what an evaluator touches, with ``ask`` returning pre-made rows."""

    def __init__(self, popsize: int, dim: int) -> None:
        self.popsize, self.dim, self.generation = popsize, dim, 0
        self._rows = np.zeros((popsize, dim))

    def ask(self, indices: np.ndarray) -> np.ndarray:
        return self._rows[indices[0] : indices[-1] + 1]


def throughput(evaluator, args) -> float:
    """Evaluations per second over ``args.generations`` generations (after 1 warm-up)."""
    opt = evostrat.SimpleES(np.zeros(10), 0.1, popsize=32, seed=1)
    f = Burn(args.burn_ms, args.own_sessions)
    opt.tell(evaluator.evaluate(opt, f))  # warm-up: workers started, f shipped
    t0 = time.perf_counter()
    for _ in range(args.generations):
        opt.tell(evaluator.evaluate(opt, f))
    return args.generations * opt.popsize / (time.perf_counter() - t0)


# ------------------------------------------------------------ under mpiexec
def child_throughput(args) -> dict:
    return {"evals_per_s": throughput(evostrat.MPIEvaluator(), args)}


def seconds_per_repeat(fn, repeats: int) -> float:
    """Wall-clock seconds of one ``fn()`` call, averaged over ``repeats`` calls."""
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def child_overhead(args) -> dict:
    ev = evostrat.MPIEvaluator()
    popsize, dim, reps = 256, 100_000, 20
    stub = StubStrategy(popsize, dim)
    ev.evaluate(stub, trivial)
    ev.comm.Barrier()
    per_gen = seconds_per_repeat(lambda: ev.evaluate(stub, trivial), reps)
    own = np.arange(ev.rank * popsize // 2, (ev.rank + 1) * popsize // 2)
    f_time = seconds_per_repeat(lambda: [trivial(x) for x in stub.ask(own)], reps)
    opt = evostrat.SimpleES(np.zeros(dim), 0.1, popsize=popsize, seed=1)
    opt.ask(own[:10])  # compile / load the kernels

    def ask_own_block() -> None:
        for start in range(0, len(own), 10):  # the chunks evaluate() asks for
            opt.ask(own[start : start + 10])

    ask_time = seconds_per_repeat(ask_own_block, 3)
    ev.comm.Barrier()
    real_gen = seconds_per_repeat(lambda: opt.tell(ev.evaluate(opt, trivial)), 1)
    return {
        "stub_evaluate_ms": 1e3 * per_gen,
        "trivial_f_ms": 1e3 * f_time,
        "overhead_ms": 1e3 * (per_gen - f_time),
        "simplees_ask_own_block_ms": 1e3 * ask_time,
        "simplees_generation_ms": 1e3 * real_gen,
    }


def child_bytes(args) -> dict:
    out = {}
    for dim in (10, 1_000_000):
        ev = evostrat.MPIEvaluator()
        opt = evostrat.SimpleES(np.zeros(dim), 0.1, popsize=32, seed=1)
        opt.optimize(sphere, evaluator=ev, max_generations=2)
        out[f"dim {dim}"] = ev.stats["bytes_sent"] / ev.stats["generations"]
    return out


def child_openes(args) -> dict:
    ev = evostrat.MPIEvaluator()
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    opt = evostrat.OpenES(np.zeros(2_000_000), 0.02, popsize=64, seed=1)
    t0 = time.perf_counter()
    opt.optimize(sphere, evaluator=ev, max_generations=3)
    return {
        "rss_before_mb": start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds_per_generation": (time.perf_counter() - t0) / 3,
        "bytes_per_generation": ev.stats["bytes_sent"] / ev.stats["generations"],
    }


CHILDREN = {
    "throughput": child_throughput,
    "overhead": child_overhead,
    "bytes": child_bytes,
    "openes": child_openes,
}


def run_child(args) -> None:
    from mpi4py import MPI

    result = CHILDREN[args.mpi_child](args)
    rows = MPI.COMM_WORLD.gather(result, root=0)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(json.dumps(rows))


def mpirun(part: str, args, n: int = 2) -> list[dict]:
    """Run this script's ``part`` under ``mpiexec -n n``; one dict per rank."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        mpiexec = Path(shutil.which("mpiexec") or "mpiexec")
    cmd = [str(mpiexec), "-n", str(n), sys.executable, __file__, "--mpi-child", part]
    cmd += ["--generations", str(args.generations), "--burn-ms", str(args.burn_ms)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ parts
def part_throughput(args) -> None:
    print(
        f"throughput, f burns {args.burn_ms} ms CPU, popsize 32, {args.generations} "
        f"generations per measurement, {args.rounds} interleaved rounds "
        f"(load average before: {os.getloadavg()[0]:.2f}; own sessions: "
        f"{args.own_sessions}):"
    )
    ratios: dict[str, list[float]] = {"pool(2)": [], "MPI -n 2": []}
    with evostrat.PoolEvaluator(2) as ev:
        for rnd in range(args.rounds):
            serial = throughput(evostrat.SerialEvaluator(), args)
            pool = throughput(ev, args)
            mpi = mpirun("throughput", args)[0]["evals_per_s"]
            ratios["pool(2)"].append(pool / serial)
            ratios["MPI -n 2"].append(mpi / serial)
            print(
                f"  round {rnd}: serial {serial:6.1f} evals/s, pool(2) {pool:6.1f} "
                f"({pool / serial:.2f}x), MPI -n 2 {mpi:6.1f} ({mpi / serial:.2f}x)"
            )
    for name, r in ratios.items():
        print(f"  {name:9s} speedup over serial: median {np.median(r):.2f}x")
    print(f"  (load average after: {os.getloadavg()[0]:.2f})")


def print_ranks(part: str, args, title: str, line) -> None:
    """Run ``part`` under ``mpiexec -n 2``; print ``title`` and ``line(row)`` per rank."""
    rows = mpirun(part, args)
    print(title)
    for rank, row in enumerate(rows):
        print(f"  MPI -n 2 rank {rank}: {line(row)}")


def part_overhead(args) -> None:
    print_ranks(
        "overhead",
        args,
        "MPI -n 2 overhead per generation, popsize 256, dim 1e5, trivial f:",
        lambda r: (
            f"evaluate on stub {r['stub_evaluate_ms']:.3f} ms "
            f"- f {r['trivial_f_ms']:.3f} ms = overhead {r['overhead_ms']:.3f} ms; "
            f"SimpleES ask of own block {r['simplees_ask_own_block_ms']:.1f} ms, "
            f"whole SimpleES generation {r['simplees_generation_ms']:.1f} ms"
        ),
    )


def part_bytes(args) -> None:
    print_ranks(
        "bytes",
        args,
        "bytes sent per generation, popsize 32:",
        lambda r: ", ".join(f"{k}: {v:.0f}" for k, v in r.items()),
    )
    with evostrat.PoolEvaluator(2) as ev:
        for dim in (10, 10_000):
            opt = evostrat.SimpleES(np.zeros(dim), 0.1, popsize=32, seed=1)
            opt.tell(ev.evaluate(opt, sphere))  # ships f once per worker
            before = ev.stats["bytes_sent"]
            opt.tell(ev.evaluate(opt, sphere))
            print(f"  pool(2) dim {dim}: {ev.stats['bytes_sent'] - before} (rows)")


def part_openes(args) -> None:
    if not hasattr(evostrat, "OpenES"):
        print("OpenES: not available")
        return
    print_ranks(
        "openes",
        args,
        "OpenES dim 2e6, popsize 64, MPI -n 2, 3 generations:",
        lambda r: (
            f"peak RSS {r['peak_rss_mb']:.0f} MB (after imports "
            f"{r['rss_before_mb']:.0f} MB), {r['seconds_per_generation']:.2f} s/gen, "
            f"{r['bytes_per_generation']:.0f} bytes/gen"
        ),
    )


PARTS = {
    "throughput": part_throughput,
    "overhead": part_overhead,
    "bytes": part_bytes,
    "openes": part_openes,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--generations", type=int, default=5, help="timed generations")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds")
    parser.add_argument("--burn-ms", type=float, default=20.0, help="CPU ms per call")
    parser.add_argument(
        "--own-sessions",
        action="store_true",
        help="serial process and pool workers each in a session of their own, like "
        "MPI ranks (fair under autogroup on a busy machine; Ctrl-C then no longer "
        "reaches this process: use kill)",
    )
    parser.add_argument("--mpi-child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mpi_child:
        run_child(args)
        return
    for part in args.parts:
        PARTS[part](args)


if __name__ == "__main__":
    main()
