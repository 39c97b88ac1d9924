"""Kernels of the run log (:mod:`evostrat.runlog`): one row's statistics, CSV text.

The target is a row costing < 5 % of a CMA-ES generation at n = 10 (a generation
of ``optimize`` with ``sphere`` evaluated row by row takes 70-130 us on this
machine, whose speed drifts; ``benchmarks/runlog.py``). Python's ``"%.12g" % x``
costs about 0.25 us a number (5.2 us for a row of 22, measured here), so the text
is made by :func:`format_rows` for a block of rows at once, at about 0.014 us a
number (0.45 us for a row of 32); :func:`fill_row` gathers one row's numbers in one
call, with :func:`best_median` the generation's best and median fitness (0.06 us
at popsize 10).

The text is C's ``%.{d-1}e`` (``d`` significant digits, ``d.ddde+XX``: one layout for
every number, which keeps the compiled loop's branches predictable; measured 25 %
faster than ``%g``'s layouts); ``float()``, ``numpy.loadtxt``, pandas and spreadsheets
read it. The digits come from scaling by a power of ten in double precision and
rounding, so they may differ from C's correctly rounded ones in the last place when
``d`` >= 16 (the value read back is then within about one unit in the last place of
the double). NaN is an empty cell ("no value").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

_COMMA, _NEWLINE, _DOT, _MINUS, _PLUS, _E = 44, 10, 46, 45, 43, 101
#: 10.0**k for k = 0..308 (a table lookup is several times cheaper than pow)
_POW10 = np.array([10.0**k for k in range(309)])
_UPOW10 = np.array([10**k for k in range(20)], dtype=np.uint64)
#: the two digits of 0..99, one pair per number (half the divisions of one by one)
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8)


#: the two ASCII digits of 0..99 packed in an integer, the first in the low byte
_PAIR16 = np.array([48 + i // 10 | (48 + i % 10) << 8 for i in range(100)], np.uint64)
_E8 = np.uint64(100_000_000)


@njit(cache=True, error_model="numpy", inline="always")
def _ascii8(u):
    """The 8 decimal digits of ``u`` < 10**8 (leading zeros) as ASCII, packed in an
    uint64, the first digit in the low byte. Two halves of four digits, each two
    pairs: the divisions (multiplications by constants) do not wait for each
    other, and there is no loop to mispredict."""
    hi = u // np.uint64(10_000)
    lo = u - hi * np.uint64(10_000)
    a = hi // np.uint64(100)
    c = lo // np.uint64(100)
    return (_PAIR16[a] | _PAIR16[hi - a * np.uint64(100)] << np.uint64(16)
            | _PAIR16[c] << np.uint64(32) | _PAIR16[lo - c * np.uint64(100)] << np.uint64(48))  # fmt: skip


@njit(cache=True, error_model="numpy", inline="always")
def _put8(w, out, pos):
    """The 8 bytes of ``w`` (low byte first) at ``out[pos:pos+8]``."""
    for k in range(8):
        out[pos + k] = np.uint8(w >> np.uint64(8 * k) & np.uint64(255))


@njit(cache=True, error_model="numpy", inline="always")
def _put_many_digits(u, n, out, pos):
    """The ``n`` lowest decimal digits of ``u`` (an uint64, ``n`` <= 20) at
    ``out[pos:pos+n]``, in groups of 8 (a group is written whole: up to 7 bytes
    after ``pos + n`` are overwritten too, so ``out`` needs that room)."""
    g1 = g2 = np.uint64(0)
    m = n
    if m > 8:
        q = u // _E8
        g2 = _ascii8(u - q * _E8)
        u, m = q, m - 8
        if m > 8:
            q = u // _E8
            g1 = _ascii8(u - q * _E8)
            u, m = q, m - 8
    _put8(_ascii8(u) >> np.uint64(8 * (8 - m)), out, pos)  # its m digits
    if n > 8:
        if n > 16:
            _put8(g1, out, pos + m)
            m += 8
        _put8(g2, out, pos + m)
    return pos + n


@njit(cache=True, error_model="numpy", inline="always")
def _write_int(value, out, pos):
    """Decimal digits of the non-negative integer ``value`` at ``out[pos:]``."""
    u = np.uint64(value)
    n = 1
    while n < 20 and u >= _UPOW10[n]:
        n += 1
    return _put_many_digits(u, n, out, pos)


#: the largest float's leading digits, d.ddd... (1.7976931348623157e308)
_DBL_MAX_DIGITS = 1.7976931348623157


@njit(cache=True, error_model="numpy", inline="always")
def _scaled_digits(v, digits, bits):
    """``(d, e)``: ``v ~ d * 10**(e - digits + 1)``, ``d`` an uint64 of exactly
    ``digits`` digits (``v`` positive and finite, ``bits`` its IEEE 754 bits)."""
    # the decimal exponent from the binary one e2 (cheaper than log10): v lies in
    # [2**e2, 2**(e2+1)), so floor(log10 v) is e or e + 1 (checked below); e2
    # read from the exponent bits (a subnormal's from frexp), cheaper than frexp
    biased = (bits >> 52) & 0x7FF
    e2 = biased - 1023 if biased else math.frexp(v)[1] - 1
    e = (e2 * 78913) >> 18  # floor(e2 log10 2), exact for |e2| <= 1100 (checked
    # in tests; Ryu's log10Pow2): no call to a floor function per number
    low, high = _UPOW10[digits - 1], _UPOW10[digits]
    d = np.uint64(0)
    for _ in range(3):
        s = digits - 1 - e
        if s > 300:  # 10**s would overflow: scale in two steps
            m = v * 1e300 * _POW10[s - 300]
        elif s >= 0:
            m = v * _POW10[s]
        else:
            m = v / _POW10[-s]
        d = np.uint64(np.int64(m + 0.5))
        if d >= high:
            e += 1
        elif d < low:
            e -= 1
        else:
            break
    return d, e


@njit(cache=True, error_model="numpy", inline="always")
def _write_real(v, digits, out, pos, bits):
    """``v`` (IEEE 754 bits ``bits``) as C's ``%.{digits - 1}e`` text at
    ``out[pos:]`` (``d.ddde+XX``: one layout for every number, so the compiled loops
    branch the same way each row; this is about twice as fast as ``%g``'s
    layouts). Returns the new position."""
    if v != v:
        return pos
    if v < 0:
        out[pos] = _MINUS
        pos += 1
        v = -v
    if v == math.inf:
        out[pos], out[pos + 1], out[pos + 2] = 105, 110, 102  # "inf"
        return pos + 3
    e = 0
    d = np.uint64(0)
    if v > 0:
        d, e = _scaled_digits(v, digits, bits)
        if e == 308 and float(d) > _DBL_MAX_DIGITS * _POW10[digits - 1]:
            d -= np.uint64(1)  # rounded up past the largest float: read back finite
    _put_many_digits(d, digits, out, pos + 1)  # then the first digit moved before
    out[pos] = out[pos + 1]
    if digits > 1:
        out[pos + 1] = _DOT
        pos += digits + 1
    else:  # the point; C's %.0e has none
        pos += 1
    out[pos] = _E
    out[pos + 1] = _MINUS if e < 0 else _PLUS
    e = abs(e)
    if e < 100:
        out[pos + 2] = _PAIRS[2 * e]
        out[pos + 3] = _PAIRS[2 * e + 1]
        return pos + 4
    return _write_int(e, out, pos + 2)


@njit(cache=True, error_model="numpy", inline="always")
def _write_cell(v, bits, digits, out, pos):
    """One cell: an integer (``digits`` 0) or ``digits`` significant digits."""
    if digits == 0 and v == v:
        if v < 0:
            out[pos] = _MINUS
            pos += 1
            v = -v
        return _write_int(np.int64(v), out, pos)
    return _write_real(v, digits, out, pos, bits)


#: bytes a cell can take: -d.(16 digits)e-308 and the comma
CELL_BYTES = 26


def text_bytes(rows: int, cols: int) -> int:
    """Room :func:`format_rows` needs for ``rows`` rows of ``cols`` cells: the
    longest cells, the newlines, and 8 bytes that the last group of digits may
    write past the text (:func:`_put_many_digits`)."""
    return rows * (cols * CELL_BYTES + 1) + 8


@njit(cache=True, error_model="numpy")
def format_rows(block, digits, out):
    """CSV text of ``block`` (rows, cols) into ``out``: one line a row,
    comma-separated.

    Parameters
    ----------
    block : ndarray of float64, shape (rows, cols)
        The values; NaN is written as an empty cell.
    digits : ndarray of int64, shape (cols,)
        Significant digits of each column (1 to 17); 0 writes the column as
        integers (whole numbers below 2**53).
    out : ndarray of uint8
        Room for the text: at least ``text_bytes(rows, cols)`` bytes.

    Returns
    -------
    int
        The length of the ASCII text at ``out[:length]``, every line ending in a
        newline.

    Notes
    -----
    One loop for every digit count, the digits made eight at a time
    (:func:`_put_many_digits`): 14 ns a number (1000 rows of 32 columns, measured
    here). Branches specialized to the log's digit counts (7, 8, 15, 16), tried
    with the earlier digit loop, formatted 1.3x faster than it (20 against 26 ns)
    but took 16 s instead of 3 s to compile, a silent pause at the first write of
    every new installation.
    """
    rows, cols = block.shape
    bits = block.view(np.int64)
    pos = 0
    for i in range(rows):
        for j in range(cols):
            if j:
                out[pos] = _COMMA
                pos += 1
            v, b = block[i, j], bits[i, j]
            pos = _write_cell(v, b, digits[j], out, pos)
        out[pos] = _NEWLINE
        pos += 1
    return pos


def text_of(block: np.ndarray, digits: np.ndarray) -> bytes:
    """The CSV text of ``block`` (:func:`format_rows` into a new buffer)."""
    rows, cols = block.shape
    out = np.empty(text_bytes(rows, cols), np.uint8)
    return out[: format_rows(block, digits, out)].tobytes()


#: populations up to this size are sorted by insertion (no allocation: measured
#: 3x faster than ``np.sort`` of a copy at popsize 10), larger ones by ``np.sort``
_INSERTION_SORT = 32


@njit(cache=True, error_model="numpy", inline="always")
def best_median(fits, into, out, scratch):
    """The best and median of ``fits`` in the user's sense (NaN if empty).

    ``into * fits`` is the minimization sense (NaN ranked last), ``out`` turns a
    value of it back into the user's (-1 for maximization). The median of an
    even count is the mean of the middle two. ``scratch`` (at least
    ``_INSERTION_SORT`` long) holds the insertion sort of a small population.
    """
    n = fits.shape[0]
    if n == 0:
        return math.nan, math.nan
    if n > _INSERTION_SORT:
        F = into * fits
        for j in range(n):
            if F[j] != F[j]:
                F[j] = math.inf
        F.sort()
    else:
        F = scratch
        for j in range(n):
            v = into * fits[j]
            if v != v:
                v = math.inf
            m = j  # insert v into the sorted F[:j]
            while m > 0 and F[m - 1] > v:
                F[m] = F[m - 1]
                m -= 1
            F[m] = v
    return out * F[0], out * 0.5 * (F[(n - 1) // 2] + F[n // 2])


#: the slots of the log's state array (the first STATE_SIZE numbers of the log's one
#: array, the rows after them), read and updated by :func:`fill_row`
(RUN, OFFSET_GENERATIONS, OFFSET_EVALS, T0, AT_COORDS, K, ROWS, CAPACITY, DEADLINE,
 LAST_GENERATION, LAST_EVALS, SPREAD_ROW, EIG_ROW, COLS, SIGN, SCALE_BY_SIGMA, BEST,
 SCRATCH) = range(18)  # fmt: skip
#: the slots, then the scratch of :func:`best_median`
STATE_SIZE = SCRATCH + _INSERTION_SORT


@njit(cache=True, error_model="numpy", inline="always")
def _fill_spread(row, state, sigma, mean, vecs):
    """``row[8:12]`` and the mean's and stds' coordinates (see :func:`fill_row`)."""
    scale = sigma if state[SCALE_BY_SIGMA] else 0.0
    spread = vecs[int(state[SPREAD_ROW])]
    lo, hi = math.inf, -math.inf
    for j in range(spread.shape[0]):
        v = spread[j]
        lo = min(lo, v)
        hi = max(hi, v)
    if scale > 0:
        lo, hi = scale * math.sqrt(lo), scale * math.sqrt(hi)
    row[8], row[9] = lo, hi
    row[10] = row[11] = math.nan
    if state[EIG_ROW] >= 0:
        eig = vecs[int(state[EIG_ROW])]
        a, b = math.inf, -math.inf
        for j in range(eig.shape[0]):
            a = min(a, eig[j])
            b = max(b, eig[j])
        row[10], row[11] = math.sqrt(b / a), b / a
    at, k = int(state[AT_COORDS]), int(state[K])
    for j in range(k):
        row[at + j] = mean[j]
        v = spread[j]
        row[at + k + j] = scale * math.sqrt(v) if scale > 0 else v


#: fill_row's one signature, compiled when this module is imported (from the cache
#: after the first time): any layout of the 1-D arrays (``float64[:]``: a strided
#: view is read right), so its compiled entry point can be called directly
FILL_ROW_SIGNATURE = (
    "boolean(float64[::1], float64, float64, float64, float64, float64, float64[:], "
    "float64, float64[:], float64[:, :])"
)


@njit(FILL_ROW_SIGNATURE, cache=True, error_model="numpy")
def fill_row(log, generation, evals, now, sigma, record, fits, into, mean, vecs):
    """Add a row to ``log`` (the columns of :data:`evostrat.runlog.COLUMNS`);
    whether the buffered rows are due to be written.

    ``log[:STATE_SIZE]`` is the state (the slots above), then come
    ``state[CAPACITY]`` rows of ``state[COLS]`` numbers; the row written is number
    ``state[ROWS]``, which then goes up by one. ``row[0:4] = run, generation,
    evaluations, seconds`` (``state`` holds the run, the offsets of the finished
    runs and the time the log was opened); ``row[4:6]``, the best and median of
    ``fits`` (:func:`best_median`: ``into`` turns them to the minimization sense,
    ``state[SIGN]`` back to the user's); ``row[6]``, the best so far over the rows
    (``state[BEST]``) of each row's best, or of ``record`` (the best a strategy
    knows, or NaN) where ``fits`` is empty; ``row[7] = sigma``; ``row[8:12] =
    min_std, max_std, axis_ratio, condition``; ``row[at_coords:at_coords + 2 k] =
    mean[:k], stds[:k]``. The standard deviations are ``sigma * sqrt(spread)``
    (CMA: the diagonal of ``C``) where ``state[SCALE_BY_SIGMA]``, else ``spread``
    itself; ``spread`` is row ``state[SPREAD_ROW]`` of ``vecs`` (a CMA strategy's
    ``_vecs``, or the stds as one row). The eigenvalues of ``C`` are row
    ``state[EIG_ROW]`` of ``vecs`` (none where that is -1): ``axis_ratio = sqrt(max
    eig / min eig)`` and ``condition = max eig / min eig`` (pycma's axis ratio and
    condition of ``C``), NaN where there are none. Due: ``state[CAPACITY]`` rows, or
    ``now`` past ``state[DEADLINE]``.

    One array for the state and the rows, scalars, no tuple: a call costs about
    0.1 us per array argument and 0.03 us per scalar (a tuple of 8: 0.3 us),
    measured here, and the call is most of a row's cost.
    """
    state = log[:STATE_SIZE]
    i, cols = int(state[ROWS]), int(state[COLS])
    row = log[STATE_SIZE + i * cols : STATE_SIZE + (i + 1) * cols]
    row[0], row[1] = state[RUN], generation + state[OFFSET_GENERATIONS]
    row[2], row[3] = evals + state[OFFSET_EVALS], now - state[T0]
    state[LAST_GENERATION], state[LAST_EVALS] = generation, evals
    sign = state[SIGN]
    best, row[5] = best_median(fits, into, sign, state[SCRATCH:])
    row[4], row[7] = best, sigma
    if best != best:
        best = record
    if best == best and not sign * state[BEST] <= sign * best:  # BEST NaN: taken
        state[BEST] = best
    row[6] = state[BEST]
    _fill_spread(row, state, sigma, mean, vecs)
    state[ROWS] = i + 1
    return i + 1 >= state[CAPACITY] or now > state[DEADLINE]


def entry_point(dispatcher: Any) -> Any:
    """The compiled entry of a numba function with one signature, called without
    the dispatcher's type resolution (0.24 instead of 0.78 us for a call of 14
    arguments, measured here); it still converts each argument to the declared
    type or raises TypeError. The dispatcher itself where numba exposes no entry.
    """
    try:
        (overload,) = dispatcher.overloads.values()
        return overload.entry_point
    except (AttributeError, ValueError):  # another numba version: the safe way
        return dispatcher
