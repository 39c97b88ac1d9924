"""The ``train`` and ``play`` sub-commands of ``evostrat`` (neuroevolution).

``train`` evolves a policy of :mod:`evostrat.neuro` for a Gymnasium environment and
saves the best one; ``play`` runs a saved policy. Gymnasium is optional; without it
both commands say how to install it.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from evostrat import neuro


def add_commands(sub: Any, fmt: Any) -> None:
    """Register ``train`` and ``play`` on the ``evostrat`` sub-command parser ``sub``."""
    p = sub.add_parser(
        "train",
        help="evolve a policy for a Gymnasium environment",
        description="Evolve a linear or MLP policy (fitness = episode "
        "return, maximized). Needs gymnasium.",
        formatter_class=fmt,
    )
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--strategy", default="openes")
    p.add_argument("--generations", type=int, default=50)
    p.add_argument(
        "--hidden", default="", help="hidden sizes, e.g. 16 or 32,32 (empty: linear)"
    )
    p.add_argument("--sigma0", type=float, default=0.1)
    p.add_argument("--popsize", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--episodes", type=int, default=1, help="episodes per evaluation")
    p.add_argument("--max-steps", type=int, help="cut episodes after this many steps")
    p.add_argument("--evaluator", choices=("serial", "pool"), default="serial")
    p.add_argument("--processes", type=int)
    p.add_argument("--out", default="policy.npz")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=train_command)

    p = sub.add_parser(
        "play",
        help="run a trained policy and print its return",
        description="Run episodes of a policy saved by train.",
        formatter_class=fmt,
    )
    p.add_argument("--policy", default="policy.npz")
    p.add_argument("--episodes", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--render", action="store_true", help="show the environment window")
    p.set_defaults(handler=play_command)


def _make_env(env_id: str, **kwargs: Any) -> Any:
    """``gymnasium.make`` with a clear error (missing gymnasium, unknown id, ...)."""
    from evostrat.cli import CommandError

    try:
        gym = neuro.require_gymnasium()
    except ImportError as err:
        raise CommandError(str(err)) from None
    try:
        return gym.make(env_id, **kwargs)
    except Exception as err:  # gymnasium's errors: unknown id, missing extras
        raise CommandError(f"cannot make environment {env_id!r}: {err}") from None


def train_command(args: argparse.Namespace) -> int:
    """``evostrat train``: evolve a policy and save the best one to ``--out``."""
    from evostrat.cli import CommandError, close_evaluator, make_evaluator
    from evostrat.strategies import get_strategy

    try:
        hidden = [int(h) for h in args.hidden.split(",") if h.strip()]
        get_strategy(args.strategy)
    except ValueError as err:
        raise CommandError(f"--hidden/--strategy: {err}") from None
    try:
        neuro.require_gymnasium()
    except ImportError as err:
        raise CommandError(str(err)) from None
    if args.env not in neuro._ENVS:  # one environment per id, reused by train
        neuro._ENVS[args.env] = _make_env(args.env)
    print(
        f"training a {'linear' if not hidden else 'MLP ' + str(hidden)} policy on "
        f"{args.env} with {args.strategy}, {args.generations} generations",
        flush=True,
    )
    t0 = time.perf_counter()

    def show(opt: Any) -> None:
        g = opt.generation
        if not args.quiet and (g <= 5 or g % max(1, args.generations // 20) == 0):
            print(
                f"  gen {g:5d}  evals {opt.evals:7d}  best return "
                f"{opt.result.fbest:10.3f}  ({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )

    evaluator = make_evaluator(args.evaluator, args.processes)
    try:
        policy, result = neuro.train(
            args.env,
            args.strategy,
            args.generations,
            hidden,
            args.sigma0,
            args.popsize,
            args.seed,
            args.episodes,
            args.max_steps,
            evaluator=evaluator,
            callback=show,
        )
    finally:
        close_evaluator(evaluator)
    if result.xbest is None:
        print("no generation finished; nothing saved")
        return 130
    if not result.stop:
        print("interrupted: saving the best policy so far")
    neuro.save_policy(args.out, policy, result.xbest, args.env)
    print(f"best return {result.fbest:.3f} after {result.evals} evaluations")
    print(
        f"policy ({policy.num_params} parameters) saved to {os.path.abspath(args.out)}"
    )
    return 0


def play_command(args: argparse.Namespace) -> int:
    """``evostrat play``: run episodes of a saved policy and print the returns."""
    from evostrat.cli import CommandError

    if not os.path.isfile(args.policy):
        raise CommandError(f"no policy file {args.policy!r} (write one with train)")
    try:
        policy, params, env_id = neuro.load_policy(args.policy)
    except (ValueError, OSError) as err:
        raise CommandError(str(err)) from None
    env = _make_env(env_id, render_mode="human" if args.render else None)
    returns = []
    try:
        for k in range(args.episodes):
            ret = neuro.episode_return(
                policy, params, env_id, args.seed + k, args.max_steps, env=env
            )
            returns.append(ret)
            print(f"episode {k}: return {ret:.3f}", flush=True)
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        env.close()
    if returns:
        print(
            f"mean return {sum(returns) / len(returns):.3f} over {len(returns)} episodes"
        )
    return 0
