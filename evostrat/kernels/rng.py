"""Counter-based random streams: individual ``i`` of generation ``g``.

Every random number a strategy draws for individual ``i`` of generation ``g`` comes
from the stream keyed by ``(key, g, i, stream)``. The generator is Philox4x32-10
(J. Salmon, M. Moraes, R. Dror, D. Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11, section 3) used in counter mode: the 128-bit counter is
``(block, i, g, stream)`` and the 64-bit Philox key is ``key``. Normal deviates come
from the 256-layer ziggurat of G. Marsaglia and W. W. Tsang, "The Ziggurat Method
for Generating Random Variables", J. Stat. Softw. 5(8), 2000.

No Python object exists per individual: a whole batch of streams is filled by one
compiled call, so any process holding ``key`` can rebuild any individual.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

STREAM_NORMAL = 0  # the Gaussian perturbation of an individual
STREAM_AUX = 1  # anything else an individual needs (parents, masks, ...)

_M32 = np.uint64(0xFFFFFFFF)
_PHILOX_M0 = np.uint64(0xD2511F53)
_PHILOX_M1 = np.uint64(0xCD9E8D57)
_PHILOX_W0 = np.uint64(0x9E3779B9)
_PHILOX_W1 = np.uint64(0xBB67AE85)
_TWO_M53 = 1.0 / 9007199254740992.0

# Above this many numbers, batches are filled by the multi-threaded kernels.
PARALLEL_THRESHOLD = 1 << 17


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
        The key, in ``[0, 2**64)``.
    """
    words = np.random.SeedSequence([int(seed), *map(int, extra)]).generate_state(
        2, np.uint32
    )
    return int(words[0]) | (int(words[1]) << 32)


