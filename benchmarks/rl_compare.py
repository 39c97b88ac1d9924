"""evostrat against pycma and a plain numpy ARS on the same RL problem.

Every method runs inside the same :class:`evostrat.rl.Trainer`: the same policy
(linear or MLP), the same observation normalization, the same fresh training
episodes per generation, the same budget (``--episodes`` training episodes), the
same validation of the center (best center kept) and the same held-out test: the
saved center's mean return over ``--test-episodes`` episodes with reset seeds from
10**9 on (what ``evostrat play`` reports). Only the search differs:

- ``evostrat``: the strategy and options given (``--strategy``, ``--option``);
- ``pycma``: ``cma.CMAEvolutionStrategy`` (pycma's defaults, same popsize and sigma0);
- ``ars``: Augmented Random Search V2-t (Mania et al. 2018, Algorithm 1), written
  here in numpy: ``--ars-directions`` mirrored directions, the top
  ``--ars-top`` by ``max(r+, r-)``, step ``alpha / (b sigma_R)``.

    python benchmarks/rl_compare.py --env HalfCheetah-v5 --episodes 4800 \
        --strategy openes --popsize 32 --sigma0 0.03 --option learning_rate=0.02
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np

from evostrat import rl


class PycmaAdapter:
    """pycma behind the attributes the Trainer uses (maximizing returns)."""

    def __init__(self, dim: int, sigma0: float, popsize: int, seed: int, gens: int):
        import cma

        opts = {"popsize": popsize, "seed": seed + 1, "verbose": -9}
        self.es = cma.CMAEvolutionStrategy(np.zeros(dim), sigma0, opts)
        self.popsize, self.dim, self.generation, self.evals = popsize, dim, 0, 0
        self.max_generations = gens
        self._X: np.ndarray | None = None

    def ask(self, indices=None) -> np.ndarray:
        if self._X is None:
            self._X = np.array(self.es.ask())
        return self._X if indices is None else self._X[np.asarray(indices)]

    def tell(self, fitness) -> None:
        self.es.tell(list(self._X), [-float(f) for f in fitness])
        self._X, self.generation = None, self.generation + 1
        self.evals += self.popsize

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.es.mean)

    @property
    def sigma(self) -> float:
        return float(self.es.sigma)

    def stop(self) -> dict:
        done = self.generation >= self.max_generations
        return {"max_generations": self.max_generations} if done else {}


class ARS:
    """Augmented Random Search V2-t (Mania et al. 2018, Algorithm 1), numpy."""

    def __init__(self, dim, alpha, nu, directions, top, seed, gens):
        self.theta = np.zeros(dim)
        self.alpha, self.nu, self.n, self.b = alpha, nu, directions, top
        self.rng = np.random.default_rng(seed)
        self.popsize, self.dim, self.generation, self.evals = 2 * directions, dim, 0, 0
        self.max_generations = gens
        self.sigma = nu
        self._deltas: np.ndarray | None = None

    def ask(self, indices=None) -> np.ndarray:
        if self._deltas is None:
            self._deltas = self.rng.standard_normal((self.n, self.dim))
        X = np.concatenate(
            [self.theta + self.nu * self._deltas, self.theta - self.nu * self._deltas]
        )
        return X if indices is None else X[np.asarray(indices)]

    def tell(self, fitness) -> None:
        r = np.asarray(fitness, dtype=float)
        plus, minus = r[: self.n], r[self.n :]
        order = np.argsort(-np.maximum(plus, minus))[: self.b]
        sigma_r = np.std(np.concatenate([plus[order], minus[order]])) or 1.0
        step = (plus[order] - minus[order]) @ self._deltas[order]
        self.theta = self.theta + self.alpha / (self.b * sigma_r) * step
        self._deltas, self.generation = None, self.generation + 1
        self.evals += self.popsize

    @property
    def mean(self) -> np.ndarray:
        return self.theta

    def stop(self) -> dict:
        done = self.generation >= self.max_generations
        return {"max_generations": self.max_generations} if done else {}


def held_out(saved: rl.PolicyFile, episodes: int) -> tuple[float, float]:
    env = rl.make_env(saved.env_id)
    seeds = range(rl.TEST_SEED_START, rl.TEST_SEED_START + episodes)
    returns, _ = rl.run_episodes(
        saved.policy, saved.params, env, seeds, saved.obs_mean, saved.obs_std
    )
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


def run(method: str, args: argparse.Namespace, seed: int) -> float:
    popsize = 2 * args.ars_directions if method == "ars" else args.popsize
    gens = args.episodes // popsize
    options = {}
    for pair in args.option:
        key, _, text = pair.partition("=")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text
    config = rl.TrainConfig(
        args.env,
        args.strategy,
        gens,
        tuple(args.hidden),
        "tanh",
        args.squash,
        args.sigma0,
        popsize,
        seed,
        seed,
        1,
        None,
        args.eval_every,
        args.eval_episodes,
        True,
        0.0,
        None,
        None,
        options if method == "evostrat" else {},
    )
    trainer = rl.Trainer(config)
    dim = trainer.policy.num_params
    if method == "pycma":
        trainer.strategy = PycmaAdapter(dim, args.sigma0, popsize, seed, gens)
    elif method == "ars":
        trainer.strategy = ARS(
            dim,
            args.ars_alpha,
            args.ars_nu,
            args.ars_directions,
            args.ars_top,
            seed,
            gens,
        )
    t0 = time.perf_counter()
    trainer.run()
    mean, std = held_out(trainer.best, args.test_episodes)
    label = f"{args.strategy}" if method == "evostrat" else method
    print(
        f"{args.env} {label:9s} seed {seed}: {trainer.strategy.evals} episodes "
        f"{trainer.env_steps} steps, validation "
        f"{trainer.best.info['validation_mean']:.1f} (gen "
        f"{int(trainer.best.info['generation'])}), held-out {mean:.1f} ± {std:.1f} "
        f"({time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    return mean


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--methods", default="evostrat,pycma,ars")
    p.add_argument("--episodes", type=int, default=3200, help="training budget")
    p.add_argument("--seeds", default="1")
    p.add_argument("--strategy", default="openes")
    p.add_argument("--option", action="append", default=[])
    p.add_argument("--popsize", type=int, default=32)
    p.add_argument("--sigma0", type=float, default=0.03)
    p.add_argument("--hidden", type=int, nargs="*", default=[])
    p.add_argument("--squash", default="clip")
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--test-episodes", type=int, default=20)
    p.add_argument("--ars-directions", type=int, default=16)
    p.add_argument("--ars-top", type=int, default=8)
    p.add_argument("--ars-alpha", type=float, default=0.02)
    p.add_argument("--ars-nu", type=float, default=0.03)
    args = p.parse_args()
    for method in args.methods.split(","):
        scores = [run(method, args, int(s)) for s in args.seeds.split(",")]
        print(
            f"{args.env} {method}: median held-out {np.median(scores):.1f}", flush=True
        )


if __name__ == "__main__":
    main()
