"""The evaluator protocol and what all evaluators share.

An evaluator turns one generation of a strategy into its fitness vector:

    fitness = evaluator.evaluate(strategy, f, vectorized=False)

It asks the strategy for rows (``strategy.ask(indices)``), evaluates them wherever
it likes, and returns one fitness per individual in index order (the user's sense,
not yet validated: ``strategy.tell`` does that). It keeps ``stats``. Any object with
this method and attribute can be passed to ``optimize`` and ``fmin``.

Side results (docs/parallel.md, "Objectives with side results"): an objective may
define ``aux_size`` (k > 0: ``f(x)`` returns ``(fitness, aux)`` with ``aux`` k
floats; vectorized, ``f(X)`` returns ``(fitness (m,), aux (m, k))``),
``get_context()``/``set_context(ctx)`` (small per-generation state shipped to other
processes' copies of ``f``) and ``collect(generation, aux)`` (called once per
generation with the ``(popsize, k)`` matrix in index order). The functions here say
once how every evaluator reads these members.
"""

from __future__ import annotations

import numbers
import traceback
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

from evostrat.evaluators.timer import Alarm, Timeout
from evostrat.result import EvaluationError

#: Rows are asked for and evaluated in blocks of at most this many numbers, so
#: memory stays bounded whatever popsize x dim is.
CHUNK_ELEMENTS = 1 << 20

#: ``(kind, index, text)``: what went wrong where, in a form that pickles and
#: travels between processes. ``kind`` is "eval" (``f`` raised; ``text`` is its
#: traceback), "died", "timeout", or the name of another exception type.
Failure = tuple[str, int, str]


@runtime_checkable
class Evaluator(Protocol):
    """What ``optimize`` and ``fmin`` need of an evaluator."""

    stats: dict[str, Any]

    def evaluate(self, strategy: Any, f: Callable, vectorized: bool = False) -> Any:
        """One fitness per individual of the current generation, in index order."""
        ...


def new_stats() -> dict[str, Any]:
    """A fresh ``stats`` dict (API.md, "Evaluators")."""
    return {"generations": 0, "evaluations": 0, "seconds": 0.0, "bytes_sent": 0}


def check_timeout(timeout: Any) -> float | None:
    """``timeout`` (seconds per individual, or None for none) checked."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
    seconds = float(timeout)
    if not 0.0 < seconds < float("inf"):
        raise ValueError(f"timeout must be positive and finite, got {timeout!r}")
    return seconds


def mark_asked(strategy: Any) -> None:
    """Let ``strategy.tell`` follow although this process may rebuild no row.

    ``tell`` refuses to run before ``ask`` in a generation; a process that
    evaluated nothing this generation (a rank or driver of a dynamic schedule)
    asks for no row at all, which costs nothing.
    """
    strategy.ask(np.empty(0, dtype=np.int64))


def chunks(indices: np.ndarray, dim: int) -> Iterator[np.ndarray]:
    """Split ``indices`` into blocks of at most ``CHUNK_ELEMENTS // dim`` rows."""
    rows = max(1, CHUNK_ELEMENTS // max(1, dim))
    for start in range(0, len(indices), rows):
        yield indices[start : start + rows]


# ------------------------------------------------------------- side results
def aux_size(f: Any) -> int:
    """The number k of side results per individual ``f`` declares (0: none)."""
    value = getattr(f, "aux_size", 0)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"objective's aux_size must be an integer, got {value!r}")
    k = int(value)
    if k < 0:
        raise ValueError(f"objective's aux_size must be >= 0, got {k}")
    if k > 0 and not callable(getattr(f, "collect", None)):
        raise TypeError(
            f"objective declares aux_size={k} but has no collect(generation, aux) "
            "method to receive the side results"
        )
    return k


def get_context(f: Any) -> Any:
    """``f.get_context()`` if ``f`` defines it, else None (nothing to ship)."""
    method = getattr(f, "get_context", None)
    return method() if callable(method) else None


def set_context(f: Any, context: Any) -> None:
    """Give another process's copy of ``f`` the generation's context."""
    if context is not None:
        f.set_context(context)


def collect(f: Any, generation: int, aux: np.ndarray) -> None:
    """Hand ``f`` the generation's ``(popsize, k)`` side results (index order)."""
    if aux.shape[1] > 0:
        f.collect(generation, aux)


def split_result(value: Any, k: int, m: int | None) -> tuple[Any, np.ndarray]:
    """``(fitness, aux)`` from what ``f`` returned.

    ``m`` is the number of rows of a vectorized call (None: one row). With ``k == 0``
    ``value`` is the fitness itself and ``aux`` is empty; otherwise ``value`` must
    be a pair whose ``aux`` has shape ``(k,)`` (vectorized: ``(m, k)``).
    """
    shape = (k,) if m is None else (m, k)
    if k == 0:
        return value, np.empty(shape)
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(
            f"objective declares aux_size={k}, so it must return a pair "
            f"(fitness, aux); got {type(value).__name__}"
        )
    aux = np.asarray(value[1], dtype=np.float64)
    if aux.shape != shape:
        raise ValueError(f"objective's aux has shape {aux.shape}; expected {shape}")
    return value[0], aux


