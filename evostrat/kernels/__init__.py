"""Numba kernels: pure functions on arrays, no strategy state.

OpenMP threads that spin while waiting make every parallel kernel several times
slower as soon as another process (an MPI rank, a pool worker, a test runner)
competes for the cores: measured here, 7.7 ms instead of 0.2 ms for 10 rows of
10^4 normals with two processes on two cores. Unless the user chose otherwise,
evostrat therefore asks OpenMP to sleep while idle; this must happen before numba
loads its OpenMP layer, i.e. before the first parallel kernel runs.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
