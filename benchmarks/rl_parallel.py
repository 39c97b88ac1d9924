"""Episode throughput and bytes sent per generation of ``train`` on an evaluator.

Trains a policy for ``--generations`` generations on ``--env`` and prints the
episodes per second and the bytes each process sent per generation
(``evaluator.stats["bytes_sent"]``), for a linear policy and an MLP, observation
normalization on. Run it serially and under MPI and compare the lines:

    python benchmarks/rl_parallel.py --evaluator serial
    mpiexec -n 2 python benchmarks/rl_parallel.py --evaluator mpi
    python benchmarks/rl_parallel.py --evaluator pool --processes 2
"""

from __future__ import annotations

import argparse
import time

import evostrat
from evostrat import rl


def make(kind: str, processes: int | None):
    if kind == "mpi":
        return evostrat.MPIEvaluator()
    if kind == "pool":
        return evostrat.PoolEvaluator(processes=processes)
    return evostrat.SerialEvaluator()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--evaluator", default="serial", choices=("serial", "pool", "mpi"))
    p.add_argument("--processes", type=int)
    p.add_argument("--env", default="LunarLander-v3")
    p.add_argument("--generations", type=int, default=10)
    p.add_argument("--popsize", type=int, default=32)
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--hidden", default="0,64x64", help="policies to time, e.g. 0,64x64")
    args = p.parse_args()
    for spec in args.hidden.split(","):
        hidden = tuple(int(h) for h in spec.split("x") if int(h) > 0)
        evaluator = make(args.evaluator, args.processes)
        config = rl.TrainConfig(
            args.env,
            "openes",
            args.generations,
            hidden,
            popsize=args.popsize,
            seed=1,
            env_seed=1,
            eval_every=0,
            eval_episodes=1,
            max_steps=args.max_steps,
        )
        trainer = rl.Trainer(config, evaluator)
        trainer.step()  # warm-up generation (numba compilation), not timed
        evals0, steps0 = trainer.strategy.evals, trainer.env_steps
        t0 = time.perf_counter()
        while not trainer.stop_reason():
            trainer.step()
        seconds = time.perf_counter() - t0
        evals, steps = trainer.strategy.evals - evals0, trainer.env_steps - steps0
        stats = evaluator.stats
        if getattr(evaluator, "is_main", True):
            print(
                f"{args.evaluator:6s} {args.env} hidden {list(hidden)!s:8s} "
                f"{trainer.policy.num_params:6d} weights: "
                f"{evals / seconds:7.1f} episodes/s, "
                f"{steps / seconds:8.0f} steps/s, bytes sent per "
                f"generation {stats['bytes_sent'] / max(1, stats['generations']):8.0f}",
                flush=True,
            )
        close = getattr(evaluator, "close", None)
        if close:
            close()


if __name__ == "__main__":
    main()
