"""Atomic output: a crash or Ctrl-C never leaves a half-written file or directory."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "atomic_directory", "to_jsonable", "dumps_json", "write_csv",
           "format_value"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, data):
    """Write `data` (str or bytes) to `path` atomically: temp file in the same folder,
    fsync, then ``os.replace``. The parent folder must exist."""
    path = Path(path)
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path, *, force=False):
    """Build a directory in a temporary sibling and move it into place at the end.

    Yields the temporary `Path` to write into. If the body raises (including
    ``KeyboardInterrupt``) the temporary folder is removed and `path` is untouched. An
    existing `path` is replaced only with ``force=True``; otherwise ``FileExistsError``.
    """
    path = Path(path).resolve()
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass force=True (CLI: --force) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def to_jsonable(obj):
    """Convert numpy scalars/arrays, dataclasses and non-finite floats to plain JSON.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"`` so the
    output is strict JSON (``json.loads`` and every other parser accept it).
    """

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(obj, Path):
        return str(obj)
    return obj


def format_value(v, spec=".6g"):
    """A table cell: floats with `spec` (``nan``, ``inf``, ``-inf`` spelled out), numpy
    scalars as Python ones, ``None`` as an empty cell, anything else ``str``."""
    if v is None:
        return ""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return format(v, spec)
    return str(v)


def dumps_json(obj, **kwargs):
    """``json.dumps`` of :func:`to_jsonable` (strict JSON, ``allow_nan=False``)."""
    kwargs.setdefault("indent", 2)
    return json.dumps(to_jsonable(obj), allow_nan=False, **kwargs)


def write_csv(path, header, rows):
    """Write rows to a CSV file atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(to_jsonable(list(row)))
    atomic_write(path, buf.getvalue())
