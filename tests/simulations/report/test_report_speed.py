"""The report's speed-ups keep its bytes: worker processes (derivations, figures) and the
disk cache of derivations change how fast, never what is written."""

import hashlib
import json
import pickle
import re
from concurrent.futures import ProcessPoolExecutor

import pytest

from derivations import _core
from simulations import build_report


@pytest.fixture
def cold_cache(tmp_path, monkeypatch):
    """An empty derivation cache in tmp_path, and no derivation built in this process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BN_NOISE_NO_CACHE", raising=False)
    monkeypatch.setattr(_core, "_BUILT", {})
    monkeypatch.setattr(_core, "_PENDING", {})
    return tmp_path / "cache"


def _digest(folder):
    """sha256 of every file; the run time (the one thing allowed to differ) blanked."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name in ("report.md", "report.json", "report.html"):
                data = re.sub(rb'"seconds": [0-9.e+-]+', b'"seconds": 0', data)
                data = re.sub(rb"checks ran in [0-9.]+ s", b"checks ran in 0 s", data)
            out[str(p.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return out


@pytest.mark.parametrize("sections", [["regularizer"], ["outputs"]])
def test_same_bytes_whatever_the_number_of_workers(tmp_path, cold_cache, sections):
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        res = build_report(out, rng=3, workers=workers, sections=sections, progress=False)
        assert res.all_agree
        digests.append(_digest(out))
        _core._BUILT.clear()  # the second run loads the derivations from the disk cache
    assert digests[0] == digests[1]
    figures = [k for k in digests[0] if k.startswith("figures/")]
    assert figures and any(k.endswith(".svg") for k in figures)
    # the SVG ids are salted with a fixed string, not a random uuid
    svg = next((tmp_path / "w1").glob("figures/*.svg")).read_text()
    assert "Date" not in svg.split("</metadata>")[0] or "<dc:date>" not in svg


def test_derivations_are_cached_on_disk_and_a_corrupt_file_is_rebuilt(cold_cache):
    folder = _core.cache_dir()
    assert folder.parent == cold_cache / "bn-noise" / "derivations"
    d = _core.get_derivation("mean_noise")
    path = folder / "mean_noise.pickle"
    assert path.is_file()
    # a second process (here: a fresh in-memory registry) loads it instead of building
    _core._BUILT.clear()
    again = _core.get_derivation("mean_noise")
    assert again is not d and again == d and again.text() == d.text()
    # corrupt: ignored, rebuilt, rewritten
    path.write_bytes(b"not a pickle")
    _core._BUILT.clear()
    rebuilt = _core.get_derivation("mean_noise")
    assert rebuilt == d and pickle.loads(path.read_bytes()) == d
    # a pickle of something else is ignored too
    path.write_bytes(pickle.dumps({"name": "mean_noise"}))
    _core._BUILT.clear()
    assert _core.get_derivation("mean_noise") == d
    assert not list(folder.glob("*.tmp"))  # atomic writes leave no temporary file


def test_cache_key_follows_the_source_and_can_be_turned_off(cold_cache, monkeypatch):
    key = _core._source_key()
    assert re.fullmatch(r"[0-9a-f]{16}", key) and _core.cache_dir().name == key
    monkeypatch.setattr(_core, "_KEY", None)
    monkeypatch.setattr(_core.sp, "__version__", "0.0-test")
    assert _core._source_key() != key  # another sympy: another folder
    monkeypatch.setenv("BN_NOISE_NO_CACHE", "1")
    assert _core.cache_dir() is None
    d = _core.get_derivation("variance_noise")
    assert d.name == "variance_noise"
    assert not (cold_cache / "bn-noise").exists()


def test_prefetch_builds_in_worker_processes(cold_cache):
    with ProcessPoolExecutor(2) as pool:
        sent = _core.prefetch(pool, ["mean_noise", "variance_noise"])
        assert sent == ["mean_noise", "variance_noise"]
        assert set(_core._PENDING) == set(sent)
        d = _core.get_derivation("variance_noise")  # waits for the worker's build
    assert "variance_noise" not in _core._PENDING and d.name == "variance_noise"
    assert (_core.cache_dir() / "variance_noise.pickle").is_file()  # written by the worker
    # nothing to send once cached
    _core._BUILT.clear()
    _core._PENDING.clear()
    with ProcessPoolExecutor(1) as pool:
        assert _core.prefetch(pool, ["mean_noise", "variance_noise"]) == []


def test_report_json_is_strict_and_names_the_figures(tmp_path, cold_cache):
    out = tmp_path / "rep"
    build_report(out, rng=1, workers=2, sections=["regularizer"], progress=False)
    payload = json.loads((out / "report.json").read_text())
    figs = [f for s in payload["sections"] for f in s["figures"]]
    assert figs and all((out / "figures" / f"{f}.png").is_file() for f in figs)


def test_every_derivation_round_trips_exactly_through_the_cache_format():
    # plain pickle re-evaluates sympy nodes (Mul(1/2, m - 1) -> m/2 - 1/2, Eq(0, 0) -> True),
    # which changed the derivations' text and the report's numbers in the last bits
    import sympy as sp

    from derivations import derive_all

    for d in derive_all():
        e = pickle.loads(_core.dumps(d))
        assert e == d and e.text() == d.text() and e.latex() == d.latex()
        assert e.to_dict() == d.to_dict()
        for (k, a), (_, b) in zip(d.results, e.results):
            assert sp.srepr(a) == sp.srepr(b), (d.name, k)
        for a, b in zip(d.steps, e.steps):
            assert sp.srepr(a.expr) == sp.srepr(b.expr), d.name


# ------------------------------------------------------------------ KS with few CDF calls
def _full_ks(x, cdf):
    from scipy.stats import kstest

    res = kstest(x, cdf)
    return float(res.statistic), float(res.pvalue)


@pytest.mark.parametrize("n", [5_000, 20_000, 100_000])
@pytest.mark.parametrize("law", ["normal", "shifted", "kinked"])
def test_ks_with_few_cdf_calls_is_the_exact_statistic(n, law):
    """ks_pvalue evaluates the CDF at ~nodes order statistics plus the ones that can be the
    maximum, and still gives scipy's statistic and p-value to the last bit: also when the
    maximum sits between two nodes (a jump of the CDF at a non-node order statistic)."""
    import numpy as np
    from scipy.stats import norm

    from simulations.report._common import ks_pvalue

    x = np.random.default_rng(n).standard_normal(n)
    xs = np.sort(x)
    if law == "normal":
        def cdf(v):
            return norm.cdf(v)
    elif law == "shifted":
        def cdf(v):
            return norm.cdf(v, loc=0.02)
    else:
        cut = xs[n // 3 + 7]  # not a node for any n here

        def cdf(v):
            return 0.9 * norm.cdf(v) + 0.1 * (np.asarray(v) >= cut)
    calls = []

    def counted(v):
        calls.append(np.size(v))
        return cdf(v)

    got = ks_pvalue(x, counted)
    assert got == _full_ks(x, cdf)
    assert sum(calls) < 0.5 * n  # the point of it
    if law == "kinked":
        assert got[0] > 0.05  # the jump (about 0.1 * 2/3) is found


@pytest.mark.slow
def test_whole_default_report_same_bytes_with_one_or_two_workers(tmp_path):
    """The default report, figures rendered in forked children (2 workers) or here (1)."""
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        res = build_report(out, rng=0, workers=workers, progress=False)
        assert res.all_agree
        digests.append(_digest(out))
    assert digests[0] == digests[1]
    assert sum(k.endswith(".svg") for k in digests[0]) >= 9


def test_a_failed_render_child_falls_back_to_this_process(tmp_path, monkeypatch):
    """A child that dies leaves its figures to be rendered here: same files, no error."""
    import os

    from simulations.report import _figure_bytes

    real_render = _figure_bytes._render
    parent = os.getpid()

    def dying(fig):
        if os.getpid() != parent:
            os._exit(3)
        return real_render(fig)

    monkeypatch.setattr(_figure_bytes, "_render", dying)
    broken = tmp_path / "broken"
    build_report(broken, rng=3, workers=2, sections=["regularizer"], progress=False)
    monkeypatch.setattr(_figure_bytes, "_render", real_render)
    plain = tmp_path / "plain"
    build_report(plain, rng=3, workers=1, sections=["regularizer"], progress=False)
    assert _digest(broken) == _digest(plain)
