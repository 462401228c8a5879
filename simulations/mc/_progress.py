"""Progress bars (tqdm) that stay quiet when stderr is not a terminal."""

from __future__ import annotations

import sys

__all__ = ["progress"]


def progress(iterable=None, *, total=None, desc=None, enabled=None, unit="it"):
    """Wrap `iterable` (or make a manual bar with `total`) in a tqdm progress bar.

    ``enabled=None`` shows the bar only when stderr is a terminal, so scripts, CI logs and
    ``--json`` pipelines stay clean. Use as an iterator or as a context manager with
    ``.update(n)``.
    """
    from tqdm.auto import tqdm  # deferred: tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, unit=unit,
                leave=False, file=sys.stderr, dynamic_ncols=True)
