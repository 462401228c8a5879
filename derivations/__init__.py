"""Sympy derivations, from first principles, of every closed form in bn-noise.

This package never imports :mod:`noise_theory`: it is the independent route the tests
compare the closed forms with. Each derivation is built once (cached) on first use.

API
---
(name -> what it gives; see each docstring)

- ``list_derivations(*, titles=False)`` -> registered names (or ``(name, title)`` pairs),
  nothing built.
- ``get_derivation(name)`` -> the :class:`Derivation` (built on first use, then cached).
- ``derive_all()`` -> every derivation, in the order below.
- ``Derivation`` -> frozen record: ``steps``, named ``results`` (existence conditions kept
  as ``Piecewise(..., (oo, True))``), ``assumptions``, ``conditions``; ``.result``,
  ``[key]``, ``.function(key)`` (numpy function with the project's keyword names),
  ``.text()``, ``.latex()``, ``.markdown()``, ``.to_dict()``.
- ``prefetch(executor, names=None)`` -> build the uncached derivations in `executor`'s
  worker processes (the report uses it).
- ``latex_document(body, *, title)`` -> a standalone LaTeX document (compiles with
  ``pdflatex``) around a LaTeX `body`.
- ``Step`` -> frozen record: a sympy ``expr`` and its one-line ``explanation``.

Derivations (issue 3, items 1-9): ``mean_noise``, ``variance_noise``, ``scale_moment``,
``out_of_batch_output``, ``in_batch_output``, ``nongaussian_statistics``, ``mbn_noise``,
``mbn_momentum``, ``glm_regularizer``, ``eps_second_moment``.
"""

# Importing a subject module registers its derivations; the order is the listing order.
# isort: off
from . import _bn  # noqa: F401  (items 1-5)
from . import _nongaussian  # noqa: F401  (item 6)
from . import _mbn  # noqa: F401  (item 7)
from . import _regularizer  # noqa: F401  (item 8)
from . import _eps  # noqa: F401  (item 9)
# isort: on
from ._core import Derivation, Step, derive_all, get_derivation, list_derivations, prefetch
from ._latex import standalone as latex_document

__all__ = ["Derivation", "Step", "derive_all", "get_derivation", "list_derivations", "prefetch",
           "latex_document"]
