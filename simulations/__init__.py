"""Monte Carlo engine, simulators, plots, report and the ``bn-noise`` command line.

API
---
"""

__all__ = []
