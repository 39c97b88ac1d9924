"""Evaluators: where the objective runs (serial, multiprocessing pool, MPI)."""

from evostrat.evaluators.base import Evaluator
from evostrat.evaluators.mpi import MPIEvaluator
from evostrat.evaluators.pool import PoolEvaluator
from evostrat.evaluators.serial import SerialEvaluator

__all__ = ["Evaluator", "MPIEvaluator", "PoolEvaluator", "SerialEvaluator"]
