"""The main job: run every check (closed form vs sympy vs Monte Carlo) and write the report.

Modules: ``_model`` (rows, claims, figures, sections, the run context), ``_render``
(Markdown and HTML), ``_build`` (running the sections, writing the folder atomically) and
one module per section of checks (``_bn``, ``_output``, ``_mbn``, ``_regularizer``,
``_nongaussian``), listed in ``_sections``.

API
---
build_report(out, *, full, rng, workers, force, progress)  run every check, write the folder
export_figures(figdir, *, full, rng, workers, sections)  only the figures
ReportResult     what build_report returns (folder, seed, checks, disagreements, threshold)
"""

from noise_theory._lib import lazy_namespace

_LAZY = {
    "build_report": "simulations.report._build",
    "export_figures": "simulations.report._build",
    "ReportResult": "simulations.report._build",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_namespace("simulations.report", _LAZY, globals())
