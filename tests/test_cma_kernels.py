"""CMA-ES kernels and large-n paths: QL and LAPACK eigendecompositions, ranking,
BLAS sampling, the covariance terms kept between decompositions."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from evostrat import functions as F
from evostrat.strategies.cma.cmaes import CMAES


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 32])
def test_ql_eigh_matches_lapack(n):
    from evostrat.kernels.cma_eigen import ql_eigh

    r = np.random.default_rng(n)
    for cond in (0.0, 6.0, 14.0):
        M = r.standard_normal((n, n))
        C = M @ M.T + np.diag(np.logspace(0, cond, n))
        ev, B, ok = ql_eigh(C)
        ref = np.linalg.eigvalsh(C)
        assert ok and np.all(np.diff(ev) >= 0)
        np.testing.assert_allclose(ev, ref, rtol=0, atol=1e-14 * ref.max())
        np.testing.assert_allclose(B.T @ B, np.eye(n), atol=1e-14)
        np.testing.assert_allclose(B @ np.diag(ev) @ B.T, C, atol=1e-14 * ref.max())
    ev, B, ok = ql_eigh(np.eye(n))  # already diagonal, repeated eigenvalues
    assert ok and np.array_equal(ev, np.ones(n)) and np.array_equal(B, np.eye(n))


@pytest.mark.parametrize("n", [1, 3, 10, 40])
def test_eigen_decompose_floors_and_matches_lapack(n):
    from evostrat.kernels.cma_eigen import eigen_decompose, set_decomposition

    r = np.random.default_rng(n)
    M = r.standard_normal((n, n))
    C = M @ M.T + np.diag(np.logspace(0, 6, n))
    vecs, mats = np.zeros((3, n)), np.zeros((3, n, n))
    mats[0] = C + 1e-9 * np.triu(M)  # not exactly symmetric: symmetrized first
    assert eigen_decompose(vecs, mats, 1e16)
    ref = np.linalg.eigvalsh(C)
    np.testing.assert_allclose(vecs[2], ref, rtol=0, atol=1e-8 * ref.max())
    B, BDT = mats[1], mats[2]
    assert np.array_equal(mats[0], mats[0].T)
    np.testing.assert_allclose(B.T @ B, np.eye(n), atol=1e-13)
    np.testing.assert_allclose(BDT, (B * np.sqrt(vecs[2])).T, rtol=1e-15)
    np.testing.assert_allclose(BDT.T @ BDT, C, rtol=0, atol=1e-8 * ref.max())
    # eigenvalues below max / max_condition are raised, C rebuilt from them
    ev = np.array([-1.0] + [1e-12] * (n > 2) * (n - 2) + [4.0] * (n > 1))[:n]
    ev = np.sort(np.abs(ev) if n == 1 else ev)
    Q = np.linalg.qr(M)[0]
    mats[0], mats[1] = (Q * ev) @ Q.T, Q
    set_decomposition(ev.copy(), vecs, mats, 1e6)
    floor = ev[-1] / 1e6
    np.testing.assert_allclose(vecs[2], np.maximum(ev, floor), rtol=1e-15)
    if n > 1:
        np.testing.assert_allclose(
            mats[0], (Q * np.maximum(ev, floor)) @ Q.T, atol=1e-14
        )
        assert np.array_equal(mats[0], mats[0].T)


def test_stable_order_equals_numpy_stable_argsort():
    from evostrat.kernels.cma import stable_order

    r = np.random.default_rng(5)
    for lam in (1, 2, 3, 7, 16, 33, 100):
        for f in (r.standard_normal(lam), r.integers(0, 3, lam).astype(float)):
            f[r.random(lam) < 0.2] = np.inf
            np.testing.assert_array_equal(stable_order(f), np.argsort(f, kind="stable"))


def test_one_thread_eigh_equals_numpy():
    from evostrat.strategies.cma import linalg as cma_linalg

    r = np.random.default_rng(0)
    M = r.standard_normal((80, 80))
    C = M @ M.T
    ev, B = cma_linalg.eigh(C)
    ref_ev, ref_B = np.linalg.eigh(C)
    np.testing.assert_allclose(ev, ref_ev, rtol=1e-12)
    np.testing.assert_allclose(np.abs(B.T @ ref_B), np.eye(80), atol=1e-8)
    if cma_linalg._thread_setter() is not None:  # the count is restored afterwards
        setter = cma_linalg._thread_setter()
        before = setter(1)
        setter(before)
        assert setter(before) == before


def test_blas_sampling_subsets_are_rows_of_the_population():
    n = 60  # above BLAS_DIM: the population is one matrix product
    opt = CMAES(np.ones(n), 0.5, seed=3)
    for _ in range(3):
        opt.tell(F.sphere(opt.ask()))
    full = opt.ask()
    fresh = pickle.loads(pickle.dumps(opt))
    perm = np.arange(opt.popsize)[::-1]
    np.testing.assert_array_equal(fresh.ask(perm), full[perm])
    np.testing.assert_array_equal(fresh.ask([4, 4, 0]), full[[4, 4, 0]])
    fresh.tell(F.sphere(full))  # uses the cached population
    opt.tell(F.sphere(full))
    np.testing.assert_array_equal(fresh.mean, opt.mean)


def test_large_n_pending_terms_equal_the_direct_update():
    n = 200  # above BLAS_DIM: C is formed from the kept terms when decomposed
    opt = CMAES(np.ones(n), 0.5, seed=4)
    direct = pickle.loads(pickle.dumps(opt))
    direct._U, direct._ucoef = np.empty((0, n)), np.zeros(0)  # update C every tell
    gap = math.ceil(opt.lazy_gap)
    assert gap > 2
    for _ in range(gap):  # until the first decomposition (then B may differ)
        X = opt.ask()
        np.testing.assert_array_equal(direct.ask(), X)
        opt.tell(F.ellipsoid(X))
        direct.tell(F.ellipsoid(X))
        assert (opt._pending > 0) == (opt.generation % gap != 0)
        C = opt.cov
        np.testing.assert_allclose(C, direct.cov, rtol=1e-9, atol=1e-13)
        assert np.array_equal(C, C.T)
        np.testing.assert_allclose(opt._diag_cov(), np.diag(C), rtol=1e-12)
    np.testing.assert_allclose(
        (opt.B * opt.eigenvalues) @ opt.B.T, opt.cov, rtol=0, atol=1e-12
    )
    # pickled with pending terms: continues bit-identically
    opt.tell(F.ellipsoid(opt.ask()))
    assert opt._pending
    clone = pickle.loads(pickle.dumps(opt))
    for o in (opt, clone):
        for _ in range(5):
            o.tell(F.ellipsoid(o.ask()))
    np.testing.assert_array_equal(opt.cov, clone.cov)
    np.testing.assert_array_equal(opt.ask(), clone.ask())


def test_pending_terms_are_formed_when_the_buffer_is_full():
    n = 60  # lazy gap < 1: room for the terms of two generations
    opt = CMAES(np.ones(n), 0.5, seed=8)
    direct = pickle.loads(pickle.dumps(opt))
    direct._U, direct._ucoef = np.empty((0, n)), np.zeros(0)
    for o in (opt, direct):
        o.lazy_gap = math.inf  # never decomposed: both sample with B = I
    assert opt._U.shape[0] == 2 * (opt.popsize + 1)
    for g in range(9):
        X = opt.ask()
        np.testing.assert_array_equal(direct.ask(), X)
        opt.tell(F.rosenbrock(X))
        direct.tell(F.rosenbrock(X))
        assert opt._pending == (g % 2 + 1) * (opt.popsize + 1)
        np.testing.assert_allclose(opt.cov, direct.cov, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(opt._diag_cov(), np.diag(direct.cov), rtol=1e-12)
        assert opt.sigma == pytest.approx(direct.sigma, rel=1e-12)
