"""Gradient-estimate kernels for OpenES and PEPG that never hold ``popsize x dim``.

Both strategies sample mirrored pairs: individuals ``2k`` and ``2k + 1`` are
``mean + sigma * z_k`` and ``mean - sigma * z_k`` with ``z_k`` the standard normal
stream of pair ``k`` (Salimans et al., "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning", arXiv:1703.03864, 2017, section 2.2;
Sehnke et al., "Parameter-exploring policy gradients", Neural Networks 23, 2010,
section 2.3). A row is described by its *stream* ``streams[r]`` (the pair index, or
``-1`` for "no noise": the row is the mean itself) and its *sign* ``signs[r]``.

* :func:`perturbed_rows` / :func:`perturbed_rows_parallel` make asked rows; a pair's
  noise is drawn once for both of its rows.
* :func:`accumulate_linear` and :func:`accumulate_pepg` regenerate each pair's noise
  from its stream and add it, weighted, into per-block accumulators in one pass
  (the ``tell`` of a large-dimensional strategy).
* ``table_*``: the same over a shared noise table (Salimans et al., section 2.3:
  each worker indexes one table of Gaussian noise by an offset).
* :func:`adam_update` and :func:`sgd_update`: in-place optimizer steps.

Determinism: the pairs are split into ``acc.shape[0]`` contiguous blocks, each
summed in order into its own row of ``acc``, then the rows are added in order. The
result depends on the number of blocks (chosen from the problem size by the caller),
never on the number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from evostrat.kernels import rng


@njit(cache=True, inline="always")
def _write_row(out_row, mean, sigma, sign, z):
    """``out_row = mean + sign * sigma * z`` (``sigma`` of length 1 or dim)."""
    n = mean.shape[0]
    if sigma.shape[0] == 1:
        s = sign * sigma[0]
        for j in range(n):
            out_row[j] = mean[j] + s * z[j]
    else:
        for j in range(n):
            out_row[j] = mean[j] + sign * (sigma[j] * z[j])


@njit(cache=True)
def perturbed_rows(key, generation, streams, signs, mean, sigma, tag, out, z, last):
    """Rows ``out[r] = mean + signs[r] * sigma * z_{streams[r]}``, serially.

    Parameters
    ----------
    key : int64
        Stream key (signed view of :func:`evostrat.kernels.rng.derive_key`).
    generation : int
        Generation number.
    streams : ndarray of int64, shape (rows,)
        Pair index of each row, or -1 for the unperturbed mean.
    signs : ndarray of float64, shape (rows,)
        +1 or -1.
    mean : ndarray of float64, shape (dim,)
    sigma : ndarray of float64, shape (1,) or (dim,)
    tag : int
        Stream tag (``rng.STREAM_NORMAL``).
    out : ndarray of float64, shape (rows, dim)
        Filled in place.
    z : ndarray of float64, shape (dim,)
        Scratch holding the noise of stream ``last`` (kept between calls).
    last : int
        Stream whose noise ``z`` holds, or -1 if none.

    Returns
    -------
    int
        The stream whose noise ``z`` now holds.
    """
    for r in range(streams.shape[0]):
        k = streams[r]
        if k < 0:
            out[r, :] = mean
            continue
        if k != last:
            rng.fill_normal(key, generation, k, tag, z)
            last = k
        _write_row(out[r], mean, sigma, signs[r], z)
    return last


@njit(cache=True, parallel=True)
def perturbed_rows_parallel(key, generation, streams, signs, mean, sigma, tag, out):
    """:func:`perturbed_rows` with consecutive rows of one stream made by one thread."""
    rows = streams.shape[0]
    starts = np.empty(rows + 1, np.int64)
    ngroups = 0
    for r in range(rows):
        if r == 0 or streams[r] != streams[r - 1]:
            starts[ngroups] = r
            ngroups += 1
    starts[ngroups] = rows
    dim = mean.shape[0]
    for g in prange(ngroups):
        z = np.empty(dim)
        k = streams[starts[g]]
        if k >= 0:
            rng.fill_normal(key, generation, k, tag, z)
        for r in range(starts[g], starts[g + 1]):
            if k < 0:
                out[r, :] = mean
            else:
                _write_row(out[r], mean, sigma, signs[r], z)


@njit(cache=True, inline="always")
def _block(b, nblocks, n):
    """Bounds ``[lo, hi)`` of block ``b`` of ``nblocks`` contiguous blocks of ``n``."""
    return (b * n) // nblocks, ((b + 1) * n) // nblocks


@njit(cache=True, inline="always")
def _reduce_blocks(acc):
    """``acc[0] += acc[1] + ...`` in order; returns ``acc[0]``."""
    for b in range(1, acc.shape[0]):
        for j in range(acc.shape[1]):
            acc[0, j] += acc[b, j]
    return acc[0]


@njit(cache=True, parallel=True)
def accumulate_linear(key, generation, streams, coeffs, tag, acc):
    """``sum_k coeffs[k] * z_{streams[k]}`` regenerating each stream once.

    Parameters
    ----------
    key, generation, tag :
        As in :func:`perturbed_rows`.
    streams : ndarray of int64, shape (npairs,)
    coeffs : ndarray of float64, shape (npairs,)
    acc : ndarray of float64, shape (nblocks, dim)
        Work space, overwritten; ``acc[0]`` receives the sum.

    Returns
    -------
    ndarray, shape (dim,)
        ``acc[0]``. With one block this equals ``rng.accumulate_normal`` into zeros,
        which the strategies call directly for small problems.
    """
    nblocks = acc.shape[0]
    n = streams.shape[0]
    for b in prange(nblocks):
        acc[b, :] = 0.0
        lo, hi = _block(b, nblocks, n)
        rng.accumulate_normal(
            key, generation, streams[lo:hi], coeffs[lo:hi], tag, acc[b]
        )
    return _reduce_blocks(acc)


@njit(cache=True, inline="always")
def _add_pepg(z, c, d, acc, acc_sq, j0, j1):
    """``acc += c z`` and ``acc_sq += d (z**2 - 1)`` over coordinates ``[j0, j1)``."""
    for j in range(j0, j1):
        v = z[j]
        acc[j] += c * v
        acc_sq[j] += d * (v * v - 1.0)


@njit(cache=True, parallel=True)
def accumulate_pepg(key, generation, streams, coeffs, sq_coeffs, tag, acc, acc_sq, z):
    """PEPG's two sums in one regeneration of each stream.

    ``sum_k coeffs[k] z_k`` and ``sum_k sq_coeffs[k] (z_k**2 - 1)`` (Sehnke et al.
    2010, section 2.3: the mean and sigma gradients, with
    ``(eps**2 - sigma**2) / sigma = sigma (z**2 - 1)``). The streams are split into
    ``acc.shape[0]`` contiguous blocks summed in parallel (one parallel launch),
    then the blocks are added in order, as in :func:`accumulate_linear`.

    Parameters
    ----------
    acc, acc_sq, z : ndarray of float64, shape (nblocks, dim)
        Work space (``z`` is per-block scratch), overwritten.

    Returns
    -------
    tuple of ndarray
        ``(acc[0], acc_sq[0])``, the two sums.
    """
    nblocks = acc.shape[0]
    n = streams.shape[0]
    dim = acc.shape[1]
    for b in prange(nblocks):
        acc[b, :] = 0.0
        acc_sq[b, :] = 0.0
        lo, hi = _block(b, nblocks, n)
        for k in range(lo, hi):
            rng.fill_normal(key, generation, streams[k], tag, z[b])
            _add_pepg(z[b], coeffs[k], sq_coeffs[k], acc[b], acc_sq[b], 0, dim)
    return _reduce_blocks(acc), _reduce_blocks(acc_sq)


@njit(cache=True)
def accumulate_pepg_serial(
    key, generation, streams, coeffs, sq_coeffs, tag, acc, acc_sq, z
):
    """:func:`accumulate_pepg` with one block, into the 1-D ``acc``, ``acc_sq``."""
    dim = acc.shape[0]
    acc[:] = 0.0
    acc_sq[:] = 0.0
    for k in range(streams.shape[0]):
        rng.fill_normal(key, generation, streams[k], tag, z[0])
        _add_pepg(z[0], coeffs[k], sq_coeffs[k], acc, acc_sq, 0, dim)


@njit(cache=True, inline="always")
def _table_row(table, offset, stream, sign, mean, sigma, out_row):
    if stream < 0:
        out_row[:] = mean
    else:
        _write_row(out_row, mean, sigma, sign, table[offset : offset + mean.shape[0]])


@njit(cache=True, parallel=True)
def table_rows(table, offsets, streams, signs, mean, sigma, out):
    """Rows ``mean + signs[r] * sigma * table[offsets[r] : offsets[r] + dim]``.

    Rows with ``streams[r] < 0`` are the mean itself.
    """
    for r in prange(streams.shape[0]):
        _table_row(table, offsets[r], streams[r], signs[r], mean, sigma, out[r])


@njit(cache=True)
def table_rows_serial(table, offsets, streams, signs, mean, sigma, out):
    """:func:`table_rows` in one thread."""
    for r in range(streams.shape[0]):
        _table_row(table, offsets[r], streams[r], signs[r], mean, sigma, out[r])


@njit(cache=True, inline="always")
def _table_block(table, offsets, coeffs, lo, hi, out):
    out[:] = 0.0
    for k in range(lo, hi):
        c = coeffs[k]
        o = offsets[k]
        for j in range(out.shape[0]):
            out[j] += c * table[o + j]


@njit(cache=True, parallel=True)
def table_accumulate(table, offsets, coeffs, acc):
    """``sum_k coeffs[k] * table[offsets[k] : offsets[k] + dim]`` into ``acc[0]``
    (blocks of pairs in parallel, as :func:`accumulate_linear`)."""
    nblocks = acc.shape[0]
    for b in prange(nblocks):
        lo, hi = _block(b, nblocks, offsets.shape[0])
        _table_block(table, offsets, coeffs, lo, hi, acc[b])
    return _reduce_blocks(acc)


@njit(cache=True)
def table_accumulate_serial(table, offsets, coeffs, out):
    """``out = sum_k coeffs[k] * table[offsets[k] : offsets[k] + dim]``, one thread."""
    _table_block(table, offsets, coeffs, 0, offsets.shape[0], out)
    return out


@njit(cache=True)
def add_scaled(x, c, y):
    """``x += c * y`` in place."""
    for j in range(x.shape[0]):
        x[j] += c * y[j]


@njit(cache=True)
def adam_update(gradient, m, v, t, learning_rate, beta1, beta2, epsilon, out, add):
    """One Adam step (Kingma & Ba, "Adam: A Method for Stochastic Optimization",
    ICLR 2015, Algorithm 1), in place.

    ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g**2``,
    ``delta = -learning_rate * m_hat / (sqrt(v_hat) + epsilon)`` with the bias
    corrections ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)``.
    ``out += delta`` if ``add`` else ``out = delta``; ``t`` is the new step count.
    """
    c1 = 1.0 / (1.0 - beta1**t)
    c2 = 1.0 / (1.0 - beta2**t)
    for j in range(gradient.shape[0]):
        g = gradient[j]
        mj = beta1 * m[j] + (1.0 - beta1) * g
        vj = beta2 * v[j] + (1.0 - beta2) * (g * g)
        m[j] = mj
        v[j] = vj
        delta = -learning_rate * (mj * c1) / (math.sqrt(vj * c2) + epsilon)
        if add:
            out[j] += delta
        else:
            out[j] = delta


@njit(cache=True)
def sgd_update(gradient, velocity, learning_rate, momentum, out, add):
    """One SGD step with momentum as an exponential average, in place.

    ``velocity <- momentum * velocity + (1 - momentum) * g`` and
    ``delta = -learning_rate * velocity`` (the damped form of classical momentum,
    B. T. Polyak, 1964; Sutskever et al., ICML 2013, eq. 1, with the step rescaled
    by ``1 - momentum``). ``out += delta`` if ``add`` else ``out = delta``.
    """
    for j in range(gradient.shape[0]):
        vj = momentum * velocity[j] + (1.0 - momentum) * gradient[j]
        velocity[j] = vj
        if add:
            out[j] += -learning_rate * vj
        else:
            out[j] = -learning_rate * vj


@njit(cache=True)
def pepg_sigma_step(sigma, step, scale, max_change, decay, limit, floor):
    """PEPG's sigma update in place (Sehnke et al. 2010, section 2.3; estool's PEPG).

    ``delta = scale * sigma * step`` (``step`` is ``sum_k a_k (z_k**2 - 1)``),
    clipped to ``[-max_change * sigma, max_change * sigma]``; then
    ``sigma <- sigma + delta``, decayed by ``decay`` down to ``limit`` (never
    raised by it) and kept ``>= floor``.
    """
    for j in range(sigma.shape[0]):
        s = sigma[j]
        bound = max_change * s
        delta = min(max(scale * s * step[j], -bound), bound)
        s += delta
        if s > limit:
            s = max(s * decay, limit)
        sigma[j] = max(s, floor)
