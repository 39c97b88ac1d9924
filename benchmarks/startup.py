"""Start-up costs: ``import evostrat``, and the first generation of every strategy.

Three measurements, each in fresh subprocesses (``sys.executable``):

1. ``import evostrat`` (median of ``--repeats`` processes), next to the references
   ``import numpy`` and ``import numba`` measured the same way.
2. Cold numba cache, as after a fresh install: ``NUMBA_CACHE_DIR`` points to an
   empty temporary folder, and one process runs the first ask/tell of every
   strategy in turn (kernels compile on first use). Target: < 10 s in total.
3. Warm cache: a second process with the same cache folder. Target: the first
   generation of every strategy < 1 s.

    python benchmarks/startup.py [--dim 10] [--repeats 5] [--separate]

``--separate`` also runs every strategy alone in its own cold process (its
stand-alone compile cost, shared kernels counted again for each).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

from evostrat.strategies import REGISTRY

IMPORT_SNIPPET = """
import time
t0 = time.perf_counter()
import {module}
dt = time.perf_counter() - t0
import sys
print(dt, int("numba" in sys.modules))
"""

FIRST_GENERATION_SNIPPET = """
import json, sys, time
# numpy and evostrat count as imports; numba is imported by the first strategy
t0 = time.perf_counter()
import numpy as np
import evostrat
from evostrat.strategies import REGISTRY, get_strategy
t_import = time.perf_counter() - t0
names = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else list(REGISTRY)
dim = int(sys.argv[2])
out = {"import": t_import, "strategies": {}, "cpu": {}}
for name in names:
    t, c = time.perf_counter(), time.process_time()
    opt = get_strategy(name)(np.full(dim, 0.5), 0.3, seed=1)
    X = opt.ask()
    opt.tell(np.sum(X * X, axis=1))
    opt.ask()
    out["strategies"][name] = time.perf_counter() - t
    out["cpu"][name] = time.process_time() - c
print(json.dumps(out))
"""


def python(code: str, *args: str, env: dict | None = None) -> str:
    """Run ``code`` in a fresh interpreter and return its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed:\n{proc.stderr}")
    return proc.stdout


def import_time(module: str, repeats: int) -> tuple[float, bool]:
    """Median import time of ``module`` over fresh processes, and whether numba came."""
    times, numba = [], False
    for _ in range(repeats):
        dt, has_numba = python(IMPORT_SNIPPET.format(module=module)).split()
        times.append(float(dt))
        numba = numba or bool(int(has_numba))
    return statistics.median(times), numba


def first_generations(cache_dir: str, names: list[str], dim: int) -> dict:
    """Import time and first ask/tell seconds per strategy with ``cache_dir``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    return json.loads(
        python(FIRST_GENERATION_SNIPPET, ",".join(names), str(dim), env=env)
    )


def cached_kernels(cache_dir: str) -> dict[str, int]:
    """Number of cached numba functions per module file in ``cache_dir``."""
    counts: dict[str, int] = {}
    for root, _, files in os.walk(cache_dir):
        for name in files:
            if name.endswith(".nbi"):
                folder = re.sub(r"_[0-9a-f]{40}$", "", os.path.basename(root))
                module = f"{folder}/{name.split('.')[0]}"
                counts[module] = counts.get(module, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--separate", action="store_true")
    parser.add_argument("--strategies", default="", help="comma-separated subset")
    args = parser.parse_args(argv)

    names = args.strategies.split(",") if args.strategies else list(REGISTRY)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"\n1. import time, median of {args.repeats} fresh processes")
    t_evo, numba = import_time("evostrat", args.repeats)
    t_np, _ = import_time("numpy", args.repeats)
    t_nb, _ = import_time("numba", args.repeats)
    print(f"   import evostrat  {t_evo * 1e3:8.1f} ms   (imports numba: {numba})")
    print(f"   import numpy     {t_np * 1e3:8.1f} ms   ratio {t_evo / t_np:5.2f}")
    print(f"   import numba     {t_nb * 1e3:8.1f} ms   ratio {t_evo / t_nb:5.2f}")

    with tempfile.TemporaryDirectory(prefix="evostrat-numba-cache-") as cache:
        cold = first_generations(cache, names, args.dim)
        warm = first_generations(cache, names, args.dim)
        kernels = cached_kernels(cache)
    print(
        f"\n2./3. first ask/tell/ask per strategy, dim {args.dim}, in order, one "
        "process each column"
    )
    print("   wall-clock seconds (CPU seconds of the process in parentheses)")
    print(f"   {'strategy':10s} {'cold cache':>18s} {'warm cache':>18s}")
    print(
        f"   {'(imports)':10s} {cold['import']:10.2f}s {'':7s} {warm['import']:10.2f}s"
    )
    for name in names:
        c, w = cold["strategies"][name], warm["strategies"][name]
        cc, wc = cold["cpu"][name], warm["cpu"][name]
        print(f"   {name:10s} {c:10.2f}s ({cc:5.2f}) {w:10.2f}s ({wc:5.2f})")
    total_cold = sum(cold["strategies"].values())
    total_warm = sum(warm["strategies"].values())
    cpu_cold, cpu_warm = sum(cold["cpu"].values()), sum(warm["cpu"].values())
    worst_warm = max(warm["strategies"].values())
    print(
        f"   {'total':10s} {total_cold:10.2f}s ({cpu_cold:5.2f}) "
        f"{total_warm:10.2f}s ({cpu_warm:5.2f})"
    )
    print(
        f"   cold total < 10 s: {total_cold < 10}; "
        f"warm: slowest first generation {worst_warm:.3f} s < 1 s: {worst_warm < 1}; "
        f"cold/warm ratio {total_cold / total_warm:.0f}"
    )
    print("\n   compiled kernels (numba cache index files) per module:")
    for module, count in sorted(kernels.items(), key=lambda kv: -kv[1]):
        print(f"   {module:40s} {count:4d}")
    if args.separate:
        print("\n   each strategy alone in a cold process:")
        for name in names:
            with tempfile.TemporaryDirectory(prefix="evostrat-numba-cache-") as cache:
                alone = first_generations(cache, [name], args.dim)
            print(f"   {name:10s} {alone['strategies'][name]:10.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
