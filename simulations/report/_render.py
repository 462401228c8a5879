"""Rendering of the report: Markdown, self-contained HTML, JSON and CSV of the claims."""

from __future__ import annotations

import base64
import dataclasses
import html
import re

import numpy as np

from ..io import format_value
from ._model import _scalar  # noqa: F401  (kept for callers of the old module)


# ------------------------------------------------------------------ rendering
def _fmt(v, spec=".6g"):
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "NO"
    return format_value(v, spec)


def claim_table(claim, z_crit):
    """``(header, rows)`` of a claim as strings (the Markdown/HTML/CSV table)."""
    verdicts = claim.verdicts(z_crit)
    names = [k for k, _ in claim.rows[0].params] if claim.rows else []
    has_ref = any(r.reference is not None for r in claim.rows)
    has_mc = any(r.is_mc for r in claim.rows)
    has_ks = any(r.pvalue is not None for r in claim.rows)
    has_note = any(r.note for r in claim.rows)
    header = [*names, "theory"]
    if has_ref:
        header.append(claim.reference_name)
    if has_mc:
        header += [claim.estimate_name + (" (KS D)" if has_ks else ""),
                   "p-value" if has_ks else "± stderr", "n", "z"]
    header.append("agrees")
    if has_note:
        header.append("note")
    rows = []
    for r, (z, ok) in zip(claim.rows, verdicts):
        cells = [_fmt(v) for _, v in r.params] + [_fmt(r.theory)]
        if has_ref:
            cells.append(_fmt(r.reference))
        if has_mc:
            cells += [_fmt(r.estimate), _fmt(r.pvalue if r.pvalue is not None else r.stderr, ".3g"),
                      _fmt(r.n), _fmt(z, ".2f")]
        cells.append(_fmt(ok))
        if has_note:
            cells.append(r.note)
        rows.append(cells)
    return header, rows


