"""OpenAI-ES: fixed sigma, antithetic sampling, centered ranks, Adam.

Also home of :class:`MirroredSampling`, the large-dimension machinery OpenES and PEPG
share: rows are rebuilt from their random streams, and ``tell`` regenerates each
pair's noise and accumulates the gradient in one pass, so no ``popsize x dim``
matrix is ever held.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import es_grad, rng, shaping
from evostrat.optimizers import SGD, Adam
from evostrat.strategies.base import Strategy

#: above this many numbers (rows x dim) a batch of rows is made by many threads
PARALLEL_THRESHOLD = 1 << 16
#: most blocks the pairs of a ``tell`` are split into (one accumulator row each);
#: fixed by the problem size, never by the thread count, so runs are reproducible
MAX_TELL_BLOCKS = 2
#: sigma never decays below this: 1 / (popsize * sigma) must stay finite
SIGMA_FLOOR = 1e-300


def check_real(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """``value`` as a float if it lies in the interval, else a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    ok = (v > low if open_low else v >= low) and (v < high if open_high else v <= high)
    if not ok or math.isnan(v):
        lb, hb = "(" if open_low else "[", ")" if open_high else "]"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{hb}, got {value!r}")
    return v


def make_optimizer(options: dict[str, Any]) -> Adam | SGD:
    """The optimizer named by ``options["optimizer"]`` ("adam" or "sgd")."""
    name = options["optimizer"]
    lr = check_real(
        "learning_rate",
        options["learning_rate"],
        0.0,
        math.inf,
        open_low=True,
        open_high=True,
    )
    if name == "adam":
        return Adam(lr)
    if name == "sgd":
        momentum = check_real("momentum", options["momentum"], 0.0, 1.0, open_high=True)
        return SGD(lr, momentum=momentum)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {name!r}")


