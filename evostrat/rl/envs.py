"""Gymnasium environments: the optional import, safe ``make`` and episode seeds.

Seeds partition the non-negative integers so that no choice made during training
ever sees a test episode:

- training episodes of generation ``g``: :func:`training_seeds`, in
  ``[0, VALIDATION_SEED_START)``, a pure function of (environment seed, ``g``) --
  the same episodes for the whole population of that generation (common random
  numbers, so both members of a mirrored pair see them too), fresh ones each
  generation;
- validation episodes of the center: :func:`validation_seeds`, in
  ``[VALIDATION_SEED_START, TEST_SEED_START)``, the same set at every validation so
  that validations compare;
- test episodes (``play``'s default): from ``TEST_SEED_START = 10**9`` on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GYM_MISSING = (
    "this needs Gymnasium, which is not installed; install it with: "
    'pip install gymnasium (or pip install "evostrat[rl]")'
)
#: training seeds lie below this; validation seeds from here to TEST_SEED_START
VALIDATION_SEED_START = 500_000_000
#: training never resets an environment with a seed at or above this (API.md)
TEST_SEED_START = 1_000_000_000

_ENVS: dict[str, Any] = {}


def require_gymnasium() -> Any:
    """The ``gymnasium`` module, or an ImportError telling how to install it."""
    try:
        import gymnasium
    except ImportError:
        raise ImportError(GYM_MISSING) from None
    return gymnasium


def check_env_id(env_id: Any, allow_import: bool = False) -> str:
    """``env_id`` if it names a registered environment, else a ValueError.

    Gymnasium's ``make("module:Env")`` imports ``module``: an id read from a file
    could run any code. Such ids are refused unless ``allow_import``.
    """
    gym = require_gymnasium()
    if not isinstance(env_id, str) or not env_id or len(env_id) > 200:
        raise ValueError(f"environment id must be a short string, got {env_id!r}")
    if allow_import:
        return env_id
    if ":" in env_id or env_id not in gym.envs.registry:
        raise ValueError(
            f"{env_id!r} is not a registered Gymnasium environment id "
            "(ids of the form 'module:Env' import a module and are refused "
            "unless allowed explicitly)"
        )
    return env_id


def make_env(env_id: str, allow_import: bool = False, **kwargs: Any) -> Any:
    """``gymnasium.make(env_id, **kwargs)`` after :func:`check_env_id`.

    Raises ValueError with a one-line message for any failure of ``make``
    (unknown id, missing extra such as Box2D or MuJoCo, ...).
    """
    gym = require_gymnasium()
    check_env_id(env_id, allow_import)
    try:
        return gym.make(env_id, **kwargs)
    except Exception as err:  # gymnasium's errors: missing extras, bad kwargs
        text = str(err).strip().splitlines()
        raise ValueError(
            f"cannot make environment {env_id!r}: {text[0] if text else err!r}"
        ) from None


def cached_env(env_id: str) -> Any:
    """One environment per id and process, reused across episodes (workers too)."""
    if env_id not in _ENVS:
        _ENVS[env_id] = make_env(env_id, allow_import=True)  # checked by the caller
    return _ENVS[env_id]


def training_seeds(env_seed: int, generation: int, episodes: int) -> list[int]:
    """Reset seeds of generation ``generation``'s training episodes.

    A pure function of its arguments (``numpy.random.SeedSequence`` of
    ``(env_seed, 0, generation)``), each in ``[0, VALIDATION_SEED_START)``.
    """
    words = np.random.SeedSequence([env_seed, 0, generation]).generate_state(
        episodes, np.uint64
    )
    return [int(w % VALIDATION_SEED_START) for w in words]


def validation_seeds(env_seed: int, episodes: int) -> list[int]:
    """Reset seeds of the validation episodes, in ``[VALIDATION_SEED_START, 10**9)``."""
    words = np.random.SeedSequence([env_seed, 1]).generate_state(episodes, np.uint64)
    span = TEST_SEED_START - VALIDATION_SEED_START
    return [VALIDATION_SEED_START + int(w % span) for w in words]
