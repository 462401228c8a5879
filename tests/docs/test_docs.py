"""The documentation: structure, README code, documented commands, figures discussed where
they appear, the theory page and its references, and the numbers the prose quotes (each
recomputed here, never only typed in). The chapters' code runs in tests/docs/test_notebooks.py
(as notebooks)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTER_FILES = sorted((ROOT / "docs").glob("[0-9][0-9]-*.md"))
CHAPTERS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.M | re.S)


def python_blocks(path):
    return FENCE.findall(path.read_text(encoding="utf-8"))


def test_extraction_finds_blocks():
    """Only ```python blocks are extracted, in order (bash blocks are not run)."""
    text = "intro\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = x + 1\n```\n"
    assert FENCE.findall(text) == ["x = 1\n", "y = x + 1\n"]
    assert sum(len(python_blocks(p)) for p in CHAPTERS) >= 30


def test_every_chapter_has_code_and_is_listed_in_the_index():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert len(CHAPTER_FILES) >= 6
    for p in CHAPTER_FILES:
        assert f"({p.name})" in index, f"{p.name} is not linked from docs/index.md"
        assert python_blocks(p), f"{p.name} has no python code block"
    for page in ("theory.md", "api.md"):
        assert f"({page})" in index, f"{page} is not linked from docs/index.md"


def test_figures_referenced_by_the_docs_exist():
    for p in CHAPTERS:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", p.read_text(encoding="utf-8")):
            assert (p.parent / target).is_file(), f"{p.name}: missing figure {target}"


