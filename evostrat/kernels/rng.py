"""Counter-based random streams: individual ``i`` of generation ``g``.

Every random number a strategy draws for individual ``i`` of generation ``g`` comes
from the stream keyed by ``(key, g, i, stream)``. The generator is Philox4x32-10
(J. Salmon, M. Moraes, R. Dror, D. Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11, section 3) in counter mode: the counter is ``(block, i, g_lo,
stream << 16 | g_hi)`` (32-bit words), the Philox key is ``key``, and block ``b``
with output ``(o0, o1, o2, o3)`` gives the stream's 64-bit words ``2b = o0 | o1 << 32``
and ``2b + 1 = o2 | o3 << 32``. Normal deviates come from the 256-layer ziggurat of
G. Marsaglia and W. W. Tsang, "The Ziggurat Method for Generating Random Variables",
J. Stat. Softw. 5(8), 2000, one word per deviate on the fast path, with disjoint bits
for layer, sign and abscissa (J. A. Doornik, "An Improved Ziggurat Method to
Generate Normal Random Samples", 2005).

Speed: blocks are independent, so a row's words are made in batches by a branch-free
loop that LLVM vectorizes (``_philox_words``); the ziggurat then reads that buffer.
No Python object exists per individual: a whole batch of streams is filled by one
compiled call, so any process holding ``key`` can rebuild any individual. The
compiled functions take ``key`` as an int64 or ``np.uint64``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

STREAM_NORMAL = 0  # the Gaussian perturbation of an individual
STREAM_AUX = 1  # anything else an individual needs (parents, masks, ...)

_M0 = np.uint64(0xD2511F53)  # Philox4x32 multipliers and Weyl key increments
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_TWO_M53 = 1.0 / 9007199254740992.0
_BLOCKS = 128  # Philox blocks per buffer refill (2 words each)

# Above this many numbers, batches are filled by the multi-threaded kernels.
PARALLEL_SAMPLE_MIN = 1 << 14


def derive_key(seed: int, *extra: int) -> int:
    """Derive the 64-bit stream key from a user seed (and optional extra words).

    Parameters
    ----------
    seed : int
        Non-negative integer seed.
    *extra : int
        Further non-negative words, e.g. a restart number.

    Returns
    -------
    int
        The key's 64 bits as a signed integer in ``[-2**63, 2**63)``, so every
        compiled kernel sees one type (int64). Trailing zero ``extra`` words do not
        change the key (``derive_key(s, 0) == derive_key(s)``).
    """
    words = np.random.SeedSequence([int(seed), *map(int, extra)]).generate_state(
        2, np.uint32
    )
    key = int(words[0]) | (int(words[1]) << 32)
    return key - (1 << 64) if key >= (1 << 63) else key


def _ziggurat_tables(layers: int = 256) -> tuple[np.ndarray, ...]:
    """Ziggurat tables (Marsaglia & Tsang, section 2) for 52-bit abscissae.

    ``x[0..layers]`` are the layer widths (``x[0]`` the base strip's, ``x[1] = r``,
    ``x[layers] = 0``) and ``fx = exp(-x**2 / 2)``. Layer ``i`` accepts the 52-bit
    integer ``m`` outright when ``m < k[i]``, i.e. ``m * 2**-52 < x[i+1] / x[i]``;
    the deviate is then ``m * w[i]`` with ``w[i] = x[i] * 2**-52``. ``w`` has 512
    entries: entry ``256 + i`` is ``-w[i]``, so bit 8 of a word is the sign.
    """
    r = 3.6541528853610088
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    # area of every layer: base strip r*f(r) plus the tail beyond r
    v = r * f(r) + math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))
    x = np.zeros(layers + 1)
    x[0] = v / f(r)
    x[1] = r
    for i in range(1, layers - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(v / x[i] + f(x[i])))
    x[layers] = 0.0
    fx = np.exp(-0.5 * x * x)
    k = np.floor(2.0**52 * (x[1:] / x[:-1])).astype(np.int64)
    w = x[:-1] * 2.0**-52
    return x, fx, k, np.concatenate([w, -w])


_ZIG_X, _ZIG_F, _ZIG_K, _ZIG_W = _ziggurat_tables()
_ZIG_R = float(_ZIG_X[1])


@njit(cache=True, inline="always")
def _philox(k0, k1, c0, c1, c2, c3):
    """One Philox4x32-10 block: counter ``(c0, c1, c2, c3)``, key ``(k0, k1)``, uint32."""
    for _ in range(10):
        p0 = _M0 * np.uint64(c0)
        p1 = _M1 * np.uint64(c2)
        c0, c1, c2, c3 = (
            np.uint32(p1 >> np.uint64(32)) ^ c1 ^ k0,
            np.uint32(p1),
            np.uint32(p0 >> np.uint64(32)) ^ c3 ^ k1,
            np.uint32(p0),
        )
        k0 = np.uint32(k0 + _W0)
        k1 = np.uint32(k1 + _W1)
    return c0, c1, c2, c3


@njit(cache=True, inline="always")
def _stream(key, generation, index, stream):
    """Philox key and the fixed counter words ``(k0, k1, c1, c2, c3)`` of a stream."""
    return (
        np.uint32(key & 0xFFFFFFFF),
        np.uint32((key >> 32) & 0xFFFFFFFF),
        np.uint32(index & 0xFFFFFFFF),
        np.uint32(generation & 0xFFFFFFFF),
        np.uint32(((stream & 0xFFFF) << 16) | ((generation >> 32) & 0xFFFF)),
    )


@njit(cache=True, inline="always")
def _philox_words(s, block, nblocks, buf):
    """Words ``2*block ..`` of stream ``s`` into ``buf[:2*nblocks]`` (vectorizable)."""
    k0, k1, c1, c2, c3 = s
    for b in range(nblocks):
        a0, a1, a2, a3 = _philox(k0, k1, np.uint32(block + b), c1, c2, c3)
        buf[2 * b] = np.uint64(a0) | (np.uint64(a1) << np.uint64(32))
        buf[2 * b + 1] = np.uint64(a2) | (np.uint64(a3) << np.uint64(32))


@njit(cache=True, inline="always")
def _word(s, buf, pos, lim, block, want):
    """Next word of stream ``s``; ``buf[pos:lim]`` are the unread words.

    When they are used up, ``buf`` is refilled with the next blocks, at least
    ``want / 2`` of them rounded up to a multiple of 8 (a vector's worth).
    Returns ``(word, pos, lim, block)``, ``block`` being the next block to make.
    """
    if pos == lim:
        n = min(_BLOCKS, ((want + 1) // 2 + 7) & ~7)
        _philox_words(s, block, n, buf)
        pos, lim, block = 0, 2 * n, block + n
    return buf[pos], pos + 1, lim, block


@njit(cache=True)
def _normal_slow(s, buf, pos, lim, block, u):
    """The ziggurat's rare branches for word ``u``: the tail (layer 0), the wedges.

    Returns ``(x, pos, lim, block)``.
    """
    xs, fs = _ZIG_X, _ZIG_F
    while True:
        i = int(u & np.uint64(0xFF))
        x = float(np.int64(u >> np.uint64(12))) * _ZIG_W[i]  # >= 0
        neg = (u >> np.uint64(8)) & np.uint64(1)
        if x < xs[i + 1]:
            break
        if i == 0:  # tail beyond r (Marsaglia & Tsang, section 3)
            while True:
                u1, pos, lim, block = _word(s, buf, pos, lim, block, 2)
                u2, pos, lim, block = _word(s, buf, pos, lim, block, 2)
                e = -math.log1p(-float(u1 >> np.uint64(11)) * _TWO_M53) / _ZIG_R
                y = -math.log1p(-float(u2 >> np.uint64(11)) * _TWO_M53)
                if y + y > e * e:
                    break
            x = _ZIG_R + e
            break
        u1, pos, lim, block = _word(s, buf, pos, lim, block, 2)
        y = fs[i] + float(u1 >> np.uint64(11)) * _TWO_M53 * (fs[i + 1] - fs[i])
        if y < math.exp(-0.5 * x * x):
            break
        u, pos, lim, block = _word(s, buf, pos, lim, block, 2)
    return (-x if neg else x), pos, lim, block


@njit(cache=True, inline="always")
def _normals(s, out, buf, c, add):
    """Normals of stream ``s`` into ``out`` (``out += c * z`` if ``add``).

    Word ``u`` of the stream: bits 0-7 pick the layer, bit 8 the sign, bits 12-63
    the abscissa. Normal ``j`` of a row does not depend on the row's length.
    """
    n = out.shape[0]
    pos = lim = block = 0
    for j in range(n):
        u, pos, lim, block = _word(s, buf, pos, lim, block, n - j)
        m = np.int64(u >> np.uint64(12))  # 52-bit abscissa
        if m < _ZIG_K[u & np.uint64(0xFF)]:  # inside the layer's rectangle
            z = float(m) * _ZIG_W[u & np.uint64(0x1FF)]  # signed by bit 8
        else:
            z, pos, lim, block = _normal_slow(s, buf, pos, lim, block, u)
        if add:
            out[j] += c * z
        else:
            out[j] = z


@njit(cache=True, inline="always")
def _uniforms(s, out, buf):
    """Uniforms in [0, 1) of stream ``s`` into ``out``, 53 bits from each word."""
    n = out.shape[0]
    for start in range(0, n, 2 * _BLOCKS):
        m = min(2 * _BLOCKS, n - start)
        _philox_words(s, start // 2, (m + 1) // 2, buf)
        for j in range(m):
            out[start + j] = float(np.int64(buf[j] >> np.uint64(11))) * _TWO_M53


@njit(cache=True)
def fill_normal(key, generation, index, stream, out):
    """Fill the 1-D array ``out`` with the standard normals of one stream."""
    buf = np.empty(2 * _BLOCKS, np.uint64)
    _normals(_stream(key, generation, index, stream), out, buf, 1.0, False)


@njit(cache=True)
def normal_rows(key, generation, indices, dim, stream):
    """Rows ``indices`` of the generation's normal matrix, shape ``(len(indices), dim)``."""
    out = np.empty((indices.shape[0], dim))
    buf = np.empty(2 * _BLOCKS, np.uint64)
    for r in range(indices.shape[0]):
        s = _stream(key, generation, indices[r], stream)
        _normals(s, out[r], buf, 1.0, False)
    return out


@njit(cache=True, parallel=True)
def _normal_rows_parallel(key, generation, indices, dim, stream):
    out = np.empty((indices.shape[0], dim))
    for r in prange(indices.shape[0]):
        buf = np.empty(2 * _BLOCKS, np.uint64)
        s = _stream(key, generation, indices[r], stream)
        _normals(s, out[r], buf, 1.0, False)
    return out


@njit(cache=True)
def uniform_rows(key, generation, indices, dim, stream):
    """Rows ``indices`` of the generation's uniform matrix, shape ``(len(indices), dim)``."""
    out = np.empty((indices.shape[0], dim))
    buf = np.empty(2 * _BLOCKS, np.uint64)
    for r in range(indices.shape[0]):
        _uniforms(_stream(key, generation, indices[r], stream), out[r], buf)
    return out


@njit(cache=True)
def accumulate_normal(key, generation, indices, coeffs, stream, out):
    """``out += sum_k coeffs[k] * z[indices[k]]`` without holding the ``z`` rows.

    This is how a ``tell`` at large dimension turns fitness weights into a gradient
    estimate: each stream is regenerated and added in one pass.
    """
    buf = np.empty(2 * _BLOCKS, np.uint64)
    for r in range(indices.shape[0]):
        s = _stream(key, generation, indices[r], stream)
        _normals(s, out, buf, coeffs[r], True)


def sample_normal(
    key: int,
    generation: int,
    indices: np.ndarray,
    dim: int,
    stream: int = STREAM_NORMAL,
) -> np.ndarray:
    """Standard normal rows ``indices`` of generation ``generation``.

    Row ``r`` is the stream ``(key, generation, indices[r], stream)``: the result does
    not depend on which other rows are asked for, nor on the number of threads.

    Parameters
    ----------
    key : int
        Stream key from :func:`derive_key`.
    generation : int
        Generation number, ``0 <= generation < 2**48``.
    indices : ndarray of int64
        Individual indices.
    dim : int
        Row length.
    stream : int
        Stream tag, e.g. :data:`STREAM_NORMAL`.

    Returns
    -------
    ndarray, shape (len(indices), dim)
    """
    if key >= 0x8000000000000000:  # same 64 bits as an int64: one compiled version
        key = int(key) - 0x10000000000000000
    if indices.shape[0] * dim >= PARALLEL_SAMPLE_MIN and indices.shape[0] > 1:
        return _normal_rows_parallel(key, generation, indices, dim, stream)
    return normal_rows(key, generation, indices, dim, stream)
