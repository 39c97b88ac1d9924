"""``evostrat play``: run a saved policy on test episodes and print the returns."""

from __future__ import annotations

import argparse
from typing import Any

from evostrat.cli.common import CommandError

#: play's default first reset seed: the test episodes nobody trained or chose on
#: (evostrat.rl.TEST_SEED_START, repeated so that --help needs no numpy)
TEST_SEED_START = 1_000_000_000


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``play`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "play",
        help="run a trained policy and print its return",
        description="Run episodes of a policy saved by train, with reset seeds "
        "SEED, SEED+1, ..., SEED+EPISODES-1 (by default from 10**9 on: episodes "
        "that training never uses).",
        formatter_class=fmt,
    )
    p.add_argument("--policy", default="policy.npz", help="file saved by train")
    p.add_argument("--episodes", type=int, default=20, help="episodes to play")
    p.add_argument("--seed", type=int, default=TEST_SEED_START, help="first reset seed")
    p.add_argument("--max-steps", type=int, help="cut episodes after this many steps")
    p.add_argument("--render", action="store_true", help="show the environment window")
    p.add_argument(
        "--allow-import",
        action="store_true",
        help="accept environment ids of the form 'module:Env' (imports the module)",
    )
    p.set_defaults(handler=command)


def _load(args: argparse.Namespace) -> Any:
    from evostrat import rl

    if args.episodes < 1:
        raise CommandError(f"--episodes must be >= 1, got {args.episodes}")
    if args.seed < 0:
        raise CommandError(f"--seed must be >= 0, got {args.seed}")
    if args.max_steps is not None and args.max_steps < 1:
        raise CommandError(f"--max-steps must be >= 1, got {args.max_steps}")
    try:
        saved = rl.load_policy(args.policy)
        env = rl.make_env(
            saved.env_id,
            allow_import=args.allow_import,
            render_mode="human" if args.render else None,
        )
    except FileNotFoundError as err:
        raise CommandError(f"{err} (write one with train)") from None
    except (ValueError, ImportError) as err:
        raise CommandError(str(err)) from None
    return saved, env


def command(args: argparse.Namespace) -> int:
    """``evostrat play``: one line per episode, then the mean and standard deviation."""
    import numpy as np

    from evostrat import rl

    saved, env = _load(args)
    try:
        rl.check_fits(saved.policy, env)
    except ValueError as err:
        env.close()
        raise CommandError(f"{args.policy}: {err}") from None
    returns = []
    try:
        for k in range(args.episodes):
            seed = args.seed + k
            ret, _ = rl.run_episodes(
                saved.policy,
                saved.params,
                env,
                [seed],
                saved.obs_mean,
                saved.obs_std,
                args.max_steps,
            )
            returns.append(ret[0])
            print(f"episode {k} (seed {seed}): return {ret[0]:.3f}", flush=True)
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        env.close()
    if not returns:
        return 130
    print(
        f"mean return {np.mean(returns):.3f} ± {np.std(returns):.3f} "
        f"over {len(returns)} episodes"
    )
    return 0 if len(returns) == args.episodes else 130
