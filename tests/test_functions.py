"""Tests for evostrat.functions: definitions, optima, shapes, batching."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evostrat import functions as F

# ------------------------------------------------------------ numpy references
# Written straight from the textbook formulas (Wikipedia, "Test functions for
# optimization"), one point at a time.


def ref_sphere(x):
    return np.sum(x**2)


def ref_ellipsoid(x):
    n = len(x)
    if n == 1:
        return x[0] ** 2
    return np.sum(10.0 ** (6.0 * np.arange(n) / (n - 1)) * x**2)


def ref_rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def ref_rastrigin(x):
    return 10.0 * len(x) + np.sum(x**2 - 10.0 * np.cos(2.0 * np.pi * x))


def ref_schaffer(x):
    a, b = x
    return 0.5 + (np.sin(a**2 - b**2) ** 2 - 0.5) / (1 + 0.001 * (a**2 + b**2)) ** 2


def ref_schaffer_f6(x):
    a, b = x
    r2 = a**2 + b**2
    return 0.5 + (np.sin(np.sqrt(r2)) ** 2 - 0.5) / (1 + 0.001 * r2) ** 2


def ref_ackley(x):
    n = len(x)
    return (
        -20.0 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / n))
        - np.exp(np.sum(np.cos(2.0 * np.pi * x)) / n)
        + 20.0
        + np.e
    )


def ref_griewank(x):
    i = np.arange(1, len(x) + 1)
    return 1.0 + np.sum(x**2) / 4000.0 - np.prod(np.cos(x / np.sqrt(i)))


def ref_styblinski_tang(x):
    return np.sum(x**4 - 16.0 * x**2 + 5.0 * x) / 2.0 - len(x) * (-39.16616570377142)


def ref_different_powers(x):
    n = len(x)
    if n == 1:
        return x[0] ** 2
    return np.sum(np.abs(x) ** (2.0 + 4.0 * np.arange(n) / (n - 1)))


REFS = {
    "sphere": ref_sphere,
    "ellipsoid": ref_ellipsoid,
    "rosenbrock": ref_rosenbrock,
    "rastrigin": ref_rastrigin,
    "schaffer": ref_schaffer,
    "schaffer_f6": ref_schaffer_f6,
    "ackley": ref_ackley,
    "griewank": ref_griewank,
    "styblinski_tang": ref_styblinski_tang,
    "different_powers": ref_different_powers,
}
TWO_D = {"schaffer", "schaffer_f6"}
NAMES = list(F.ALL)


def dims_for(name, dims=(2, 5, 10)):
    return (2,) if name in TWO_D else dims


def cases(dims=(2, 5, 10)):
    return [(name, n) for name in NAMES for n in dims_for(name, dims)]


def test_listing_is_consistent():
    assert set(F.ALL) == set(F.OPTIMA) == set(F.FUNCTIONS) == set(F.DIMS)
    assert set(REFS) == set(F.ALL)
    for name in (
        "sphere",
        "ellipsoid",
        "rosenbrock",
        "rastrigin",
        "schaffer",
        "schaffer_f6",
        "ackley",
        "griewank",
        "styblinski_tang",
        "different_powers",
    ):
        assert F.FUNCTIONS[name] is getattr(F, name)
        assert F.FUNCTIONS[name].__name__ == name
        assert F.FUNCTIONS[name].__doc__


@pytest.mark.parametrize(("name", "n"), cases())
def test_zero_at_optimum(name, n):
    f = F.FUNCTIONS[name]
    x = F.OPTIMA[name](n)
    assert isinstance(x, np.ndarray) and x.shape == (n,) and x.dtype == np.float64
    value = f(x)
    assert type(value) is float
    assert value == 0.0
    assert abs(REFS[name](x)) < 1e-12


@pytest.mark.parametrize(("name", "n"), cases())
def test_positive_at_random_point(name, n):
    rng = np.random.default_rng(1)
    f = F.FUNCTIONS[name]
    for _ in range(20):
        x = F.OPTIMA[name](n) + rng.normal(size=n)
        assert f(x) > 0.0


@pytest.mark.parametrize(
    ("name", "n"),
    [(name, n) for name, n in cases((1, 2, 3, 5, 10, 40)) if n >= F.DIMS[name][0]],
)
def test_matches_numpy_reference(name, n):
    rng = np.random.default_rng(n)
    f, ref = F.FUNCTIONS[name], REFS[name]
    X = np.concatenate(
        [
            rng.normal(scale=s, size=(50, n))
            for s in (1e-3, 0.5, 3.0, 100.0)  # near the optimum to far away
        ]
    )
    X[:50] += F.OPTIMA[name](n)
    got = f(X)
    want = np.array([ref(x) for x in X])
    # the styblinski_tang factored form and the shift differ from the raw formula
    # by rounding of about 1e-14 per coordinate
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * n)


def test_known_values():
    assert F.sphere([1.0, 2.0]) == 5.0
    assert F.rosenbrock([0.0, 0.0]) == 1.0
    assert F.rosenbrock([-1.0, 1.0, 1.0]) == pytest.approx(4.0)
    assert F.rastrigin([0.5]) == pytest.approx(20.25)
    assert F.ellipsoid([1.0, 1.0]) == 1e6 + 1.0
    assert F.ellipsoid([3.0]) == 9.0
    assert F.different_powers([2.0]) == 4.0
    assert F.different_powers([2.0, 2.0]) == 4.0 + 64.0
    assert F.styblinski_tang([0.0]) == pytest.approx(39.16616570377142)
    assert F.griewank([0.0, 0.0]) == 0.0
    assert F.schaffer([0.0, 0.0]) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_single_points(name):
    rng = np.random.default_rng(7)
    f = F.FUNCTIONS[name]
    for n in dims_for(name, (2, 3, 17)):
        X = rng.normal(scale=2.0, size=(31, n))
        batch = f(X)
        assert isinstance(batch, np.ndarray)
        assert batch.shape == (31,) and batch.dtype == np.float64
        singles = np.array([f(x) for x in X])
        np.testing.assert_array_equal(batch, singles)
        # non-contiguous views, Fortran order, lists and ints are accepted
        np.testing.assert_array_equal(f(np.asfortranarray(X)), batch)
        np.testing.assert_array_equal(f(np.repeat(X, 2, axis=1)[:, ::2]), batch)
        np.testing.assert_array_equal(f(X.tolist()), batch)
        assert f(list(X[0])) == batch[0]
        Xi = rng.integers(-3, 4, size=(5, n))
        np.testing.assert_array_equal(f(Xi), f(Xi.astype(float)))
        # a batch of zero points
        empty = f(np.empty((0, n)))
        assert empty.shape == (0,) and empty.dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_bad_shapes_raise(name):
    f = F.FUNCTIONS[name]
    ok = 2
    with pytest.raises(ValueError, match=r"shape \(\)"):
        f(1.0)
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        f(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=name):
        f(np.zeros((1, 1, ok)))
    with pytest.raises(ValueError):
        f(np.zeros(0))
    with pytest.raises(ValueError):
        f(np.zeros((3, 0)))
    if name in TWO_D:
        for n in (1, 3, 5):
            with pytest.raises(ValueError, match="exactly 2"):
                f(np.zeros(n))
            with pytest.raises(ValueError, match="exactly 2"):
                f(np.zeros((4, n)))
        with pytest.raises(ValueError):
            F.OPTIMA[name](3)
        assert F.OPTIMA[name]().shape == (2,)
    if name == "rosenbrock":
        with pytest.raises(ValueError, match="at least 2"):
            f(np.zeros(1))
        with pytest.raises(ValueError, match="at least 2"):
            F.OPTIMA[name](1)
    with pytest.raises(ValueError):
        F.OPTIMA[name](0)
    with pytest.raises(TypeError):
        F.OPTIMA[name](2.0)


def test_dims_table():
    for name in NAMES:
        lo, hi = F.DIMS[name]
        f = F.FUNCTIONS[name]
        assert f(np.ones(lo)) >= 0.0
        if hi is not None:
            with pytest.raises(ValueError):
                f(np.ones(hi + 1))
        if lo > 1:
            with pytest.raises(ValueError):
                f(np.ones(lo - 1))


def test_pickle_roundtrip():
    for name in NAMES:
        f = F.FUNCTIONS[name]
        assert pickle.loads(pickle.dumps(f)) is f


def test_import_compiles_nothing():
    code = (
        "import evostrat.functions as F\n"
        "from numba.core.registry import CPUDispatcher\n"
        "ds = [v for v in vars(F).values() if isinstance(v, CPUDispatcher)]\n"
        "assert ds and all(not d.signatures for d in ds), ds\n"
        "import evostrat.kernels.shaping as S\n"
        "ds = [v for v in vars(S).values() if isinstance(v, CPUDispatcher)]\n"
        "assert ds and all(not d.signatures for d in ds), ds\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    data=st.data(),
)
def test_nonnegative_and_batch_consistent(name, data):
    lo, hi = F.DIMS[name]
    n = data.draw(st.integers(lo, hi if hi is not None else 8), label="n")
    X = data.draw(
        arrays(
            np.float64,
            (3, n),
            elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
        ),
        label="X",
    )
    f = F.FUNCTIONS[name]
    values = f(X)
    assert np.all(values >= 0.0)
    assert np.all(np.isfinite(values))
    for k in range(3):
        assert f(X[k]) == values[k]
