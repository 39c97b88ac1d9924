"""Rollout speed: the policy's forward pass against ``env.step`` (HalfCheetah-v5).

Issue 10 asks that a linear policy's forward pass (observation normalization
included) cost at most 25 % of the time ``env.step`` takes on HalfCheetah-v5. The
script steps the environment with the policy's actions for ``--steps`` steps,
recording the observations, then times the forward pass alone on those same
observations, for a linear policy and for MLPs (tanh and relu), discrete argmax
(CartPole-v1) and clipped actions. Prints microseconds per call and the ratio.

    python benchmarks/rl_rollout.py [--steps 20000] [--env HalfCheetah-v5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evostrat import rl


def time_env(env, forward, steps: int) -> tuple[float, list]:
    """Seconds per ``env.step`` (actions from ``forward``) and the observations."""
    obs, _ = env.reset(seed=0)
    seen, actions = [], []
    for _ in range(steps):  # collect observations and actions first
        seen.append(obs)
        actions.append(forward(obs))
        obs, _, term, trunc, _ = env.step(actions[-1])
        if term or trunc:
            obs, _ = env.reset()
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return (time.perf_counter() - t0) / steps, seen


def time_forward(forward, seen: list, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for o in seen:
            forward(o)
        best = min(best, time.perf_counter() - t0)
    return best / len(seen)


def measure(
    env_id: str, steps: int, hidden: tuple, activation: str, squash: str
) -> None:
    env = rl.make_env(env_id)
    policy = rl.policy_for(env, hidden, activation, squash)
    rng = np.random.default_rng(0)
    params = 0.1 * rng.standard_normal(policy.num_params)
    mean, std = np.zeros(policy.obs_dim), np.ones(policy.obs_dim)
    forward = policy.controller(params, mean, std)
    step_s, seen = time_env(env, forward, steps)
    fwd_s = time_forward(forward, seen)
    kind = f"hidden {list(hidden)} {activation}" if hidden else "linear"
    print(
        f"{env_id:16s} {kind:20s} {squash:5s} env.step {1e6 * step_s:7.2f} us  "
        f"forward {1e6 * fwd_s:6.2f} us  ratio {fwd_s / step_s:6.1%}",
        flush=True,
    )
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--env", default="HalfCheetah-v5")
    args = parser.parse_args()
    measure(args.env, args.steps, (), "tanh", "clip")
    measure(args.env, args.steps, (), "tanh", "tanh")
    measure(args.env, args.steps, (32, 32), "tanh", "tanh")
    measure(args.env, args.steps, (32, 32), "relu", "clip")
    measure("CartPole-v1", args.steps, (), "tanh", "tanh")


if __name__ == "__main__":
    main()
