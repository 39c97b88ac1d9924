"""The run log's kernels: the CSV text, a row's compiled entry, best and median."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evostrat.kernels.runlog import text_of


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1,
        max_size=20,
    ),
    st.integers(1, 17),
)  # fmt: skip
def test_text_reads_back_to_the_digits_written(values, digits):
    block = np.array([values], dtype=np.float64)
    text = text_of(block, np.full(len(values), digits, np.int64))
    cells = text.decode("ascii").rstrip("\n").split(",")
    assert len(cells) == len(values) and text.endswith(b"\n")
    for cell, v in zip(cells, values, strict=True):
        if math.isnan(v):
            assert cell == ""
        elif math.isinf(v) or v == 0:
            assert float(cell) == float(f"{v:.{digits - 1}e}")
        elif math.isinf(float(f"{v:.{digits - 1}e}")):  # rounding would give inf:
            x = abs(float(cell))  # truncated instead, so the text reads back finite
            assert math.isfinite(x) and x <= abs(v) <= x + 10.0 ** (309 - digits)
        else:  # within half a unit of the last digit, plus the rounding of the
            # scaling v * 10**s (two ulps of v: 4.5e-16 relative)
            tol = (0.5 * 10.0 ** (1 - digits) + 4.5e-16) * abs(v) * (1 + 1e-12)
            assert abs(float(cell) - v) <= tol, (cell, v)
            if digits < 16:  # C's %e, but for the last digit's rounding at ties
                unit = 10.0 ** (math.floor(math.log10(abs(v))) + 1 - digits)
                gap = abs(float(cell) - float(f"{v:.{digits - 1}e}"))
                assert gap <= 1.001 * unit + 4.5e-16 * abs(v)  # both parsed: 2 ulps


def test_integer_columns_are_exact():
    block = np.array([[0.0, 7.0, 2.0**53, -12.0, math.nan]])
    text = text_of(block, np.zeros(5, np.int64)).decode()
    assert text == f"0,7,{2**53},-12,\n"
    # every digit count, each side of a power of ten (groups of 8 digits)
    ints = [x for k in range(1, 16) for x in (10**k - 1, 10**k, 10**k + 1)]
    text = text_of(np.array([ints], dtype=float), np.zeros(len(ints), np.int64))
    assert text.decode() == ",".join(map(str, ints)) + "\n"


def test_decimal_exponent_from_the_binary_one():
    """format_rows's floor(e2 log10 2) by integers, for every double's e2."""
    e2 = np.arange(-1074, 1024)
    assert np.array_equal((e2 * 78913) >> 18, np.floor(e2 * math.log10(2.0)))


def test_compiled_row_entry_reads_any_layout_and_rejects_other_types():
    """fill_row is called through its compiled entry (no numba dispatch): a
    strided view is read right, a float32 array raises instead of being misread."""
    from evostrat.kernels import runlog as K

    fast = K.entry_point(K.fill_row)
    assert fast is not K.fill_row  # the fast path exists in this numba
    base = np.arange(60.0).reshape(3, 20)
    strided, dense = base[:, ::2], np.ascontiguousarray(base[:, ::2])
    a, b = (np.zeros(K.STATE_SIZE + 2 * 40) for _ in range(2))
    for state in a, b:
        state[K.AT_COORDS], state[K.K], state[K.CAPACITY] = 12, 10, 2
        state[K.ROWS], state[K.DEADLINE], state[K.COLS] = 1, math.inf, 40
        state[K.SPREAD_ROW], state[K.EIG_ROW] = 1, 2
        state[K.SIGN], state[K.SCALE_BY_SIGMA], state[K.BEST] = 1.0, 1.0, 1.5
    told = np.array([3.0, 1.0, 2.0])
    args = (1.0, 2.0, 3.0, 0.5, math.nan, told, 1.0)
    assert fast(a, *args, strided[0], strided)  # buffer full
    assert K.fill_row(b, *args, dense[0], dense)
    np.testing.assert_array_equal(a, b)
    row = a[K.STATE_SIZE + 40 :]
    assert row[12:22].tolist() == dense[0].tolist() and a[K.ROWS] == 2
    assert row[4:8].tolist() == [1.0, 2.0, 1.0, 0.5]  # best, median, so far, sigma
    assert a[K.BEST] == 1.0
    np.testing.assert_allclose(row[22:32], 0.5 * np.sqrt(dense[1]))
    assert row[11] == dense[2].max() / dense[2].min()  # the condition of row 2
    with pytest.raises(TypeError):
        fast(a, *args, dense[0].astype(np.float32), dense)
    assert a[K.ROWS] == 2  # refused before anything was written


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=40),
    st.sampled_from([1.0, -1.0]),
    st.booleans(),
)
def test_best_median_is_numpys(values, sign, told):
    """The generation's best and median (insertion sort up to 32 values, np.sort
    above) as numpy computes them: NaN ranked last, -1 for maximization; from the
    user's values (``into = sign``) or from the told ones (minimization sense,
    ``into = 1``)."""
    from evostrat.kernels.runlog import _INSERTION_SORT, best_median

    user = np.array(values, dtype=np.float64)
    fits, into = (sign * user, 1.0) if told else (user.copy(), sign)
    kept = fits.copy()
    best, median = best_median(fits, into, sign, np.empty(_INSERTION_SORT))
    assert np.array_equal(fits, kept, equal_nan=True)  # the input is not sorted
    if not values:
        assert np.isnan(best) and np.isnan(median)
        return
    F = sign * user
    F[np.isnan(F)] = math.inf
    F.sort()
    p = len(values)
    assert best == sign * F[0]
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 + 1e308, inf - inf
        expected = sign * 0.5 * (F[(p - 1) // 2] + F[p // 2])
    assert median == expected or (np.isnan(median) and np.isnan(expected))
