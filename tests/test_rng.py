"""Tests of the counter-based random streams (evostrat.kernels.rng)."""

import numpy as np
import pytest
from scipy import stats

from evostrat.kernels import rng

# below 2**63, so it can be passed to the compiled functions as a plain int
KEY = rng.derive_key(20240601) % 2**63
U32 = np.uint32

# Philox4x32-10 known answers from the kat_vectors file of the Random123
# distribution (D. E. Shaw Research): counter (4 words), key (2 words), output.
KAT = [
    (
        (0x00000000, 0x00000000, 0x00000000, 0x00000000),
        (0x00000000, 0x00000000),
        (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8),
    ),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr, key, expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    out = rng._philox(U32(key[0]), U32(key[1]), *(U32(c) for c in ctr))
    assert tuple(int(o) for o in out) == expected


def test_stream_words_are_philox_blocks():
    """Uniform ``j`` is word ``j`` of the documented counter layout, >> 11."""
    key, g, i, stream = (0xA4093822 << 32) | 0x299F31D0, (5 << 32) | 77, 3, 1
    u = rng.uniform_rows(np.uint64(key), g, np.array([i]), 6, stream)[0]
    words = []
    for block in range(3):
        o = rng._philox(
            U32(key & 0xFFFFFFFF),
            U32(key >> 32),
            U32(block),
            U32(i),
            U32(g & 0xFFFFFFFF),
            U32((stream << 16) | (g >> 32)),
        )
        o = [int(x) for x in o]
        words += [o[0] | o[1] << 32, o[2] | o[3] << 32]
    np.testing.assert_array_equal(u, [(w >> 11) * 2.0**-53 for w in words])


def test_derive_key():
    k = rng.derive_key(1)
    assert 0 <= k < 2**64
    assert k == rng.derive_key(1)
    assert len({k, rng.derive_key(2), rng.derive_key(1, 1), rng.derive_key(1, 2)}) == 4


def test_deterministic():
    idx = np.arange(8)
    a = rng.sample_normal(KEY, 3, idx, 50)
    b = rng.sample_normal(KEY, 3, idx, 50)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 50) and a.dtype == np.float64


def test_rows_independent_of_other_rows():
    full = rng.normal_rows(KEY, 4, np.arange(10), 33, rng.STREAM_NORMAL)
    some = np.array([7, 2, 9])
    np.testing.assert_array_equal(
        rng.normal_rows(KEY, 4, some, 33, rng.STREAM_NORMAL), full[some]
    )
    for i in (0, 5):
        row = np.empty(33)
        rng.fill_normal(KEY, 4, i, rng.STREAM_NORMAL, row)
        np.testing.assert_array_equal(row, full[i])
    uni = rng.uniform_rows(KEY, 4, np.arange(10), 33, rng.STREAM_AUX)
    np.testing.assert_array_equal(
        rng.uniform_rows(KEY, 4, some, 33, rng.STREAM_AUX), uni[some]
    )


@pytest.mark.parametrize("dim", [1, 7, 16, 255, 256, 257, 1000, 5000])
def test_row_prefix_independent_of_length(dim):
    """Buffer refills never change the stream: a shorter row is a prefix."""
    long = rng.normal_rows(KEY, 1, np.array([3]), 6000, 0)[0]
    np.testing.assert_array_equal(
        rng.normal_rows(KEY, 1, np.array([3]), dim, 0)[0], long[:dim]
    )
    long = rng.uniform_rows(KEY, 1, np.array([3]), 6000, 0)[0]
    np.testing.assert_array_equal(
        rng.uniform_rows(KEY, 1, np.array([3]), dim, 0)[0], long[:dim]
    )


