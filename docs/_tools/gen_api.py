"""Generate ``docs/api.md``, the API reference, from the docstrings of every public name.

    python docs/_tools/gen_api.py           # rewrite docs/api.md
    python docs/_tools/gen_api.py --check   # exit 1 if docs/api.md is out of date

Public names are the ``__all__`` of ``noise_theory``, ``simulations`` and ``derivations``.
Each entry has the signature, the docstring's summary and its Parameters/Returns/Raises
sections, and "See also" links to every other public name its docstring mentions (plus an
explicit numpydoc "See Also" section when there is one). ``tests/docs/test_api_reference.py``
fails when the committed page differs from the generated one.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "api.md"
PACKAGES = ("noise_theory", "simulations", "derivations")
SECTIONS = ("Parameters", "Returns", "Raises", "Attributes")


def public_names():
    """``[(package, name, object)]`` for every name in the packages' ``__all__``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    out = []
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for name in mod.__all__:
            out.append((pkg, name, getattr(mod, name)))
    return out


def anchor(pkg, name):
    return f"{pkg}-{name}".lower().replace("_", "-").replace(".", "-")


def _signature(name, obj):
    if not callable(obj):
        return None
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None
    sig = re.sub(r" at 0x[0-9a-f]+", "", sig)
    return f"{name}{sig}"


def _split_sections(doc):
    """numpydoc text -> (summary paragraph, {section: body})."""
    lines = inspect.cleandoc(doc).splitlines()
    sections, current, buf = {}, None, []
    summary = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.strip():
            if current is not None:
                sections[current] = "\n".join(buf).strip("\n")
            current, buf = line.strip(), []
            i += 2
            continue
        if current is None:
            summary.append(line)
        else:
            buf.append(line)
        i += 1
    if current is not None:
        sections[current] = "\n".join(buf).strip("\n")
    text = "\n".join(summary).strip()
    return text, sections


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "object"


def render():
    names = public_names()
    by_name = {}
    for pkg, name, _ in names:
        by_name.setdefault(name, (pkg, name))
    lines = ["# API reference", "",
             "Generated from the docstrings by `docs/_tools/gen_api.py` (do not edit by hand; "
             "`tests/docs/test_api_reference.py` checks that it is up to date). Every public name "
             "of `noise_theory`, `simulations` and `derivations`, in the order of each "
             "package's `__all__`. The mathematics is on the [theory page](theory.md).", ""]
    for pkg in PACKAGES:
        entries = [(n, o) for p, n, o in names if p == pkg]
        lines += [f"## {pkg}", ""]
        lines += [", ".join(f"[`{n}`](#{anchor(pkg, n)})" for n, _ in entries), ""]
        for name, obj in entries:
            doc = inspect.getdoc(obj) or ""
            summary, sections = _split_sections(doc) if doc else ("(no docstring)", {})
            lines += [f'<a id="{anchor(pkg, name)}"></a>', "",
                      f"### `{pkg}.{name}` ({_kind(obj)})", ""]
            sig = _signature(name, obj)
            if sig:
                lines += ["```python", sig, "```", ""]
            lines += [summary, ""]
            for sec in SECTIONS:
                if sec in sections and sections[sec].strip():
                    lines += [f"**{sec}**", "", "```text", sections[sec].rstrip(), "```", ""]
            mentioned = []
            explicit = sections.get("See Also", "")
            for other in by_name:
                if other == name:
                    continue
                if re.search(rf"(?<![\w.]){re.escape(other)}(?![\w])", doc + explicit):
                    mentioned.append(other)
            if mentioned:
                links = ", ".join(f"[`{o}`](#{anchor(*by_name[o])})" for o in mentioned)
                lines += [f"See also: {links}.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        ok = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("docs/api.md is up to date" if ok else "docs/api.md is out of date")
        return 0 if ok else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
