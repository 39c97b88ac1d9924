"""fmin with restarts and log= under mpiexec: only rank 0 writes the file.

mpiexec -n 2 python tests/mpi_scripts/runlog_ranks.py LOG
"""

import sys

import numpy as np

import evostrat
from evostrat.functions import rosenbrock

evaluator = evostrat.MPIEvaluator()
res = evostrat.fmin(rosenbrock, np.zeros(4), 0.5, seed=3, restarts=1,
                    evaluator=evaluator, log=sys.argv[1], max_evals=3000)  # fmt: skip
print(evaluator.comm.Get_rank(), res.evals, flush=True)
