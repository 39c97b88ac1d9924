"""``evostrat train``: evolve a policy for a Gymnasium environment.

The training itself is the library's (:class:`evostrat.rl.Trainer`); this module
parses and checks the arguments (all of them, and that every output file can be
written, before training starts), prints progress and writes the files. Under
``mpiexec`` with ``--evaluator mpi`` every rank trains and only rank 0 prints and
writes.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from evostrat.cli.common import (
    EVALUATORS,
    CommandError,
    check_strategy,
    close_evaluator,
    make_evaluator,
    parse_options,
)


def add_command(sub: Any, fmt: Any) -> None:
    """Register ``train`` on the sub-command parser ``sub``."""
    p = sub.add_parser(
        "train",
        help="evolve a policy for a Gymnasium environment",
        description="Evolve a linear or MLP policy (fitness = episode return, "
        "maximized) on fresh episodes each generation; validate the "
        "distribution's mean every --eval-every generations on episodes "
        "training never uses and save the best one. Needs gymnasium.",
        formatter_class=fmt,
    )
    _add_training_arguments(p)
    _add_run_arguments(p)
    p.set_defaults(handler=command)


def _add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="CartPole-v1", help="registered Gymnasium id")
    p.add_argument("--strategy", default="openes", help="lower-case strategy name")
    p.add_argument("--generations", type=int, default=50, help="generations to train")
    p.add_argument("--popsize", type=int, help="population size (strategy default)")
    p.add_argument("--sigma0", type=float, default=0.1, help="initial step size")
    p.add_argument("--seed", type=int, default=0, help="seed of the strategy")
    p.add_argument("--env-seed", type=int, default=0, help="root of the reset seeds")
    p.add_argument("--hidden", default="", help="hidden sizes, e.g. 16 or 32,32")
    p.add_argument(
        "--activation", choices=("tanh", "relu"), default="tanh",
        help="of the hidden layers",
    )  # fmt: skip
    p.add_argument(
        "--squash", choices=("tanh", "clip"), default="tanh", help="Box actions"
    )
    p.add_argument("--episodes", type=int, default=1, help="episodes per evaluation")
    p.add_argument("--max-steps", type=int, help="cut episodes after this many steps")
    p.add_argument("--eval-every", type=int, default=10, help="0: only at the end")
    p.add_argument(
        "--eval-episodes", type=int, default=10, help="episodes of a validation"
    )
    p.add_argument(
        "--no-normalize", action="store_true", help="no observation normalization"
    )
    p.add_argument(
        "--action-noise", type=float, default=0.0,
        help="std of Gaussian noise added to actions in training",
    )  # fmt: skip
    p.add_argument("--action-bound", type=float, help="clip unbounded Box actions")
    p.add_argument("--max-env-steps", type=int, help="budget of training steps")
    p.add_argument("--max-seconds", type=float, help="budget of wall seconds")
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="strategy option, e.g. learning_rate=0.03 (repeatable)",
    )


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--evaluator", choices=EVALUATORS, default="serial",
        help="where the episodes run",
    )  # fmt: skip
    p.add_argument("--processes", type=int, help="pool size (default: all cores)")
    p.add_argument("--out", default="policy.npz", help="best validated policy")
    p.add_argument("--out-last", help="also save the last validated center here")
    p.add_argument("--log", help="learning curve CSV, one row per generation")
    p.add_argument("--plot", help="PNG of the learning curve (needs --log)")
    p.add_argument("--checkpoint", help="checkpoint file (default OUT.ckpt)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="0: never")
    p.add_argument(
        "--resume",
        help="continue the run of this checkpoint (its settings; the training "
        "arguments above are ignored)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _config(args: argparse.Namespace) -> Any:
    from evostrat.rl import TrainConfig

    try:
        hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
    except ValueError:
        raise CommandError(
            f"--hidden takes comma-separated sizes, got {args.hidden!r}"
        ) from None
    config = TrainConfig(
        env_id=args.env,
        strategy=args.strategy,
        generations=args.generations,
        hidden=hidden,
        activation=args.activation,
        squash=args.squash,
        sigma0=args.sigma0,
        popsize=args.popsize,
        seed=args.seed,
        env_seed=args.env_seed,
        episodes=args.episodes,
        max_steps=args.max_steps,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        normalize=not args.no_normalize,
        action_noise=args.action_noise,
        action_bound=args.action_bound,
        max_env_steps=args.max_env_steps,
        max_seconds=args.max_seconds,
        options=parse_options(args.option, check_strategy(args.strategy)),
    )
    try:
        return config.check()
    except (ValueError, TypeError) as err:
        raise CommandError(_flag(str(err))) from None


def _flag(message: str) -> str:
    """A library message that starts with a training setting's name, with its flag."""
    from dataclasses import fields

    from evostrat.rl import TrainConfig

    name, sep, rest = message.partition(" ")
    settings = {f.name for f in fields(TrainConfig)} - {"options", "normalize"}
    if sep and name in settings:
        flag = "--env" if name == "env_id" else f"--{name.replace('_', '-')}"
        return f"{flag} {rest}"
    return message


