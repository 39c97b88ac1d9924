"""Where the size switches of the CMA-ES code come from: measured crossovers.

1. ``evostrat.kernels.cma.BLAS_DIM``: up to this n the population is transformed by
   the compiled row loop (:func:`evostrat.kernels.cma.transform_full`), above it by
   one BLAS product ``Z @ BDT``. Printed: seconds per generation of each, and the
   ratio loop/BLAS (below 1: the loop wins).
2. ``evostrat.strategies.cma.linalg.ONE_THREAD_MAX_DIM``: up to this n ``eigh`` runs
   on one OpenBLAS thread. Printed: seconds of ``eigh`` on one thread and on the
   default count, and their ratio (below 1: one thread wins).

Both columns of a row are timed interleaved in the same run (minimum of repeats), so
the ratio holds on a loaded machine better than either time.

Usage::

    python benchmarks/crossover.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import math
import time
from functools import partial

import numpy as np

from evostrat.kernels import cma as kcma
from evostrat.strategies.cma import linalg


def _best(fn, repeats: int, number: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _blas_transform(ZYX: np.ndarray, BDT: np.ndarray, mean: np.ndarray, sigma: float):
    np.dot(ZYX[0], BDT, out=ZYX[1])
    np.multiply(ZYX[1], sigma, out=ZYX[2])
    ZYX[2] += mean


def _one_thread_eigh(setter, C: np.ndarray) -> None:
    previous = setter(1)
    try:
        np.linalg.eigh(C)
    finally:
        setter(previous)


def sampling(dims: list[int], repeats: int) -> None:
    print("n    lambda  loop s/gen   BLAS s/gen   loop/BLAS")
    rng = np.random.default_rng(0)
    for n in dims:
        lam = 4 + int(3 * math.log(n))
        BDT = np.linalg.qr(rng.normal(size=(n, n)))[0]
        mean = rng.normal(size=n)
        ZYX = np.empty((3, lam, n))
        ZYX[0] = rng.normal(size=(lam, n))
        kcma.transform_full(ZYX, BDT, mean, 0.3)  # compile
        args = (ZYX, BDT, mean, 0.3)
        loop = _best(partial(kcma.transform_full, *args), repeats, 50)
        lib = _best(partial(_blas_transform, *args), repeats, 50)
        print(f"{n:<4d} {lam:<7d} {loop:.3e}    {lib:.3e}    {loop / lib:.2f}")


def eigh(dims: list[int], repeats: int) -> None:
    setter = linalg._thread_setter()
    if setter is None:
        print("NumPy's OpenBLAS has no openblas_set_num_threads_local: skipped")
        return
    print("n    1 thread s   default s    1/default")
    rng = np.random.default_rng(1)
    for n in dims:
        A = rng.normal(size=(n, n))
        C = A @ A.T + n * np.eye(n)
        t1 = _best(partial(_one_thread_eigh, setter, C), repeats, 3)
        td = _best(partial(np.linalg.eigh, C), repeats, 3)
        print(f"{n:<4d} {t1:.3e}    {td:.3e}    {t1 / td:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"BLAS_DIM = {kcma.BLAS_DIM}")
    sampling([16, 32, 48, 64, 96, 128], args.repeats)
    print(f"\nONE_THREAD_MAX_DIM = {linalg.ONE_THREAD_MAX_DIM}")
    eigh([100, 200, 320, 400, 600], max(3, args.repeats // 5))


if __name__ == "__main__":
    main()
