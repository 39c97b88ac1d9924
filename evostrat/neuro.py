"""Policies on Gymnasium environments, evolved with any strategy (neuroevolution).

A policy maps an observation to an action through a linear layer or a small MLP
with ``tanh`` hidden units; its weights are one flat parameter vector, so any
strategy can search them with fitness = episode return (``maximize=True``), as in
Salimans et al., "Evolution Strategies as a Scalable Alternative to Reinforcement
Learning" (2017), section 2. Discrete action spaces take the ``argmax`` of the
outputs; box action spaces squash the outputs with ``tanh`` into the bounds.

Gymnasium is optional (``pip install gymnasium``); :func:`require_gymnasium` raises
an ``ImportError`` that says so.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

GYM_MISSING = (
    "the train/play commands need Gymnasium, which is not installed; "
    "install it with: pip install gymnasium"
)


def require_gymnasium() -> Any:
    """The ``gymnasium`` module, or an ImportError telling how to install it."""
    try:
        import gymnasium
    except ImportError:
        raise ImportError(GYM_MISSING) from None
    return gymnasium


@dataclass(frozen=True)
class Policy:
    """A feed-forward policy: layer sizes ``obs_dim -> hidden... -> act_dim``.

    Attributes
    ----------
    obs_dim, act_dim : int
        Observation size and number of action outputs.
    hidden : tuple of int
        Hidden layer sizes (empty: a linear policy).
    discrete : bool
        ``argmax`` of the outputs (Discrete spaces) instead of ``tanh`` scaling.
    low, high : tuple of float
        Action bounds of a Box space (unused when ``discrete``).
    """

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...] = ()
    discrete: bool = True
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @property
    def sizes(self) -> list[int]:
        return [self.obs_dim, *self.hidden, self.act_dim]

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector (weights and biases of every layer)."""
        s = self.sizes
        return sum((a + 1) * b for a, b in zip(s[:-1], s[1:], strict=True))

    def layers(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(W, b)`` of every layer, views into ``params``."""
        params = np.asarray(params, dtype=np.float64)
        if params.shape != (self.num_params,):
            raise ValueError(
                f"policy takes {self.num_params} parameters, got shape {params.shape}"
            )
        out, pos = [], 0
        s = self.sizes
        for a, b in zip(s[:-1], s[1:], strict=True):
            W = params[pos : pos + a * b].reshape(a, b)
            pos += a * b
            out.append((W, params[pos : pos + b]))
            pos += b
        return out

    def act(
        self, params: np.ndarray, obs: np.ndarray, layers: list | None = None
    ) -> Any:
        """The action for observation ``obs`` under weights ``params``."""
        h = np.asarray(obs, dtype=np.float64).ravel()
        layers = self.layers(params) if layers is None else layers
        for k, (W, b) in enumerate(layers):
            h = h @ W + b
            if k < len(layers) - 1:
                h = np.tanh(h)
        if self.discrete:
            return int(np.argmax(h))
        low, high = np.asarray(self.low), np.asarray(self.high)
        return low + (np.tanh(h) + 1.0) * 0.5 * (high - low)

    def to_dict(self) -> dict[str, Any]:
        return {
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "hidden": np.asarray(self.hidden, dtype=np.int64),
            "discrete": self.discrete,
            "low": np.asarray(self.low, dtype=np.float64),
            "high": np.asarray(self.high, dtype=np.float64),
        }


def policy_for(env: Any, hidden: Sequence[int] = ()) -> Policy:
    """A :class:`Policy` fitting ``env``'s observation and action spaces."""
    gym = require_gymnasium()
    obs_dim = int(np.prod(env.observation_space.shape))
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        return Policy(obs_dim, int(space.n), tuple(hidden), True)
    if isinstance(space, gym.spaces.Box):
        return Policy(
            obs_dim,
            int(np.prod(space.shape)),
            tuple(hidden),
            False,
            tuple(np.asarray(space.low, dtype=float).ravel()),
            tuple(np.asarray(space.high, dtype=float).ravel()),
        )
    raise ValueError(f"unsupported action space {space!r} (Discrete or Box only)")


_ENVS: dict[str, Any] = {}


def _env(env_id: str) -> Any:
    """One environment per id and process, reused across episodes."""
    if env_id not in _ENVS:
        _ENVS[env_id] = require_gymnasium().make(env_id)
    return _ENVS[env_id]


def episode_return(
    policy: Policy,
    params: np.ndarray,
    env_id: str,
    seed: int = 0,
    max_steps: int | None = None,
    env: Any = None,
) -> float:
    """Total reward of one episode of ``policy(params)`` on ``env_id`` (reset ``seed``)."""
    env = _env(env_id) if env is None else env
    layers = policy.layers(params)
    obs, _ = env.reset(seed=int(seed))
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(
            policy.act(params, obs, layers)
        )
        total += float(reward)
        steps += 1
        if terminated or truncated or (max_steps is not None and steps >= max_steps):
            return total


@dataclass(frozen=True)
class EpisodeObjective:
    """Picklable fitness: mean return over ``episodes`` fixed reset seeds.

    The seeds are the same for every candidate, so the objective is deterministic
    and a run is reproducible from the strategy's seed.
    """

    policy: Policy
    env_id: str
    episodes: int = 1
    max_steps: int | None = None
    seed: int = 0

    def __call__(self, params: np.ndarray) -> float:
        returns = [
            episode_return(
                self.policy, params, self.env_id, self.seed + k, self.max_steps
            )
            for k in range(self.episodes)
        ]
        return float(np.mean(returns))


def save_policy(path: str, policy: Policy, params: np.ndarray, env_id: str) -> None:
    """Write the policy (architecture, weights, environment id) to an ``.npz`` file."""
    np.savez(
        path,
        params=np.asarray(params, dtype=np.float64),
        env_id=env_id,
        **policy.to_dict(),
    )


def load_policy(path: str) -> tuple[Policy, np.ndarray, str]:
    """Read ``(policy, params, env_id)`` written by :func:`save_policy`."""
    with np.load(path, allow_pickle=False) as data:
        missing = {"params", "env_id", "obs_dim", "act_dim"} - set(data.files)
        if missing:
            raise ValueError(
                f"{path} is not an evostrat policy file (missing {sorted(missing)})"
            )
        policy = Policy(
            int(data["obs_dim"]),
            int(data["act_dim"]),
            tuple(int(h) for h in data["hidden"]),
            bool(data["discrete"]),
            tuple(float(v) for v in data["low"]),
            tuple(float(v) for v in data["high"]),
        )
        params = np.array(data["params"], dtype=np.float64)
        env_id = str(data["env_id"])
    policy.layers(params)  # checks the length
    return policy, params, env_id


def train(
    env_id: str,
    strategy: str = "openes",
    generations: int = 50,
    hidden: Sequence[int] = (),
    sigma0: float = 0.1,
    popsize: int | None = None,
    seed: int = 0,
    episodes: int = 1,
    max_steps: int | None = None,
    evaluator: Any = None,
    callback: Callable[[Any], Any] | None = None,
    **options: Any,
) -> tuple[Policy, Any]:
    """Evolve a policy for ``env_id``; returns ``(policy, result)``.

    The fitness of a weight vector is its mean episode return (``maximize=True``);
    ``result.xbest`` holds the best weights found. A KeyboardInterrupt ends the run
    early with the best so far (``optimize`` catches it).
    """
    from evostrat.strategies import get_strategy

    env = _env(env_id)
    policy = policy_for(env, hidden)
    objective = EpisodeObjective(policy, env_id, episodes, max_steps, seed)
    opt = get_strategy(strategy)(
        np.zeros(policy.num_params),
        sigma0,
        popsize,
        seed,
        maximize=True,
        tolfun=None,
        tolx=None,
        **options,
    )
    result = opt.optimize(
        objective, evaluator=evaluator, max_generations=generations, callback=callback
    )
    return policy, result


# ------------------------------------------------------------ command line
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
        gym = require_gymnasium()
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
        require_gymnasium()
    except ImportError as err:
        raise CommandError(str(err)) from None
    if args.env not in _ENVS:
        _ENVS[args.env] = _make_env(args.env)
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
        policy, result = train(
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
    save_policy(args.out, policy, result.xbest, args.env)
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
        policy, params, env_id = load_policy(args.policy)
    except (ValueError, OSError) as err:
        raise CommandError(str(err)) from None
    env = _make_env(env_id, render_mode="human" if args.render else None)
    returns = []
    try:
        for k in range(args.episodes):
            ret = episode_return(
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