def _check_writable(args: argparse.Namespace) -> None:
    """Refuse outputs that cannot be written, before anything runs."""
    if args.plot and not args.log:
        raise CommandError("--plot draws the --log file: give --log too")
    if args.checkpoint_every < 0:
        raise CommandError(
            f"--checkpoint-every must be >= 0, got {args.checkpoint_every}"
        )
    outputs = {"--out": args.out, "--out-last": args.out_last, "--log": args.log}
    outputs.update({"--plot": args.plot, "--checkpoint": _checkpoint_path(args)})
    for flag, path in outputs.items():
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise CommandError(f"{flag} {path!r} is a directory")
        if not os.path.isdir(folder):
            raise CommandError(f"{flag} {path!r}: no directory {folder!r}")
        if not os.access(folder, os.W_OK | os.X_OK) or (
            os.path.exists(path) and not os.access(path, os.W_OK)
        ):
            raise CommandError(f"{flag} {path!r} cannot be written")


def _checkpoint_path(args: argparse.Namespace) -> str | None:
    if args.checkpoint:
        return str(args.checkpoint)
    return f"{args.out}.ckpt" if args.checkpoint_every else None


def _trainer(args: argparse.Namespace, evaluator: Any) -> Any:
    from evostrat.rl import Trainer

    try:
        if args.resume:
            return Trainer.resume(args.resume, evaluator)
        return Trainer(_config(args), evaluator)
    except FileNotFoundError as err:
        raise CommandError(f"--resume: {err}") from None
    except (ValueError, TypeError, ImportError, OSError) as err:
        raise CommandError(_flag(str(err).splitlines()[0])) from None


class _Reporter:
    """Progress lines, learning-curve rows and checkpoints (rank 0 only)."""

    def __init__(self, args: argparse.Namespace, trainer: Any, main: bool) -> None:
        from evostrat.rl.curve import CurveLog

        self.args, self.main = args, main
        self.t0 = time.perf_counter()
        self.last_print = -1e9
        resumed_at = trainer.generation if args.resume else None
        self.log = CurveLog(args.log, resumed_at, main) if args.log else None

    def __call__(self, trainer: Any, row: dict) -> None:
        if not self.main:
            return
        if self.log is not None:
            self.log.write(trainer, row)
        every = self.args.checkpoint_every
        if every and trainer.generation % every == 0:
            trainer.save_checkpoint(_checkpoint_path(self.args))
        now = time.perf_counter()
        validated = row["validation_return"] == row["validation_return"]
        if self.args.quiet or not (validated or now - self.last_print >= 1.0):
            return
        self.last_print = now
        val = f"  validation {row['validation_return']:9.2f}" if validated else ""
        print(
            f"  gen {row['generation']:5d}  steps {row['env_steps']:9d}  return "
            f"mean {row['return_mean']:9.2f} max {row['return_max']:9.2f}{val}"
            f"  ({now - self.t0:.1f} s)",
            flush=True,
        )

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def _summary(args: argparse.Namespace, trainer: Any, reason: dict) -> int:
    """Write the policy files and the plot; print what was saved."""
    from evostrat import rl

    print(f"stopped: {reason}; {trainer.env_steps} training steps")
    if trainer.best is None:
        print("no generation finished; nothing saved")
        return 130
    for label, path, saved in (
        ("best", args.out, trainer.best),
        ("last", args.out_last, trainer.last),
    ):
        if path:
            rl.save_policy(path, saved)
            info = saved.info
            print(
                f"{label} center (generation {int(info['generation'])}): validation "
                f"return {info['validation_mean']:.3f} ± {info['validation_std']:.3f} "
                f"over {int(info['validation_episodes'])} episodes, saved to "
                f"{os.path.abspath(path)}"
            )
    if args.plot:
        from evostrat.rl.curve import plot_curve

        plot_curve(
            args.log, args.plot, f"{trainer.config.env_id}, {trainer.config.strategy}"
        )
        print(f"learning curve drawn to {os.path.abspath(args.plot)}")
    return 130 if "interrupted" in reason else 0


def command(args: argparse.Namespace) -> int:
    """``evostrat train``: check everything, train, save the best validated center."""
    if not args.resume:
        _config(args)  # every training argument, before anything is made
    _check_writable(args)
    evaluator = make_evaluator(args.evaluator, args.processes)
    main = bool(getattr(evaluator, "is_main", True))
    try:
        trainer = _trainer(args, evaluator)
        c = trainer.config
        if main:
            print(
                f"training a {'MLP ' + str(list(c.hidden)) if c.hidden else 'linear'} "
                f"policy ({trainer.policy.num_params} weights) on {c.env_id} with "
                f"{c.strategy}, popsize {trainer.strategy.popsize}, generations "
                f"{trainer.generation + 1}..{c.generations}",
                flush=True,
            )
        reporter = _Reporter(args, trainer, main)
        try:
            reason = trainer.run(reporter)
        finally:
            reporter.close()
    finally:
        close_evaluator(evaluator)
    return _summary(args, trainer, reason) if main else 0