@pytest.mark.parametrize("path", [ROOT / "README.md"], ids=lambda p: p.name)
def test_readme_code_runs(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import contextlib
    import io

    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{path.stem}"}
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            for i, block in enumerate(python_blocks(path), 1):
                code = compile(block, f"{path.name}[python block {i}]", "exec")
                exec(code, namespace)  # noqa: S102 - running our own documentation
    finally:
        plt.close("all")
    printed = out.getvalue()
    # clean values: no float noise such as 0.4999999999999999, no np.float64(...) reprs
    assert "np.float64(" not in printed, printed
    noise = re.search(r"\d\.\d*(?:0{6,}|9{6,})\d|\d\.\d{12,}", printed)
    assert noise is None, f"{path.name} prints float noise {noise.group(0)!r}:\n{printed}"


BASH = re.compile(r"^```(?:bash|console|sh)[^\n]*\n(.*?)^```", re.M | re.S)


def documented_commands():
    cmds = []
    for path in CHAPTERS:
        for block in BASH.findall(path.read_text(encoding="utf-8")):
            for line in block.splitlines():
                line = line.split("#", 1)[0].strip()
                for part in line.split("&&"):
                    part = part.strip()
                    if part.startswith(("bn-noise ", ".venv/bin/bn-noise ")):
                        cmds.append((path.name, part))
    return cmds


def test_documented_commands_parse():
    """Every `bn-noise ...` line of the docs names real subcommands and options."""
    import shlex

    from simulations.cli import build_parser

    cmds = documented_commands()
    assert len(cmds) >= 10
    parser = build_parser()
    for name, cmd in cmds:
        argv = shlex.split(cmd)[1:]
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # argparse error: stale documentation
            pytest.fail(f"{name}: `{cmd}` does not parse (exit {exc.code})")



def test_every_figure_is_discussed_where_it_appears():
    """A chapter figure is followed by a paragraph saying what to see in it."""
    for p in CHAPTER_FILES:
        text = p.read_text(encoding="utf-8")
        for mt in re.finditer(r"^!\[[^\]]*\]\(([^)]+)\)\n", text, re.M):
            after = text[mt.end():mt.end() + 400]
            assert re.search(r"what to see", after, re.I), f"{p.name}: {mt.group(1)} is not discussed"


def test_no_reference_to_a_theory_file_users_do_not_have():
    """The theory page is docs/theory.md; no file of the project names the old one."""
    old = "THEORY" + ".md"
    hits = []
    for path in ROOT.rglob("*"):
        if ".git" in path.parts or not path.is_file() or path.suffix not in {
                ".py", ".md", ".toml", ".txt", ".ipynb", ".cfg", ".yml", ".yaml", ".html"}:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if old in line:
                hits.append(f"{path.relative_to(ROOT)}:{i}")
    assert not hits, "repoint to docs/theory.md: " + ", ".join(hits)


def test_theory_page_numbers_equations_and_cites_every_reference():
    text = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8")
    numbers = re.findall(r"^\*\*\((\d+\.\d+)\)", text, re.M)
    assert len(numbers) >= 20 and len(numbers) == len(set(numbers))
    refs, body = text.split("## References", 1)[1], text.split("## References", 1)[0]
    keys = re.findall(r"^- \*\*\[(\w+)\]\*\*", refs, re.M)
    assert "YHM20" in keys and "10.1007/978-3-030-58610-2_14" in refs
    for key in keys:
        entry = refs.split(f"[{key}]", 1)[1].split("\n- **[", 1)[0]
        assert "doi" in entry or "Press" in entry, f"{key}: no DOI"
        assert re.search(r"\((\d+\.\d+)\)|Bonferroni|every chapter", entry), f"{key}: cited by no equation"
    cited = set(re.findall(r"\[(\w+\d\d)(?:, \w+\d\d)*\]", body)) | {
        k for grp in re.findall(r"\[((?:\w+\d\d, )+\w+\d\d)\]", body) for k in grp.split(", ")}
    assert cited <= set(keys), cited - set(keys)
    # every derivation the page names exists
    from derivations import list_derivations
    for name in re.findall(r"Derivation: `(\w+)`", text):
        assert name in list_derivations(), name


def _pct(x, digits=0):
    return f"{100 * x:.{digits}f}%"


def quoted_numbers():
    """(file, text quoted in the prose, the same text computed from the code)."""
    import numpy as np

    from noise_theory import (
        expected_glm_loss,
        glm_regularizer,
        inference_momentum,
        paper_momentum,
        scale_moment,
        variance_noise,
    )

    h = np.array([-1.0, 0.5, 2.0])

    def second_order_error(m):
        exact = expected_glm_loss(h, 1.0, gamma=1.5, beta=0.2, m=m, family="logistic")
        approx = glm_regularizer(h, gamma=1.5, beta=0.2, m=m).approx_expected_loss(1.0)
        return np.abs(approx / exact - 1)

    e8, e4 = second_order_error(8), second_order_error(4)
    removed = 1e-5 * float(scale_moment(2, 2, eps=1e-5))
    taus = ", ".join(f"{float(inference_momentum(m)):.4f}" for m in (2, 4, 8)) + \
        f" and {float(inference_momentum(16)):.4f}"
    v4 = variance_noise(4)
    grid = np.linspace(1e-4, 2, 20_000)
    return [
        ("01-why-bn-is-noisy.md", f"about sqrt(32) = {np.sqrt(32):.1f} times", "about sqrt(32) = 5.7 times"),
        ("01-why-bn-is-noisy.md", f"the mode is at {grid[np.argmax(v4.pdf(grid))]:.2f}",
         "the mode is at 0.25"),
        ("03-momentum-bn.md", f"({taus} for m = 2, 4, 8, 16", "(0.9934, 0.9869, 0.9740 and 0.9487 for m = 2, 4, 8, 16"),  # noqa: E501
        ("03-momentum-bn.md", f"ending at 1 - m/m0 ({float(paper_momentum(200, 200, 2)):.2f} for m = 2, "
         f"{float(paper_momentum(200, 200, 16)):g} for m = 16)", "ending at 1 - m/m0 (0.94 for m = 2, 0.5 for m = 16)"),  # noqa: E501
        ("04-regularizer.md", f"(c1 = {float(scale_moment(8, 1)):.1f} at m = 8)", "(c1 = 1.2 at m = 8)"),
        ("04-regularizer.md", f"from {_pct(e8.min(), 1)} to {_pct(e8.max())} at m = 8",
         "from 0.5% to 9% at m = 8"),
        ("06-non-gaussian-and-limits.md", f"({_pct(removed, 2)} of the output variance at m = 2",
         "(0.56% of the output variance at m = 2"),
        ("06-non-gaussian-and-limits.md", f"error reaches {_pct(e8.max())} at m = 8 and {_pct(e4.max())} at m = 4",  # noqa: E501
         "error reaches 9% at m = 8 and 64% at m = 4"),
    ]


@pytest.mark.parametrize("name, computed, quoted", quoted_numbers(), ids=lambda v: str(v)[:40])
def test_numbers_quoted_in_the_docs_match_the_code(name, computed, quoted):
    text = " ".join((ROOT / "docs" / name).read_text(encoding="utf-8").split())
    computed, quoted = " ".join(computed.split()), " ".join(quoted.split())
    assert quoted in text, f"{name} no longer quotes {quoted!r}: update this test with the prose"
    assert computed == quoted, f"{name} quotes {quoted!r}, the code gives {computed!r}"


def _fake_report():
    from types import SimpleNamespace as NS

    figs = [NS(name="noise_densities", caption="densities"),
            NS(name="noise_vs_batch_size", caption="noise against m")]
    sections = [NS(title="1. BN noise", intro="", claims=[], figures=figs, notes=[]),
                NS(title="2. MBN", intro="", claims=[], figures=[NS(name="schedule", caption="s")],
                   notes=[])]
    summary = dict(seed=0, full=False, n_claims=12, n_rows=300, n_mc_tests=260, n_disagree=0,
                   z_crit=4.1165, alpha=0.01, seconds=61.23)
    return sections, summary


def test_report_opens_with_verdict_paragraph_and_key_figure_before_the_tables():
    from simulations.report._render import render_html, render_markdown

    sections, summary = _fake_report()
    md = render_markdown(sections, summary, 4.1165)
    head = md.split("## Contents", 1)[0]
    paragraphs = [p for p in head.split("\n\n") if p.strip()]
    assert paragraphs[0] == "# bn-noise verification report"
    assert paragraphs[1].startswith("**Verdict: every claim agrees**")
    assert paragraphs[2].startswith("The report checked 300 rows in 12 claims (1. BN noise; 2. MBN)")
    assert paragraphs[3] == "![noise against m](figures/noise_vs_batch_size.png)"
    assert md.index("noise_vs_batch_size.png") < md.index("## Claims at a glance")
    assert md.count("61.2 s") == 1 and md.count("ran in") == 1          # one run time, once
    assert md.count("figures/noise_vs_batch_size.png") == 1             # not repeated below
    assert "figures/schedule.png" in md and "figures/noise_densities.png" in md
    pngs = {f.name: b"png" for s in sections for f in s.figures}
    page = render_html(sections, summary, 4.1165, pngs)
    assert page.index("<figure>") < page.index("Claims at a glance")
    assert page.count("61.2 s") == 1 and page.count("<figure>") == 3
