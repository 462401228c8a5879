"""The verification report: every claim of the theory checked by independent routes.

A *claim* is one statement of the theory ("Var xi_mu = 1/m") checked at several parameter
points. Each row of a claim carries the closed-form value (``noise_theory``), optionally a
second deterministic route (a sympy derivation from :mod:`derivations`, exact quadrature,
...) and optionally a Monte Carlo estimate with its standard error. The report decides
agreement row by row:

- deterministic routes agree when they match to a relative tolerance (``rtol``, stated in
  the claim; 1e-9 by default) or are both infinite;
- Monte Carlo agrees when ``|z| <= z_crit``, where ``z = (estimate - theory)/stderr`` and
  ``z_crit`` is the two-sided Bonferroni threshold for a family-wise error rate ``alpha``
  (default 1%) over *all* Monte Carlo tests of the report; distribution tests (KS) are put
  on the same scale through their p-value, ``z = Phi^-1(1 - p/2)``.

:func:`build_report` runs the checks (:mod:`simulations._report_checks`), draws the
figures, and writes ``report.md``, a self-contained ``report.html`` (figures embedded as
base64 PNG), the figures as PNG and SVG, and the data as CSV and JSON, all atomically.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import io
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._io import atomic_directory, atomic_write, dumps_json, format_value, write_csv
from ._seeding import as_seed_sequence

__all__ = ["build_report", "export_figures", "Claim", "Row", "ReportResult", "bonferroni_z"]

#: family-wise error rate of all the Monte Carlo tests of one report.
DEFAULT_ALPHA = 0.01


# ------------------------------------------------------------------ data model
@dataclass(frozen=True)
class Row:
    """One parameter point of a claim.

    ``params`` is an ordered tuple of ``(name, value)`` pairs; ``theory`` the closed form;
    ``reference`` a second deterministic route (or None); ``estimate``/``stderr``/``n`` a
    Monte Carlo estimate (or None); ``pvalue`` replaces ``stderr`` for distribution tests;
    ``note`` says why a route is missing (e.g. a divergent moment).
    """

    params: tuple
    theory: float
    reference: float | None = None
    estimate: float | None = None
    stderr: float | None = None
    n: int | None = None
    pvalue: float | None = None
    note: str = ""

    @property
    def is_mc(self):
        return self.pvalue is not None or (self.estimate is not None and self.stderr is not None)

    def z(self):
        """z-score of the Monte Carlo estimate (KS: the normal quantile of its p-value)."""
        if self.pvalue is not None:
            from scipy.stats import norm
            return float(norm.isf(max(self.pvalue, 1e-300) / 2))
        if self.estimate is None or self.stderr is None:
            return None
        if self.stderr > 0:
            return float((self.estimate - self.theory) / self.stderr)
        return 0.0 if self.estimate == self.theory else math.inf


def row(params, theory, **kwargs):
    """Build a :class:`Row` from a ``dict`` of parameters (kept in order)."""
    clean = {k: (None if v is None else _scalar(v)) for k, v in kwargs.items()
             if k in ("reference", "estimate", "stderr", "pvalue")}
    kwargs.update(clean)
    if kwargs.get("n") is not None:
        kwargs["n"] = int(kwargs["n"])
    return Row(params=tuple(params.items()), theory=_scalar(theory), **kwargs)


def _scalar(x):
    x = np.asarray(x, dtype=float)
    if x.ndim:
        raise ValueError(f"expected a scalar, got shape {x.shape}")
    return float(x)


@dataclass(frozen=True)
class Claim:
    """A statement of the theory and the rows that check it."""

    key: str
    title: str
    statement: str
    routes: str
    rows: tuple
    reference_name: str = "sympy"
    estimate_name: str = "Monte Carlo"
    rtol: float = 1e-9
    atol: float = 0.0

    def reference_agrees(self, r):
        if r.reference is None:
            return True
        a, b = r.theory, r.reference
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.atol + self.rtol * max(abs(a), abs(b))

    def verdicts(self, z_crit):
        """Per row: ``(z or None, agrees)``."""
        out = []
        for r in self.rows:
            z = r.z()
            ok = self.reference_agrees(r) and (z is None or abs(z) <= z_crit)
            out.append((z, bool(ok)))
        return out


@dataclass
class Figure:
    """A finished matplotlib figure with its file stem and caption."""

    name: str
    caption: str
    figure: object  # matplotlib.figure.Figure


@dataclass
class Section:
    """A chapter of the report: prose, claims, figures and data tables."""

    key: str
    title: str
    intro: str = ""
    claims: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    #: name -> (header, rows): extra data written as CSV (claims are written automatically).
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote and found."""

    out: Path
    seed: int
    full: bool
    n_claims: int
    n_rows: int
    n_mc_tests: int
    n_disagree: int
    z_crit: float
    alpha: float
    seconds: float
    files: tuple

    @property
    def all_agree(self):
        return self.n_disagree == 0


