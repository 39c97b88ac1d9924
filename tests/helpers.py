"""Shared pieces of the strategy tests: fitness generators, reference utilities
written in plain numpy, and side-by-side runs that must stay bit-identical."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: finite and infinite fitness values of moderate and huge size (NES tests)
FITNESS = st.one_of(
    st.floats(-1e6, 1e6),
    st.sampled_from([0.0, 1.0, -1.0, math.inf, -math.inf, 1e300, -1e300]),
)
#: any non-NaN float, and the extremes of the float64 range (OpenES/PEPG tests)
EXTREME_FITNESS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=True),
    st.sampled_from([0.0, 1e308, -1e308, 5e-324, math.inf, -math.inf]),
)
HYPO = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
#: the optimizer options under which one step is ``mean - learning_rate * grad``
PLAIN_SGD = {"optimizer": "sgd", "momentum": 0.0}


def reference_nes_utilities(f):
    """NES utilities (Wierstra et al. 2014, section 3.1) per individual, ties
    averaged, by plain numpy."""
    lam = len(f)
    k = np.arange(1, lam + 1)
    raw = np.maximum(0.0, math.log(lam / 2 + 1) - np.log(k))
    by_rank = raw / raw.sum() - 1.0 / lam
    u = np.empty(lam)
    for value in np.unique(f):
        tied = np.flatnonzero(f == value)
        first = int(np.sum(f < value))
        u[tied] = by_rank[first : first + len(tied)].mean()
    return u


def centered_ranks_min(f):
    """Centered ranks of a minimized fitness, best +0.5 (Salimans et al. 2017)."""
    ranks = np.empty(len(f))
    ranks[np.argsort(f, kind="stable")] = np.arange(len(f))
    return 0.5 - ranks / (len(f) - 1)


def assert_same_state(a, b, attrs: Sequence[str], bitwise: bool = True) -> None:
    """``a.<attr>`` and ``b.<attr>`` equal for every name in ``attrs``: bit for bit,
    or (``bitwise=False``) as numbers, so that ``-0.0 == 0.0``."""
    for name in attrs:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        if bitwise:
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


def assert_clone_continues(
    opt, f: Callable, generations: int, attrs: Sequence[str]
) -> None:
    """Pickle ``opt`` now; the clone and ``opt`` then ask the same populations for
    ``generations`` generations and end in the same state (``attrs``)."""
    clone = pickle.loads(pickle.dumps(opt))
    for _ in range(generations):
        X, Y = opt.ask(), clone.ask()
        np.testing.assert_array_equal(X, Y)
        opt.tell(f(X))
        clone.tell(f(Y))
    assert_same_state(opt, clone, attrs)


def assert_clone_mid_pair_continues(
    opt, row: int, partner: int, f: Callable, generations: int
) -> None:
    """Ask row ``row`` alone (a mirrored strategy's pair cache now holds its noise)
    and pickle: the clone gives the same ``partner`` and ``row``, and after
    ``generations`` more generations both hold the same state and population."""
    first = opt.ask([row])
    clone = pickle.loads(pickle.dumps(opt))
    assert np.array_equal(clone.ask([partner]), opt.ask([partner]))
    assert np.array_equal(clone.ask([row]), first)
    for o in (opt, clone):
        for _ in range(generations):
            o.tell(f(o.ask()))
    assert_same_state(clone, opt, ("mean", "sigma", "learning_rate"))
    assert clone.ask().tobytes() == opt.ask().tobytes()


def assert_maximize_mirrors(
    make: Callable,
    reward: Callable[[np.ndarray, int], Sequence[float]],
    generations: int,
    attrs: Sequence[str],
    bitwise: bool = False,
) -> None:
    """``make(maximize=True)`` told ``reward(X, g)`` and ``make()`` told its
    negatives ask the same populations and stay in the same state (``attrs``, see
    :func:`assert_same_state`) generation after generation."""
    up, down = make(maximize=True), make()
    for g in range(generations):
        X = up.ask()
        assert X.tobytes() == down.ask().tobytes()
        r = reward(X, g)
        up.tell(r)
        down.tell([-v for v in r])
        assert_same_state(up, down, attrs, bitwise)
    assert up.result.fbest == -down.result.fbest
