"""The strategy base and the serial evaluator, on SimpleES."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import evostrat
from evostrat.evaluators import base as evaluator_base


def make(**kw):
    kw.setdefault("seed", 1)
    return evostrat.SimpleES(np.zeros(3), 0.5, **kw)


def test_fitness_may_be_any_real_sequence():
    opt = make(popsize=4)
    for f in (
        [1, 2, 3, 4],
        np.arange(4, dtype=np.float32),
        np.arange(4, dtype=np.int8),
        [Fraction(1, 3), 2.0, np.float64(3.0), 4],
        (1.0, 2.0, math.inf, -math.inf),
    ):
        opt.ask()
        opt.tell(f)
    assert opt.generation == 5


def test_rejected_values_name_the_problem():
    opt = make(popsize=4)
    opt.ask()
    with pytest.raises(ValueError, match="index 2"):
        opt.tell([1.0, 2.0, None, 4.0])
    with pytest.raises(ValueError, match=r"indices \[1, 3\]"):
        opt.tell([1.0, math.nan, 2.0, math.nan])
    with pytest.raises(ValueError, match="dtype bool"):
        opt.tell(np.array([True, False, True, True]))
    with pytest.raises(ValueError, match="takes 4 fitness values"):
        opt.tell([1.0, 2.0])


def test_result_before_any_tell():
    res = make().result
    assert res.xbest is None and math.isnan(res.fbest) and res.evals == 0


def test_default_max_generations_is_pycmas_maxiter():
    opt = make()
    n, lam = 3, opt.popsize
    assert opt.options["max_generations"] == int(100 + 150 * (n + 3) ** 2 // lam**0.5)


def test_tolx_fires_when_sigma_decays():
    opt = make(sigma_decay=0.5, tolx=1e-6)
    res = opt.optimize(lambda x: float(x @ x))
    assert "tolx" in res.stop
    assert opt.sigma < 1e-6


def test_tolfun_fires_on_flat_fitness():
    opt = make()
    res = opt.optimize(lambda x: 3.0)
    assert res.stop == {"tolfun": 1e-11} and res.generations == 1


def test_target_in_user_sense_with_maximize():
    opt = evostrat.SimpleES(np.zeros(2), 0.5, seed=2, maximize=True, target=-0.5)
    res = opt.optimize(lambda x: -float(x @ x) - 1.0 + 1.0)
    assert res.fbest >= -0.5 and "target" in res.stop


def test_optimize_validates_its_keywords():
    opt = make()
    with pytest.raises(ValueError, match="max_generations"):
        opt.optimize(lambda x: 0.0, max_generations=-1)
    with pytest.raises(TypeError, match="target"):
        opt.optimize(lambda x: 0.0, target="low")


def test_progress_prints(capsys):
    make(max_generations=3).optimize(lambda x: float(x @ x), progress=True)
    out = capsys.readouterr().out
    assert out.count("simplees gen") == 3


def test_serial_evaluator_chunks_rows(monkeypatch):
    monkeypatch.setattr(evaluator_base, "CHUNK_ELEMENTS", 6)
    opt = make(popsize=7)
    blocks = []

    def f(X):
        blocks.append(len(X))
        return np.sum(X * X, axis=1)

    ev = evostrat.SerialEvaluator()
    fit = ev.evaluate(opt, f, vectorized=True)
    assert blocks == [2, 2, 2, 1]
    assert np.allclose(fit, np.sum(opt.ask() ** 2, axis=1))
    assert ev.stats["evaluations"] == 7 and ev.stats["generations"] == 1
    assert ev.stats["bytes_sent"] == 0 and ev.stats["seconds"] >= 0


def test_evaluation_error_names_generation_and_index():
    opt = make(popsize=5)
    opt.optimize(lambda x: 1.0 + float(x @ x), max_generations=2)

    def f(x):
        if x[0] == opt.ask([3])[0, 0]:
            raise ZeroDivisionError("boom")
        return 0.0

    before = opt.ask()
    with pytest.raises(evostrat.EvaluationError) as info:
        opt.optimize(f, max_generations=5)
    err = info.value
    assert (err.generation, err.index) == (2, 3)
    assert "ZeroDivisionError: boom" in err.cause and "individual 3" in str(err)
    assert opt.generation == 2 and np.array_equal(opt.ask(), before)


def test_vectorized_objective_with_wrong_shape():
    with pytest.raises(ValueError, match="vectorized objective returned shape"):
        make().optimize(lambda X: np.zeros((len(X), 2)), vectorized=True)


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, evostrat; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_available_strategies_in_a_fresh_process():
    import subprocess
    import sys

    code = "import evostrat.strategies as s, sys; print(','.join(s.REGISTRY)); print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    names, numba = out.stdout.split()
    assert names.split(",")[:2] == ["simplees", "simplega"]
    assert numba == "False"  # the registry imports no strategy