def bonferroni_z(n_tests, alpha=DEFAULT_ALPHA):
    """Two-sided |z| threshold keeping the family-wise error rate of `n_tests` tests at `alpha`."""
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * max(int(n_tests), 1))))


# ------------------------------------------------------------------ context
class Context:
    """What a check needs: sample sizes, its own random streams, workers, a shared cache."""

    def __init__(self, seed_sequence, *, full, workers):
        self._seq = seed_sequence
        self.full = full
        self.workers = workers
        #: results shared between tasks and sections (e.g. simulated samples).
        self.cache = {}

    def seed_sequence(self, key):
        """The stream `key` (a fixed int per check): independent of which other checks run."""
        return np.random.SeedSequence(self._seq.entropy, spawn_key=(*self._seq.spawn_key, key))

    def rng(self, key):
        """A Generator on the stream `key`."""
        return np.random.default_rng(self.seed_sequence(key))

    def size(self, default, full):
        """`default` samples normally, `full` with ``--full``."""
        return full if self.full else default



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


def _summary_lines(result_fields):
    f = result_fields
    verdict = ("every claim agrees" if f["n_disagree"] == 0
               else f"{f['n_disagree']} row(s) DISAGREE")
    return [
        f"**Verdict: {verdict}** ({f['n_rows']} checks in {f['n_claims']} claims; "
        f"{f['n_mc_tests']} of them Monte Carlo tests).",
        f"Seed entropy `{f['seed']}` (replay: `bn-noise report --seed {f['seed']}"
        f"{' --full' if f['full'] else ''}`); the checks ran in {f['seconds']:.1f} s; "
        f"mode {'full' if f['full'] else 'default'}.",
        f"Agreement rule: deterministic routes agree to the stated relative tolerance; a Monte "
        f"Carlo estimate agrees when |z| <= {f['z_crit']:.2f}, the two-sided Bonferroni "
        f"threshold for a family-wise error rate of {f['alpha']:g} over all "
        f"{f['n_mc_tests']} Monte Carlo tests (so a correct theory passes every test with "
        f"probability >= {1 - f['alpha']:g} at any seed). KS tests enter through their "
        f"p-value: z = Phi^-1(1 - p/2).",
    ]


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
    lines += [s + "\n" for s in _summary_lines(summary)]
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
                 + _inline_md_to_html("\n\n".join(_summary_lines(summary))) + "</div>")
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
            b64 = base64.b64encode(pngs[fig.name]).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(fig.caption)}' "
                         f"src='data:image/png;base64,{b64}'><figcaption><em>Figure "
                         f"{html.escape(fig.name)}.</em> {_inline(html.escape(fig.caption))}"
                         f"</figcaption></figure>")
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


