"""docs/api.md is generated from the docstrings (docs/_tools/gen_api.py) and up to date:
every public name of noise_theory, simulations and derivations has an entry."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _gen():
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "_tools" / "gen_api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _gen()


def test_api_reference_is_up_to_date():
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == GEN.render(), (
        "docs/api.md is out of date: run `python docs/_tools/gen_api.py`")


def test_every_public_name_has_an_entry_with_its_summary():
    text = GEN.render()
    for pkg, name, obj in GEN.public_names():
        assert f"### `{pkg}.{name}`" in text, f"{pkg}.{name} missing"
        assert f'<a id="{GEN.anchor(pkg, name)}"></a>' in text


def test_see_also_links_point_to_entries():
    import re

    text = GEN.render()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links and set(links) <= anchors
    assert "See also: " in text


def test_sections_are_split():
    summary, sections = GEN._split_sections("Summary.\n\nParameters\n----------\nm : int\n    The size.\n")
    assert summary == "Summary." and sections == {"Parameters": "m : int\n    The size."}
