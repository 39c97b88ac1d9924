"""The settings of a training run, checked in one place before anything runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from evostrat.rl.policy import ACTIVATIONS, SQUASHES
from evostrat.validation import check_in_range, check_int

#: options a training run sets itself (a strategy option of that name is refused)
RESERVED_OPTIONS = ("maximize", "max_generations")


@dataclass
class TrainConfig:
    """Everything that defines a training run (see :class:`evostrat.rl.Trainer`).

    Attributes
    ----------
    env_id : str
        Registered Gymnasium id.
    strategy : str
        Lower-case strategy name.
    generations : int
        Generations at most.
    hidden : tuple of int
        Hidden layer sizes (empty: linear policy).
    activation, squash : str
        Hidden units (``"tanh"``/``"relu"``); Box actions (``"tanh"``/``"clip"``).
    sigma0 : float
        Initial step size of the strategy (weights start at zero).
    popsize : int or None
        Population size (the strategy's default when None).
    seed : int
        Seed of the strategy's random stream.
    env_seed : int
        Root of every episode's reset seed (training and validation).
    episodes : int
        Training episodes per evaluation.
    max_steps : int or None
        Cut every episode after this many steps.
    eval_every : int
        Validate the center every this many generations (0: only at the end).
    eval_episodes : int
        Validation episodes.
    normalize : bool
        Observation normalization (running mean/std, frozen per generation).
    action_noise : float
        Standard deviation of Gaussian noise on the outputs during training.
    action_bound : float or None
        Clip actions of an unbounded Box space to ``[-bound, bound]``.
    max_env_steps : int or None
        Budget of training environment steps (checked after each generation).
    max_seconds : float or None
        Budget of wall seconds spent in generations (checked after each generation;
        under MPI the ranks agree, so they stop at the same generation). Unlike the
        other budgets it depends on the machine: the run is reproducible only up
        to where it stops.
    options : dict
        Further strategy options (validated by the strategy's constructor).
    """

    env_id: str = "CartPole-v1"
    strategy: str = "openes"
    generations: int = 50
    hidden: tuple[int, ...] = ()
    activation: str = "tanh"
    squash: str = "tanh"
    sigma0: float = 0.1
    popsize: int | None = None
    seed: int = 0
    env_seed: int = 0
    episodes: int = 1
    max_steps: int | None = None
    eval_every: int = 10
    eval_episodes: int = 10
    normalize: bool = True
    action_noise: float = 0.0
    action_bound: float | None = None
    max_env_steps: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    max_seconds: float | None = None

    def check(self) -> TrainConfig:
        """Raise TypeError/ValueError naming the first bad setting; return self."""
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"env_id must be a non-empty string, got {self.env_id!r}")
        for name in ("generations", "episodes", "eval_episodes"):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("seed", "env_seed", "eval_every"):
            check_int(name, getattr(self, name), minimum=0)
        for name in ("popsize", "max_steps", "max_env_steps"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=1)
        self.hidden = tuple(check_int("hidden size", h, 1) for h in self.hidden)
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.squash not in SQUASHES:
            raise ValueError(f"squash must be one of {SQUASHES}, got {self.squash!r}")
        check_in_range("sigma0", self.sigma0, 0.0, math.inf, open_low=True)
        if not math.isfinite(self.sigma0):
            raise ValueError(f"sigma0 must be finite, got {self.sigma0}")
        check_in_range(
            "max_seconds", self.max_seconds, 0.0, math.inf, open_low=True, none_ok=True
        )
        check_in_range("action_noise", self.action_noise, 0.0, 1e6)
        check_in_range(
            "action_bound", self.action_bound, 0.0, 1e12, open_low=True, none_ok=True
        )
        if not isinstance(self.normalize, bool):
            raise TypeError(f"normalize must be True or False, got {self.normalize!r}")
        clash = sorted(set(self.options) & set(RESERVED_OPTIONS))
        if clash:
            raise ValueError(
                f"option {clash[0]} is set by the training run itself "
                "(the return is maximized; give generations instead)"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
