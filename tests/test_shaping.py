"""Tests for evostrat.kernels.shaping against plain-numpy versions of each kernel."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evostrat.kernels import shaping as S

# ------------------------------------------------------------ numpy references


def ref_argsort(f):
    f = np.asarray(f, dtype=float)
    return np.argsort(np.where(np.isnan(f), np.inf, f), kind="stable")


def ref_ranks(f):
    order = ref_argsort(f)
    r = np.empty(len(f), dtype=np.int64)
    r[order] = np.arange(len(f))
    return r


def ref_centered(f):
    n = len(f)
    if n == 1:
        return np.zeros(1)
    return 0.5 - ref_ranks(f) / (n - 1)


def ref_nes(popsize):
    k = np.arange(1, popsize + 1)
    u = np.maximum(0.0, np.log(popsize / 2 + 1) - np.log(k))
    return u / u.sum() - 1.0 / popsize


def ref_zscores(f):
    f = np.asarray(f, dtype=float)
    finite = np.isfinite(f)
    if not finite.any():
        return np.zeros(len(f))
    lo, hi = f[finite].min(), f[finite].max()
    g = np.clip(np.where(np.isnan(f), hi, f), lo, hi)
    if lo == hi:
        return np.zeros(len(f))
    with np.errstate(over="ignore"):
        span = hi - lo
    if np.isfinite(span):
        g = (g - lo) / span
    else:
        g = (g / 2 - lo / 2) / (hi / 2 - lo / 2)
    return (g - g.mean()) / g.std()


# ------------------------------------------------------------ fitness vectors


def special_vectors():
    rng = np.random.default_rng(0)
    yield np.array([1.0])
    yield np.array([np.inf])
    yield np.array([-np.inf, np.inf])
    yield np.array([3.0, 3.0, 3.0, 3.0])  # constant
    yield np.array([np.inf, np.inf, np.inf])
    yield np.array([np.nan, 1.0, np.nan, -1.0])
    yield np.array([2.0, np.inf, -np.inf, 2.0, np.nan, 1.0, np.inf, -np.inf])
    yield np.array([1e308, -1e308, 1.7e308, 0.0])  # near overflow
    yield np.array([5e-324, 0.0, 1e-320])  # subnormals
    yield np.array([1.0, np.nextafter(1.0, 2.0), 1.0])  # one ulp apart
    yield np.array([1e6, 1e6 + 1e-9, 1e6 + 2e-9, 1e6 + 3e-9])
    for n in (2, 3, 7, 50, 257):
        yield rng.normal(size=n)
        yield rng.integers(0, 3, size=n).astype(float)  # many ties
        f = rng.normal(size=n) * 10.0 ** rng.integers(-5, 5, size=n)
        f[rng.random(n) < 0.2] = np.inf
        f[rng.random(n) < 0.1] = -np.inf
        yield f


SPECIAL = list(special_vectors())


@pytest.mark.parametrize("f", SPECIAL, ids=lambda f: f"n{len(f)}")
def test_order_and_ranks_match_numpy(f):
    order = S.argsort(f)
    np.testing.assert_array_equal(order, ref_argsort(f))
    r = S.ranks(f)
    assert r.dtype == np.int64
    np.testing.assert_array_equal(r, ref_ranks(f))
    np.testing.assert_array_equal(np.sort(r), np.arange(len(f)))
    np.testing.assert_array_equal(r[order], np.arange(len(f)))


@pytest.mark.parametrize("f", SPECIAL, ids=lambda f: f"n{len(f)}")
def test_centered_rank_utilities_match_numpy(f):
    u = S.centered_rank_utilities(f)
    np.testing.assert_allclose(u, ref_centered(f), rtol=0, atol=1e-15)
    assert np.all(np.isfinite(u))
    assert abs(u.sum()) < 1e-12
    if len(f) > 1:
        best = ref_argsort(f)[0]
        worst = ref_argsort(f)[-1]
        assert u[best] == 0.5 and u[worst] == -0.5


@pytest.mark.parametrize("f", SPECIAL, ids=lambda f: f"n{len(f)}")
def test_zscores_match_numpy(f):
    z = S.zscores(f)
    assert z.shape == f.shape and z.dtype == np.float64
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z, ref_zscores(f), rtol=1e-12, atol=1e-12)
    if np.any(z != 0):
        assert abs(z.mean()) < 1e-12
        assert z.std() == pytest.approx(1.0, rel=1e-12)


def test_zscores_degenerate_cases_are_zero():
    for f in (
        np.array([]),
        np.array([4.0]),
        np.array([np.nan]),
        np.array([-np.inf]),
        np.full(5, 2.5),
        np.array([np.inf, -np.inf, np.nan]),
        np.array([1.0, np.inf, 1.0, -np.inf]),  # constant after clipping
        np.array([0.1, 0.1, 0.1]),  # mean is not exactly 0.1 in floating point
    ):
        np.testing.assert_array_equal(S.zscores(f), np.zeros(len(f)))


def test_zscores_policy_for_infinities():
    z = S.zscores(np.array([0.0, 1.0, np.inf, -np.inf, np.nan]))
    assert z[2] == z[1] == z[4]  # +inf and NaN tie with the worst finite value
    assert z[3] == z[0]  # -inf ties with the best finite value
    assert z[0] < 0 < z[1]  # sign of the fitness is kept


def test_empty_vectors():
    e = np.array([])
    assert S.argsort(e).shape == (0,)
    assert S.ranks(e).shape == (0,)
    assert S.centered_rank_utilities(e).shape == (0,)


@pytest.mark.parametrize("popsize", [1, 2, 3, 4, 5, 10, 11, 100, 1000])
def test_nes_utilities_match_numpy(popsize):
    u = S.nes_utilities(popsize)
    assert u.shape == (popsize,)
    np.testing.assert_allclose(u, ref_nes(popsize), rtol=1e-13, atol=1e-15)
    assert abs(u.sum()) < 1e-12
    assert np.all(np.diff(u) <= 0)
    if popsize > 1:
        assert u[0] > 0 > u[-1]


def test_nes_utilities_reject_bad_popsize():
    with pytest.raises(ValueError, match="popsize"):
        S.nes_utilities(0)


# ------------------------------------------------------------ properties

fitness_vectors = arrays(
    np.float64,
    st.integers(1, 40),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.sampled_from([0.0, 1.0, -1.0, np.inf, -np.inf]),  # force ties
)


def key(f):
    return np.where(np.isnan(f), np.inf, f)


@settings(max_examples=300, deadline=None)
@given(fitness_vectors)
def test_shaping_properties(f):
    n = len(f)
    k = key(f)
    r = S.ranks(f)
    np.testing.assert_array_equal(np.sort(r), np.arange(n))
    np.testing.assert_array_equal(r, ref_ranks(f))
    u = S.centered_rank_utilities(f)
    z = S.zscores(f)
    assert np.all(np.isfinite(u)) and np.all(np.isfinite(z))
    assert np.all(np.abs(u) <= 0.5)
    assert abs(u.sum()) < 1e-12
    assert abs(z.sum()) < 1e-9 * max(1, n)
    # monotonicity: strictly better fitness -> better rank, larger utility,
    # smaller (or equal) z-score; equal fitness -> ordered by index
    for i in range(n):
        for j in range(n):
            if k[i] < k[j] or (k[i] == k[j] and i < j):
                assert r[i] < r[j]
                assert u[i] > u[j]
            if k[i] <= k[j]:
                assert z[i] <= z[j]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 500))
def test_utility_properties(popsize):
    u = S.nes_utilities(popsize)
    assert np.all(np.isfinite(u))
    assert abs(u.sum()) < 1e-12
    assert np.all(np.diff(u) <= 0)
