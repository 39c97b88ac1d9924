"""OpenAI-ES: fixed sigma, antithetic sampling, centered ranks, Adam.

The large-dimension machinery (rows rebuilt from their random streams, ``tell`` in
one pass over the regenerated noise) is :class:`MirroredSampling`, shared with PEPG.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from evostrat.kernels import es_grad, rng, shaping
from evostrat.strategies.base import default_popsize
from evostrat.strategies.mirrored.base import (
    PARALLEL_ROWS_MIN,
    SIGMA_FLOOR,
    MirroredStrategy,
)
from evostrat.strategies.options import Option, decayed, flag


class OpenES(MirroredStrategy):
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
    top_pairs : int or None, default None
        If an int ``b``, only the ``b`` mirrored pairs whose better member has the
        best utilities enter :math:`g`, averaged over those ``2b`` rows instead of
        :math:`\lambda` (the top-``b`` directions of Augmented Random Search, H. Mania,
        A. Guy, B. Recht, "Simple random search provides a competitive approach to
        reinforcement learning", NeurIPS 2018, Algorithm 1, V1-t/V2-t). Needs
        ``antithetic=True``; ``b >= popsize / 2`` is the plain estimate. With
        ``rank_fitness=False`` the ``2b`` rows are standardized among themselves
        (ARS's sigma_R), so ``optimizer="sgd", momentum=0, weight_decay=0,
        learning_rate=2 * sigma * alpha`` is ARS V2-t with step size alpha (and
        with its observation normalization, ``evostrat.rl``'s default).
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

    OPTIONS: ClassVar[dict[str, Option]] = {
        "weight_decay": Option(
            0.005,
            "L2 coefficient added to the gradient (Salimans et al.'s l2coeff)",
            "real",
            0.0,
        ),
        "antithetic": flag("mirrored pairs (popsize must then be even)", True),
        "top_pairs": Option(
            None,
            "if an int b, only the b pairs with the best member move the mean (ARS)",
            "int",
            1,
            none_ok=True,
        ),
        "noise_table": Option(
            None,
            "if an int T >= dim, noise vectors are slices of one table of T normals",
            "int",
            1,
            none_ok=True,
        ),
    }

    @classmethod
    def fit_popsize(cls, popsize: int, **options: Any) -> int:
        """Even with ``antithetic=True`` (the default)."""
        popsize = max(int(popsize), 2)
        return popsize + popsize % 2 if options.get("antithetic", True) else popsize

    def _default_popsize(self) -> int:
        return 2 * math.ceil(default_popsize(self.dim) / 2)  # even, antithetic or not

    def _memory_bytes(self) -> int:
        table = self.options["noise_table"] or 0
        return 8 * (table + 8 * self.dim + 8 * self.popsize)  # no population held

    def _setup(self) -> None:
        o = self.options
        self._setup_gradient_step()
        self._pairs = o["antithetic"]
        self._mean_row = -1
        if self._pairs and self.popsize % 2:
            raise ValueError(
                f"antithetic=True needs an even popsize, got popsize={self.popsize}"
            )
        if o["top_pairs"] is not None and not self._pairs:
            raise ValueError("top_pairs needs antithetic=True (it ranks pairs)")
        if o["noise_table"] is not None and o["noise_table"] < self.dim:
            raise ValueError(
                f"noise_table must hold at least dim={self.dim} numbers, "
                f"got {o['noise_table']}"
            )
        self._table: np.ndarray | None = None

    # ------------------------------------------------------------ noise table
    def _noise_table(self) -> np.ndarray:
        """The shared table, from stream (key, 0, -1, STREAM_AUX); made on first use."""
        if self._table is None:
            table = np.empty(int(self.options["noise_table"]))
            rng.fill_normal(self._key, 0, -1, rng.STREAM_AUX, table)
            table.flags.writeable = False  # shared, never copied (see state.copied)
            self._table = table
        return self._table

    def _offsets(self, streams: np.ndarray) -> np.ndarray:
        """Table offset of each stream, uniform in [0, T - dim], from its AUX stream."""
        span = int(self.options["noise_table"]) - self.dim + 1
        safe = np.maximum(streams, 0)
        u = rng.uniform_rows(self._key, self.generation, safe, 1, rng.STREAM_AUX)
        return np.minimum((u[:, 0] * span).astype(np.int64), span - 1)

    # ------------------------------------------------------------------ hooks
    def _sigma_vector(self) -> np.ndarray:
        return np.array([self.sigma])

    def _sample(self, indices: np.ndarray) -> np.ndarray:
        if self.options["noise_table"] is None:
            return self._mirrored_rows(indices, self._sigma_vector())
        streams, signs = self._streams(indices)
        out = np.empty((indices.shape[0], self.dim))
        parallel = indices.shape[0] > 1 and out.size >= PARALLEL_ROWS_MIN
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

    def _update(self, fitness: np.ndarray) -> None:
        o = self.options
        diff, rows = self._selected(fitness)
        coeffs = diff * (-1.0 / (rows * self.sigma))
        streams = self._noise_streams()
        blocks = self._tell_blocks(streams.shape[0])
        # one pass regenerating every noise vector; one block = one thread, no
        # parallel launch (results are the same: blocks depend on the size only)
        acc = np.zeros((blocks, self.dim))
        if o["noise_table"] is None:
            key, g, tag = self._key, self.generation, rng.STREAM_NORMAL
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
        self._descend(grad)
        self.sigma = decayed(
            self.sigma, o["sigma_decay"], o["sigma_limit"], SIGMA_FLOOR
        )
        self._decay_learning_rate()

    def _selected(self, fitness: np.ndarray) -> tuple[np.ndarray, int]:
        """``u_plus - u_minus`` per pair, zero outside the ``top_pairs`` pairs whose
        better member ranks highest (ties: the lower pair), and the rows used.

        With ``rank_fitness=False`` the kept rows are standardized among
        themselves: ARS's step divides by the std of the 2b returns used (Mania et
        al. 2018, Algorithm 1, line 7: sigma_R)."""
        utility = self._utilities(fitness)
        diff, _ = self._pair_coefficients(utility)
        b = self.options["top_pairs"]
        if b is None or b >= diff.shape[0]:
            return diff, self.popsize
        best = np.maximum(utility[0::2], utility[1::2])
        keep = np.sort(np.argsort(-best, kind="stable")[:b])
        if not self.options["rank_fitness"]:
            rows = np.stack((2 * keep, 2 * keep + 1), axis=1).ravel()
            utility = np.zeros_like(utility)
            utility[rows] = -shaping.zscores(fitness[rows])
            diff, _ = self._pair_coefficients(utility)
        out = np.zeros_like(diff)
        out[keep] = diff[keep]
        return out, 2 * b

    # -------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_table"] = None  # rebuilt from the seed on first use
        return state