def _md_table(header, rows, left=()):
    """Markdown table; columns named in `left` are left-aligned, the others right-aligned."""
    def esc(s):
        return str(s).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join(":---" if h in left else "---:" for h in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for r in rows:
        cls = ' class="bad"' if "NO" in r else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _inline_md_to_html(text):
    """Paragraphs, `code` and *emphasis* of our own prose (we write it, so this suffices)."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        if not para.strip():
            continue
        lines = para.strip().splitlines()
        if all(ln.startswith("|") for ln in lines) and len(lines) >= 2:   # a Markdown table
            cells = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", ln)[1:-1]]
                     for ln in lines]
            out.append(_html_table(cells[0], cells[2:]))
        elif para.lstrip().startswith("- "):
            items = [html.escape(i.strip()[2:]) for i in re.split(r"\n(?=\s*- )", para)]
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        else:
            out.append(f"<p>{_inline(html.escape(para))}</p>")
    return "\n".join(out)


def _inline(s):
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", s)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f3f3f3} tr.bad td{background:#fdd}
code{background:#f5f5f5;padding:0 .2em} figure{margin:1em 0} img{max-width:100%}
figcaption{font-size:.9em;color:#444} .summary{background:#eef6ee;padding:.6em 1em}
.summary.bad{background:#fbe9e9}
"""


def _summary_lines(result_fields, sections=()):
    """The report's opening: the verdict, then one paragraph on what was checked (the run
    time is stated here and nowhere else)."""
    f = result_fields
    verdict = ("every claim agrees" if f["n_disagree"] == 0
               else f"{f['n_disagree']} row(s) DISAGREE")
    where = ""
    if sections:
        where = " (" + "; ".join(s.title for s in sections) + ")"
    paragraph = (
        f"The report checked {f['n_rows']} rows in {f['n_claims']} claims{where}. Each row "
        f"compares a closed form with an independent deterministic route (sympy or "
        f"quadrature, which must agree to the stated relative tolerance) and, for "
        f"{f['n_mc_tests']} of them, with a Monte Carlo estimate from raw batches, which "
        f"agrees when |z| <= {f['z_crit']:.2f}: the two-sided Bonferroni threshold for a "
        f"family-wise error rate of {f['alpha']:g} over all {f['n_mc_tests']} Monte Carlo "
        f"tests, so a correct theory passes every test with probability >= "
        f"{1 - f['alpha']:g} at any seed (KS tests enter through their p-value, "
        f"z = Phi^-1(1 - p/2)). Seed entropy `{f['seed']}` (replay: `bn-noise report --seed "
        f"{f['seed']}{' --full' if f['full'] else ''}`), {'full' if f['full'] else 'default'} "
        f"mode; the checks ran in {f['seconds']:.1f} s.")
    return [f"**Verdict: {verdict}** ({f['n_rows']} checks in {f['n_claims']} claims; "
            f"{f['n_mc_tests']} of them Monte Carlo tests).", paragraph]


#: the figure shown in the report's opening, before the tables (the first one drawn if absent)
KEY_FIGURE = "noise_vs_batch_size"


def key_figure(sections):
    """The report's key figure (``None`` when no section drew one)."""
    figures = [fig for s in sections for fig in s.figures]
    for fig in figures:
        if fig.name == KEY_FIGURE:
            return fig
    return figures[0] if figures else None


def _overview(sections, z_crit):
    """One row per claim: where, what, how many checks, largest |z|, verdict."""
    header = ["section", "claim", "checks", "Monte Carlo", "max |z|", "agrees"]
    rows = []
    for s in sections:
        for c in s.claims:
            v = c.verdicts(z_crit)
            zs = [abs(z) for z, _ in v if z is not None]
            rows.append([s.title.split(".")[0], c.title, str(len(v)),
                         str(sum(r.is_mc for r in c.rows)),
                         _fmt(max(zs), ".2f") if zs else "",
                         _fmt(all(ok for _, ok in v))])
    return header, rows


def render_markdown(sections, summary, z_crit):
    lines = ["# bn-noise verification report", ""]
    lines += [s + "\n" for s in _summary_lines(summary, sections)]
    key = key_figure(sections)
    if key is not None:
        lines += [f"![{key.caption}](figures/{key.name}.png)", "",
                  f"*Figure {key.name}.* {key.caption} ([SVG](figures/{key.name}.svg))", ""]
    lines.append("## Contents\n")
    lines += [f"- [{s.title}](#{_anchor(s.title)})" for s in sections]
    lines += ["", "## Claims at a glance", "",
              _md_table(*_overview(sections, z_crit), left=("claim",)), ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        if s.intro:
            lines += [s.intro.strip(), ""]
        for c in s.claims:
            lines += [f"### {c.title}", "", c.statement.strip(), "",
                      f"Routes: {c.routes.strip()}", ""]
            lines += [_md_table(*claim_table(c, z_crit)), "",
                      f"Data: [`data/{c.key}.csv`](data/{c.key}.csv)", ""]
        for fig in s.figures:
            if fig is key:
                lines += [f"(Figure {fig.name} is shown at the top of the report.)", ""]
                continue
            lines += [f"![{fig.caption}](figures/{fig.name}.png)", "",
                      f"*Figure {fig.name}.* {fig.caption} "
                      f"([SVG](figures/{fig.name}.svg))", ""]
        for note in s.notes:
            lines += [note.strip(), ""]
    return "\n".join(lines)


def _anchor(title):
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def render_html(sections, summary, z_crit, pngs):
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>bn-noise verification report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>bn-noise verification report</h1>"]
    bad = " bad" if summary["n_disagree"] else ""
    parts.append(f"<div class='summary{bad}'>"
                 + _inline_md_to_html("\n\n".join(_summary_lines(summary, sections)))
                 + "</div>")
    key = key_figure(sections)

    def figure_html(fig):
        b64 = base64.b64encode(pngs[fig.name]).decode("ascii")
        return (f"<figure><img alt='{html.escape(fig.caption)}' "
                f"src='data:image/png;base64,{b64}'><figcaption><em>Figure "
                f"{html.escape(fig.name)}.</em> {_inline(html.escape(fig.caption))}"
                f"</figcaption></figure>")

    if key is not None:
        parts.append(figure_html(key))
    parts.append("<h2>Contents</h2><ul>" + "".join(
        f"<li><a href='#{_anchor(s.title)}'>{html.escape(s.title)}</a></li>" for s in sections)
        + "</ul>")
    parts.append("<h2>Claims at a glance</h2>" + _html_table(*_overview(sections, z_crit)))
    for s in sections:
        parts.append(f"<h2 id='{_anchor(s.title)}'>{html.escape(s.title)}</h2>")
        if s.intro:
            parts.append(_inline_md_to_html(s.intro))
        for c in s.claims:
            parts.append(f"<h3>{html.escape(c.title)}</h3>")
            parts.append(_inline_md_to_html(c.statement))
            parts.append(_inline_md_to_html("Routes: " + c.routes))
            parts.append(_html_table(*claim_table(c, z_crit)))
        for fig in s.figures:
            parts.append(f"<p>(Figure {html.escape(fig.name)} is shown at the top of the "
                         f"report.)</p>" if fig is key else figure_html(fig))
        for note in s.notes:
            parts.append(_inline_md_to_html(note))
    parts.append("</body></html>")
    return "\n".join(parts)


def _claim_json(c, z_crit):
    rows = []
    for r, (z, ok) in zip(c.rows, c.verdicts(z_crit)):
        d = dataclasses.asdict(r)
        d["params"] = dict(r.params)
        d.update(z=z, agrees=ok)
        rows.append(d)
    return {"key": c.key, "title": c.title, "statement": c.statement, "routes": c.routes,
            "reference_name": c.reference_name, "estimate_name": c.estimate_name,
            "rtol": c.rtol, "atol": c.atol, "rows": rows}
