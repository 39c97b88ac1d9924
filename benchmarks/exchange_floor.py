"""The floor under an evaluator's overhead: the bare exchange, without evostrat.

Issue 11 asks for an overhead per generation <= 5 ms with MPI and <= 50 ms with
Ray at 32 workers. This script times the least any evaluator of that shape can
do on this machine: the messages of one generation and nothing else (no strategy,
no objective, no bookkeeping).

* ``--mpi`` (under ``mpiexec -n W``): every rank sends 8 doubles to rank 0 (its
  share's fitness), rank 0 sends the 256 doubles of the population's fitness back
  to every rank, point-to-point: the two hops of ``MPIEvaluator``. Waits are
  polite as the issue asks, a ``Testall`` between sleeps of ``--sleeps`` seconds
  (rank 0: ``--root-sleep``); then, for comparison, the same generation as one
  blocking ``Allgather``, whose waits spin inside MPI (what the issue forbids:
  oversubscribed, a spinning rank takes the core a working rank needs).
* ``--ray W``: W actors (0 CPUs each), one trivial method call per actor and
  generation with the fitness vector by reference (``ray.put``), all awaited.

    mpiexec -n 32 python benchmarks/exchange_floor.py --mpi
    python benchmarks/exchange_floor.py --ray 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np

POPSIZE = 256


def _polite_wait(MPI, requests: list, sleep: float) -> int:
    """Test ``requests`` between sleeps until all are done; how many sleeps."""
    slept = 0
    while not MPI.Request.Testall(requests):
        time.sleep(sleep)
        slept += 1
    return slept


def mpi_polite(comm, MPI, sleep: float, root_sleep: float, generations: int) -> dict:
    """Seconds and CPU seconds per generation of the two-hop exchange (this rank)."""
    r, w = comm.Get_rank(), comm.Get_size()
    share, fitness, gathered = np.zeros(8), np.zeros(POPSIZE), np.zeros(8 * w)
    slept, t0, c0 = 0, 0.0, 0.0
    for g in range(generations + 5):  # 5 untimed generations first
        if g == 5:
            comm.Barrier()
            slept, t0, c0 = 0, time.perf_counter(), time.process_time()
        if r == 0:
            recv = [comm.Irecv(gathered[8 * q : 8 * q + 8], source=q, tag=1)
                    for q in range(1, w)]  # fmt: skip
            slept += _polite_wait(MPI, recv, root_sleep)
            sends = [comm.Isend(fitness, dest=q, tag=2) for q in range(1, w)]
            slept += _polite_wait(MPI, sends, root_sleep)
        else:
            pending = [comm.Irecv(fitness, source=0, tag=2),
                       comm.Isend(share, dest=0, tag=1)]  # fmt: skip
            slept += _polite_wait(MPI, pending, sleep)
    return {
        "seconds": (time.perf_counter() - t0) / generations,
        "cpu": (time.process_time() - c0) / generations,
        "sleeps": slept / generations,
    }


def mpi_blocking(comm, generations: int) -> float:
    """Seconds per generation of one blocking ``Allgather`` (spinning waits)."""
    share, everything = np.zeros(8), np.zeros(8 * comm.Get_size())
    for _ in range(5):
        comm.Allgather(share, everything)
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(generations):
        comm.Allgather(share, everything)
    return (time.perf_counter() - t0) / generations


def run_mpi(args: argparse.Namespace) -> None:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    w = comm.Get_size()
    if comm.Get_rank() == 0:
        print(f"W = {w} ranks, {args.generations} generations each; polite waits:")
        print("| sleep (ms) | ms / generation | CPU ms / generation, all ranks "
              "| sleeps / generation, a worker rank |")  # fmt: skip
        print("| ---: | ---: | ---: | ---: |")
    for sleep in args.sleeps:
        r = mpi_polite(comm, MPI, sleep, args.root_sleep, args.generations)
        every = comm.gather(r, root=0)
        if comm.Get_rank() == 0 and every is not None:
            cpu = sum(e["cpu"] for e in every)
            naps = np.mean([e["sleeps"] for e in every[1:]]) if w > 1 else 0.0
            print(f"| {1e3 * sleep:g} | {1e3 * r['seconds']:.2f} | {1e3 * cpu:.1f} "
                  f"| {naps:.1f} |")  # fmt: skip
    seconds = mpi_blocking(comm, args.generations)
    if comm.Get_rank() == 0:
        print(
            f"blocking Allgather (spinning waits): {1e3 * seconds:.2f} ms / generation"
        )


def run_ray(args: argparse.Namespace) -> None:
    import ray

    ray.init(include_dashboard=False, log_to_driver=False)

    @ray.remote(num_cpus=0)
    class Actor:
        def evaluate(self, indices: np.ndarray, fitness: np.ndarray) -> np.ndarray:
            return np.zeros(len(indices))

    w = args.ray
    actors = [Actor.remote() for _ in range(w)]
    shares = np.array_split(np.arange(POPSIZE), w)
    fitness = np.zeros(POPSIZE)
    seconds = 0.0
    for g in range(args.generations + 5):  # 5 untimed generations first
        t0 = time.perf_counter()
        ref = ray.put(fitness)
        ray.get(
            [a.evaluate.remote(s, ref) for a, s in zip(actors, shares, strict=True)]
        )
        seconds += time.perf_counter() - t0 if g >= 5 else 0.0
    ray.shutdown()
    print(f"Ray, {w} actors, one call each: {1e3 * seconds / args.generations:.1f} ms "
          "/ generation")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpi", action="store_true", help="under mpiexec")
    parser.add_argument("--ray", type=int, default=0, metavar="W", help="W actors")
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument(
        "--sleeps", nargs="+", type=float, default=[5e-5, 2e-4, 1e-3, 5e-3],
        help="sleeps of a waiting worker rank (seconds)",
    )  # fmt: skip
    parser.add_argument("--root-sleep", type=float, default=2e-4)
    args = parser.parse_args(argv)
    if not (args.mpi or args.ray):
        parser.error("give --mpi (under mpiexec) or --ray W")
    if args.mpi:
        run_mpi(args)
    if args.ray:
        run_ray(args)


if __name__ == "__main__":
    main()
