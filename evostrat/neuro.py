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
    """Register ``train`` and ``play`` (:mod:`evostrat.neuro_cli`) on ``sub``."""
    from evostrat.neuro_cli import add_commands as register

    register(sub, fmt)
