"""Every ```python block of every docs chapter and of README.md runs, in order, per chapter,
in a fresh temporary working directory, with matplotlib's Agg backend."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
    chapters = [p for p in CHAPTERS if p.parent.name == "docs" and p.name != "index.md"]
    assert len(chapters) >= 6
    for p in chapters:
        assert f"({p.name})" in index, f"{p.name} is not linked from docs/index.md"
        assert python_blocks(p), f"{p.name} has no python code block"


def test_figures_referenced_by_the_docs_exist():
    for p in CHAPTERS:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", p.read_text(encoding="utf-8")):
            assert (p.parent / target).is_file(), f"{p.name}: missing figure {target}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_code_runs(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{path.stem}"}
    try:
        for i, block in enumerate(python_blocks(path), 1):
            code = compile(block, f"{path.name}[python block {i}]", "exec")
            exec(code, namespace)  # noqa: S102 - running our own documentation
    finally:
        plt.close("all")


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
