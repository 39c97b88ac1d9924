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


def ref_log_rank_weights(popsize, mu=None):
    mu = max(1, popsize // 2) if mu is None else mu
    if mu == 1:
        return np.ones(1)
    w = np.log((popsize + 1) / 2) - np.log(np.arange(1, mu + 1))
    return w / w.sum()


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


def ref_recombination(X, order, w):
    return w @ X[order[: len(w)]]


def ref_rank_mu(Y, order, w):
    Ys = Y[order[: len(w)]]
    return (Ys.T * w) @ Ys


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


@pytest.mark.parametrize("popsize", [1, 2, 3, 4, 5, 6, 10, 11, 17, 100, 1001])
def test_log_rank_weights_match_numpy(popsize):
    w = S.log_rank_weights(popsize)
    assert w.shape == (max(1, popsize // 2),)
    np.testing.assert_allclose(w, ref_log_rank_weights(popsize), rtol=1e-13)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all(w > 0)
    assert np.all(np.diff(w) < 0)
    for mu in range(1, (popsize + 1) // 2 + 1):
        w = S.log_rank_weights(popsize, mu)
        assert w.shape == (mu,)
        np.testing.assert_allclose(w, ref_log_rank_weights(popsize, mu), rtol=1e-13)
        assert w.sum() == pytest.approx(1.0, abs=1e-14)
        assert np.all(w >= 0) and np.all(w[:-1] > 0)
        assert np.all(np.diff(w) <= 0)


@pytest.mark.parametrize("popsize", [2, 5, 6, 10, 13, 64])
def test_log_rank_weights_equal_pycma(popsize):
    cma_rw = pytest.importorskip("cma.recombination_weights")
    rw = cma_rw.RecombinationWeights(popsize)
    np.testing.assert_allclose(
        S.log_rank_weights(popsize), rw.positive_weights, rtol=1e-12
    )
    assert S.mueff(S.log_rank_weights(popsize)) == pytest.approx(rw.mueff, rel=1e-12)


def test_log_rank_weights_reject_bad_arguments():
    with pytest.raises(ValueError, match="popsize"):
        S.log_rank_weights(0)
    for popsize, mu in ((10, 0), (10, 6), (11, 7), (2, 2), (1, 2)):
        with pytest.raises(ValueError, match="mu"):
            S.log_rank_weights(popsize, mu)
    np.testing.assert_array_equal(S.log_rank_weights(11, 6)[-1], 0.0)


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


def test_mueff():
    assert S.mueff(np.full(4, 0.25)) == pytest.approx(4.0)
    assert S.mueff(np.array([1.0])) == 1.0
    assert S.mueff(np.zeros(3)) == 0.0


@pytest.mark.parametrize(("popsize", "dim"), [(1, 1), (6, 3), (10, 1), (23, 40)])
def test_recombination_and_covariance_updates_match_numpy(popsize, dim):
    rng = np.random.default_rng(popsize * 100 + dim)
    X = rng.normal(size=(popsize, dim))
    f = rng.integers(0, 4, size=popsize).astype(float)  # with ties
    order = S.argsort(f)
    for w in (
        S.log_rank_weights(popsize),
        S.nes_utilities(popsize),  # negative weights too
        rng.normal(size=popsize),
    ):
        m = S.weighted_recombination(X, order, w)
        assert m.shape == (dim,)
        np.testing.assert_allclose(m, ref_recombination(X, order, w), atol=1e-13)
        C = S.rank_mu_update(X, order, w)
        assert C.shape == (dim, dim)
        np.testing.assert_array_equal(C, C.T)
        np.testing.assert_allclose(C, ref_rank_mu(X, order, w), atol=1e-12)
    p = rng.normal(size=dim)
    P = S.rank_one_update(p)
    np.testing.assert_array_equal(P, np.outer(p, p))
    np.testing.assert_array_equal(P, P.T)


def test_recombination_uses_only_the_first_mu_indices():
    X = np.arange(12.0).reshape(4, 3)
    order = np.array([3, 1, 0, 2])
    np.testing.assert_array_equal(
        S.weighted_recombination(X, order, np.array([0.75, 0.25])),
        0.75 * X[3] + 0.25 * X[1],
    )
    np.testing.assert_array_equal(
        S.rank_mu_update(X, order, np.array([1.0])), np.outer(X[3], X[3])
    )


def test_recombination_rejects_bad_order():
    X = np.zeros((4, 2))
    w = np.array([0.5, 0.5])
    for order in (np.array([0]), np.array([0, 4]), np.array([-1, 0])):
        with pytest.raises(ValueError):
            S.weighted_recombination(X, order, w)
        with pytest.raises(ValueError):
            S.rank_mu_update(X, order, w)


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
@given(st.integers(1, 500), st.data())
def test_weight_properties(popsize, data):
    mu = data.draw(st.none() | st.integers(1, (popsize + 1) // 2), label="mu")
    w = S.log_rank_weights(popsize, mu)
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-13)
    assert np.all(np.diff(w) <= 0)
    assert 1.0 <= S.mueff(w) <= len(w) * (1 + 1e-12)
    u = S.nes_utilities(popsize)
    assert np.all(np.isfinite(u))
    assert abs(u.sum()) < 1e-12
    assert np.all(np.diff(u) <= 0)
