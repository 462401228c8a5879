"""Writing a file of the derivation cache: atomically, and never an error."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_cache_file"]


def write_cache_file(path, data):
    """Write `data` (bytes) to `path` through a temporary sibling and ``os.replace``, so a
    reader sees the old file or the new one. A read-only or full disk is ignored: a cache
    that cannot be written only costs the next process the work again."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
