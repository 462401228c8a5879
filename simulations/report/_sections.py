"""The sections of ``bn-noise report``, in the order the report shows them.

Each section is a :class:`~simulations.report._common.SectionSpec` whose ``tasks`` run in
order on a shared :class:`~simulations.report._model.Section`; a task adds claims (closed
form vs a second deterministic route vs Monte Carlo), figures and data. Each task draws
from its own named random stream (``ctx.rng("bn", "m=4")``), so a section's numbers do not
depend on which other sections run.
"""

from ._bn import BN_SECTION
from ._mbn import MBN_SECTION
from ._nongaussian import NONGAUSSIAN_SECTION
from ._output import OUTPUT_SECTION
from ._regularizer import REG_SECTION
from ._training import TRAINING_SECTION

__all__ = ["SECTIONS", "RUN_ORDER"]

SECTIONS = (BN_SECTION, OUTPUT_SECTION, MBN_SECTION, REG_SECTION, NONGAUSSIAN_SECTION, TRAINING_SECTION)

#: The order the sections run in (their numbers do not depend on it): training first, so
#: that its figures are rendered while the others run, not after everything.
RUN_ORDER = ("training", "bn", "outputs", "mbn", "regularizer", "nongaussian")
