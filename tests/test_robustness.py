"""Issue 9's robustness points: every bad argument is refused by name and changes
nothing, ``tell`` is transactional under interruption, copies are independent, a
diverging step size stops the run and samples stay finite."""

from __future__ import annotations

import copy
import decimal
import math
import pickle
import sys

import numpy as np
import pytest

import evostrat
from evostrat.strategies import REGISTRY, get_strategy
from tests.oneplusone import OnePlusOneES

CMAES, SNES, XNES = evostrat.CMAES, evostrat.SNES, evostrat.XNES


@pytest.mark.parametrize(
    ("build", "error", "name"),
    [
        (lambda: CMAES([1, 2], 0.5, maximize="False"), TypeError, "maximize"),
        (lambda: CMAES([1, 2], 0.5, active=2), TypeError, "active"),
        (lambda: CMAES([1, 2], 0.5, noeffectaxis=1), TypeError, "noeffectaxis"),
        (lambda: CMAES([1, 2], 0.5, noeffectcoord="yes"), TypeError, "noeffectcoord"),
        (lambda: CMAES([1, 2], 0.5, conditioncov="1e3"), TypeError, "conditioncov"),
        (lambda: CMAES(b"1", 0.5), ValueError, "x0"),
        (lambda: CMAES(True, 0.5), ValueError, "x0"),
        (lambda: CMAES([decimal.Decimal(1), 2], 0.5), ValueError, "x0"),
        (lambda: SNES([10**400, 0], 1.0), ValueError, "x0"),
        (
            lambda: CMAES([1, 2], 0.5, tolflatfitness=math.inf),
            TypeError,
            "tolflatfitness",
        ),
        (lambda: CMAES([1, 2], 0.5, tolfun=10**400), ValueError, "tolfun"),
        (lambda: CMAES([1, 2], 0.5, popsize=10**12), ValueError, "GiB"),
        (lambda: XNES(np.zeros(3), 0.5, popsize=10**11), ValueError, "GiB"),
        (lambda: CMAES([1, 2], "0.5"), ValueError, "sigma0"),
    ],
)
def test_bad_constructor_arguments_are_named(build, error, name):
    with pytest.raises(error, match=name):
        build()


@pytest.mark.parametrize(
    "bad", [[True, 0.5, 1.0, 2.0], [10**400, 0, 0, 0], np.array([True, False] * 2)]
)
def test_bad_fitness_is_refused_and_changes_nothing(bad):
    opt = CMAES([1.0, 2.0, 3.0], 0.5, popsize=4, seed=1)
    X = opt.ask()
    before = pickle.dumps(opt)
    with pytest.raises(ValueError, match="index 0|bool"):
        opt.tell(bad)
    assert pickle.dumps(opt) == before
    opt.tell([float(x @ x) for x in X])  # a corrected tell still works
    assert opt.generation == 1


class Interrupt(BaseException):
    """Raised by the tracer inside ``tell`` (like KeyboardInterrupt)."""


def _tell_interrupted_at(opt, fitness, k):
    """``opt.tell(fitness)`` with an Interrupt at the k-th line executed inside it;
    True if the interrupt happened."""
    count = [0]

    def tracer(frame, event, arg):
        if "/evostrat/" not in frame.f_code.co_filename:
            return None  # the library's own lines only (not numba's dispatcher)
        if event == "line":
            count[0] += 1
            if count[0] == k:
                raise Interrupt
        return tracer

    sys.settrace(tracer)
    try:
        opt.tell(fitness)
    except Interrupt:
        return True
    finally:
        sys.settrace(None)
    return False


CLASSES = [*(get_strategy(n) for n in REGISTRY), OnePlusOneES]


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dim", [3, 60])
def test_interrupting_tell_anywhere_changes_nothing(cls, dim):
    opt = cls(np.full(dim, 0.5), 0.3, seed=5)
    for _ in range(3):  # past generation 0, where some updates differ
        opt.tell([float(x @ x) for x in opt.ask()])
    fitness = [float(x @ x) for x in opt.ask()]
    reference = copy.deepcopy(opt)
    reference.tell(fitness)
    before = pickle.dumps(opt)
    k = 1
    while _tell_interrupted_at(opt, fitness, k):
        assert pickle.dumps(opt) == before, f"interrupted at line event {k}"
        k += 1
    assert k > 20  # the interrupts reached deep into the update
    # the tell that finally ran equals an uninterrupted one, bit for bit
    assert pickle.dumps(opt) == pickle.dumps(reference)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_copies_are_independent(name):
    opt = get_strategy(name)(np.full(4, 0.5), 0.3, seed=2)
    opt.tell([float(x @ x) for x in opt.ask()])
    twin = copy.copy(opt)
    twin.mean[0] = 99.0
    twin.tell([float(x @ x) for x in twin.ask()])
    assert opt.mean[0] != 99.0 and opt.generation == 1
    assert pickle.dumps(copy.copy(opt)) == pickle.dumps(opt)


def test_diverging_xnes_stops_with_tolupsigma():
    opt = XNES([0.3], 0.5, seed=1)
    res = opt.optimize(lambda x: -float(x @ x))  # unbounded below: sigma grows
    assert "tolupsigma" in res.stop
    assert np.all(np.isfinite(opt.cov)) and np.all(np.isfinite(res.xmean))


@pytest.mark.parametrize("name", ["cmaes", "sepcmaes", "snes", "xnes", "pepg"])
def test_divergence_is_a_stop_criterion_everywhere(name):  # step-size adaptive ones
    opt = get_strategy(name)(np.zeros(3), 1.0, seed=1, tolupsigma=1e3)
    for _ in range(2000):
        if opt.stop():
            break
        X = opt.ask()
        opt.tell([-float(np.sum(np.abs(x))) for x in X])  # rewards running away
    assert opt.stop(), name  # some criterion ends a diverging run


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cmaes", "sepcmaes"])
def test_samples_stay_finite_when_stop_is_ignored(name):
    opt = get_strategy(name)(np.zeros(4), 1.0, seed=3)
    for _ in range(2500):
        X = opt.ask()
        assert np.all(np.isfinite(X))
        opt.tell([float(x @ x) for x in X])


def test_user_strategy_with_fmin_and_restarts():
    res = evostrat.fmin(
        lambda x: float(x @ x), np.full(5, 1.0), 0.5, strategy=OnePlusOneES,
        seed=4, restarts=2, max_evals=3000,
    )  # fmt: skip
    assert res.fbest < 1e-8
    assert all(run.popsize == 1 for run in res.runs)  # IPOP cannot grow it


def test_popsize_one_does_not_stop_on_tolfun_at_once():
    opt = OnePlusOneES(np.full(3, 1.0), 0.5, seed=1)
    opt.tell([float(x @ x) for x in opt.ask()])
    assert "tolfun" not in opt.stop()
