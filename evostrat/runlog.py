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
into a buffer, with the generation's best and median fitness (by default from the
values the strategy was told: no copy of them); full blocks (every ``buffer`` rows
or ``flush_seconds`` seconds, and on ``close`` or at exit) get their best-so-far
column and their text (:func:`~evostrat.kernels.runlog.format_rows`, compiled).
``benchmarks/runlog.py`` measures what a row costs against a CMA-ES generation.
"""

from __future__ import annotations

import atexit
import io
import math
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from os import PathLike
from typing import Any

import numpy as np

from evostrat.runlog_columns import COLUMNS, check_extra_names, column_digits
from evostrat.validation import check_in_range, check_int, check_real

__all__ = ["COLUMNS", "RunLog", "open_log"]

#: coordinates of the mean and of the stds logged (pycma's plot labels about 10)
COORDINATES = 10
#: rows buffered before they are written (about 0.3 MB at 40 columns)
BUFFER_ROWS = 1000
#: seconds after which buffered rows are written anyway (a run being watched)
FLUSH_SECONDS = 5.0
#: rows turned into text at a time (the text buffer, reused: about 1 MB at 40
#: columns)
TEXT_ROWS = 1000
_EMPTY = np.empty(0)
_now = time.perf_counter


def _no_strategy() -> None:
    """The strategy of a log that has no run yet."""


def _kernels() -> Any:
    """:mod:`evostrat.kernels.runlog`, imported on the first row: a program that
    imports ``evostrat.runlog`` but logs nothing compiles nothing."""
    from evostrat.kernels import runlog

    return runlog


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
        self._t0 = time.perf_counter()
        self._k = -1  # coordinates logged (set by the first row)
        # from the first row on (_allocate): the log's state and rows in one array
        # (evostrat.kernels.runlog.fill_row) and views of the two, the kernels,
        # the text buffer, the digits
        self._log = self._state = self._text = self._digits = _EMPTY
        self._buf: np.ndarray = _EMPTY
        self._kernels: Any = None
        self._fill_row: Any = None
        # the strategy of the current run (a weak reference: the log does not keep
        # it alive; typed to give Any, so that ``is`` does not narrow ``opt``)
        self._opt: Callable[[], Any] = _no_strategy
        # whether write() may take the lean way: a CMA strategy's row from the
        # values it was told, no extra columns, on the writing process
        self._lean = False
        self._has_eig = False
        self.run = -1
        self._cma = False
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
            The generation's fitness values, for its best and median; by default
            the values ``opt`` was told last (its cells stay empty for a strategy
            that keeps none).
        **extra : float
            Values of the ``extra_columns``.
        """
        # the lean way, what optimize and fmin write (in a loop 0.6 us a call, the
        # general way 1.5; benchmarks/runlog.py measures a row against a
        # generation); anything it does not take (no tell yet: _told None) goes
        # the general way
        if self._lean and fitness is None and not extra and self._opt() is opt:
            try:
                due = self._fill_row(self._log, opt.generation, opt.evals, _now(),
                                     opt.sigma, math.nan, opt._told, 1.0, opt.mean,
                                     opt._vecs)  # fmt: skip
            except TypeError:
                pass
            else:
                if due:
                    self.flush()
                return
        self._write(opt, fitness, extra)

    def _write(self, opt: Any, fitness: Any, extra: dict[str, Any]) -> None:
        """:meth:`write`, every case."""
        if self.closed:
            raise ValueError(f"write() on a closed RunLog ({self.path})")
        if extra:
            self._check_extra(extra)
        if not self.main:
            return
        if self._opt() is not opt:
            self._start_run(opt)
        if fitness is None:  # what the strategy was told (minimization sense)
            fits, into = getattr(opt, "_told", None), 1.0
            if fits is None:
                fits = _EMPTY
        else:
            fits, into = _as_fitness(fitness), -1.0 if self._maximize else 1.0
        record = self._record(opt) if fits.size == 0 else math.nan
        sigma = opt.sigma
        if self._cma:  # diag C and the eigenvalues: rows of _vecs
            vecs = opt._vecs
        else:
            vecs = opt._stds()[np.newaxis]
            if self._has_eig:
                vecs = np.vstack((vecs, opt.eigenvalues))
            if type(sigma) is not float:
                sigma = float(np.mean(sigma))
        if self._extra_at:
            self._put_extra(self._buf[int(self._state[self._kernels.ROWS])], extra)
        due = self._fill_row(self._log, opt.generation, opt.evals, _now(), sigma,
                             record, fits, into, opt.mean, vecs)  # fmt: skip
        if due:
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
        st, K = self._state, self._kernels
        if self.run >= 0:  # generations and evaluations go on counting
            st[K.OFFSET_GENERATIONS] += st[K.LAST_GENERATION]
            st[K.OFFSET_EVALS] += st[K.LAST_EVALS]
        self.run += 1
        st[K.RUN] = self.run
        self._opt = weakref.ref(opt)
        self._has_eig = hasattr(type(opt), "eigenvalues")
        rows: tuple[int, int] = getattr(type(opt), "_LOG_ROWS", (0, -1))
        self._cma = rows[1] >= 0 and isinstance(opt.sigma, float)
        st[K.SPREAD_ROW], st[K.EIG_ROW] = (
            rows if self._cma else (0, 1 if self._has_eig else -1)
        )
        st[K.SCALE_BY_SIGMA] = self._cma
        self._lean = self._cma and not self._extra_at
        self._maximize = bool(getattr(opt, "maximize", False))
        st[K.SIGN] = -1.0 if self._maximize else 1.0
        self._write_text(
            f"# run {self.run}: {type(opt).__name__} dim={opt.dim} "
            f"popsize={opt.popsize} seed={getattr(opt, 'seed', None)} "
            f"maximize={self._maximize}\n"
        )

    def _allocate(self) -> None:
        k = self._k
        names = [*COLUMNS, *self.extra_columns]
        names += [f"mean_{i}" for i in range(k)] + [f"std_{i}" for i in range(k)]
        self._kernels = K = _kernels()
        self._log = np.full(K.STATE_SIZE + self.buffer * len(names), math.nan)
        self._state = st = self._log[: K.STATE_SIZE]
        self._buf = self._log[K.STATE_SIZE :].reshape(self.buffer, len(names))
        self._fill_row = K.entry_point(K.fill_row)
        # the text is made TEXT_ROWS rows at a time, into one reused buffer
        self._text = np.empty(
            K.text_bytes(min(self.buffer, TEXT_ROWS), len(names)), np.uint8
        )
        st[:] = 0.0
        st[K.BEST], st[K.COLS] = math.nan, len(names)
        st[K.T0], st[K.AT_COORDS], st[K.K] = self._t0, self._at_coords, k
        st[K.CAPACITY], st[K.DEADLINE] = self.buffer, self._t0 + self.flush_seconds
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
        if self._k < 0:
            return  # no row yet
        K, st = self._kernels, self._state
        rows = int(st[K.ROWS])
        if rows and self._file is not None:
            block = self._buf[:rows]
            text = self._text
            for a in range(0, rows, TEXT_ROWS):
                n = K.format_rows(block[a : a + TEXT_ROWS], self._digits, text)
                self._file.write(text[:n].data)
            self._file.flush()
        st[K.ROWS] = 0
        st[K.DEADLINE] = time.perf_counter() + self.flush_seconds

    def close(self) -> None:
        """Write what is buffered and close the file (again: nothing happens)."""
        if self.closed:
            return
        self._lean = False
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


def _as_fitness(fitness: Any) -> np.ndarray:
    """A caller's fitness values as a 1-D float array (the row's statistics are
    taken at once: the caller may reuse theirs). A list numpy cannot read as
    numbers gives no values (empty cells); another such object is an error."""
    try:
        return np.array(fitness, dtype=np.float64).ravel()
    except (TypeError, ValueError, OverflowError):
        if type(fitness) is not list:
            raise
        return _EMPTY


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
