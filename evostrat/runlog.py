"""The run log: one CSV row per generation, what pycma's data logger records.

    with evostrat.runlog.RunLog("run.csv") as log:
        while not opt.stop():
            X = opt.ask()
            fitness = [f(x) for x in X]
            opt.tell(fitness)
            log.write(opt, fitness=fitness)
    evostrat.plot("run.csv")

``opt.optimize(f, log="run.csv")`` and ``evostrat.fmin(f, x0, sigma0, log=...)`` do
the same. The columns (see :data:`COLUMNS`) are those of pycma's ``CMADataLogger``
files (N. Hansen, pycma, ``cma/logger.py``: ``fit``, ``axlen``, ``stddev``,
``xmean``) in one table: run (restart index), generation, evaluations, the
generation's best and median fitness, the best so far, sigma, axis ratio and
condition number of ``C`` (where the strategy has eigenvalues), the smallest and
largest per-coordinate standard deviation, wall time, the caller's extra columns,
then the first coordinates of the mean and of the standard deviations. Comment lines
(``#``) give each run's strategy, dimension, population size, seed and sense.

A row is gathered by one compiled call (:func:`evostrat.kernels.runlog.fill_row`)
into a buffer; full blocks (every ``buffer`` rows or ``flush_seconds`` seconds, and
on ``close``) get their fitness statistics in one vectorized pass and are turned into
text by compiled code (:func:`~evostrat.kernels.runlog.format_rows`).
``benchmarks/runlog.py`` measures what a row costs against a CMA-ES generation.
"""

from __future__ import annotations

import atexit
import io
import math
import sys
import time
import weakref
from collections.abc import Iterable
from os import PathLike
from typing import Any

import numpy as np

from evostrat.runlog_columns import COLUMNS, check_extra_names, column_digits
from evostrat.runlog_columns import fitness_columns as _fitness_columns
from evostrat.validation import check_in_range, check_int, check_real

__all__ = ["COLUMNS", "RunLog", "open_log"]

#: coordinates of the mean and of the stds logged (pycma's plot labels about 10)
COORDINATES = 10
#: rows buffered before they are written (about 0.3 MB at 40 columns)
BUFFER_ROWS = 1000
#: seconds after which buffered rows are written anyway (a run being watched)
FLUSH_SECONDS = 5.0
_NO_EIGENVALUES = np.empty(0)


def _kernels() -> tuple[Any, Any]:
    """``(fill_row's compiled entry, format_rows)``, imported on the first row: a
    program that imports ``evostrat.runlog`` but logs nothing compiles nothing."""
    from evostrat.kernels.runlog import entry_point, fill_row, format_rows

    return entry_point(fill_row), format_rows


#: logs not yet closed: closed at exit, so that no buffered row is lost
_OPEN: weakref.WeakSet[RunLog] = weakref.WeakSet()


@atexit.register
def _close_open_logs() -> None:
    for log in list(_OPEN):
        log.close()