class MirroredSampling:
    """Rows ``mean +- sigma * z_k`` rebuilt from the stream of pair ``k``.

    A subclass sets ``self._pairs`` (whether rows ``2k`` and ``2k + 1`` share the
    stream ``k`` with opposite signs; otherwise row ``i`` has stream ``i``) and
    ``self._mean_row`` (an index whose row is the unperturbed mean, or -1).
    """

    _pairs: bool
    _mean_row: int

    def _signed_key(self) -> int:
        key = self._key
        return key - (1 << 64) if key >= (1 << 63) else key

    def _streams(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stream (pair) and sign of each row; stream -1 means "the mean itself"."""
        if self._pairs:
            streams = indices // 2
            signs = np.where(indices % 2 == 0, 1.0, -1.0)
        else:
            streams = indices.copy()
            signs = np.ones(indices.shape[0])
        if self._mean_row >= 0:
            streams[indices == self._mean_row] = -1
        return streams, signs

    def _noise_streams(self) -> np.ndarray:
        """The streams of this generation's noise vectors, each once."""
        n = self.popsize - (self._mean_row >= 0)
        return np.arange(n // 2 if self._pairs else n, dtype=np.int64)

    def _tell_blocks(self, nstreams: int) -> int:
        if nstreams * self.dim < PARALLEL_THRESHOLD:
            return 1
        return max(1, min(MAX_TELL_BLOCKS, nstreams))

    def _mirrored_rows(self, indices: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Rows ``indices``: ``mean + sign * sigma * z_stream`` (``sigma`` 1-D)."""
        streams, signs = self._streams(indices)
        out = np.empty((indices.shape[0], self.dim))
        if indices.shape[0] == 0:
            return out
        key, g, tag = self._signed_key(), self.generation, rng.STREAM_NORMAL
        if indices.shape[0] > 1 and indices.shape[0] * self.dim >= PARALLEL_THRESHOLD:
            es_grad.perturbed_rows_parallel(
                key, g, streams, signs, self.mean, sigma, tag, out
            )
            return out
        # serially, keeping the last stream's noise: the other row of a pair,
        # asked for next (one row per chunk at large dim), costs no new draw
        z, last = self._cache.get("noise", (None, -1))
        if z is None:
            z = np.empty(self.dim)
        last = es_grad.perturbed_rows(
            key, g, streams, signs, self.mean, sigma, tag, out, z, last
        )
        self._cache["noise"] = (z, last)
        return out

    def _pair_coefficients(self, utility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u_plus - u_minus, (u_plus + u_minus) / 2)`` per noise vector.

        Without pairs: ``(u, u)`` per individual (the mean row excluded).
        """
        if self._mean_row >= 0:
            utility = np.delete(utility, self._mean_row)
        if not self._pairs:
            return utility, utility
        plus, minus = utility[0::2], utility[1::2]
        return plus - minus, 0.5 * (plus + minus)


class OpenES(MirroredSampling, Strategy):
    r"""OpenAI evolution strategy (T. Salimans, J. Ho, X. Chen, S. Sidor, I. Sutskever,
    "Evolution Strategies as a Scalable Alternative to Reinforcement Learning",
    arXiv:1703.03864, 2017, Algorithms 1 and 2, sections 2.1-2.3).

    Individual :math:`i` is :math:`x_i = m + \sigma \epsilon_i`,
    :math:`\epsilon_i \sim N(0, I)`; with ``antithetic=True`` individuals
    :math:`2k` and :math:`2k+1` use :math:`+\epsilon_k` and :math:`-\epsilon_k`
    (mirrored sampling, section 2.2). The fitness is shaped into utilities
    :math:`u_i` (centered ranks in :math:`[-0.5, 0.5]`, best :math:`+0.5`), and the
    loss gradient

    .. math:: g = -\frac{1}{\lambda \sigma} \sum_i u_i \epsilon_i + w\, m

    (Algorithm 1's estimate plus the L2 penalty :math:`w = ` ``weight_decay``)
    goes to the optimizer (Adam by default), which moves :math:`m`. Then
    :math:`\sigma \leftarrow \max(\sigma \cdot \text{sigma\_decay},
    \text{sigma\_limit})` and likewise for the learning rate (estool's options).
    ``tell`` regenerates each :math:`\epsilon_k` from its stream and accumulates
    :math:`g` in one pass (the seed trick of Algorithm 2): memory is a few vectors
    of length ``dim``, whatever ``popsize``.

    Options
    -------
    learning_rate : float, default 0.01
        Step size of the optimizer (Adam's alpha).
    learning_rate_decay : float, default 1.0
        Factor applied to the learning rate after each generation, in (0, 1].
    learning_rate_limit : float, default 0.0
        Floor of the learning rate under decay.
    weight_decay : float, default 0.005
        L2 coefficient :math:`w` added to the gradient (Salimans et al.'s
        ``l2coeff`` of 0.005); 0 disables it. It pulls the mean towards 0.
    antithetic : bool, default True
        Mirrored pairs; ``popsize`` must then be even.
    sigma_decay : float, default 1.0
        Factor applied to sigma after each generation, in (0, 1].
    sigma_limit : float, default 0.0
        Floor of sigma under decay.
    rank_fitness : bool, default True
        Centered-rank utilities; if False, standardized fitness
        :math:`u = -(f - \bar f)/\mathrm{std}(f)` (finite for any input).
    optimizer : {"adam", "sgd"}, default "adam"
        :class:`evostrat.Adam` or :class:`evostrat.SGD`.
    momentum : float, default 0.9
        Momentum of ``optimizer="sgd"``.
    noise_table : int or None, default None
        If an int ``T >= dim``, noise vectors are slices of one table of ``T``
        standard normals made from the seed (section 2.3): pair ``k``'s
        :math:`\epsilon_k` is ``table[o_k : o_k + dim]`` with the offset
        :math:`o_k` uniform from its own stream. The table is rebuilt after
        unpickling, not stored. Off by default.

    The default popsize is the even number ``2 * ceil((4 + floor(3 ln n)) / 2)``.
    """

    name = "openes"
    _options: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.01,
        "learning_rate_decay": 1.0,
        "learning_rate_limit": 0.0,
        "weight_decay": 0.005,
        "antithetic": True,
        "sigma_decay": 1.0,
        "sigma_limit": 0.0,
        "rank_fitness": True,
        "optimizer": "adam",
        "momentum": 0.9,
        "noise_table": None,
    }

    def _default_popsize(self) -> int:
        return 2 * math.ceil((4 + int(3 * math.log(self.dim))) / 2)

    def _setup(self) -> None:
        o = self.options
        self._optimizer = make_optimizer(o)
        self.learning_rate = self._optimizer.learning_rate
        check_real(
            "learning_rate_decay", o["learning_rate_decay"], 0.0, 1.0, open_low=True
        )
        check_real(
            "learning_rate_limit",
            o["learning_rate_limit"],
            0.0,
            math.inf,
            open_high=True,
        )
        check_real("weight_decay", o["weight_decay"], 0.0, math.inf, open_high=True)
        check_real("sigma_decay", o["sigma_decay"], 0.0, 1.0, open_low=True)
        check_real("sigma_limit", o["sigma_limit"], 0.0, math.inf, open_high=True)
        for flag in ("antithetic", "rank_fitness"):
            if not isinstance(o[flag], bool | np.bool_):
                raise TypeError(f"{flag} must be True or False, got {o[flag]!r}")
        self._pairs = bool(o["antithetic"])
        self._mean_row = -1
        if self._pairs and self.popsize % 2:
            raise ValueError(
                f"antithetic=True needs an even popsize, got popsize={self.popsize}"
            )
        size = o["noise_table"]
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):
                raise TypeError(f"noise_table must be an int or None, got {size!r}")
            if size < self.dim:
                raise ValueError(
                    f"noise_table must hold at least dim={self.dim} numbers, got {size}"
                )
        self._table: np.ndarray | None = None

    # ------------------------------------------------------------ noise table
    def _noise_table(self) -> np.ndarray:
        """The shared table, from stream (key, 0, -1, STREAM_AUX); made on first use."""
        if self._table is None:
            table = np.empty(int(self.options["noise_table"]))
            rng.fill_normal(self._signed_key(), 0, -1, rng.STREAM_AUX, table)
            self._table = table
        return self._table

    def _offsets(self, streams: np.ndarray) -> np.ndarray:
        """Table offset of each stream, uniform in [0, T - dim], from its AUX stream."""
        span = int(self.options["noise_table"]) - self.dim + 1
        safe = np.maximum(streams, 0)
        u = rng.uniform_rows(
            self._signed_key(), self.generation, safe, 1, rng.STREAM_AUX
        )
        return np.minimum((u[:, 0] * span).astype(np.int64), span - 1)

    # ------------------------------------------------------------------ hooks
    def _sigma_vector(self) -> np.ndarray:
        return np.array([self.sigma])

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        if self.options["noise_table"] is None:
            return self._mirrored_rows(indices, self._sigma_vector())
        streams, signs = self._streams(indices)
        out = np.empty((indices.shape[0], self.dim))
        parallel = indices.shape[0] > 1 and out.size >= PARALLEL_THRESHOLD
        kernel = es_grad.table_rows if parallel else es_grad.table_rows_serial
        kernel(
            self._noise_table(),
            self._offsets(streams),
            streams,
            signs,
            self.mean,
            self._sigma_vector(),
            out,
        )
        return out

    def _utilities(self, fitness: np.ndarray) -> np.ndarray:
        if self.options["rank_fitness"]:
            return shaping.centered_rank_utilities(fitness)
        return -shaping.zscores(fitness)

    def _update(self, fitness: np.ndarray) -> None:
        o = self.options
        diff, _ = self._pair_coefficients(self._utilities(fitness))
        coeffs = diff * (-1.0 / (self.popsize * self.sigma))
        streams = self._noise_streams()
        blocks = self._tell_blocks(streams.shape[0])
        # one pass regenerating every noise vector; one block = one thread, no
        # parallel launch (results are the same: blocks depend on the size only)
        acc = np.zeros((blocks, self.dim))
        if o["noise_table"] is None:
            key, g, tag = self._signed_key(), self.generation, rng.STREAM_NORMAL
            if blocks == 1:
                rng.accumulate_normal(key, g, streams, coeffs, tag, acc[0])
                grad = acc[0]
            else:
                grad = es_grad.accumulate_linear(key, g, streams, coeffs, tag, acc)
        else:
            table, offsets = self._noise_table(), self._offsets(streams)
            if blocks == 1:
                grad = es_grad.table_accumulate_serial(table, offsets, coeffs, acc[0])
            else:
                grad = es_grad.table_accumulate(table, offsets, coeffs, acc)
        if o["weight_decay"] > 0.0:
            es_grad.add_scaled(grad, float(o["weight_decay"]), self.mean)
        self._optimizer.learning_rate = self.learning_rate
        self._optimizer.apply(self.mean, grad)
        self.sigma = float(
            max(self.sigma * o["sigma_decay"], o["sigma_limit"], SIGMA_FLOOR)
        )
        self.learning_rate = float(
            max(self.learning_rate * o["learning_rate_decay"], o["learning_rate_limit"])
        )

    # -------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_table"] = None  # rebuilt from the seed on first use
        return state
