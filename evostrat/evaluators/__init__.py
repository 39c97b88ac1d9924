"""Evaluators: where the objective runs (serial, multiprocessing pool, MPI)."""

from evostrat.evaluators.base import Evaluator
from evostrat.evaluators.serial import SerialEvaluator

__all__ = ["Evaluator", "SerialEvaluator"]
