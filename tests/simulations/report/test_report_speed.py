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
