"""``bn-noise derive``: listing, printing, --all --out, JSON and user errors (in-process)."""

import json

import pytest

from derivations import list_derivations
from simulations.cli import main


def run(capsys, *argv):
    status = main(["derive", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(err, *fragments):
    assert err.count("\n") == 1 and err.startswith("bn-noise derive: error:"), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_list_table_and_json(capsys):
    status, out, err = run(capsys, "--list")
    assert status == 0 and err == ""
    for name in list_derivations():
        assert name in out
    status, out, _ = run(capsys, "--list", "--json", "--seed", "7")
    data = json.loads(out)
    assert [d["name"] for d in data["derivations"]] == list(list_derivations())
    assert data["seed"] == 7


@pytest.mark.parametrize("fmt, marker", [("text", "Steps:"), ("latex", r"\begin{enumerate}"),
                                         ("markdown", "## Steps")])
def test_print_one_derivation(capsys, fmt, marker):
    status, out, err = run(capsys, "variance_noise", "--format", fmt)
    assert status == 0 and err == ""
    assert marker in out and "Law of the multiplicative BN noise" in out


def test_json_has_steps_and_results(capsys):
    status, out, _ = run(capsys, "scale_moment", "--json", "--seed", "3")
    assert status == 0
    data = json.loads(out)
    assert data["name"] == "scale_moment" and data["seed"] == 3
    assert data["steps"] and all({"explanation", "expr", "latex"} <= set(s) for s in data["steps"])
    inverse = {r["name"]: r for r in data["results"]}["inverse"]
    assert inverse["expr"] == "Piecewise((m/(m - 3), m > 3), (oo, True))"


def test_all_writes_one_markdown_file_per_derivation(capsys, tmp_path):
    out_dir = tmp_path / "derivations"
    status, out, err = run(capsys, "--all", "--out", str(out_dir), "--json", "--seed", "5")
    assert status == 0, err
    data = json.loads(out)
    names = list(list_derivations())
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([f"{n}.md" for n in names]
                                                               + ["index.md"])
    assert data["seed"] == 5 and set(data["build_seconds"]) == set(names)
    assert (out_dir / "mean_noise.md").read_text().startswith("# Law of the additive BN noise")
    assert "Seed (recorded; derivations draw nothing): 5" in (out_dir / "index.md").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left

    # an existing folder is kept unless --force
    (out_dir / "mine.txt").write_text("keep")
    status, _, err = run(capsys, "--all", "--out", str(out_dir))
    assert status == 2
    one_line_error(err, "exists", "--force")
    assert (out_dir / "mine.txt").exists()
    status, out, err = run(capsys, "--all", "--out", str(out_dir), "--force")
    assert status == 0 and "wrote" in out and "seed: None" in out
    assert not (out_dir / "mine.txt").exists()


def test_unknown_name_suggests_closest(capsys):
    status, out, err = run(capsys, "varaince_noise")
    assert status == 2 and out == ""
    one_line_error(err, "varaince_noise", "Did you mean 'variance_noise'")


@pytest.mark.parametrize("argv, fragment", [
    ((), "give a derivation NAME, --list or --all"),
    (("mean_noise", "--list"), "cannot be combined with --list"),
    (("--all",), "--all needs --out DIR"),
    (("mean_noise", "--out", "x"), "--out is only used with --all"),
    (("mean_noise", "--force"), "--force is only used with --all"),
])
def test_bad_combinations_are_one_line_errors(capsys, argv, fragment):
    status, _, err = run(capsys, *argv)
    assert status == 2
    one_line_error(err, fragment)


@pytest.mark.parametrize("argv, fragment", [
    (("mean_noise", "--format", "pdf"), "invalid choice: 'pdf'"),
    (("--list", "--all"), "not allowed with argument"),
    (("--list", "--seed", "-1"), "seed must be an integer >= 0"),
])
def test_argparse_errors_exit_2(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        main(["derive", *argv])
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and fragment in err, err


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["derive", "--help"])
    assert exc.value.code == 0
    out, _ = capsys.readouterr()
    assert "--all" in out and "--format" in out and "--json" in out and "--seed" in out


def test_latex_standalone_is_a_complete_document(capsys):
    status, out, err = run(capsys, "mbn_momentum", "--format", "latex", "--standalone")
    assert status == 0 and err == ""
    assert out.startswith(r"\documentclass") and out.rstrip().endswith(r"\end{document}")
    assert r"\frac{1}{2 m_{0} - m}" in out          # as a person writes it
    status, fragment, _ = run(capsys, "mbn_momentum", "--format", "latex")
    assert r"\documentclass" not in fragment and r"\begin{enumerate}" in fragment


def test_all_latex_writes_standalone_documents(capsys, tmp_path):
    out_dir = tmp_path / "tex"
    status, out, err = run(capsys, "--all", "--format", "latex", "--out", str(out_dir), "--json")
    assert status == 0, err
    names = list(list_derivations())
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [f"{n}.tex" for n in names] + ["derivations.tex"])
    for p in out_dir.iterdir():
        text = p.read_text(encoding="utf-8")
        assert text.startswith(r"\documentclass") and r"\end{document}" in text
    assert json.loads(out)["files"][-1] == "derivations.tex"


@pytest.mark.parametrize("argv, fragment", [
    (("--list", "--format", "latex"), "--format is not used with --list"),
    (("--all", "--out", "OUT", "--format", "text"), "--all writes markdown or latex files"),
    (("scale_moment", "--standalone"), "--standalone is only used with NAME --format latex"),
    (("--all", "--out", "OUT", "--format", "latex", "--standalone"), "--standalone is only"),
])
def test_format_and_standalone_misuse(capsys, tmp_path, argv, fragment):
    argv = [str(tmp_path / "o") if a == "OUT" else a for a in argv]
    status, _, err = run(capsys, *argv)
    assert status == 2
    one_line_error(err, fragment)
