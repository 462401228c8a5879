"""The derivation records, registry, numpy bridge, independence and build time."""

import ast
import dataclasses
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import derivations
from derivations import Derivation, Step, derive_all, get_derivation, list_derivations

PACKAGE = pathlib.Path(derivations.__file__).parent

EXPECTED = ("mean_noise", "variance_noise", "scale_moment", "out_of_batch_output",
            "in_batch_output", "nongaussian_statistics", "mbn_noise", "mbn_momentum",
            "glm_regularizer", "eps_second_moment")


def test_registry_lists_items_1_to_9_in_order():
    assert list_derivations() == EXPECTED
    titles = dict(list_derivations(titles=True))
    assert all(titles[name] for name in EXPECTED)


def test_every_derivation_is_complete_and_renders():
    for d in derive_all():
        assert isinstance(d, Derivation) and d.name in EXPECTED
        assert d.title == dict(list_derivations(titles=True))[d.name]
        assert len(d.steps) >= 3 and all(isinstance(s, Step) for s in d.steps)
        assert all(s.explanation.strip() and isinstance(s.expr, sp.Basic) for s in d.steps)
        assert d.results and d.result is d.results[0][1]
        for text in (d.text(), d.markdown()):
            assert d.title in text
        from derivations._latex import prose_latex
        assert rf"\section*{{{prose_latex(d.title)}}}" in d.latex()     # symbols set as maths
        assert d.markdown().count("$$") >= 2 * (len(d.steps) + len(d.results))
        json.dumps(d.to_dict())


def test_builds_are_cached_and_records_frozen():
    d = get_derivation("mean_noise")
    assert get_derivation("mean_noise") is d
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.title = "x"
    with pytest.raises(KeyError, match="has no result 'nope'; results: variance"):
        d["nope"]


def test_unknown_name_lists_closest():
    with pytest.raises(ValueError, match=r"`name` must be a registered derivation; got "
                                         r"name='mbn_nosie'\. Did you mean 'mbn_noise'"):
        get_derivation("mbn_nosie")
    with pytest.raises(ValueError, match="Known: mean_noise, variance_noise"):
        get_derivation("zzzzzz")


def test_existence_conditions_are_sympy_conditions():
    m = sp.Symbol("m", positive=True)
    moment = get_derivation("scale_moment")["moment"]
    assert isinstance(moment, sp.Piecewise) and moment.args[-1] == (sp.oo, True)
    assert isinstance(get_derivation("mbn_noise").conditions, sp.And)
    assert get_derivation("out_of_batch_output")["variance"].subs(m, 3) == sp.oo


def test_numeric_function_keywords_and_broadcasting():
    f = get_derivation("mbn_noise").function("mean_noise_variance")
    assert f.keywords == ("m", "momentum")
    out = f(m=np.array([[2], [8]]), momentum=np.array([0.0, 0.5, 0.9]))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1, 0], 1 / 8)
    with pytest.raises(TypeError, match=r"takes the keywords m, momentum; missing "
                                        r"\['momentum'\], unexpected \['lam'\]"):
        f(m=4, lam=0.5)
    const = get_derivation("in_batch_output").function("second_moment")
    assert const.keywords == () and const() == 1.0


def test_log_space_agrees_where_both_are_finite_and_survives_large_m():
    d = get_derivation("variance_noise")
    x = np.linspace(0.2, 2.0, 7)
    plain = d.function("pdf")(m=40, x=x, ddof=0)
    np.testing.assert_allclose(d.function("pdf", log_space=True)(m=40, x=x, ddof=0), plain,
                               rtol=1e-10)
    assert not np.isfinite(d.function("pdf")(m=5000, x=1.0, ddof=0))   # naive overflow
    big = d.function("pdf", log_space=True)(m=5000, x=1.0, ddof=0)
    assert np.isfinite(big) and big > 0


def test_derivations_never_import_noise_theory_statically():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "noise_theory" for n in names), path


BUILD_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import derivations
t1 = time.perf_counter()
ds = derivations.derive_all()
for d in ds:
    d.markdown()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "build": t2 - t1, "n": len(ds),
                  "noise_theory": sorted(k for k in sys.modules if k.startswith("noise_theory"))}))
"""


def test_fresh_build_is_fast_and_independent_of_noise_theory():
    """All derivations from scratch in a new interpreter: < 30 s, noise_theory never loaded."""
    proc = subprocess.run([sys.executable, "-c", BUILD_SCRIPT], capture_output=True, text=True,
                          timeout=120, check=True)
    data = json.loads(proc.stdout)
    print(f"import {data['import']:.2f} s, build + render {data['build']:.2f} s")
    assert data["n"] == len(EXPECTED)
    assert data["noise_theory"] == []
    assert data["import"] + data["build"] < 30.0


def test_docstring_examples_run():
    import doctest

    from derivations import _core

    result = doctest.testmod(_core, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0


def test_cached_lambdified_code_gives_the_same_function(tmp_path, monkeypatch):
    """The disk cache of lambdify's printed source: a second process (here: emptied
    in-memory caches) runs the cached code, which is the very code lambdify printed and
    gives bit-identical values, for every result of every derivation."""
    import inspect

    from derivations import _bridge, _core

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("BN_NOISE_NO_CACHE", raising=False)
    monkeypatch.setattr(_core, "_BUILT", {})
    monkeypatch.setattr(_core, "_PENDING", {})
    _bridge.numeric_function.cache_clear()
    values = {"m": 7.0, "m0": 32.0, "ddof": 1.0, "eps": 0.01, "momentum": 0.8, "x": 0.4}
    fresh = {}
    for name in EXPECTED:
        d = get_derivation(name)
        for key in d.result_names:
            for log_space in (False, True):
                try:
                    f = d.function(key, log_space=log_space)
                    value = f(**{k: values.get(k, 0.37) for k in f.keywords})
                except Exception:  # noqa: BLE001  not every result is a numeric function
                    continue
                fresh[name, key, log_space] = (inspect.getsource(f._f), value)
    assert len(list(_core.cache_dir().glob("*.fn.py"))) >= len(fresh) > 20
    _bridge.numeric_function.cache_clear()
    _core._BUILT.clear()
    _bridge._namespace()   # the names the code uses (built once per process by lambdify)
    monkeypatch.setattr(sp, "lambdify", lambda *a, **k: pytest.fail("lambdify was called"))
    for (name, key, log_space), (code, value) in fresh.items():
        f = get_derivation(name).function(key, log_space=log_space)
        path = _core.cache_dir() / f"{name}.{key}{'.log' if log_space else ''}.fn.py"
        assert path.read_text().endswith(code)
        again = f(**{k: values.get(k, 0.37) for k in f.keywords})
        np.testing.assert_array_equal(again, value)
    # a corrupt file is ignored (lambdify again)
    path.write_text("garbage")
    assert _bridge._read_code(path) is None
