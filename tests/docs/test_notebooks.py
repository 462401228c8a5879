"""The documentation's notebooks: generated from the Markdown (never edited by hand), up to
date, and executed (nbclient, a fresh kernel of the current interpreter per notebook, in an
empty working directory). Chapters end with 3-5 exercises; the solution notebooks check their
answers with assertions, so executing them checks the solutions. Printed values are clean
(no float noise such as 0.4999999999999999, no ``np.float64(...)`` reprs)."""

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import ipykernel  # noqa: F401  (the kernel must be importable: fail, do not skip)
import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _tools():
    spec = importlib.util.spec_from_file_location("docs_notebooks", DOCS / "_tools" / "notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


NB = _tools()
CHAPTERS = NB.chapter_sources()
SOLUTIONS = NB.solution_sources()
NOTEBOOKS = [p for p, _ in NB.targets()]
EXERCISE = re.compile(r"^\*\*Exercise (\d+)\.?\*\*", re.M)
SOLUTION = re.compile(r"^## Exercise (\d+)\b", re.M)
# 15+ significant digits ending in a run of 0s or 9s: float noise such as 0.09999999999999998
FLOAT_NOISE = re.compile(r"\d\.\d*(?:0{6,}|9{6,})\d")
LONG_FLOAT = re.compile(r"\d\.\d{12,}")


def test_every_notebook_is_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in NB.stale()]
    assert not stale, ("notebooks out of date; run `python docs/_tools/notebooks.py`: "
                       + ", ".join(stale))


def test_generation_keeps_shell_blocks_as_text_and_is_deterministic():
    md = "# T\n\ntext\n\n```bash\nbn-noise report\n```\n\n```python\nx = 1\n```\n"
    nb = NB.to_notebook(md)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code"]
    assert "```bash\nbn-noise report\n```" in nb.cells[0].source
    assert nb.cells[1].source == "x = 1"
    assert NB.notebook_text(nb) == NB.notebook_text(NB.to_notebook(md))
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_stale_detects_an_edited_source(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    src = tmp_path / "01-x.md"
    src.write_text("# x\n\n```python\nprint(1)\n```\n", encoding="utf-8")
    assert NB.stale(tmp_path) == [tmp_path / "01-x.ipynb"]
    NB.write_all(tmp_path)
    assert NB.stale(tmp_path) == []
    src.write_text("# x\n\n```python\nprint(2)\n```\n", encoding="utf-8")
    assert NB.stale(tmp_path) == [tmp_path / "01-x.ipynb"]
    # a separate exercises file is appended to its chapter
    (tmp_path / "exercises" / "01-x.md").write_text("## Exercises\n", encoding="utf-8")
    assert NB.chapter_text(src, tmp_path).endswith("## Exercises\n")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_ends_with_3_to_5_exercises_and_has_solutions(chapter):
    text = NB.chapter_text(chapter)
    tail = text[text.rfind("## Exercises"):]
    assert "## Exercises" in text, f"{chapter.name} has no ## Exercises section"
    numbers = [int(n) for n in EXERCISE.findall(tail)]
    assert 3 <= len(numbers) <= 5 and numbers == list(range(1, len(numbers) + 1)), numbers
    sols = [p for p in SOLUTIONS if p.name[:3] == chapter.name[:3]]
    assert len(sols) == 1, f"{chapter.name}: expected one docs/solutions/{chapter.name[:3]}*.md"
    solved = [int(n) for n in SOLUTION.findall(sols[0].read_text(encoding="utf-8"))]
    assert solved == numbers, f"{sols[0].name} solves {solved}, the chapter asks {numbers}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_every_solution_checks_itself(solution):
    """Each solved exercise asserts its answer (so executing the notebook checks it)."""
    text = solution.read_text(encoding="utf-8")
    parts = SOLUTION.split(text)[1:]
    for number, body in zip(parts[::2], parts[1::2]):
        code = "\n".join(re.findall(r"^```python[^\n]*\n(.*?)^```", body, re.M | re.S))
        assert re.search(r"^\s*assert ", code, re.M), f"{solution.name}: exercise {number} asserts nothing"


def test_float_noise_patterns():
    assert FLOAT_NOISE.search("0.4999999999999999") and FLOAT_NOISE.search("0.09999999999999998")
    assert FLOAT_NOISE.search("1.230769230769229") is None  # caught by LONG_FLOAT instead
    assert LONG_FLOAT.search("1.230769230769229")
    assert not FLOAT_NOISE.search("0.5 0.03125 1e-05 0.016129")
    assert not LONG_FLOAT.search("0.5 0.03125 1e-05 0.016129")


def _outputs(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                yield out.text
            elif "data" in out and "text/plain" in out.data:
                yield out.data["text/plain"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(DOCS)))
def test_notebook_executes_and_prints_clean_values(path, tmp_path, monkeypatch):
    # the kernel is the current interpreter ("python3" resolves to sys.executable) and
    # inherits the environment: the project importable, matplotlib without a display
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    text = "\n".join(_outputs(nb))
    assert "np.float64(" not in text and "np.int64(" not in text, text
    assert not FLOAT_NOISE.search(text), FLOAT_NOISE.search(text).group(0)
    assert not LONG_FLOAT.search(text), LONG_FLOAT.search(text).group(0)
    print(f"{path.name}: {elapsed:.1f} s", file=sys.stderr)
