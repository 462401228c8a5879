"""The shape of the house: one-way imports, public names across packages, small modules.

A static scan (``ast``) of the three packages builds the import graph of their modules -
module-level and function-level imports alike, relative ones resolved - and fails on

- any import circle;
- a private cross-package import: ``simulations`` may take from ``noise_theory`` only its
  public names (``__all__``) and the one declared shared-internals module
  ``noise_theory._lib``; ``derivations`` (the independent route) imports ``noise_theory``
  not at all;
- a function-level import without a ``# deferred: <what>`` comment (function-level imports
  exist only to defer a heavy dependency);
- a module over 600 lines.

The checks are shown to bite by the ``test_*_is_caught`` tests on synthetic trees.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("noise_theory", "derivations", "simulations")
SHARED_INTERNALS = "noise_theory._lib"
MAX_LINES = 600


def _module_name(path, root):
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module, level, name, is_package):
    """Absolute module of ``from <level dots><module> import ...`` inside `name`."""
    if level == 0:
        return module
    base = name.split(".") if is_package else name.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def scan(root, packages=PACKAGES):
    """``{module: [(target, lineno, function_level, line_text)]}`` and line counts."""
    modules, sizes, files = {}, {}, {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            files[_module_name(path, root)] = path
    for name, path in files.items():
        text = path.read_text()
        lines = text.splitlines()
        sizes[name] = len(lines)
        tree = ast.parse(text)
        is_package = path.name == "__init__.py"
        top_level = {id(n) for n in tree.body}
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module or "", node.level, name, is_package)
                targets = []
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in files else base)
            else:
                continue
            nested = id(node) not in top_level and not _in_type_checking(tree, node)
            for t in targets:
                found.append((t, node.lineno, nested, lines[node.lineno - 1]))
        modules[name] = found
    return modules, sizes, files


def _in_type_checking(tree, node):
    return False


def circles(modules):
    """Every strongly connected component of more than one module (or a self-import)."""
    graph = {m: {t for t, *_ in edges if t in modules and t != m} for m, edges in modules.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def private_imports(modules, public_of):
    """Cross-package imports of private names (see the module docstring)."""
    bad = []
    for mod, edges in modules.items():
        pkg = mod.split(".")[0]
        for target, lineno, _, line in edges:
            tpkg = target.split(".")[0]
            if tpkg not in PACKAGES or tpkg == pkg:
                continue
            if pkg == "derivations" and tpkg == "noise_theory":
                bad.append((mod, lineno, "derivations must not import noise_theory"))
                continue
            if target == SHARED_INTERNALS:
                continue
            if target != tpkg:    # a private submodule of another package
                bad.append((mod, lineno, f"imports {target} (private)"))
                continue
            names = _imported_names(line)
            hidden = [n for n in names if n not in public_of(tpkg)]
            if hidden:
                bad.append((mod, lineno, f"imports non-public {hidden} from {tpkg}"))
    return sorted(set(bad))


def _imported_names(line):
    if " import " not in line or not line.strip().startswith("from"):
        return []
    tail = line.split(" import ", 1)[1].split("#")[0].strip().strip("()")
    return [n.strip().split(" as ")[0] for n in tail.split(",") if n.strip()]


def undeclared_deferred(modules, files):
    """Function-level imports without a ``# deferred:`` comment."""
    bad = []
    for mod, edges in modules.items():
        lines = files[mod].read_text().splitlines()
        for target, lineno, nested, line in edges:
            if not nested or ">>>" in line:
                continue
            window = " ".join(lines[lineno - 1: lineno + 2])
            if "# deferred:" not in window:
                bad.append((mod, lineno, line.strip()))
    return bad


def _public(pkg):
    import importlib

    return set(importlib.import_module(pkg).__all__)


# ------------------------------------------------------------------ the real tree
@pytest.fixture(scope="module")
def tree():
    return scan(ROOT)


def test_no_import_circles(tree):
    modules, _, _ = tree
    assert circles(modules) == []


def test_no_private_cross_package_imports(tree):
    modules, _, _ = tree
    assert private_imports(modules, _public) == []


def test_function_level_imports_say_what_they_defer(tree):
    modules, _, files = tree
    assert undeclared_deferred(modules, files) == []


def test_no_module_over_600_lines(tree):
    _, sizes, _ = tree
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


def test_simulations_has_rooms():
    rooms = {p.name for p in (ROOT / "simulations").iterdir()
             if p.is_dir() and (p / "__init__.py").exists()}
    assert {"mc", "models", "report", "cli"} <= rooms


# ------------------------------------------------------------------ the checks bite
def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_circle_is_caught(tmp_path):
    _write(tmp_path, {"simulations/__init__.py": "",
                      "simulations/a.py": "from . import b\n",
                      "simulations/b.py": "def f():\n    from .a import x  # deferred: test\n"})
    modules, _, _ = scan(tmp_path, ("simulations",))
    assert circles(modules) == [["simulations.a", "simulations.b"]]


def test_a_private_import_is_caught(tmp_path):
    _write(tmp_path, {"simulations/__init__.py": "",
                      "simulations/a.py": "from noise_theory._bn import _closed_form\n"
                                          "from noise_theory import secret, mean_noise\n"
                                          "from noise_theory._lib import choice\n",
                      "derivations/__init__.py": "import noise_theory\n",
                      "noise_theory/__init__.py": ""})
    modules, _, _ = scan(tmp_path, ("simulations", "derivations"))
    bad = sorted(private_imports(modules, lambda pkg: {"mean_noise"}))
    assert [(m, line) for m, line, _ in bad] == [("derivations", 1), ("simulations.a", 1),
                                                 ("simulations.a", 2)]
    assert "secret" in bad[2][2] and "mean_noise" not in bad[2][2]


def test_an_undeclared_function_level_import_is_caught(tmp_path):
    _write(tmp_path, {"simulations/__init__.py": "",
                      "simulations/a.py": "def f():\n    import json\n\n"
                                          "def g():\n    import scipy  # deferred: scipy\n"})
    modules, _, files = scan(tmp_path, ("simulations",))
    assert undeclared_deferred(modules, files) == [("simulations.a", 2, "import json")]