def test_parallel_equals_serial():
    idx = np.array([0, 1, 2, 3, 11, 12, -1])
    dim = 3000
    serial = rng.normal_rows(KEY, 9, idx, dim, rng.STREAM_NORMAL)
    np.testing.assert_array_equal(
        rng._normal_rows_parallel(KEY, 9, idx, dim, rng.STREAM_NORMAL), serial
    )
    big = max(rng.PARALLEL_SAMPLE_MIN // idx.shape[0] + 1, dim)
    wide = rng.sample_normal(KEY, 9, idx, big)  # takes the parallel kernel
    np.testing.assert_array_equal(wide[:, :dim], serial)


def test_key_as_python_int_int64_or_uint64():
    key = (1 << 63) + 12345  # above int64: the wrapper folds it to int64
    idx = np.arange(3)
    a = rng.sample_normal(key, 0, idx, 20)
    np.testing.assert_array_equal(a, rng.normal_rows(np.uint64(key), 0, idx, 20, 0))
    np.testing.assert_array_equal(
        a, rng.normal_rows(np.int64(key - (1 << 64)), 0, idx, 20, 0)
    )


def test_streams_differ():
    def row(key=KEY, g=5, i=2, stream=rng.STREAM_NORMAL):
        return rng.sample_normal(key, g, np.array([i]), 64, stream)[0]

    rows = [
        row(),
        row(g=6),
        row(g=5 + (1 << 32)),
        row(i=3),
        row(i=-1),
        row(stream=rng.STREAM_AUX),
        row(key=rng.derive_key(1)),
        row(key=KEY ^ (1 << 40)),
    ]
    for a in range(len(rows)):
        for b in range(a):
            assert not np.any(rows[a] == rows[b]), (a, b)


@pytest.fixture(scope="module")
def million():
    return rng.sample_normal(KEY, 0, np.arange(100), 10_000).ravel()


def test_normal_moments(million):
    n = million.size
    assert abs(million.mean()) < 5 / np.sqrt(n)
    assert abs(million.var() - 1.0) < 5 * np.sqrt(2.0 / n)
    assert abs(stats.skew(million)) < 5 * np.sqrt(6.0 / n)
    assert abs(stats.kurtosis(million)) < 5 * np.sqrt(24.0 / n)


def test_normal_ks(million):
    assert stats.kstest(million, "norm").pvalue > 1e-3


def test_normal_tail_frequency(million):
    """The ziggurat's tail (beyond r = 3.654...) has the normal's mass."""
    n = million.size
    p = 2 * stats.norm.sf(3.65)
    count = np.count_nonzero(np.abs(million) > 3.65)
    assert abs(count - n * p) < 5 * np.sqrt(n * p)
    assert np.all(np.isfinite(million))


def test_normal_layers_chi2(million):
    """Counts between the ziggurat's layer edges match the normal's mass."""
    xs = rng._ZIG_X[1:256]
    edges = np.concatenate([[-np.inf], np.sort(np.concatenate([-xs, xs])), [np.inf]])
    obs, _ = np.histogram(million, edges)
    exp = np.diff(stats.norm.cdf(edges)) * million.size
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(chi2, len(exp) - 1) > 1e-3


@pytest.mark.slow
def test_normal_ks_large():
    z = rng.sample_normal(KEY, 1, np.arange(40), 500_000).ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    tail = np.abs(z[np.abs(z) > rng._ZIG_R])
    sf_r = stats.norm.sf(rng._ZIG_R)
    assert stats.kstest(tail, lambda x: 1 - stats.norm.sf(x) / sf_r).pvalue > 1e-3


def test_uniform_rows():
    u = rng.uniform_rows(KEY, 2, np.arange(50), 20_000, rng.STREAM_AUX).ravel()
    n = u.size
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_accumulate_normal():
    idx = np.array([4, 0, 7, 2])
    coeffs = np.array([0.5, -1.25, 2.0, 0.1])
    dim = 777
    out = np.full(dim, 3.0)
    rng.accumulate_normal(KEY, 8, idx, coeffs, rng.STREAM_NORMAL, out)
    z = rng.normal_rows(KEY, 8, idx, dim, rng.STREAM_NORMAL)
    np.testing.assert_allclose(out, 3.0 + coeffs @ z, rtol=1e-12, atol=1e-12)


def test_empty():
    assert rng.sample_normal(KEY, 0, np.arange(3), 0).shape == (3, 0)
    assert rng.sample_normal(KEY, 0, np.arange(0), 5).shape == (0, 5)


def test_sample_normal_key_types():
    key = (rng.derive_key(7) % (1 << 64)) | (1 << 63)
    idx = np.arange(2)
    a = rng.sample_normal(key, 1, idx, 9)
    np.testing.assert_array_equal(a, rng.sample_normal(np.uint64(key), 1, idx, 9))