def _mpi_rank_zero() -> bool:
    """Whether this process is rank 0 of MPI's world (True without mpi4py loaded)."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None:
        return True
    return bool(mpi.COMM_WORLD.Get_rank() == 0)


class RunLog:
    """A CSV log of a run, one row per generation (see the module docstring).

    Parameters
    ----------
    path : str or path-like
        File to write (replaced if it exists).
    extra_columns : sequence of str
        Names of further columns that :meth:`write` takes as keywords (e.g. a
        training loop's environment steps and mean return); a row without one
        leaves its cell empty.
    coordinates : int
        How many leading coordinates of the mean and of the stds to log.
    buffer : int
        Rows kept in memory before they are written.
    flush_seconds : float
        Buffered rows are written at the first row after this many seconds.
    main : bool, optional
        Whether this process writes. None: rank 0 of MPI's world if ``mpi4py`` is
        loaded, else True. ``optimize``/``fmin`` pass the evaluator's answer. On
        other processes no file is created and :meth:`write` does nothing.

    Notes
    -----
    A new strategy object passed to :meth:`write` starts a new run (``run`` goes up
    by one; ``generation`` and ``evaluations`` keep counting over the whole log), so
    the runs of ``fmin``'s restarts follow each other in one file.
    """

    def __init__(
        self,
        path: str | PathLike[str],
        extra_columns: Iterable[str] = (),
        coordinates: int = COORDINATES,
        buffer: int = BUFFER_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
        main: bool | None = None,
    ) -> None:
        extra = check_extra_names(extra_columns)
        self.extra_columns = extra
        self.coordinates = check_int("coordinates", coordinates, minimum=0)
        self.buffer = check_int("buffer", buffer, minimum=1)
        seconds = check_in_range("flush_seconds", flush_seconds, 0)
        self.flush_seconds = float(seconds if seconds is not None else FLUSH_SECONDS)
        self.main = _mpi_rank_zero() if main is None else bool(main)
        self.path = path
        self._file: io.BufferedWriter | None = None
        if self.main:
            self._file = open(path, "wb")  # noqa: SIM115 (closed by close())
            _OPEN.add(self)
        self._extra_at = {n: len(COLUMNS) + i for i, n in enumerate(extra)}
        self._at_coords = len(COLUMNS) + len(extra)
        self._t0 = self._last_flush = time.perf_counter()
        self._rows = 0  # buffered rows
        self._buf = np.empty((0, 0))
        self._fill_row: Any = None  # the kernels, from the first row on
        self._format_rows: Any = None
        self._digits = np.empty(0, dtype=np.int64)
        self._k = -1  # coordinates logged (set by the first row)
        self._opt: weakref.ref | None = None
        self._has_eig = False
        self.run = -1
        self._cma = False
        # generations and evaluations of the finished runs (floats, as fill_row
        # takes them)
        self._offsets = [0.0, 0.0]
        self._last = [0, 0]  # generation and evaluations of the last row
        self._best = math.nan  # best so far over the written rows, user's sense
        self._fits: list[Any] = []  # the buffered rows' fitness (None: not given)
        self._maximize = False
        self.closed = False

    # ----------------------------------------------------------------- writing
    def write(self, opt: Any, fitness: Any = None, **extra: float) -> None:
        """Add the row of ``opt``'s last generation (call it right after ``tell``).

        Parameters
        ----------
        opt : Strategy
            The strategy; a different object than in the last call starts a new run.
        fitness : sequence of float, optional
            The fitness values just told (for the generation's best and median;
            without them those cells stay empty).
        **extra : float
            Values of the ``extra_columns``.
        """
        if self.closed:
            raise ValueError(f"write() on a closed RunLog ({self.path})")
        if extra:
            self._check_extra(extra)
        if not self.main:
            return
        ref = self._opt
        if ref is None or ref() is not opt:
            self._start_run(opt)
        # the cost of this method is measured by benchmarks/runlog.py: keep it lean
        # (the fitness statistics are computed for a block of rows in flush())
        if fitness is None:
            self._fits.append(None)
            record = self._record(opt)
        else:
            # a copy (the caller may reuse theirs) that the garbage collector
            # leaves alone: a tuple of numbers is untracked at its first
            # collection, an array is never tracked (a thousand kept lists would
            # be promoted to the old generations, whose collections traverse
            # every object numba holds)
            if type(fitness) is list:
                self._fits.append(tuple(fitness))
            else:
                self._fits.append(np.array(fitness, dtype=np.float64).ravel())
            record = math.nan
        sigma = opt.sigma
        if self._cma:  # sigma * sqrt(diag C), what _stds() returns, no temporaries
            scale, spread = sigma, opt._diag_cov()
        else:
            scale, spread = 0.0, opt._stds()
            if type(sigma) is not float:
                sigma = float(np.mean(sigma))
        now = time.perf_counter()
        last, offsets, i = self._last, self._offsets, self._rows
        last[0] = g = opt.generation
        last[1] = e = opt.evals
        eig = opt.eigenvalues if self._has_eig else _NO_EIGENVALUES
        buf = self._buf
        self._fill_row(buf, i, self._run_f, g + offsets[0], e + offsets[1], now - self._t0,
                 record, sigma, opt.mean, scale, spread, eig, self._at_coords,
                 self._k)  # fmt: skip
        if self._extra_at:
            self._put_extra(buf[i], extra)
        self._rows = i = i + 1
        if i == self.buffer or now - self._last_flush > self.flush_seconds:
            self.flush()

    def _put_extra(self, row: np.ndarray, extra: dict[str, Any]) -> None:
        row[len(COLUMNS) : self._at_coords] = math.nan
        for name, value in extra.items():
            row[self._extra_at[name]] = math.nan if value is None else value

    def _check_extra(self, extra: dict[str, Any]) -> None:
        unknown = extra.keys() - self._extra_at.keys()
        if unknown:
            raise ValueError(
                f"RunLog.write got unknown column(s) {sorted(unknown)}; extra "
                f"columns of this log: {list(self.extra_columns) or 'none'}"
            )
        for name, value in extra.items():
            if value is not None:
                check_real(name, value)

    def _record(self, opt: Any) -> float:
        """Without the generation's fitness: the strategy's best so far (the
        user's sense), or NaN."""
        record = getattr(opt, "_fbest", math.inf)  # minimization sense
        if not record < math.inf:
            return math.nan
        return float(-record if self._maximize else record)

    def _start_run(self, opt: Any) -> None:
        """Begin the rows of a new strategy object (the first or a restart)."""
        if self._k < 0:
            self._k = min(self.coordinates, opt.dim)
            self._allocate()
        elif opt.dim < self._k:
            raise ValueError(
                f"RunLog.write: this log has {self._k} mean coordinates; the "
                f"strategy's dimension {opt.dim} is smaller"
            )
        self.flush()
        if self.run >= 0:
            self._offsets[0] += self._last[0]
            self._offsets[1] += self._last[1]
        self.run += 1
        self._run_f = float(self.run)
        self._opt = weakref.ref(opt)
        self._has_eig = hasattr(type(opt), "eigenvalues")
        self._cma = hasattr(type(opt), "_diag_cov") and isinstance(opt.sigma, float)
        self._maximize = bool(getattr(opt, "maximize", False))
        self._write_text(
            f"# run {self.run}: {type(opt).__name__} dim={opt.dim} "
            f"popsize={opt.popsize} seed={getattr(opt, 'seed', None)} "
            f"maximize={self._maximize}\n"
        )

    def _allocate(self) -> None:
        k = self._k
        names = [*COLUMNS, *self.extra_columns]
        names += [f"mean_{i}" for i in range(k)] + [f"std_{i}" for i in range(k)]
        self._buf = np.full((self.buffer, len(names)), math.nan)
        self._fill_row, self._format_rows = _kernels()
        self._digits = column_digits(names, self.extra_columns)
        self._write_text(
            "# evostrat run log (evostrat.runlog); an empty cell has no value\n"
            + ",".join(names)
            + "\n"
        )

    def _write_text(self, text: str) -> None:
        if self._file is not None:
            self._file.write(text.encode("ascii"))

    def flush(self) -> None:
        """Write the buffered rows to the file now.

        In the calling thread: a writer thread (tried, with the GIL released by the
        formatting kernel) made a logged run slower on a busy machine, every
        hand-over of the GIL costing the run a wait for the scheduler (measured
        here at load 16 on 2 cores: +25 % instead of +11 % wall time).
        """
        if self._rows and self._file is not None:
            block = self._buf[: self._rows]
            self._fill_fitness(block)
            self._file.write(self._format_rows(block, self._digits).tobytes())
            self._file.flush()
        self._rows = 0
        self._fits.clear()
        self._last_flush = time.perf_counter()

    def _fill_fitness(self, block: np.ndarray) -> None:
        """The best, median and best-so-far columns of the buffered rows."""
        block[:, 4:6] = _fitness_columns(self._fits, self._maximize)
        # candidates: the generation's best, else the strategy's record (column 6)
        cand = np.where(np.isnan(block[:, 4]), block[:, 6], block[:, 4])
        sign = -1.0 if self._maximize else 1.0
        running = np.fmin.accumulate(np.r_[sign * self._best, sign * cand])[1:]
        block[:, 6] = sign * running
        self._best = float(block[-1, 6])

    def close(self) -> None:
        """Write what is buffered and close the file (again: nothing happens)."""
        if self.closed:
            return
        try:
            self.flush()
        finally:
            self.closed = True
            _OPEN.discard(self)
            if self._file is not None:
                self._file.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a log left open still ends up complete
        if not getattr(self, "closed", True):
            self.close()
        _OPEN.discard(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"run {self.run}"
        return f"RunLog({str(self.path)!r}, {state})"


def open_log(log: Any, evaluator: Any = None) -> tuple[RunLog | None, bool]:
    """``(run_log, owned)`` for a ``log=`` argument of ``optimize``/``fmin``.

    None gives ``(None, False)``; a :class:`RunLog` is used as it is (the caller
    keeps it open: ``owned`` False); a path opens a new ``RunLog`` written by the
    evaluator's main process only (rank 0 under MPI; ``owned`` True).
    """
    if log is None:
        return None, False
    if isinstance(log, RunLog):
        if log.closed:
            raise ValueError(f"log: the RunLog {log.path!r} is closed")
        return log, False
    if isinstance(log, (str, PathLike)):
        from evostrat.evaluators.base import is_main_process

        return RunLog(log, main=is_main_process(evaluator)), True
    raise TypeError(f"log must be a file path or a RunLog, got {log!r}")
