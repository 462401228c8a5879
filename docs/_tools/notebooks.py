"""Generate the Jupyter notebooks of the documentation from its Markdown (one source of truth).

    python docs/_tools/notebooks.py           # write every notebook that is out of date
    python docs/_tools/notebooks.py --check   # exit 1 and list the stale notebooks

Sources (all Markdown; the ``python`` code blocks become code cells, everything else,
``bash`` blocks included, stays text):

- ``docs/NN-*.md``            a chapter; its notebook is ``docs/NN-*.ipynb``. If a file
  ``docs/exercises/NN-*.md`` exists, it is appended (the exercises of a chapter whose text is
  kept elsewhere); otherwise the chapter ends with its own ``## Exercises`` section.
- ``docs/solutions/NN-*.md``  the worked solutions of chapter NN, with assertions; its
  notebook is ``docs/solutions/NN-*.ipynb``.

The notebooks are written without outputs and with fixed cell ids, so regenerating an
unchanged source gives the same bytes; ``tests/docs/test_notebooks.py`` fails when a committed
notebook differs from what this script generates, and executes every notebook.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_BASH_CELL = re.compile(r"\A%%(bash|sh)\n")


def chapter_sources(docs=DOCS):
    """The chapter Markdown files ``docs/NN-*.md``, in order."""
    return sorted(p for p in docs.glob("[0-9][0-9]-*.md"))


def solution_sources(docs=DOCS):
    """The solution Markdown files ``docs/solutions/NN-*.md``, in order."""
    return sorted((docs / "solutions").glob("[0-9][0-9]-*.md"))


def exercises_source(chapter, docs=DOCS):
    """``docs/exercises/NN-*.md`` for the chapter's number NN, or None."""
    found = sorted((docs / "exercises").glob(chapter.name[:3] + "*.md"))
    return found[0] if found else None


def chapter_text(chapter, docs=DOCS):
    """The Markdown of a chapter notebook: the chapter, then its separate exercises if any."""
    text = chapter.read_text(encoding="utf-8")
    extra = exercises_source(chapter, docs)
    if extra is not None:
        text = text.rstrip("\n") + "\n\n" + extra.read_text(encoding="utf-8")
    return text


def to_notebook(markdown):
    """A notebook (nbformat v4, no outputs, fixed ids) from Markdown, via jupytext."""
    import jupytext  # deferred: only the docs tooling needs it
    import nbformat

    nb = jupytext.reads(markdown, fmt="md")
    cells = []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "code" and _BASH_CELL.match(src):
            # shell examples are for a terminal, not for the kernel: keep them as text
            lang = _BASH_CELL.match(src).group(1)
            src = f"```{lang}\n{_BASH_CELL.sub('', src).rstrip()}\n```"
            cell = nbformat.v4.new_markdown_cell(src)
        if cells and cell.cell_type == "markdown" and cells[-1].cell_type == "markdown":
            cells[-1].source = cells[-1].source.rstrip("\n") + "\n\n" + cell.source
            continue
        cells.append(cell)
    out = nbformat.v4.new_notebook()
    out.metadata = {"kernelspec": dict(KERNELSPEC),
                    "language_info": {"name": "python"}}
    for i, cell in enumerate(cells, 1):
        new = (nbformat.v4.new_code_cell(cell.source) if cell.cell_type == "code"
               else nbformat.v4.new_markdown_cell(cell.source))
        new.id = f"cell-{i:03d}"
        new.metadata = {}
        out.cells.append(new)
    nbformat.validate(out)
    return out


def notebook_text(nb):
    import nbformat  # deferred: only the docs tooling needs it

    return nbformat.writes(nb, version=4) + "\n"


def targets(docs=DOCS):
    """``[(notebook path, markdown text)]`` for every chapter and every solution file."""
    out = [(p.with_suffix(".ipynb"), chapter_text(p, docs)) for p in chapter_sources(docs)]
    out += [(p.with_suffix(".ipynb"), p.read_text(encoding="utf-8"))
            for p in solution_sources(docs)]
    return out


def stale(docs=DOCS):
    """Notebook paths whose committed text differs from the generated one (or is missing)."""
    bad = []
    for path, markdown in targets(docs):
        want = notebook_text(to_notebook(markdown))
        if not path.is_file() or path.read_text(encoding="utf-8") != want:
            bad.append(path)
    return bad


def write_all(docs=DOCS):
    """Write every out-of-date notebook; returns the paths written."""
    written = []
    for path, markdown in targets(docs):
        want = notebook_text(to_notebook(markdown))
        if not path.is_file() or path.read_text(encoding="utf-8") != want:
            path.write_text(want, encoding="utf-8")
            written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only list the stale notebooks (exit status 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for p in bad:
            print(f"stale: {p.relative_to(DOCS.parent)}")
        return 1 if bad else 0
    for p in write_all():
        print(f"wrote {p.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
