"""The verification report: the default run once (module fixture), its files and claims,
the agreement rule, atomicity and the CLI."""

import json
import math
import re

import pytest

from simulations import build_report
from simulations.cli import main
from simulations.cli._report import DEFAULT_SEED as SEED  # what `bn-noise report` uses
from simulations.report._common import SectionSpec
from simulations.report._model import Claim, Row, bonferroni_z, row


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The default report, exactly as `bn-noise report` builds it (default seed), run once."""
    out = tmp_path_factory.mktemp("rep") / "bn-noise-report"
    res = build_report(out, rng=SEED)
    return res


# ------------------------------------------------------------------ the default report
def test_every_claim_agrees_at_the_default_seed(report):
    text = (report.out / "report.md").read_text()
    assert report.all_agree, re.findall(r"^\|.*\| NO \|.*$", text, flags=re.M)
    assert "**Verdict: every claim agrees**" in text
    assert report.n_mc_tests > 100 and report.n_claims >= 20


def test_report_files_and_strict_json(report):
    out = report.out
    for name in ("report.md", "report.html", "report.json"):
        assert (out / name).stat().st_size > 1000
    figs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert figs == sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert {"noise_densities", "noise_vs_batch_size", "output_laws", "schedule", "regularizer",
            "kurtosis_effect"} <= set(figs)
    payload = json.loads((out / "report.json").read_text())  # strict: no NaN/Infinity
    assert payload["summary"]["seed"] == SEED
    assert payload["summary"]["n_disagree"] == 0
    keys = [c["key"] for s in payload["sections"] for c in s["claims"]]
    for key in keys:
        header = (out / "data" / f"{key}.csv").read_text().splitlines()[0]
        assert header.split(",")[-5:] == ["pvalue", "n", "z", "agrees", "note"]
    # divergent moments are the string "inf" in JSON, never NaN
    rows = {c["key"]: c["rows"] for s in payload["sections"] for c in s["claims"]}
    m3 = [r for r in rows["bn_e_sigma2_ratio"] if r["params"]["m"] == 3][0]
    assert m3["theory"] == "inf" and m3["estimate"] is None


def test_html_is_self_contained(report):
    html = (report.out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(list((report.out / "figures").glob("*.png")))
    assert not re.search(r"<img[^>]+src=['\"](?!data:)", html)   # no external images
    assert "<link" not in html and "<script src" not in html
    assert "---:" not in html            # Markdown tables of the notes became HTML tables
    assert html.count("<table>") == html.count("</table>") > 30


def test_every_bn_batch_size_is_checked_by_three_routes(report):
    payload = json.loads((report.out / "report.json").read_text())
    rows = {c["key"]: c["rows"] for s in payload["sections"] for c in s["claims"]}
    ms = [r["params"]["m"] for r in rows["bn_var_xi_mu"]]
    assert ms[0] == 2 and ms[-1] == 256
    for key in ("bn_var_xi_mu", "bn_mean_xi_sigma", "bn_var_xi_sigma"):
        for r in rows[key]:
            assert r["reference"] is not None, (key, r)      # sympy route present
            assert r["stderr"] is not None and r["stderr"] > 0  # Monte Carlo route present


def test_same_seed_same_numbers(report, tmp_path):
    """A section's numbers depend only on the seed, not on which other sections run."""
    again = build_report(tmp_path / "again", rng=SEED, sections=["nongaussian"], workers=1)
    a = [s for s in json.loads((report.out / "report.json").read_text())["sections"]
         if s["key"] == "nongaussian"][0]
    b = json.loads((again.out / "report.json").read_text())["sections"][0]
    assert a["claims"] == b["claims"]


# ------------------------------------------------------------------ agreement rule
def test_bonferroni_threshold():
    from scipy.stats import norm

    assert bonferroni_z(1, 0.05) == pytest.approx(norm.isf(0.025))
    assert bonferroni_z(100, 0.01) == pytest.approx(norm.isf(0.01 / 200))
    assert bonferroni_z(1000) > bonferroni_z(10)


def test_row_z_and_claim_verdicts():
    good = row({"m": 4}, 0.25, reference=0.25, estimate=0.2506, stderr=0.001, n=100)
    far = row({"m": 8}, 0.125, estimate=0.135, stderr=0.001, n=100)   # z = 10
    wrong_ref = row({"m": 16}, 0.0625, reference=0.0626)              # 1.6e-3 relative
    ks = row({"m": 2}, 0.0, estimate=0.01, pvalue=1e-9, n=100)
    claim = Claim("k", "t", "s", "r", (good, far, wrong_ref, ks))
    z_crit = bonferroni_z(3)
    verdicts = claim.verdicts(z_crit)
    assert verdicts[0][1] and abs(verdicts[0][0] - 0.6) < 1e-9
    assert not verdicts[1][1] and verdicts[1][0] == pytest.approx(10.0)
    assert verdicts[2] == (None, False)
    assert not verdicts[3][1] and verdicts[3][0] > 6
    inf_row = Row(params=(("m", 3),), theory=math.inf, reference=math.inf)
    assert Claim("k", "t", "s", "r", (inf_row,)).verdicts(z_crit) == [(None, True)]