def _ziggurat_tables(layers: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Layer widths ``x[0..layers]`` and heights ``f(x)`` (Marsaglia & Tsang, section 2)."""
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
    return x, fx


_ZIG_X, _ZIG_F = _ziggurat_tables()
_ZIG_R = float(_ZIG_X[1])


@njit(cache=True, inline="always")
def _philox(k0, k1, c0, c1, c2, c3):
    """One Philox4x32-10 block; all arguments are uint64 holding 32-bit words."""
    for _ in range(10):
        p0 = _PHILOX_M0 * c0
        p1 = _PHILOX_M1 * c2
        n0 = ((p1 >> np.uint64(32)) ^ c1 ^ k0) & _M32
        n2 = ((p0 >> np.uint64(32)) ^ c3 ^ k1) & _M32
        c0, c1, c2, c3 = n0, p1 & _M32, n2, p0 & _M32
        k0 = (k0 + _PHILOX_W0) & _M32
        k1 = (k1 + _PHILOX_W1) & _M32
    return c0 | (c1 << np.uint64(32)), c2 | (c3 << np.uint64(32))


@njit(cache=True, inline="always")
def _next(state):
    """Next uint64 of a stream; ``state`` = [k0, k1, block, c1, c2, c3, buf, have]."""
    if state[7] == 0:
        a, b = _philox(state[0], state[1], state[2], state[3], state[4], state[5])
        state[2] += np.uint64(1)
        state[6] = b
        state[7] = 1
        return a
    state[7] = 0
    return state[6]


@njit(cache=True, inline="always")
def _open(state, key, generation, index, stream):
    """Position ``state`` at the start of stream ``(key, generation, index, stream)``."""
    k = np.uint64(key)
    state[0] = k & _M32
    state[1] = k >> np.uint64(32)
    state[2] = 0
    state[3] = np.uint64(index & 0xFFFFFFFF)
    state[4] = np.uint64(generation & 0xFFFFFFFF)
    state[5] = np.uint64(((stream & 0xFFFF) << 16) | ((generation >> 32) & 0xFFFF))
    state[6] = 0
    state[7] = 0


@njit(cache=True, inline="always")
def _uniform(state):
    """A double in [0, 1) with 53 random bits."""
    return float(_next(state) >> np.uint64(11)) * _TWO_M53


@njit(cache=True)
def _normal_slow(state, u, idx):
    """The ziggurat's rare branches: the tail (idx 0) and the wedges."""
    xs = _ZIG_X
    fs = _ZIG_F
    while True:
        sign = (u >> np.uint64(8)) & np.uint64(1)
        x = float(u >> np.uint64(11)) * _TWO_M53 * xs[idx]
        if x < xs[idx + 1]:
            return -x if sign else x
        if idx == 0:  # tail beyond r (Marsaglia & Tsang, section 3)
            while True:
                e = -math.log(1.0 - _uniform(state)) / _ZIG_R
                y = -math.log(1.0 - _uniform(state))
                if y + y > e * e:
                    break
            x = _ZIG_R + e
            return -x if sign else x
        if fs[idx] + _uniform(state) * (fs[idx + 1] - fs[idx]) < math.exp(-0.5 * x * x):
            return -x if sign else x
        u = _next(state)
        idx = int(u & np.uint64(0xFF))


@njit(cache=True, inline="always")
def _normal(state):
    """One standard normal deviate (256-layer ziggurat)."""
    u = _next(state)
    idx = int(u & np.uint64(0xFF))
    x = float(u >> np.uint64(11)) * _TWO_M53 * _ZIG_X[idx]
    if x < _ZIG_X[idx + 1]:
        return -x if (u >> np.uint64(8)) & np.uint64(1) else x
    return _normal_slow(state, u, idx)


@njit(cache=True)
def fill_normal(key, generation, index, stream, out):
    """Fill the 1-D array ``out`` with the standard normals of one stream."""
    state = np.empty(8, np.uint64)
    _open(state, key, generation, index, stream)
    for j in range(out.shape[0]):
        out[j] = _normal(state)


@njit(cache=True)
def fill_uniform(key, generation, index, stream, out):
    """Fill the 1-D array ``out`` with uniforms in [0, 1) from one stream."""
    state = np.empty(8, np.uint64)
    _open(state, key, generation, index, stream)
    for j in range(out.shape[0]):
        out[j] = _uniform(state)


@njit(cache=True)
def normal_rows(key, generation, indices, dim, stream):
    """Rows ``indices`` of the generation's normal matrix, shape ``(len(indices), dim)``."""
    out = np.empty((indices.shape[0], dim))
    state = np.empty(8, np.uint64)
    for r in range(indices.shape[0]):
        _open(state, key, generation, indices[r], stream)
        for j in range(dim):
            out[r, j] = _normal(state)
    return out


@njit(cache=True, parallel=True)
def _normal_rows_parallel(key, generation, indices, dim, stream):
    out = np.empty((indices.shape[0], dim))
    for r in prange(indices.shape[0]):
        fill_normal(key, generation, indices[r], stream, out[r])
    return out


@njit(cache=True)
def uniform_rows(key, generation, indices, dim, stream):
    """Rows ``indices`` of the generation's uniform matrix, shape ``(len(indices), dim)``."""
    out = np.empty((indices.shape[0], dim))
    for r in range(indices.shape[0]):
        fill_uniform(key, generation, indices[r], stream, out[r])
    return out


@njit(cache=True)
def accumulate_normal(key, generation, indices, coeffs, stream, out):
    """``out += sum_k coeffs[k] * z[indices[k]]`` without holding the ``z`` rows.

    This is how a ``tell`` at large dimension turns fitness weights into a gradient
    estimate: each stream is regenerated and added in one pass.
    """
    state = np.empty(8, np.uint64)
    for r in range(indices.shape[0]):
        c = coeffs[r]
        _open(state, key, generation, indices[r], stream)
        for j in range(out.shape[0]):
            out[j] += c * _normal(state)


def sample_normal(
    key: int, generation: int, indices: np.ndarray, dim: int, stream: int = STREAM_NORMAL
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
    if indices.shape[0] > 1 and indices.shape[0] * dim >= PARALLEL_THRESHOLD:
        return _normal_rows_parallel(np.uint64(key), generation, indices, dim, stream)
    return normal_rows(np.uint64(key), generation, indices, dim, stream)
