"""Feed-forward policies whose weights are one flat parameter vector.

A policy maps an observation to an action through a linear layer or a small MLP
(``tanh`` or ``relu`` hidden units), so any strategy can search its weights with
fitness = episode return (Salimans et al., "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning", 2017, section 2). Discrete action spaces take
the ``argmax`` of the outputs; Box action spaces squash the outputs with ``tanh``
into the bounds or clip them to the bounds (``squash="clip"``: the linear policies
of Mania et al., "Simple random search provides a competitive approach to
reinforcement learning", 2018, eq. in section 3, "ARS V2").

Observations may be normalized first, ``clip((o - mean) / std, -5, 5)`` with the
running statistics of :mod:`evostrat.rl.normalize`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ACTIVATIONS = ("tanh", "relu")
SQUASHES = ("tanh", "clip")
#: normalized observations are clipped to +-OBS_CLIP (Salimans et al. 2017, as in
#: openai/evolution-strategies-starter and EvoTorch's ``observation_normalization``)
OBS_CLIP = 5.0
#: largest layer and parameter count a policy may have: 10**8 float64 are 800 MB,
#: which is more than any policy of the literature (and refuses crafted files early)
MAX_LAYER = 100_000
MAX_PARAMS = 100_000_000


def _check_size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 1 <= int(value) <= MAX_LAYER:
        raise ValueError(f"{name} must be in [1, {MAX_LAYER}], got {value}")
    return int(value)


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
        ``argmax`` of the outputs (Discrete spaces) instead of bounded actions.
    low, high : tuple of float
        Finite action bounds of a Box space (empty when ``discrete``).
    activation : {"tanh", "relu"}
        Hidden units.
    squash : {"tanh", "clip"}
        Box actions: ``low + (tanh(y) + 1) (high - low) / 2``, or ``clip(y, low,
        high)``.
    """

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...] = ()
    discrete: bool = True
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    activation: str = "tanh"
    squash: str = "tanh"

    def __post_init__(self) -> None:
        _check_size("obs_dim", self.obs_dim)
        _check_size("act_dim", self.act_dim)
        for h in self.hidden:
            _check_size("hidden size", h)
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.squash not in SQUASHES:
            raise ValueError(f"squash must be one of {SQUASHES}, got {self.squash!r}")
        if self.num_params > MAX_PARAMS:
            raise ValueError(
                f"policy would have {self.num_params} parameters (at most {MAX_PARAMS})"
            )
        if not self.discrete:
            low, high = np.asarray(self.low, float), np.asarray(self.high, float)
            if low.shape != (self.act_dim,) or high.shape != (self.act_dim,):
                raise ValueError(
                    f"action bounds must have {self.act_dim} values each, "
                    f"got {low.size} and {high.size}"
                )
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                raise ValueError("action bounds must be finite")
            if not np.all(low < high):
                raise ValueError("action bounds must satisfy low < high")

    @property
    def sizes(self) -> list[int]:
        return [self.obs_dim, *self.hidden, self.act_dim]

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector (weights and biases of every layer)."""
        s = self.sizes
        return sum((a + 1) * b for a, b in zip(s[:-1], s[1:], strict=True))

    def layers(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(W, b)`` of every layer (``W`` of shape (inputs, outputs)), views."""
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

    def controller(
        self,
        params: np.ndarray,
        obs_mean: np.ndarray | None = None,
        obs_std: np.ndarray | None = None,
    ) -> Callable[..., Any]:
        """``forward(obs, noise=None) -> action`` for fixed weights and statistics.

        Everything that does not depend on the observation is computed here, once
        per episode, so a step costs a few small numpy operations. ``noise`` (an
        array of ``act_dim``) is added to the outputs before the argmax or bounds.
        """
        layers = self.layers(params)
        hidden, (W_out, b_out) = layers[:-1], layers[-1]
        relu = self.activation == "relu"
        shift = None if obs_mean is None else np.asarray(obs_mean, np.float64)
        scale = None if obs_std is None else 1.0 / np.asarray(obs_std, np.float64)
        low, high = np.asarray(self.low, np.float64), np.asarray(self.high, np.float64)
        center, half = (high + low) / 2, (high - low) / 2
        discrete, clip = self.discrete, self.squash == "clip"

        def forward(obs: Any, noise: np.ndarray | None = None) -> Any:
            h = np.asarray(obs, dtype=np.float64).reshape(-1)
            if shift is not None and scale is not None:
                h = np.clip((h - shift) * scale, -OBS_CLIP, OBS_CLIP)
            for W, b in hidden:
                h = h @ W + b
                h = np.maximum(h, 0.0) if relu else np.tanh(h)
            y = h @ W_out + b_out
            if noise is not None:
                y += noise
            if discrete:
                return int(y.argmax())
            if clip:
                return np.minimum(np.maximum(y, low), high)
            return center + half * np.tanh(y)

        return forward

    def act(self, params: np.ndarray, obs: np.ndarray) -> Any:
        """The action for one observation (un-normalized); see :meth:`controller`."""
        return self.controller(params)(obs)


def policy_for(
    env: Any,
    hidden: Sequence[int] = (),
    activation: str = "tanh",
    squash: str = "tanh",
    action_bound: float | None = None,
) -> Policy:
    """A :class:`Policy` fitting ``env``'s observation and action spaces.

    A Box action space with infinite bounds is clipped to ``[-action_bound,
    action_bound]`` where ``action_bound`` is given, else refused (ValueError).
    """
    from evostrat.rl.envs import require_gymnasium

    spaces = require_gymnasium().spaces
    if not isinstance(env.observation_space, spaces.Box):
        raise ValueError(
            f"unsupported observation space {env.observation_space!r} (Box only)"
        )
    obs_dim = int(np.prod(env.observation_space.shape))
    space = env.action_space
    if isinstance(space, spaces.Discrete):
        return Policy(obs_dim, int(space.n), tuple(hidden), True, activation=activation)
    if not isinstance(space, spaces.Box):
        raise ValueError(f"unsupported action space {space!r} (Discrete or Box only)")
    low = np.asarray(space.low, dtype=float).ravel()
    high = np.asarray(space.high, dtype=float).ravel()
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        if action_bound is None:
            raise ValueError(
                f"the action space {space!r} is unbounded; give a finite "
                "action bound to clip the actions to [-bound, bound]"
            )
        low = np.where(np.isfinite(low), low, -action_bound)
        high = np.where(np.isfinite(high), high, action_bound)
    return Policy(
        obs_dim,
        low.size,
        tuple(hidden),
        False,
        tuple(low.tolist()),
        tuple(high.tolist()),
        activation,
        squash,
    )


def check_fits(policy: Policy, env: Any) -> None:
    """ValueError unless ``policy``'s inputs and outputs fit ``env``'s spaces."""
    from evostrat.rl.envs import require_gymnasium

    spaces = require_gymnasium().spaces
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, spaces.Box) or int(np.prod(obs.shape)) != policy.obs_dim:
        raise ValueError(
            f"the policy takes {policy.obs_dim} observations, the environment "
            f"gives {obs}"
        )
    if policy.discrete:
        ok = isinstance(act, spaces.Discrete) and int(act.n) == policy.act_dim
    else:
        ok = isinstance(act, spaces.Box) and int(np.prod(act.shape)) == policy.act_dim
    if not ok:
        kind = "discrete" if policy.discrete else "continuous"
        raise ValueError(
            f"the policy has {policy.act_dim} {kind} outputs, the environment's "
            f"actions are {act}"
        )