def test_a_wrong_formula_is_caught(tmp_path, monkeypatch):
    """Break the theory on purpose ((m-1)/(m-3) for m/(m-3)): the report must disagree."""
    import noise_theory

    real = noise_theory.scale_moment

    def broken(m, power, **kw):
        value = real(m, power, **kw)
        return value * (m - 1) / m if power == 2 and not kw.get("eps") else value

    import simulations.report._bn as bn_section

    monkeypatch.setattr(noise_theory, "scale_moment", broken)
    monkeypatch.setattr(bn_section, "scale_moment", broken)   # where the report uses it
    res = build_report(tmp_path / "bad", rng=SEED, sections=["bn"])
    assert not res.all_agree
    text = (res.out / "report.md").read_text()
    assert "DISAGREE" in text
    payload = json.loads((res.out / "report.json").read_text())
    bad = {(c["key"], r["params"]["m"]) for s in payload["sections"] for c in s["claims"]
           for r in c["rows"] if not r["agrees"]}
    # caught for every m where the moment is finite (by sympy, and by Monte Carlo where it
    # resolves the 1/m difference), for the biased and the unbiased (ddof=1) variance
    assert bad == ({("bn_e_sigma2_ratio", m) for m in (4, 5, 6, 8, 16, 32, 64, 128, 256)}
                   | {("bn_unbiased", m) for m in (6, 8, 32)})


# ------------------------------------------------------------------ atomic output
def test_existing_folder_needs_force(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="exists; pass --force"):
        build_report(out, rng=1, sections=["bn"])
    assert (out / "keep.txt").read_text() == "x"


def test_interrupt_leaves_nothing_half_written(tmp_path, monkeypatch):
    import simulations.report._sections as checks

    def boom(ctx, section):
        raise KeyboardInterrupt

    def fine(ctx, section):
        section.claims.append(Claim("k", "t", "s", "r", (row({"m": 2}, 1.0),)))

    spec = SectionSpec("bn", "x", "", (fine, boom))
    monkeypatch.setattr(checks, "SECTIONS", (spec,))
    with pytest.raises(KeyboardInterrupt):
        build_report(tmp_path / "r", rng=1)
    assert list(tmp_path.iterdir()) == []


def test_api_errors(tmp_path):
    with pytest.raises(ValueError,
                       match=r"`workers` must be an integer >= 1 or None; got workers=0"):
        build_report(tmp_path / "r", workers=0)
    with pytest.raises(ValueError, match=r"`sections` has unknown key\(s\) \['nope'\]; valid: bn"):
        build_report(tmp_path / "r", sections=["nope"])
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, 1\); got alpha=2"):
        build_report(tmp_path / "r", alpha=2)


# ------------------------------------------------------------------ CLI
def test_cli_existing_dir_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    assert main(["report", "--out", str(tmp_path / "r"), "--seed", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bn-noise report: error:" in err[0] and "--force" in err[0]


@pytest.mark.parametrize("argv, word", [(["--workers", "0"], "workers"),
                                        (["--seed", "-3"], "seed"),
                                        (["--workers", "x"], "workers")])
def test_cli_bad_arguments(argv, word, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0]


def test_cli_json_and_force(tmp_path, capsys, monkeypatch):
    import simulations.report._sections as checks

    monkeypatch.setattr(checks, "SECTIONS",
                        tuple(s for s in checks.SECTIONS if s.key == "regularizer"))
    out = tmp_path / "r"
    out.mkdir()
    assert main(["report", "--out", str(out), "--seed", "5", "--force", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 5 and data["all_agree"] is True and data["n_disagree"] == 0
    assert (out / "report.html").exists()
    # without --seed the report uses its fixed default seed, and the table prints it
    assert main(["report", "--out", str(out), "--force"]) == 0
    text = capsys.readouterr().out
    assert re.search(rf"seed\s.*\n.*\n\s*{SEED}\s", text) and "every claim agrees" in text
    assert json.loads((out / "report.json").read_text())["summary"]["seed"] == SEED


def test_cli_figures_only_is_deterministic(tmp_path, capsys, monkeypatch):
    """`--figures-only DIR` (how docs/figures is regenerated): PNGs only, same bytes per seed."""
    import simulations.report._sections as checks

    monkeypatch.setattr(checks, "SECTIONS",
                        tuple(s for s in checks.SECTIONS if s.key == "regularizer"))
    figdir = tmp_path / "figs"
    assert main(["report", "--seed", "3", "--figures-only", str(figdir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 3 and data["figures"] == ["regularizer"]
    first = (figdir / "regularizer.png").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and sorted(p.name for p in figdir.iterdir()) == [
        "regularizer.png"]
    assert main(["report", "--seed", "3", "--figures-only", str(figdir)]) == 0
    assert (figdir / "regularizer.png").read_bytes() == first
    assert "wrote 1 figure(s)" in capsys.readouterr().out


def test_docstring_examples():
    import doctest

    import simulations.report._build as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0


def test_cli_unwritable_out_is_refused_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["report", "--out", str(blocker)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists and is not a folder" in err[0]


def test_no_two_checks_share_a_random_stream():
    """Every call site of ``ctx.rng``/``ctx.seed_sequence`` in the report's sections names its
    own stream (a distinct first name; the other names are the loop's parameters), and the
    hashed keys of those names are distinct too (so no two streams coincide)."""
    import ast
    import pathlib

    from simulations.mc._seeding import _name_key

    folder = pathlib.Path(__file__).resolve().parents[3] / "simulations" / "report"
    names = []
    for path in sorted(folder.glob("_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("rng", "seed_sequence")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "ctx"):
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path.name}:{node.lineno}: unnamed stream"
                names.append(first.value)
    assert len(names) >= 10
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert len({_name_key(n) for n in names}) == len(names)
