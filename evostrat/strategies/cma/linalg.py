"""LAPACK eigendecomposition of CMA-ES's covariance with a chosen OpenBLAS thread count.

NumPy's ``eigh`` (LAPACK ``dsyevd``) is multi-threaded by OpenBLAS. Measured on a
2-core machine (``benchmarks/crossover.py``, see ``docs/cmaes.md``): single-threaded it is
2x faster at n = 100 (0.53 vs 0.9-1.2 ms) and still faster at n = 300 (5.4 vs 6-9 ms),
while two threads win from n ~ 400 (n = 1000: 73 vs 116 ms). Between these sizes the
threads' synchronization costs more than they compute. OpenBLAS >= 0.3.27 has
``openblas_set_num_threads_local``, which changes the count for the calling thread
only and returns the previous one; we look it up in the OpenBLAS that NumPy loaded
(no ``threadpoolctl`` dependency) and fall back to the default thread count when it
is absent (another BLAS, an older OpenBLAS): results are the same either way.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

#: up to this dimension the decomposition runs on one OpenBLAS thread
ONE_THREAD_MAX_DIM = 320

_SETTER: list = []  # [function or None], looked up on first use


def _thread_setter():
    """``openblas_set_num_threads_local`` of NumPy's OpenBLAS, or None."""
    if not _SETTER:
        setter = None
        libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
            try:
                func = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            func.argtypes = [ctypes.c_int]
            func.restype = ctypes.c_int
            setter = func
            break
        _SETTER.append(setter)
    return _SETTER[0]


def eigh(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of the symmetric ``C``.

    ``np.linalg.eigh`` (LAPACK ``dsyevd``; only the lower triangle is read), on one
    OpenBLAS thread when ``C`` has at most :data:`ONE_THREAD_MAX_DIM` rows.

    Parameters
    ----------
    C : ndarray, shape (n, n)
        Symmetric matrix; not modified.

    Returns
    -------
    eigenvalues : ndarray, shape (n,)
    B : ndarray, shape (n, n)
    """
    setter = _thread_setter() if C.shape[0] <= ONE_THREAD_MAX_DIM else None
    if setter is None:
        return np.linalg.eigh(C)
    previous = setter(1)
    try:
        return np.linalg.eigh(C)
    finally:
        setter(previous)
