"""pycma's stop criteria and their bookkeeping, shared by CMAES and SepCMAES.

The criteria of pycma 4.x (``cma.evolution_strategy._CMAStopDict``), described with
their options in :class:`evostrat.strategies.cmaes.CMAES` and ``docs/cmaes.md``:
``tolfunhist``, ``tolupsigma``, ``tolfacupx``, ``conditioncov``, ``tolflatfitness``,
``noeffectcoord``, ``noeffectaxis``, ``tolstagnation``; ``tolx`` additionally needs
``sigma |p_c|`` below it. N. Hansen, "The CMA Evolution Strategy: A Tutorial",
arXiv:1604.00772 (2016), Appendix B.3 describes most of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evostrat.kernels.cma import count_no_effect


class CMAStopCriteria:
    """Mixin for a CMA-ES subclass of :class:`~evostrat.strategies.base.Strategy`.

    Expects the strategy's ``options``, ``sigma``, ``sigma0``, ``mean``, ``pc``,
    ``eigenvalues``, ``B``, ``_stds()`` and ``_best_hist``; ``_record`` is called by
    every update with the generation's best, median and 75 %-quantile fitness.
    """

    def _check_cma_options(self) -> None:
        o = self.options
        for name in ("tolfunhist", "tolupsigma", "tolfacupx", "conditioncov"):
            v = o[name]
            if v is not None and (isinstance(v, bool) or not float(v) > 0):
                raise ValueError(f"{name} must be a positive number or None, got {v!r}")
        for name in ("tolstagnation", "tolflatfitness"):
            v = o[name]
            if v is not None and (isinstance(v, bool) or int(v) != v or v < 0):
                raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
        if o["tolstagnation"] is None:
            # pycma evaluates its default with the unrounded default popsize
            lam = float(self.popsize)
            if self.popsize == 4 + int(3 * math.log(self.dim)):
                lam = 4 + 3 * math.log(self.dim)
            o["tolstagnation"] = int(100 + 100 * self.dim**1.5 / lam)

    def _record(self, f_best: float, f_median: float, f_q75: float) -> None:
        """Bookkeeping of tolstagnation and tolflatfitness (pycma's ``fit``)."""
        if f_best < self._best_seen:
            self._best_seen = f_best
            self._best_evals = self.evals + self.popsize
        if (self.generation + 1) % 5 == 0:  # pycma's countiter after this tell
            self._histbest.insert(0, f_best)
            self._histmedian.insert(0, f_median)
            if len(self._histbest) > 20000:
                self._histbest.pop()
                self._histmedian.pop()
        self._flat_generations = 0 if f_best < f_q75 else self._flat_generations + 1

    # ------------------------------------------------------------- stopping
    def stop(self) -> dict[str, Any]:
        """Stop criteria met now (see the class docstring); empty to go on."""
        out = super().stop()
        if "tolx" in out and not np.all(
            self.sigma * np.abs(self.pc) < self.options["tolx"]
        ):
            del out["tolx"]  # pycma: sigma * pc must be small too
        return out

    def _axis_no_effect(self) -> bool:
        i = self.generation % self.dim
        scale = 0.1 * self.sigma * math.sqrt(self.eigenvalues[i])
        return count_no_effect(self.mean, self.B[:, i], scale) == self.dim

    def _condition(self) -> float:
        ev = self.eigenvalues
        return float(ev[-1] / ev[0])

    def _stop_criteria(self) -> dict[str, Any]:
        if self.generation == 0:
            return {}
        o = self.options
        out: dict[str, Any] = {}
        stds = self._stds()
        if o["tolfunhist"] is not None:
            hist = self._best_hist
            if len(hist) > 9 and max(hist) - min(hist) < o["tolfunhist"]:
                out["tolfunhist"] = o["tolfunhist"]
        top = math.sqrt(float(self.eigenvalues[-1]))  # ascending
        if (
            o["tolupsigma"] is not None
            and self.sigma / top > self.sigma0 * o["tolupsigma"]
        ):
            out["tolupsigma"] = o["tolupsigma"]
        if o["tolfacupx"] is not None and np.any(stds > self.sigma0 * o["tolfacupx"]):
            out["tolfacupx"] = o["tolfacupx"]
        if o["conditioncov"] is not None and self._condition() > o["conditioncov"]:
            out["conditioncov"] = o["conditioncov"]
        if (
            o["tolflatfitness"] is not None
            and self._flat_generations > o["tolflatfitness"]
        ):
            out["tolflatfitness"] = o["tolflatfitness"]
        if o["noeffectcoord"] and count_no_effect(self.mean, stds, 0.2):
            idx = np.flatnonzero(self.mean == self.mean + 0.2 * stds)
            out["noeffectcoord"] = idx.tolist()
        if o["noeffectaxis"] and self._axis_no_effect():
            out["noeffectaxis"] = True
        if o["tolstagnation"] and self._stagnated():
            out["tolstagnation"] = o["tolstagnation"]
        return out

    def _stagnated(self) -> bool:
        """pycma's tolstagnation test on the best / median histories."""
        stag = self.options["tolstagnation"]
        hb, hm = self._histbest, self._histmedian
        n, g = self.dim, self.generation
        length = max(stag / 5.0 / 2, len(hb) / 10.0)
        if length > g:
            return False
        k = int(length)
        return bool(
            g > n * (5 + 100 / self.popsize)
            and (self.evals - self._best_evals) / self.popsize > stag / 2
            and len(hb) > 100
            and 2 * k < len(hb)
            and np.median(hm[:k]) >= np.median(hm[k : 2 * k])
            and np.median(hb[:k]) >= np.median(hb[k : 2 * k])
        )
