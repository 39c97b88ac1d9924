"""Scale-out: serial, pool, MPI static, MPI dynamic and Ray at 4-32 workers.

The workers are oversubscribed on this 2-core machine, so the objectives SLEEP
instead of computing: W sleeping workers behave like W cores. Measured, per
engine and number of workers W:

1. efficiency = ideal / measured time per generation, ideal = (sum of the
   generation's evaluation costs) / W, popsize 256, dim 10, costs of base
   ``--base-ms`` ms: equal, and log-normal (sigma = 1, mean ``--base-ms``) -- a
   pure function of the individual, so every engine sees the same costs. Next
   to it, the efficiency of greedy list scheduling of the same costs with no
   overhead (``greedy``): the most any schedule that does not know the costs in
   advance can reach (a generation lasts at least as long as its longest
   individual), and the efficiency at the floor max(sum / W, longest cost)
   that no schedule beats. ``--tail-popsize P`` repeats the log-normal runs at
   popsize P (with 16 workers, 16 individuals each at popsize 256 leave the
   greedy bound at ~0.74);
2. overhead per generation with a trivial objective, popsize 256, at dim 10 and
   dim 1e6 (a stub strategy whose ``ask`` returns rows without sampling, so the
   time is the evaluator's: messages, scheduling, bookkeeping);
3. bytes sent per generation per worker (``stats["bytes_sent"]``; for MPI the
   mean over worker ranks, rank 0 apart; for the pool and Ray the driver's bytes
   divided by W).

MPI runs as ``mpiexec -n W`` subprocesses of this script (one launch per W). Ray
runs a local instance (127.0.0.1, no dashboard) with actors of 0 CPUs. The pool
ships rows (not seeds), so it is not run at dim 1e6.

Usage::

    nice python benchmarks/scale_out.py                      # everything (~10 min)
    nice python benchmarks/scale_out.py --workers 4 16 --engines mpi
    nice mpiexec -n 32 python benchmarks/scale_out.py --mpi-wait-study --generations 10
    nice python benchmarks/scale_out.py --engines mpi --workers 16 --tail-popsize 1024
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import evostrat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_out_report import show  # noqa: E402

POPSIZE = 256


class Sleep:
    """Sleep a cost that is a pure function of the individual; return ``x[0]``.

    ``cost = base * exp(sigma * z - sigma**2 / 2)`` with ``z`` standard normal
    drawn from a generator seeded by the individual's identity ``x[0]`` (the stub
    strategy writes ``generation * popsize + index`` there): mean ``base``.
    """

    def __init__(self, base_ms: float, sigma: float) -> None:
        self.base, self.sigma = base_ms / 1000.0, sigma

    def cost(self, x: np.ndarray) -> float:
        if self.sigma == 0.0:
            return self.base
        z = np.random.default_rng(int(x[0])).standard_normal()
        return self.base * float(np.exp(self.sigma * z - self.sigma**2 / 2))

    def __call__(self, x: np.ndarray) -> float:
        time.sleep(self.cost(x))
        return float(x[0])


def trivial(x: np.ndarray) -> float:
    return float(x[0])


class Stub:
    """A strategy stand-in: rows are made, not sampled (row i: x[0] = g*P + i).

    At large dim the rows are read-only broadcast views of one row, so asking
    costs nothing whatever the dimension. It has what every evaluator reads:
    ``popsize``, ``dim``, ``generation``, ``evals``, ``seed``, ``mean``, ``sigma``,
    ``ask(indices)`` and ``tell(fitness)``.
    """

    def __init__(self, dim: int, popsize: int = POPSIZE) -> None:
        self.dim, self.popsize, self.seed = dim, popsize, 1
        self.generation = self.evals = 0
        self.mean = np.zeros(dim)
        self.sigma = 1.0

    def ask(self, indices=None) -> np.ndarray:
        idx = np.arange(self.popsize) if indices is None else np.asarray(indices)
        if self.dim > 1000:
            return np.broadcast_to(self.mean, (len(idx), self.dim))
        X = np.zeros((len(idx), self.dim))
        X[:, 0] = self.generation * self.popsize + idx
        return X

    def tell(self, fitness) -> None:
        assert len(fitness) == self.popsize
        self.generation += 1
        self.evals += self.popsize


def greedy(costs: list[float], workers: int) -> float:
    """Makespan of handing out ``costs`` one by one, in order, to the first free
    of ``workers`` (list scheduling, Graham 1966): what a dynamic schedule with
    one individual per chunk and no overhead achieves. It is >= max(costs)."""
    free = [0.0] * workers
    for c in costs:
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def time_generations(
    ev, f, dim: int, generations: int, workers: int, popsize: int = POPSIZE
) -> dict:
    """Seconds per generation (after one warm-up), the ideal and greedy times.

    ``ideal`` is (sum of the generation's costs) / W; ``floor`` is
    max(ideal, longest single cost), which no schedule can beat.
    """
    opt = Stub(dim, popsize)
    opt.tell(ev.evaluate(opt, f))  # warm-up: start-up, objective shipped
    b0, measured, ideal, bound, floor = ev.stats["bytes_sent"], 0.0, 0.0, 0.0, 0.0
    cpu = 0.0
    for _ in range(generations):
        if isinstance(f, Sleep):
            costs = [f.cost(x) for x in opt.ask()]
            ideal += sum(costs) / workers
            bound += greedy(costs, workers)
            floor += max(sum(costs) / workers, max(costs))
        t0, c0 = time.perf_counter(), time.process_time()
        fitness = ev.evaluate(opt, f)
        measured += time.perf_counter() - t0
        cpu += time.process_time() - c0
        opt.tell(fitness)
    return {
        "seconds": measured / generations,
        "cpu_seconds": cpu / generations,  # this process's CPU time
        "ideal": ideal / generations,
        "efficiency": ideal / measured if ideal else None,
        "greedy_efficiency": ideal / bound if ideal else None,
        "floor_efficiency": ideal / floor if ideal else None,
        "bytes": (ev.stats["bytes_sent"] - b0) / generations,
    }


def measure(ev, workers: int, args, dims=(10, 1_000_000)) -> dict:
    """Efficiency (equal and log-normal costs) and overhead at each dim.

    Dynamic engines (MPI dynamic, Ray) hand out one individual per chunk for the
    efficiency runs (the finest balance) and their default chunk size, or
    ``--overhead-chunk``, for the overhead runs (fewer messages). With
    ``--tail-popsize P``: log-normal efficiency at popsize P too;
    ``--overhead-only``: the overhead runs alone.
    """
    out = {}
    dynamic = hasattr(ev, "chunk_size")
    runs = [] if args.overhead_only else [("equal", 0.0), ("lognormal", 1.0)]
    runs = [(label, sigma, POPSIZE) for label, sigma in runs]
    runs += [(f"lognormal_P{p}", 1.0, p) for p in args.tail_popsize]
    for label, sigma, popsize in runs:
        if dynamic:
            ev.chunk_size = args.efficiency_chunk or None
        f = Sleep(args.base_ms, sigma)
        out[label] = time_generations(ev, f, 10, args.generations, workers, popsize)
    if dynamic:
        ev.chunk_size = args.overhead_chunk
    for dim in dims:
        out[f"overhead_dim{dim}"] = time_generations(
            ev, trivial, dim, args.generations, workers
        )
    return out


# ------------------------------------------------------------------ engines
def run_serial(args) -> dict:
    return {1: measure(evostrat.SerialEvaluator(), 1, args)}


def run_pool(args) -> dict:
    out = {}
    for w in args.workers:
        with evostrat.PoolEvaluator(w) as ev:
            out[w] = measure(ev, w, args, dims=(10,))
    return out


def run_ray(args) -> dict:
    import evostrat.evaluators.ray as ray_module
    from evostrat.evaluators.ray import LOCAL_ONLY_ENV

    # 32 actors starting on 2 busy cores under nice took longer than the default
    # 60 s (2 December 2026): start-up is not what this benchmark measures
    ray_module.START_TIMEOUT = 600.0

    os.environ.setdefault(LOCAL_ONLY_ENV, "0")  # servers on 127.0.0.1 only
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out = {}
    try:
        for w in args.workers:
            with evostrat.RayEvaluator(w, cpus_per_actor=0) as ev:
                out[w] = measure(ev, w, args)
    finally:
        ray.shutdown()
    return out


def mpi_child(args) -> None:
    """Under ``mpiexec -n W``: both schedules; rank 0 prints one JSON line."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    w = comm.Get_size()
    out = {}
    for name, kw in (
        ("static", {}),
        ("dynamic", {"schedule": "dynamic", "chunk_size": 1}),
    ):
        ev = evostrat.MPIEvaluator(**kw)
        res = measure(ev, w, args)
        # bytes of the overhead run at dim 10 (popsize 256), this rank's
        per_rank = comm.gather(res["overhead_dim10"]["bytes"], root=0)
        cpu = comm.gather(res["overhead_dim10"]["cpu_seconds"], root=0)
        if comm.Get_rank() == 0:
            res["bytes_rank0"] = per_rank[0]
            res["bytes_worker"] = float(np.mean(per_rank[1:])) if w > 1 else 0.0
            res["cpu_rank0"], res["cpu_all_ranks"] = cpu[0], float(np.sum(cpu))
        out[name] = res
    if comm.Get_rank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


def mpi_wait_study(args) -> None:
    """Under ``mpiexec -n W``: overhead per generation (trivial f, dim 10) with
    the default polite waits (rank 0's sleeps capped shorter), every rank's
    sleeps capped at 1 ms, and spinning waiters; interleaved, medians."""
    from evostrat.evaluators import mpi_common

    variants = {
        "sleeps 50 us..1 ms, rank 0 ..0.2 ms (default)": (5e-5, 1e-3, 2e-4),
        "sleeps 50 us..1 ms on every rank": (5e-5, 1e-3, 1e-3),
        "spinning (no sleep)": (0.0, 0.0, 0.0),
    }
    seen: dict[str, list[float]] = {name: [] for name in variants}
    ev = evostrat.MPIEvaluator()
    for _ in range(args.repeats):
        for name, sleeps in variants.items():
            first, longest, root = sleeps
            mpi_common.FIRST_SLEEP, mpi_common.MAX_SLEEP = first, longest
            mpi_common.ROOT_MAX_SLEEP = root
            res = time_generations(ev, trivial, 10, args.generations, ev.size)
            seen[name].append(res["seconds"] * 1e3)
    if ev.rank == 0:
        for name, ms in seen.items():
            runs = ", ".join(f"{m:.1f}" for m in ms)
            print(f"{name}: median {np.median(ms):.1f} ms per generation ({runs})")


def run_mpi(args) -> dict:
    here = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(here) if here.exists() else shutil.which("mpiexec")
    out = {}
    for w in args.workers:
        cmd = [mpiexec, "-n", str(w), sys.executable, __file__, "--mpi-child",
               "--generations", str(args.generations), "--base-ms", str(args.base_ms)]  # fmt: skip
        if args.overhead_chunk is not None:
            cmd += ["--overhead-chunk", str(args.overhead_chunk)]
        cmd += ["--efficiency-chunk", str(args.efficiency_chunk)]
        if args.tail_popsize:
            cmd += ["--tail-popsize", *map(str, args.tail_popsize)]
        if args.overhead_only:
            cmd += ["--overhead-only"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        line = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
        if proc.returncode != 0 or not line:
            raise RuntimeError(f"mpiexec -n {w} failed:\n{proc.stdout}\n{proc.stderr}")
        out[w] = json.loads(line[0][len("RESULT ") :])
    return out


ENGINES = {"serial": run_serial, "pool": run_pool, "mpi": run_mpi, "ray": run_ray}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES),
                        default=list(ENGINES))  # fmt: skip
    parser.add_argument("--workers", nargs="+", type=int, default=[4, 8, 16, 32])
    parser.add_argument("--generations", type=int, default=3, help="timed generations")
    parser.add_argument("--base-ms", type=float, default=20.0, help="mean cost (ms)")
    parser.add_argument(
        "--overhead-chunk", type=int, default=None,
        help="chunk size of the dynamic engines in the overhead runs (default: theirs)",
    )  # fmt: skip
    parser.add_argument(
        "--tail-popsize", nargs="+", type=int, default=[],
        help="also measure log-normal efficiency at these popsizes",
    )  # fmt: skip
    parser.add_argument(
        "--overhead-only", action="store_true", help="skip the efficiency runs"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds of the wait study"
    )
    parser.add_argument(
        "--efficiency-chunk", type=int, default=1,
        help="chunk size of the dynamic engines in the efficiency runs "
        "(0: their default)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--mpi-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--mpi-wait-study", action="store_true",
        help="under mpiexec: overhead with polite vs spinning waits",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.mpi_child or args.mpi_wait_study:
        (mpi_child if args.mpi_child else mpi_wait_study)(args)
        return
    results = {}
    for engine in args.engines:
        t0 = time.perf_counter()
        results[engine] = ENGINES[engine](args)
        print(
            f"# {engine}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True
        )
    show(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
