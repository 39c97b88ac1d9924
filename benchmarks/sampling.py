"""Time the per-individual normal streams against one NumPy ``standard_normal`` call.

The requirement: ``sample_normal(key, g, indices, n)`` for ``popsize x n`` normals
takes at most 1.5x the time of ``numpy.random.default_rng(1).standard_normal((p, n))``
(the generator is built once, outside the timing; so is ``indices = np.arange(p)``).
Both are timed interleaved, the minimum over the repeats is reported.

Usage::

    python benchmarks/sampling.py
    NUMBA_NUM_THREADS=1 python benchmarks/sampling.py --threads
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SIZES = [(10, 10), (16, 1000), (16, 10**6)]


def _time(fn, number: int) -> float:
    """Seconds per call of ``fn`` over ``number`` calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def _number(fn, target: float = 2e-3) -> int:
    """Calls per timing so that one timing lasts about ``target`` seconds."""
    t = _time(fn, 1)
    return max(1, min(100_000, int(target / max(t, 1e-9))))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timings per method")
    parser.add_argument(
        "--threads", action="store_true", help="print numba's number of threads"
    )
    args = parser.parse_args(argv)

    import numba

    from evostrat.kernels.rng import derive_key, sample_normal

    if args.threads:
        print(f"numba.get_num_threads() = {numba.get_num_threads()}")
    key = derive_key(12345)
    g = 7
    rng = np.random.default_rng(1)

    print(f"{'p':>4} {'n':>9} {'evostrat us':>12} {'numpy us':>10} {'ratio':>7}")
    for p, n in SIZES:
        idx = np.arange(p)

        def ours(idx=idx, n=n):
            return sample_normal(key, g, idx, n)

        def theirs(p=p, n=n):
            return rng.standard_normal((p, n))

        for _ in range(3):  # warm up: compilation, caches, thread pool
            ours()
            theirs()
        number = max(_number(ours), _number(theirs))
        best_ours = best_theirs = float("inf")
        for _ in range(args.repeats):
            best_ours = min(best_ours, _time(ours, number))
            best_theirs = min(best_theirs, _time(theirs, number))
        print(
            f"{p:>4} {n:>9} {best_ours * 1e6:>12.2f} {best_theirs * 1e6:>10.2f} "
            f"{best_ours / best_theirs:>7.2f}"
        )


if __name__ == "__main__":
    main()
