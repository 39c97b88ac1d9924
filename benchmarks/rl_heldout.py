"""Held-out returns of ``evostrat train`` settings: several strategies and seeds.

For each strategy and training seed, trains with :func:`evostrat.rl.train` (the
library behind ``evostrat train``) and scores the saved policy -- the best center
by validation return -- on ``--test-episodes`` episodes with reset seeds from 10**9
on (what ``evostrat play`` does by default). Prints one line per run and the median
held-out return per strategy.

    python benchmarks/rl_heldout.py --env CartPole-v1 --strategies openes,pepg,snes,cmaes \
        --seeds 1,2,3 --generations 50 --popsize 64
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np

from evostrat import rl


def held_out(saved: rl.PolicyFile, episodes: int, max_steps: int | None) -> float:
    env = rl.make_env(saved.env_id)
    seeds = range(rl.TEST_SEED_START, rl.TEST_SEED_START + episodes)
    returns, _ = rl.run_episodes(
        saved.policy, saved.params, env, seeds, saved.obs_mean, saved.obs_std, max_steps
    )
    env.close()
    return float(np.mean(returns))


def parse_options(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--strategies", default="openes,pepg,snes,cmaes")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--generations", type=int, default=50)
    p.add_argument("--popsize", type=int, default=64)
    p.add_argument("--sigma0", type=float, default=0.1)
    p.add_argument("--hidden", default="")
    p.add_argument("--squash", default="tanh")
    p.add_argument("--episodes", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--max-env-steps", type=int)
    p.add_argument("--test-episodes", type=int, default=20)
    p.add_argument("--option", action="append", default=[])
    args = p.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    options = parse_options(args.option)
    for name in args.strategies.split(","):
        scores = []
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            trainer = rl.train(
                args.env,
                strategy=name,
                generations=args.generations,
                popsize=args.popsize,
                sigma0=args.sigma0,
                hidden=hidden,
                squash=args.squash,
                seed=seed,
                env_seed=seed,
                episodes=args.episodes,
                eval_every=args.eval_every,
                eval_episodes=args.eval_episodes,
                max_env_steps=args.max_env_steps,
                options=dict(options),
            )
            score = held_out(trainer.best, args.test_episodes, None)
            scores.append(score)
            print(
                f"{args.env} {name:8s} seed {seed}: generations {trainer.generation} "
                f"episodes {trainer.strategy.evals * args.episodes} steps "
                f"{trainer.env_steps} validation "
                f"{trainer.best.info['validation_mean']:.1f} held-out {score:.1f} "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        print(
            f"{args.env} {name:8s} median held-out {np.median(scores):.1f} "
            f"(min {min(scores):.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
