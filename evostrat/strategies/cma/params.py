"""CMA-ES default parameters: recombination weights and learning rates.

N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016), Table 1
and eqs. (49)-(58) (``defaults="tutorial"``), or the variants pycma 4.x uses
(``defaults="pycma"``), listed in :mod:`evostrat.strategies.cma.cmaes`.
"""

from __future__ import annotations

import math

import numpy as np

#: the sets of default constants ``cma_parameters`` knows
DEFAULTS = ("tutorial", "pycma")


def recombination_weights(
    popsize: int, dim: int, c1: float, cmu: float, active: bool, pos_def: bool = True
) -> np.ndarray:
    """Rank-indexed weights, positive ones summing to 1 (Hansen 2016, eq. (49)-(53)).

    Parameters
    ----------
    popsize, dim : int
        lambda and n.
    c1, cmu : float
        Learning rates; the negative weights are finalized with them.
    active : bool
        Keep negative weights (active CMA); zero them otherwise.
    pos_def : bool
        Limit the negative sum to ``(1 - c1 - cmu) / (cmu n)`` (tutorial eq. (53)).

    Returns
    -------
    ndarray, shape (popsize,)
    """
    raw = np.array(
        [math.log((popsize + 1) / 2.0) - math.log(i) for i in range(1, popsize + 1)]
    )
    mu = int(np.sum(raw > 0))
    w = raw.copy()
    w[:mu] /= raw[:mu].sum()
    neg = w[mu:]
    if neg.sum() != 0:
        neg /= -neg.sum()  # negative weights sum to -1
    if not active:
        w[mu:] = 0.0
        return w
    if w[-1] < 0 and cmu > 0:
        mueff = 1.0 / np.sum(w[:mu] ** 2)
        mueff_minus = neg.sum() ** 2 / np.sum(neg**2)
        neg *= (1.0 + c1 / cmu) / abs(neg.sum())
        limits = [1.0 + 2.0 * mueff_minus / (mueff + 2.0)]
        if pos_def:
            limits.insert(0, (1.0 - c1 - cmu) / cmu / dim)
        for limit in limits:
            if abs(neg.sum()) > limit:
                neg *= limit / abs(neg.sum())
    return w


def cma_parameters(
    dim: int, popsize: int, defaults: str = "tutorial"
) -> dict[str, float]:
    r"""Default c1, cmu, cc, cs, damps, mueff, chi_n of CMA-ES.

    ``defaults="tutorial"``: Hansen (2016), Table 1 (eqs. (54)-(58)):

    * :math:`c_\sigma = (\mu_{eff} + 2)/(n + \mu_{eff} + 5)`,
      :math:`d_\sigma = 1 + 2 \max(0, \sqrt{(\mu_{eff} - 1)/(n + 1)} - 1) +
      c_\sigma`;
    * :math:`c_c = (4 + \mu_{eff}/n)/(n + 4 + 2 \mu_{eff}/n)`;
    * :math:`c_1 = 2/((n + 1.3)^2 + \mu_{eff})`,
      :math:`c_\mu = \min(1 - c_1, 2 (\mu_{eff} - 2 + 1/\mu_{eff})/((n + 2)^2 +
      \mu_{eff}))`.

    ``defaults="pycma"``: pycma 4.x's variants of the same formulas: :math:`c_\sigma`
    with :math:`n + \mu_{eff} + 3` and capped at 1/2, :math:`d_\sigma` with the factor
    :math:`\max(1, 3 (1 - 2^{-n/9}))` on the square root, :math:`c_1` times
    :math:`\min(1, \lambda/6)` and 0.25 added to :math:`c_\mu`'s numerator term.

    Parameters
    ----------
    dim : int
        Search space dimension n.
    popsize : int
        lambda.
    defaults : {"tutorial", "pycma"}
        Which set of formulas.

    Returns
    -------
    dict
        ``mu, mueff, c1, cmu, cc, cs, damps, chi_n``.
    """
    if defaults not in DEFAULTS:
        raise ValueError(f"defaults must be 'tutorial' or 'pycma', got {defaults!r}")
    pycma = defaults == "pycma"
    n = float(dim)
    raw = np.array(
        [math.log((popsize + 1) / 2.0) - math.log(i) for i in range(1, popsize + 1)]
    )
    pos = raw[raw > 0]
    mueff = float(pos.sum() ** 2 / np.sum(pos**2))
    c1 = 2.0 / ((n + 1.3) ** 2 + mueff)
    rank_mu = mueff - 2.0 + 1.0 / mueff
    if pycma:
        c1 *= min(1.0, popsize / 6.0)
        rank_mu += 0.25
    cmu = min(1.0 - c1, 2.0 * rank_mu / ((n + 2) ** 2 + mueff))
    cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n)
    if pycma:
        cs = min(0.5, (mueff + 2.0) / (n + mueff + 3.0))
        damp_in = max(1.0, 3.0 * (1.0 - 0.5 ** (n / 9.0)))
    else:
        cs = (mueff + 2.0) / (n + mueff + 5.0)
        damp_in = 1.0
    damps = 1.0 + 2.0 * max(0.0, damp_in * math.sqrt((mueff - 1.0) / (n + 1.0)) - 1.0)
    damps += cs
    # E|N(0, I)| = sqrt(2) Gamma((n+1)/2) / Gamma(n/2) (pycma tabulates it exactly)
    chi_n = math.sqrt(2.0) * math.exp(math.lgamma((n + 1) / 2.0) - math.lgamma(n / 2.0))
    return {
        "mu": int(pos.size),
        "mueff": mueff,
        "c1": c1,
        "cmu": cmu,
        "cc": cc,
        "cs": cs,
        "damps": damps,
        "chi_n": chi_n,
    }
