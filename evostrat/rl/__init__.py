"""Reinforcement learning with evolution strategies on Gymnasium environments.

Policies (:mod:`~evostrat.rl.policy`), episodes and the episode objective
(:mod:`~evostrat.rl.objective`), observation normalization
(:mod:`~evostrat.rl.normalize`), the training loop (:mod:`~evostrat.rl.training`) and
policy files (:mod:`~evostrat.rl.files`). Gymnasium is optional: functions that need
it raise an ImportError saying how to install it. This package knows nothing of a
command line.
"""

from evostrat.rl.config import TrainConfig
from evostrat.rl.envs import (
    TEST_SEED_START,
    VALIDATION_SEED_START,
    check_env_id,
    make_env,
    require_gymnasium,
    training_seeds,
    validation_seeds,
)
from evostrat.rl.files import PolicyFile, PolicyFileError, load_policy, save_policy
from evostrat.rl.normalize import ObsStats
from evostrat.rl.objective import EpisodeObjective, rollout, run_episodes
from evostrat.rl.policy import Policy, check_fits, policy_for
from evostrat.rl.training import COLUMNS, Trainer, train

__all__ = [
    "COLUMNS",
    "TEST_SEED_START",
    "VALIDATION_SEED_START",
    "EpisodeObjective",
    "ObsStats",
    "Policy",
    "PolicyFile",
    "PolicyFileError",
    "TrainConfig",
    "Trainer",
    "check_env_id",
    "check_fits",
    "load_policy",
    "make_env",
    "policy_for",
    "require_gymnasium",
    "rollout",
    "run_episodes",
    "save_policy",
    "train",
    "training_seeds",
    "validation_seeds",
]
