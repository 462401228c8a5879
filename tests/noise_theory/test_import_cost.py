"""`import noise_theory` is cheap and never pulls in sympy or matplotlib (fresh
interpreters; best of a few runs, the machine may be loaded)."""

import json
import subprocess
import sys

_PROBE = r"""
import json, sys, time
t = time.perf_counter()
import noise_theory
dt = time.perf_counter() - t
bare = sorted(m for m in ("numpy", "scipy", "sympy", "matplotlib") if m in sys.modules)
names = {}
for name in (noise_theory.__all__ if sys.argv[1] == "all" else []):
    getattr(noise_theory, name)
    names[name] = sorted(m for m in ("sympy", "matplotlib") if m in sys.modules)
print(json.dumps({"seconds": dt, "bare": bare, "names": names}))
"""


def _probe(names="none"):
    proc = subprocess.run([sys.executable, "-c", _PROBE, names], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_import_is_fast_and_light():
    runs = [_probe() for _ in range(3)]
    best = min(r["seconds"] for r in runs)
    assert best < 0.3, f"import noise_theory took {best:.3f} s (best of 3)"
    # the lazy namespace loads nothing heavy until a name is used
    assert runs[0]["bare"] == [], runs[0]["bare"]


def test_no_public_name_pulls_in_sympy_or_matplotlib():
    names = _probe("all")["names"]
    assert names, "noise_theory.__all__ is empty"
    offenders = {name: mods for name, mods in names.items() if mods}
    assert not offenders, f"these names import sympy/matplotlib: {offenders}"


def test_all_lists_every_lazy_name_and_the_docstring_documents_it():
    import noise_theory

    assert noise_theory.__all__ == sorted(noise_theory._LAZY)
    for name in noise_theory.__all__:
        assert name in noise_theory.__doc__, f"{name} missing from the API table"
    assert set(dir(noise_theory)) >= set(noise_theory.__all__)


_CLI_PROBE = r"""
import contextlib, io, json, sys
from simulations.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(sys.argv[1:])
heavy = sorted(m for m in ("scipy", "sympy", "matplotlib", "numba") if m in sys.modules)
print(json.dumps({"status": status, "heavy": heavy}))
"""


def _cli_modules(*argv):
    proc = subprocess.run([sys.executable, "-c", _CLI_PROBE, *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_closed_form_commands_import_no_scipy_stats_sympy_or_matplotlib():
    # `import scipy.stats` alone costs about a second cold: the closed-form commands get
    # their numbers from noise_theory._fast (numpy and the standard library: no scipy at all)
    for argv in (["theory", "--batch-size", "2", "4", "8"], ["theory", "--json"],
                 ["theory", "--skewness", "1", "--excess-kurtosis", "2"],
                 ["schedule"], ["schedule", "--iterations-per-epoch", "100", "--json"],
                 ["advise", "--batch-size", "4", "--ideal-batch-size", "32", "--epochs", "90"],
                 ["advise", "-m", "4", "--iterations-per-epoch", "10", "--json"]):
        res = _cli_modules(*argv)
        assert res["status"] == 0 and res["heavy"] == [], (argv, res)


def test_help_imports_nothing_heavy():
    proc = subprocess.run(
        [sys.executable, "-c", ("import sys\nfrom simulations.cli import build_parser\n"
                                "build_parser()\nprint(sorted(m for m in ('scipy', 'sympy', "
                                "'matplotlib', 'numba') if m in sys.modules))")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
