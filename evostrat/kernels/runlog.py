"""Kernels of the run log (:mod:`evostrat.runlog`): a row's statistics, CSV text.

A logged row may cost 5 % of a CMA-ES generation at n = 10, about 2 us (a
generation with a serial evaluation of ``sphere`` takes 40 us here). Python's ``"%.12g" % x`` costs about 0.25 us a number (measured here: 5.2 us for a
row of 22), more than the whole 5 % of a 40 us CMA-ES generation at n = 10 that a
logged row may cost; these kernels write a block of rows at about 0.03 us a number.

The text follows C's ``%.{P}g`` (P significant digits, trailing zeros dropped,
exponent form below 1e-5 and from 10**P on, at least two exponent digits), which
``float()``, ``numpy.loadtxt`` and spreadsheets read. The decimal digits come from
scaling by a power of ten in double precision and rounding, so the last digit may
differ from C's correctly rounded one (relative error below 1e-15 before rounding to
P <= 15 digits); NaN is written as an empty cell ("no value").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: significant digits written for real numbers (pycma's logger writes about 10)
DIGITS = 12
_COMMA, _NEWLINE, _DOT, _MINUS, _PLUS, _ZERO, _E = 44, 10, 46, 45, 43, 48, 101
#: 10.0**k for k = 0..308 (a table lookup is several times cheaper than pow)
_POW10 = np.array([10.0**k for k in range(309)])
_IPOW10 = np.array([10**k for k in range(18)], dtype=np.int64)
_UPOW10 = _IPOW10.astype(np.uint64)


@njit(cache=True, error_model="numpy")
def _scaled_digits(v, digits):
    """``(d, e)`` with ``v ~ d * 10**(e - digits + 1)``, ``10**(digits-1) <= d <
    10**digits`` (``v`` positive and finite)."""
    e = int(math.floor(math.log10(v)))
    for _ in range(3):  # log10 may be off by one near powers of ten
        s = digits - 1 - e
        if s > 300:  # 10**s would overflow: scale in two steps
            m = v * 1e300 * _POW10[s - 300]
        elif s >= 0:
            m = v * _POW10[s]
        else:
            m = v / _POW10[-s]
        d = np.int64(math.floor(m + 0.5))
        if d >= _IPOW10[digits]:
            e += 1
        elif d < _IPOW10[digits - 1]:
            e -= 1
        else:
            break
    return d, e


@njit(cache=True, error_model="numpy")
def _write_int(value, out, pos):
    """Decimal digits of the non-negative integer ``value`` at ``out[pos:]``."""
    u = np.uint64(value)  # unsigned: division by 10 compiles to a multiplication
    n = 1
    while n < 19 and u >= _UPOW10[n]:
        n += 1
    for j in range(pos + n - 1, pos - 1, -1):
        q = u // np.uint64(10)
        out[j] = np.uint8(_ZERO + (u - q * np.uint64(10)))
        u = q
    return pos + n


@njit(cache=True, error_model="numpy")
def _write_real(v, digits, out, pos):
    """``v`` as ``%.{digits}g`` text at ``out[pos:]``; returns the new position."""
    if v != v:
        return pos
    if v < 0:
        out[pos] = _MINUS
        pos += 1
        v = -v
    if v == math.inf:
        out[pos], out[pos + 1], out[pos + 2] = 105, 110, 102  # "inf"
        return pos + 3
    if v == 0:
        out[pos] = _ZERO
        return pos + 1
    d, e = _scaled_digits(v, digits)
    nd = digits
    u = np.uint64(d)
    ten = np.uint64(10)
    while nd > 1 and u == (u // ten) * ten:  # drop trailing zeros
        u //= ten
        nd -= 1
    d = u
    if -4 <= e < digits:  # positional notation, as %g
        if e < 0:
            out[pos], out[pos + 1] = _ZERO, _DOT
            pos += 2
            for _ in range(-e - 1):
                out[pos] = _ZERO
                pos += 1
            return _write_int(d, out, pos)
        if nd <= e + 1:  # a whole number: pad with zeros
            pos = _write_int(d, out, pos)
            for _ in range(e + 1 - nd):
                out[pos] = _ZERO
                pos += 1
            return pos
        _write_int(d, out, pos + 1)  # digits one place right, then the point
        for j in range(pos, pos + e + 1):
            out[j] = out[j + 1]
        out[pos + e + 1] = _DOT
        return pos + nd + 1
    _write_int(d, out, pos + 1)
    out[pos] = out[pos + 1]
    pos += 1
    if nd > 1:
        out[pos] = _DOT
        pos += nd
    out[pos] = _E
    out[pos + 1] = _MINUS if e < 0 else _PLUS
    pos += 2
    if abs(e) < 10:
        out[pos] = _ZERO
        pos += 1
    return _write_int(abs(e), out, pos)


@njit(cache=True, error_model="numpy")
def format_rows(block, integer, digits):
    """CSV text of ``block`` (rows, cols): one line a row, comma-separated.

    Parameters
    ----------
    block : ndarray of float64, shape (rows, cols)
        The values; NaN is written as an empty cell.
    integer : ndarray of bool, shape (cols,)
        Columns written as integers (their values must be whole numbers below 2**53).
    digits : int
        Significant digits of the other columns (at most 15).

    Returns
    -------
    ndarray of uint8
        The ASCII text, every line ending in a newline.
    """
    rows, cols = block.shape
    out = np.empty(rows * (cols * (digits + 9) + 1), np.uint8)
    pos = 0
    for i in range(rows):
        for j in range(cols):
            if j:
                out[pos] = _COMMA
                pos += 1
            v = block[i, j]
            if integer[j] and v == v:
                if v < 0:
                    out[pos] = _MINUS
                    pos += 1
                    v = -v
                pos = _write_int(np.int64(v), out, pos)
            else:
                pos = _write_real(v, digits, out, pos)
        out[pos] = _NEWLINE
        pos += 1
    return out[:pos]


@njit(cache=True, error_model="numpy")
def fill_row(row, head, mean, scale, spread, eig, at_coords, k):  # noqa: PLR0913
    """One log row: the caller's ``head`` values, then the strategy's statistics.

    ``row[:8] = run, generation, evaluations, seconds, best, median, best_so_far,
    sigma`` (``head``, a tuple of 8 numbers); ``row[8:12] = min_std, max_std,
    axis_ratio, condition``; ``row[at_coords:at_coords + 2 k] = mean[:k], stds[:k]``. The
    standard deviations are ``stds = scale * sqrt(spread)`` (CMA: ``sigma`` and the
    diagonal of ``C``) where ``scale > 0``, else ``spread`` itself. ``axis_ratio =
    sqrt(max eig / min eig)`` and ``condition = max eig / min eig`` (pycma's axis
    ratio and condition of ``C``) are NaN where ``eig`` is empty (no covariance).
    """
    for j in range(8):
        row[j] = head[j]
    lo, hi = math.inf, -math.inf
    for j in range(spread.shape[0]):
        v = spread[j]
        lo = min(lo, v)
        hi = max(hi, v)
    if scale > 0:
        lo, hi = scale * math.sqrt(lo), scale * math.sqrt(hi)
    row[8], row[9] = lo, hi
    if eig.shape[0]:
        a, b = math.inf, -math.inf
        for j in range(eig.shape[0]):
            a = min(a, eig[j])
            b = max(b, eig[j])
        row[10], row[11] = math.sqrt(b / a), b / a
    else:
        row[10] = row[11] = math.nan
    for j in range(k):
        row[at_coords + j] = mean[j]
        v = spread[j]
        row[at_coords + k + j] = scale * math.sqrt(v) if scale > 0 else v