def evaluate_rows(
    f: Callable,
    X: np.ndarray,
    indices: np.ndarray,
    generation: int,
    vectorized: bool,
    k: int = 0,
    on_row: Callable[[int], None] | None = None,
) -> tuple[list, np.ndarray]:
    """Evaluate the rows ``X`` (individuals ``indices``): fitness list and aux.

    ``k`` is ``aux_size(f)``; the aux matrix has shape ``(len(indices), k)``.
    ``on_row(i)`` is called before individual ``i`` (vectorized: before the block,
    with its first index) is evaluated. An exception in ``f`` becomes an
    :class:`~evostrat.EvaluationError` naming the individual.
    """
    if vectorized:
        if on_row is not None:
            on_row(int(indices[0]))
        try:
            raw = f(X)
        except Exception:
            raise EvaluationError(
                generation, int(indices[0]), traceback.format_exc()
            ) from None
        fit, aux = split_result(raw, k, len(indices))
        values = np.asarray(fit)
        if values.shape != (len(indices),):
            raise ValueError(
                f"vectorized objective returned shape {values.shape} for "
                f"{len(indices)} rows; expected ({len(indices)},)"
            )
        return values.tolist(), aux
    out = []
    aux = np.empty((len(indices), k))
    for row, (i, x) in enumerate(zip(indices, X, strict=True)):
        if on_row is not None:
            on_row(int(i))
        try:
            value = f(x)
        except Exception:
            raise EvaluationError(generation, int(i), traceback.format_exc()) from None
        fit, aux[row] = split_result(value, k, None)
        out.append(fit)
    return out, aux


def check_real(values: list, indices: np.ndarray) -> None:
    """Raise ValueError naming the first value that is not a real number."""
    for i, value in zip(indices, values, strict=True):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"fitness value at index {int(i)} is not a real number: {value!r}"
            )


def evaluate_share(
    strategy: Any,
    f: Callable,
    indices: np.ndarray,
    vectorized: bool,
    k: int,
    timeout: float | None,
    between: Callable[[], object] | None = None,
) -> tuple[np.ndarray, np.ndarray, Failure | None]:
    """Fitness, aux of ``indices`` (this rank's share), and the failure if any.

    ``between()`` runs before each individual with the timeout alarm paused (the
    dynamic schedule's rank 0 serves the other ranks there).
    """
    fitness = np.full(len(indices), np.nan)
    aux = np.full((len(indices), k), np.nan)
    alarm, pos = Alarm(timeout), 0

    def on_row(i: int) -> None:
        if between is not None:
            alarm.pause()
            between()
        alarm(i)

    try:
        with alarm:
            for idx in chunks(indices, strategy.dim):
                X = strategy.ask(idx)
                values, block = evaluate_rows(
                    f, X, idx, strategy.generation, vectorized, k, on_row
                )
                check_real(values, idx)
                fitness[pos : pos + len(values)] = values
                aux[pos : pos + len(values)] = block
                pos += len(values)
    except Timeout:
        return fitness, aux, alarm.failure()
    except Exception as err:
        return fitness, aux, failure_of(err, alarm.index)
    return fitness, aux, None


# ------------------------------------------------------------------ failures
def failure_of(err: BaseException, index: int) -> Failure:
    """What an exception raised while evaluating (from individual ``index`` on) was."""
    if isinstance(err, EvaluationError):
        return ("eval", err.index, err.cause)
    return (type(err).__name__, int(index), str(err) or traceback.format_exc())


def raise_failure(generation: int, failure: Failure) -> None:
    """Raise the exception ``failure`` describes, the same in every evaluator.

    ``f`` raising, a worker dying and a timeout give
    :class:`~evostrat.EvaluationError`; a ValueError (a non-real fitness, a wrong
    vectorized shape or aux) stays a ValueError.
    """
    kind, index, text = failure
    if kind in ("eval", "died", "timeout"):
        raise EvaluationError(generation, index, text)
    if kind == "ValueError":
        raise ValueError(text)
    raise EvaluationError(generation, index, f"{kind}: {text}")


def is_main_process(evaluator: Any) -> bool:
    """Whether this process should print and log (rank 0 under MPI)."""
    return bool(getattr(evaluator, "is_main", True))


def agreed(evaluator: Any, stop: bool) -> bool:
    """``stop`` made collective: under MPI, whether any rank wants to stop
    (``evaluator.agree``); elsewhere ``stop`` itself."""
    agree = getattr(evaluator, "agree", None)
    return bool(agree(stop)) if agree is not None else stop
