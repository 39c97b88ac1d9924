"""Episodes and the episode objective of a training run.

:class:`EpisodeObjective` is the fitness of a weight vector: its mean return over
``episodes`` training episodes of the current generation (reset seeds from
:func:`evostrat.rl.envs.training_seeds`). It follows the evaluators' side-results
protocol: ``f(x)`` returns ``(return, aux)`` with ``aux = [env_steps, obs_count,
obs_sum (obs_dim), obs_sumsq (obs_dim)]`` -- O(observation size), never O(weights);
``get_context``/``set_context`` carry the generation and the frozen normalization
statistics to other processes; ``collect`` adds every individual's sums in index
order once per generation, so every evaluator yields the same bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evostrat.rl.envs import cached_env, training_seeds
from evostrat.rl.normalize import ObsStats
from evostrat.rl.policy import Policy


def rollout(
    env: Any,
    forward: Callable[..., Any],
    seed: int,
    max_steps: int | None = None,
    action_noise: float = 0.0,
    act_dim: int = 1,
) -> tuple[float, int, np.ndarray]:
    """One episode: ``(return, steps, observations the policy saw (steps, obs_dim))``.

    The environment is reset with ``seed``; Gaussian action noise of standard
    deviation ``action_noise`` (added to the policy's outputs) is drawn from a
    generator seeded by ``seed`` too, so an episode is a pure function of the
    weights, the statistics and ``seed``.
    """
    noise = np.random.default_rng([seed, 1]) if action_noise > 0 else None
    obs, _ = env.reset(seed=int(seed))
    seen, total, steps = [], 0.0, 0
    while True:
        seen.append(obs)
        eps = None if noise is None else action_noise * noise.standard_normal(act_dim)
        obs, reward, terminated, truncated, _ = env.step(forward(obs, eps))
        total += float(reward)
        steps += 1
        if terminated or truncated or (max_steps is not None and steps >= max_steps):
            observed = np.asarray(seen, dtype=np.float64).reshape(steps, -1)
            return total, steps, observed


def run_episodes(
    policy: Policy,
    params: np.ndarray,
    env: Any,
    seeds: Sequence[int],
    obs_mean: np.ndarray | None = None,
    obs_std: np.ndarray | None = None,
    max_steps: int | None = None,
) -> tuple[list[float], int]:
    """Returns of one noise-free episode per seed, and the steps they took."""
    forward = policy.controller(params, obs_mean, obs_std)
    returns, steps = [], 0
    for seed in seeds:
        ret, n, _ = rollout(env, forward, seed, max_steps)
        returns.append(ret)
        steps += n
    return returns, steps


class EpisodeObjective:
    """Mean return over the current generation's training episodes (picklable).

    Parameters
    ----------
    policy : Policy
        Architecture of the weights searched.
    env_id : str
        A Gymnasium id (checked by the caller).
    env_seed : int
        Root of every reset seed (:func:`evostrat.rl.envs.training_seeds`).
    episodes : int
        Episodes per evaluation (the same seeds for the whole generation).
    max_steps : int, optional
        Episodes are cut after this many steps.
    normalize : bool
        Normalize observations with the running statistics (frozen per generation).
    action_noise : float
        Standard deviation of Gaussian noise on the outputs during training.
    """

    def __init__(
        self,
        policy: Policy,
        env_id: str,
        env_seed: int = 0,
        episodes: int = 1,
        max_steps: int | None = None,
        normalize: bool = True,
        action_noise: float = 0.0,
    ) -> None:
        self.policy, self.env_id, self.env_seed = policy, env_id, env_seed
        self.episodes, self.max_steps = episodes, max_steps
        self.normalize, self.action_noise = normalize, action_noise
        self.generation = 0  # whose episodes f(x) runs
        self.env_steps = 0  # training steps collected so far
        self.stats = ObsStats(policy.obs_dim)
        self.obs_mean, self.obs_std = self.frozen()

    def frozen(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The statistics policies see now (None, None without normalization)."""
        return self.stats.snapshot() if self.normalize else (None, None)

    @property
    def aux_size(self) -> int:
        return 2 + 2 * self.policy.obs_dim

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        forward = self.policy.controller(params, self.obs_mean, self.obs_std)
        env = cached_env(self.env_id)
        d = self.policy.obs_dim
        aux = np.zeros(self.aux_size)
        total = 0.0
        for seed in training_seeds(self.env_seed, self.generation, self.episodes):
            ret, steps, seen = rollout(
                env,
                forward,
                seed,
                self.max_steps,
                self.action_noise,
                self.policy.act_dim,
            )
            total += ret
            aux[0] += steps
            aux[1] += len(seen)
            aux[2 : 2 + d] += seen.sum(axis=0)
            aux[2 + d :] += np.square(seen).sum(axis=0)
        return total / self.episodes, aux

    def get_context(self) -> tuple[int, np.ndarray | None, np.ndarray | None]:
        """``(generation, obs_mean, obs_std)``: what workers need this generation."""
        return self.generation, self.obs_mean, self.obs_std

    def set_context(self, context: tuple[int, Any, Any]) -> None:
        self.generation, self.obs_mean, self.obs_std = context

    def collect(self, generation: int, aux: np.ndarray) -> None:
        """Add the generation's side results (index order); move to the next one."""
        aux = np.asarray(aux, dtype=np.float64)
        self.env_steps += int(aux[:, 0].sum())
        if self.normalize:
            self.stats.add_rows(aux[:, 1:])
        self.generation = int(generation) + 1
        self.obs_mean, self.obs_std = self.frozen()

    def state(self) -> dict[str, Any]:
        """What a checkpoint must keep of this objective."""
        return {
            "generation": self.generation,
            "env_steps": self.env_steps,
            "count": self.stats.count,
            "sum": self.stats.sum.copy(),
            "sumsq": self.stats.sumsq.copy(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Undo to a :meth:`state`."""
        self.generation, self.env_steps = state["generation"], state["env_steps"]
        self.stats.count = state["count"]
        self.stats.sum, self.stats.sumsq = state["sum"].copy(), state["sumsq"].copy()
        self.obs_mean, self.obs_std = self.frozen()
