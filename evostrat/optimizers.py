"""First-order optimizers that turn a gradient estimate into a parameter step.

Used by :class:`~evostrat.OpenES` and :class:`~evostrat.PEPG`; any strategy (or user)
can reuse them. Both follow the same small protocol:

    opt = Adam(learning_rate=0.01)
    delta = opt.step(gradient)        # the change to add to the parameters
    opt.apply(params, gradient)       # or: params += delta, in place, no temporaries

``gradient`` is the gradient of a loss to *minimize*; the step goes against it. The
state (moment estimates, step count) is created on the first step, so the dimension
need not be given; it is plain numpy arrays and numbers, so an optimizer pickles and
continues bit-identically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evostrat.kernels import es_grad
from evostrat.validation import check_in_range


class _Optimizer:
    """Shared checks, the state's life cycle and the ``step``/``apply`` pair."""

    learning_rate: float
    #: names of the per-coordinate state arrays, None until the first step
    _state: tuple[str, ...]
    t: int

    def _kernel(self, g: np.ndarray, out: np.ndarray, add: bool) -> None:
        """Advance the state by gradient ``g``; write the step to ``out`` (or add
        it, with ``add``)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the state arrays and the step count."""
        for name in self._state:
            setattr(self, name, None)
        self.t = 0

    def _prepare(self, gradient: Any) -> np.ndarray:
        """The checked gradient; creates the zero state on the first step."""
        state = getattr(self, self._state[0])
        g = self._check_gradient(gradient, None if state is None else state.shape[0])
        if state is None:
            for name in self._state:
                setattr(self, name, np.zeros_like(g))
        return g

    def _check_gradient(self, gradient: Any, size: int | None) -> np.ndarray:
        g = np.asarray(gradient, dtype=np.float64)
        if g.ndim != 1:
            raise ValueError(f"gradient must be 1-D, got shape {g.shape}")
        if size is not None and g.shape[0] != size:
            raise ValueError(
                f"gradient has length {g.shape[0]}, but this optimizer's state has "
                f"length {size}; call reset() to start over with another dimension"
            )
        if not np.all(np.isfinite(g)):
            raise ValueError("gradient must be finite")
        return np.ascontiguousarray(g)

    def step(self, gradient: np.ndarray) -> np.ndarray:
        """Advance the state by one step and return the parameter change.

        Parameters
        ----------
        gradient : array_like, shape (dim,)
            Gradient of the loss (finite).

        Returns
        -------
        ndarray, shape (dim,)
            ``delta``: the new parameters are ``params + delta``.
        """
        g = self._prepare(gradient)
        delta = np.empty_like(g)
        self.t += 1
        self._kernel(g, delta, False)
        return delta

    def apply(self, params: np.ndarray, gradient: np.ndarray) -> None:
        """Advance by one step and add the change to ``params`` in place.

        Parameters
        ----------
        params : ndarray of float64, shape (dim,), C-contiguous
            Parameters, updated in place.
        gradient : array_like, shape (dim,)
            Gradient of the loss at ``params`` (finite).
        """
        if not (
            isinstance(params, np.ndarray)
            and params.dtype == np.float64
            and params.ndim == 1
            and params.flags.c_contiguous
            and params.flags.writeable
        ):
            raise ValueError("params must be a writeable contiguous 1-D float64 array")
        if params.shape[0] != np.shape(gradient)[0]:
            raise ValueError(
                f"params has length {params.shape[0]} but gradient has length "
                f"{np.shape(gradient)[0]}"
            )
        g = self._prepare(gradient)
        self.t += 1
        self._kernel(g, params, True)


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum.

    ``velocity <- momentum * velocity + (1 - momentum) * gradient`` and
    ``delta = -learning_rate * velocity``: classical momentum (B. T. Polyak, "Some
    methods of speeding up the convergence of iteration methods", 1964; I. Sutskever
    et al., "On the importance of initialization and momentum in deep learning",
    ICML 2013, eq. 1) written as an exponential average, as in the optimizer of
    Salimans et al.'s evolution-strategies code. ``momentum=0`` is plain SGD,
    ``delta = -learning_rate * gradient``.

    Parameters
    ----------
    learning_rate : float
        Step size, > 0.
    momentum : float, default 0.9
        In ``[0, 1)``.

    Attributes
    ----------
    velocity : ndarray or None
        The averaged gradient; None before the first step.
    t : int
        Number of steps taken.
    """

    _state = ("velocity",)

    def __init__(self, learning_rate: float, momentum: float = 0.9) -> None:
        self.learning_rate = check_in_range(
            "learning_rate", learning_rate, 0, open_low=True
        )
        self.momentum = check_in_range("momentum", momentum, 0, 1, open_high=True)
        self.velocity: np.ndarray | None = None
        self.t = 0

    def _kernel(self, g: np.ndarray, out: np.ndarray, add: bool) -> None:
        es_grad.sgd_update(
            g, self.velocity, self.learning_rate, self.momentum, out, add
        )

    def __repr__(self) -> str:
        return f"SGD(learning_rate={self.learning_rate}, momentum={self.momentum})"


class Adam(_Optimizer):
    """Adam (D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization",
    ICLR 2015, Algorithm 1).

    ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g**2``,
    ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)``,
    ``delta = -learning_rate * m_hat / (sqrt(v_hat) + epsilon)``. The first step is
    therefore about ``-learning_rate * sign(g)`` in every coordinate.

    Parameters
    ----------
    learning_rate : float
        Step size alpha, > 0.
    beta1, beta2 : float, default 0.9, 0.999
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    epsilon : float, default 1e-8
        Added to ``sqrt(v_hat)``, > 0.

    Attributes
    ----------
    m, v : ndarray or None
        Moment estimates; None before the first step.
    t : int
        Number of steps taken.
    """

    _state = ("m", "v")

    def __init__(
        self,
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        self.learning_rate = check_in_range(
            "learning_rate", learning_rate, 0, open_low=True
        )
        self.beta1 = check_in_range("beta1", beta1, 0, 1, open_high=True)
        self.beta2 = check_in_range("beta2", beta2, 0, 1, open_high=True)
        self.epsilon = check_in_range("epsilon", epsilon, 0, open_low=True)
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def _kernel(self, g: np.ndarray, out: np.ndarray, add: bool) -> None:
        es_grad.adam_update(
            g,
            self.m,
            self.v,
            self.t,
            self.learning_rate,
            self.beta1,
            self.beta2,
            self.epsilon,
            out,
            add,
        )

    def __repr__(self) -> str:
        return (
            f"Adam(learning_rate={self.learning_rate}, beta1={self.beta1}, "
            f"beta2={self.beta2}, epsilon={self.epsilon})"
        )