# ------------------------------------------------------------------ the builder
def build_report(out="bn-noise-report", *, full=False, rng=None, workers=None, force=False,
                 alpha=DEFAULT_ALPHA, sections=None, progress=None):
    r"""Run the verification suite and write the report folder `out` atomically.

    Parameters
    ----------
    out : path-like
        Folder to create (``report.md``, ``report.html``, ``report.json``, ``figures/``,
        ``data/``). It is built in a temporary sibling and moved into place at the end,
        so an interrupted run leaves nothing half-written.
    full : bool, keyword-only
        Use many more Monte Carlo samples (resolves smaller effects; minutes, not seconds).
    rng : None, int, SeedSequence or Generator, keyword-only
        Seed of every random draw. ``None`` draws fresh entropy (recorded in the report);
        ``rng=result.seed`` replays a run.
    workers : int or None, keyword-only
        Threads for the simulators (None: all cores).
    force : bool, keyword-only
        Replace an existing `out`; otherwise an existing folder raises ``FileExistsError``.
    alpha : float, keyword-only
        Family-wise error rate of all Monte Carlo tests together (Bonferroni).
    sections : sequence of str or None, keyword-only
        Only these section keys (default: all); for quick partial runs.
    progress : bool or None, keyword-only
        Show a progress bar (None: only when stderr is a terminal).

    Returns
    -------
    ReportResult
        Where it was written, the seed, how many checks and disagreements, the
        threshold used and the run time.

    Raises
    ------
    FileExistsError
        `out` exists and ``force`` is False.
    ValueError
        `workers` < 1, an unknown section key, or `alpha` outside (0, 1).

    Notes
    -----
    Agreement: deterministic routes must match to each claim's ``rtol``/``atol``; a Monte
    Carlo estimate agrees when :math:`|z| \le z_\text{crit}`, the two-sided Bonferroni
    threshold for family-wise error rate `alpha` over all Monte Carlo tests of the run. Each
    check draws from its own stream ``SeedSequence(entropy, spawn_key=(key,))``, and the
    simulators' results do not depend on `workers`, so a seed reproduces the report.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from simulations import build_report
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rep"
    >>> res = build_report(out, rng=1, sections=["regularizer"])
    >>> res.all_agree, res.seed
    (True, 1)
    >>> sorted(p.name for p in out.iterdir())
    ['data', 'figures', 'report.html', 'report.json', 'report.md']
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"`out` folder {str(out)!r} exists; pass --force (force=True) "
                              f"to replace it.")
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1); got alpha={alpha!r}.")
    seq = as_seed_sequence(rng)
    with _running(sections, seq, full, workers, progress, extra_steps=1) as (built, bar):
        claims = [c for s in built for c in s.claims]
        n_rows = sum(len(c.rows) for c in claims)
        n_mc = sum(r.is_mc for c in claims for r in c.rows)
        z_crit = bonferroni_z(n_mc, alpha)
        n_disagree = sum(not ok for c in claims for _, ok in c.verdicts(z_crit))
        bar.set_postfix_str("writing", refresh=False)
        summary = dict(seed=_entropy(seq), full=bool(full), n_claims=len(claims),
                       n_rows=n_rows, n_mc_tests=n_mc, n_disagree=n_disagree, z_crit=z_crit,
                       alpha=alpha, seconds=time.perf_counter() - t0)
        with atomic_directory(out, force=force) as tmp:
            files = _write(tmp, built, claims, summary, z_crit)
        bar.update(1)
    return ReportResult(out=out.resolve(), seed=_entropy(seq), full=bool(full),
                        n_claims=len(claims), n_rows=n_rows, n_mc_tests=n_mc,
                        n_disagree=n_disagree, z_crit=z_crit, alpha=alpha,
                        seconds=time.perf_counter() - t0,
                        files=tuple(sorted(str(p) for p in files)))


def export_figures(figdir, *, full=False, rng=None, workers=None, sections=None,
                   progress=None):
    """Run the checks and write only their figures, as PNG, into `figdir`.

    Files of the same name are replaced (each atomically); other files are left alone. This
    is the one command that regenerates ``docs/figures``. Returns the figure names.
    """
    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    names = []
    with _running(sections, as_seed_sequence(rng), full, workers, progress) as (built, _):
        for s in built:
            for fig in s.figures:
                atomic_write(figdir / f"{fig.name}.png", _figure_bytes(fig.figure, "png"))
                names.append(fig.name)
    return names


def _entropy(seq):
    return int(seq.entropy) if np.ndim(seq.entropy) == 0 else seq.entropy


@contextlib.contextmanager
def _running(sections, seq, full, workers, progress, extra_steps=0):
    """Run the chosen sections' tasks under a progress bar; yield (sections, bar)."""
    from ._progress import progress as make_bar
    from ._report_checks import SECTIONS

    if workers is not None and (isinstance(workers, bool)
                                or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"`workers` must be an integer >= 1 or None; got workers={workers!r}.")
    if sections is not None:
        unknown = set(sections) - {s.key for s in SECTIONS}
        if unknown:
            valid = ", ".join(s.key for s in SECTIONS)
            raise ValueError(f"`sections` has unknown key(s) {sorted(unknown)}; valid: {valid}.")
    chosen = [s for s in SECTIONS if sections is None or s.key in sections]
    total = sum(len(s.tasks) for s in chosen) + extra_steps
    bar = make_bar(total=total, desc="bn-noise report", enabled=progress, unit="step")
    ctx = Context(seq, full=full, workers=workers)
    built = []
    try:
        for spec in chosen:
            section = Section(key=spec.key, title=spec.title, intro=spec.intro)
            for task in spec.tasks:
                bar.set_postfix_str(f"{spec.key}: {task.__name__.lstrip('_')}", refresh=True)
                task(ctx, section)
                bar.update(1)
            built.append(section)
        yield built, bar
    finally:
        bar.close()
        for s in built:
            for f in s.figures:
                f.figure.clear()


