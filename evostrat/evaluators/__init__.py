"""Evaluators: where the objective runs (serial, multiprocessing pool, MPI, Ray)."""

from evostrat.evaluators.base import Evaluator
from evostrat.evaluators.mpi import MPIEvaluator
from evostrat.evaluators.pool import PoolEvaluator
from evostrat.evaluators.ray import RayEvaluator
from evostrat.evaluators.serial import SerialEvaluator

__all__ = [
    "Evaluator",
    "MPIEvaluator",
    "PoolEvaluator",
    "RayEvaluator",
    "SerialEvaluator",
]
