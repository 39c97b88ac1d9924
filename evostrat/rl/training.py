"""The training loop: evolve a policy, validate the center, keep the best one.

Every generation the evaluator runs the population on that generation's training
episodes (:class:`EpisodeObjective`), the strategy is told the returns, and every
``eval_every`` generations (and at the end) the distribution's mean -- the center --
runs the validation episodes, whose seeds training never uses. The best center by
validation return is kept with the normalization statistics it was validated with
(what a policy file holds); so is the last one.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evostrat.evaluators.base import agreed
from evostrat.rl.config import TrainConfig
from evostrat.rl.envs import cached_env, make_env, validation_seeds
from evostrat.rl.files import PolicyFile
from evostrat.rl.objective import EpisodeObjective, run_episodes
from evostrat.rl.policy import policy_for

#: the columns of a learning curve row (:attr:`Trainer.rows`)
COLUMNS = (
    "generation",
    "evaluations",
    "env_steps",
    "return_mean",
    "return_median",
    "return_max",
    "validation_return",
    "sigma",
    "seconds",
)
CHECKPOINT_VERSION = 1


class Trainer:
    """One training run, advanced a generation at a time (see :meth:`run`).

    Parameters
    ----------
    config : TrainConfig
        The settings (checked here, before anything runs).
    evaluator : evaluator, optional
        Where the population's episodes run (serial when None); it must support
        the side-results protocol of objectives.
    """

    def __init__(self, config: TrainConfig, evaluator: Any = None) -> None:
        from evostrat.strategies import get_strategy

        self.config = c = config.check()
        env = make_env(c.env_id)
        try:
            self.policy = policy_for(
                env, c.hidden, c.activation, c.squash, c.action_bound
            )
        finally:
            env.close()
        self.objective = EpisodeObjective(
            self.policy,
            c.env_id,
            c.env_seed,
            c.episodes,
            c.max_steps,
            c.normalize,
            c.action_noise,
        )
        options = {"tolfun": None, "tolx": None, **c.options}
        self.strategy = get_strategy(c.strategy)(
            np.zeros(self.policy.num_params),
            c.sigma0,
            c.popsize,
            c.seed,
            maximize=True,
            max_generations=c.generations,
            **options,
        )
        if evaluator is None:
            from evostrat.evaluators import SerialEvaluator

            evaluator = SerialEvaluator()
        self.evaluator = evaluator
        self.seeds = validation_seeds(c.env_seed, c.eval_episodes)
        self.best: PolicyFile | None = None
        self.last: PolicyFile | None = None
        self.rows: list[dict[str, float]] = []
        self.last_fitness: np.ndarray | None = None  # of the last generation
        self.validation_steps = 0
        self.seconds = 0.0  # wall seconds of the generations, resumed runs included

    # ------------------------------------------------------------------ loop
    @property
    def generation(self) -> int:
        return int(self.strategy.generation)

    @property
    def env_steps(self) -> int:
        """Training environment steps so far (validation episodes not counted)."""
        return self.objective.env_steps

    def stop_reason(self) -> dict[str, Any]:
        """Empty while the run goes on, else ``{criterion: value}``."""
        reason = dict(self.strategy.stop())
        budget = self.config.max_env_steps
        if budget is not None and self.env_steps >= budget:
            reason["max_env_steps"] = budget
        seconds = self.config.max_seconds
        if seconds is not None:
            # each rank's clock differs: under MPI all ranks stop or none
            if agreed(self.evaluator, self.seconds >= seconds):
                reason["max_seconds"] = seconds
        return reason

    def step(self) -> dict[str, float]:
        """One generation (and a validation when due); its learning-curve row."""
        t0 = time.perf_counter()
        fitness = np.asarray(
            self.evaluator.evaluate(self.strategy, self.objective), dtype=np.float64
        )
        self.strategy.tell(fitness)
        self.last_fitness = fitness
        g, every = self.generation, self.config.eval_every
        due = (every and g % every == 0) or self.stop_reason()
        validation = self.validate() if due else math.nan
        self.seconds += time.perf_counter() - t0
        row = {
            "generation": g,
            "evaluations": int(self.strategy.evals),
            "env_steps": self.env_steps,
            "return_mean": float(np.mean(fitness)),
            "return_median": float(np.median(fitness)),
            "return_max": float(np.max(fitness)),
            "validation_return": validation,
            "sigma": float(np.mean(self.strategy.sigma)),
            "seconds": self.seconds,
        }
        self.rows.append(row)
        return row

    def validate(self) -> float:
        """Run the center on the validation episodes; keep it if it is the best."""
        c, obj = self.config, self.objective
        center = np.array(self.strategy.mean, dtype=np.float64)
        returns, steps = run_episodes(
            self.policy,
            center,
            cached_env(c.env_id),
            self.seeds,
            obj.obs_mean,
            obj.obs_std,
            c.max_steps,
        )
        self.validation_steps += steps
        mean = float(np.mean(returns))
        info = {
            "validation_mean": mean,
            "validation_std": float(np.std(returns)),
            "validation_episodes": float(len(returns)),
            "generation": float(self.generation),
        }
        self.last = PolicyFile(
            self.policy, center, c.env_id, obj.obs_mean, obj.obs_std, info
        )
        if self.best is None or mean > self.best.info["validation_mean"]:
            self.best = self.last
        return mean

    def run(self, callback: Callable[[Trainer, dict], Any] | None = None) -> dict:
        """Generations until a stop criterion or Ctrl-C; returns the stop reason.

        ``callback(trainer, row)`` runs after every generation. The center is
        validated at the end if the last generation was not.
        """
        try:
            while not (reason := self.stop_reason()):
                row = self.step()
                if callback is not None:
                    callback(self, row)
        except KeyboardInterrupt:
            reason = {"interrupted": True}
        validated = (
            self.last is not None and self.last.info["generation"] == self.generation
        )
        if self.generation > 0 and not validated:
            self.validate()
        return reason

    # ----------------------------------------------------------- checkpoints
    def save_checkpoint(self, path: str) -> None:
        """Pickle the run's state to ``path`` (atomically); see :meth:`resume`."""
        state = {
            "version": CHECKPOINT_VERSION,
            "config": self.config,
            "strategy": self.strategy,
            "objective": self.objective.state(),
            "best": self.best,
            "last": self.last,
            "rows": self.rows,
            "validation_steps": self.validation_steps,
            "seconds": self.seconds,
        }
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(state, fh, pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    @classmethod
    def resume(cls, path: str, evaluator: Any = None) -> Trainer:
        """The run saved by :meth:`save_checkpoint`, continuing exactly.

        The file is a pickle: loading it runs code it names, so resume only from
        checkpoints you wrote yourself.
        """
        with open(path, "rb") as fh:
            state = pickle.load(fh)
        if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{path} is not an evostrat training checkpoint")
        trainer = cls(state["config"], evaluator)
        trainer.strategy = state["strategy"]
        trainer.objective.restore(state["objective"])
        trainer.best, trainer.last = state["best"], state["last"]
        trainer.rows = state["rows"]
        trainer.validation_steps = state["validation_steps"]
        trainer.seconds = state["seconds"]
        return trainer


def train(
    env_id: str,
    evaluator: Any = None,
    callback: Callable[[Trainer, dict], Any] | None = None,
    **settings: Any,
) -> Trainer:
    """Train a policy for ``env_id``; the finished :class:`Trainer`.

    ``settings`` are the fields of :class:`TrainConfig` (``strategy``,
    ``generations``, ``hidden``, ``popsize``, ``seed``, ``env_seed``, ...);
    ``trainer.best`` is the best validated center (a :class:`PolicyFile`).
    """
    trainer = Trainer(TrainConfig(env_id=env_id, **settings), evaluator)
    trainer.run(callback)
    return trainer