def _figure_bytes(figure, ext):
    buf = io.BytesIO()
    # no timestamps in the files: the same seed gives the same bytes
    meta = {"Software": None} if ext == "png" else {"Date": None}
    figure.savefig(buf, format=ext, dpi=110, bbox_inches="tight", metadata=meta)
    return buf.getvalue()


def _write(tmp, sections, claims, summary, z_crit):
    files = []
    (tmp / "figures").mkdir()
    (tmp / "data").mkdir()
    pngs = {}
    for s in sections:
        for fig in s.figures:
            for ext in ("png", "svg"):
                data = _figure_bytes(fig.figure, ext)
                atomic_write(tmp / "figures" / f"{fig.name}.{ext}", data)
                files.append(Path("figures") / f"{fig.name}.{ext}")
                if ext == "png":
                    pngs[fig.name] = data
        for name, (header, rows) in s.data.items():
            write_csv(tmp / "data" / f"{name}.csv", header, rows)
            files.append(Path("data") / f"{name}.csv")
    for c in claims:
        header, rows = _claim_csv(c, z_crit)
        write_csv(tmp / "data" / f"{c.key}.csv", header, rows)
        files.append(Path("data") / f"{c.key}.csv")
    atomic_write(tmp / "report.md", render_markdown(sections, summary, z_crit))
    atomic_write(tmp / "report.html", render_html(sections, summary, z_crit, pngs))
    payload = {"summary": summary,
               "sections": [{"key": s.key, "title": s.title,
                             "claims": [_claim_json(c, z_crit) for c in s.claims],
                             "figures": [f.name for f in s.figures],
                             "data": {k: {"header": list(h), "rows": [list(r) for r in rows]}
                                      for k, (h, rows) in s.data.items()}}
                            for s in sections]}
    atomic_write(tmp / "report.json", dumps_json(payload))
    files += [Path("report.md"), Path("report.html"), Path("report.json")]
    return files


def _claim_csv(c, z_crit):
    """Machine-readable claim table: full precision numbers, not formatted strings."""
    names = [k for k, _ in c.rows[0].params] if c.rows else []
    header = [*names, "theory", "reference", "estimate", "stderr", "pvalue", "n", "z",
              "agrees", "note"]
    rows = []
    for r, (z, ok) in zip(c.rows, c.verdicts(z_crit)):
        rows.append([*(v for _, v in r.params), r.theory, r.reference, r.estimate, r.stderr,
                     r.pvalue, r.n, z, ok, r.note])
    return header, rows
