"""Atomic output: a crash, Ctrl-C, SIGTERM or ``kill -9`` never leaves a half-written file
or folder, and the next run removes what a killed run left behind.

How it works
------------
- Every temporary (a file for :func:`atomic_write`, a folder for :func:`atomic_directory`)
  is a hidden sibling of the target named ``.NAME.<pid>-<random>.tmp`` and is locked with
  ``fcntl.flock`` for as long as its writer lives (the kernel drops the lock when the
  process dies, even on ``kill -9``). Before writing, :func:`remove_leftovers` deletes the
  siblings ``.NAME.*.tmp`` whose lock is free and whose writer PID is dead: leftovers of
  killed runs disappear on the next run, a live writer's temporaries are never touched.
- A file is replaced with ``os.replace`` (atomic on POSIX).
- A folder is replaced by *exchanging* it with the new one in one system call
  (Linux ``renameat2(RENAME_EXCHANGE)``): a reader always sees the old complete folder or
  the new complete one, never none. Where the file system has no exchange (not Linux,
  NFS, ...), the target is a symbolic link to a hidden versioned folder
  ``.NAME.<pid>-<random>.v`` and is flipped with ``os.replace`` of a new link (also atomic);
  the old version is then deleted. Only a *real* folder on such a file system is replaced
  by two renames (a short window without the target).
- The final swap of concurrent writers of one target is serialised by an ``flock`` on the
  parent folder (held for milliseconds, not during the work): two writers both finish
  cleanly and the last one wins; with ``force=False`` the second gets ``FileExistsError``.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import dataclasses
import errno
import fcntl
import functools
import io
import json
import math
import os
import re
import secrets
import shutil
import time
from pathlib import Path

__all__ = ["atomic_write", "atomic_directory", "remove_leftovers", "to_jsonable",
           "dumps_json", "write_csv", "format_value"]

#: Leftovers without a PID in their name (made by bn-noise before PIDs were recorded) are
#: removed once their lock is free and they are older than this many seconds.
LEGACY_LEFTOVER_AGE = 3600.0


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's live process
        return True
    return True


def _try_lock(fd):
    """Take an exclusive flock on `fd` without waiting; True if taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:           # e.g. a file system without flock: treat as held (keep it)
        return False
    return True


def _leftover_pattern(name):
    # .NAME.<pid>-<hex>.tmp (this version) or .NAME.<8 chars>.tmp/.old (older versions)
    return re.compile(r"\." + re.escape(name) + r"\.(?:(\d+)-[0-9a-f]+|[A-Za-z0-9_]{8})"
                      r"\.(?:tmp|old)\Z")


def remove_leftovers(path):
    """Delete the temporaries that killed writers left beside `path`.

    A sibling ``.NAME.<pid>-<random>.tmp`` (file or folder) is removed when its flock is
    free and process `pid` is dead; a sibling without a PID (``.NAME.XXXXXXXX.tmp`` or
    ``.old``, from older versions) when its lock is free and it is older than
    :data:`LEGACY_LEFTOVER_AGE` seconds. Never raises; returns the names removed.
    """
    path = Path(os.path.abspath(path))
    parent = path.parent
    pattern = _leftover_pattern(path.name)
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for entry in names:
        match = pattern.match(entry)
        if not match:
            continue
        leftover = parent / entry
        try:
            fd = os.open(leftover, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if not _try_lock(fd):
                continue                      # its writer is alive
            pid = match.group(1)
            if pid is not None:
                if _pid_alive(int(pid)):
                    continue                  # creator between mkdir and flock, or reused PID
            elif time.time() - os.fstat(fd).st_mtime < LEGACY_LEFTOVER_AGE:
                continue
            if os.path.isdir(leftover) and not os.path.islink(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed


def _temp_name(path, suffix):
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.{suffix}"


def atomic_write(path, data):
    """Write `data` (str or bytes) to `path` atomically.

    The data goes to a locked temporary sibling (see the module docstring), is fsynced and
    moved into place with ``os.replace``: readers see the old file or the new one. On any
    error, ``KeyboardInterrupt`` included, the temporary is removed and `path` is
    untouched; after ``kill -9`` the next write to `path` removes it. The parent folder
    must exist.
    """
    path = Path(os.path.abspath(path))
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    remove_leftovers(path)
    tmp = _temp_name(path, "tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_umask())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)        # ours alone: never blocks
        kw = {} if mode == "wb" else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, closefd=False, **kw) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)


# ------------------------------------------------------------------ folder swaps
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@functools.cache
def _renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a, b):
    """Atomically swap the names `a` and `b` (both must exist). Raises ``NotImplementedError``
    where the platform or the file system cannot."""
    fn = _renameat2()
    if fn is None:
        raise NotImplementedError("renameat2 is not available")
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        raise NotImplementedError(os.strerror(err))
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _locked(folder):
    """Hold an exclusive flock on `folder` (waits for other writers' swaps)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def _remove_old_versions(path, keep):
    """Delete the versioned folders ``.NAME.*.v`` of `path` other than `keep` (call under
    the parent's lock)."""
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.\d+-[0-9a-f]+\.v\Z")
    for entry in os.listdir(path.parent):
        if pattern.match(entry) and entry != keep:
            _remove(path.parent / entry)


def _commit(tmp, path, force):
    """Move the finished folder `tmp` to `path` (under the parent's lock)."""
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    if not force:
        raise FileExistsError(f"{path} exists; pass force=True (CLI: --force) to replace it.")
    if not os.path.islink(path):
        try:
            _exchange(tmp, path)              # path: the new folder; tmp: the old one
        except NotImplementedError:
            pass
        else:
            _remove(tmp)
            return
    # no exchange here: path is (or becomes) a symbolic link to a versioned folder
    version = _temp_name(path, "v")
    os.rename(tmp, version)
    link = _temp_name(path, "tmp")
    os.symlink(version.name, link)
    if os.path.islink(path):
        os.replace(link, path)                # atomic flip
    else:                                     # a real folder: two renames, short gap
        old = _temp_name(path, "tmp")
        os.rename(path, old)
        os.replace(link, path)
        _remove(old)
    _remove_old_versions(path, keep=version.name)


@contextlib.contextmanager
def atomic_directory(path, *, force=False):
    """Build a folder in a temporary sibling and swap it into place at the end.

    Yields the temporary `Path` to write into. If the body raises (``KeyboardInterrupt``
    and the CLI's SIGTERM included) the temporary folder is removed and `path` is
    untouched; after ``kill -9`` the next run removes it (:func:`remove_leftovers`). An
    existing `path` is replaced only with ``force=True``, otherwise ``FileExistsError``
    (checked at the start and again at the swap). Readers of `path` see the old complete
    folder or the new one, never none; concurrent writers both finish, the last one wins.
    See the module docstring for how.
    """
    path = Path(os.path.abspath(path))
    if os.path.lexists(path) and not force:
        raise FileExistsError(f"{path} exists; pass force=True (CLI: --force) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    tmp = _temp_name(path, "tmp")
    os.mkdir(tmp, 0o777)                      # the umask applies, as for any new folder
    fd = os.open(tmp, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)        # ours alone: never blocks
        yield tmp
        with _locked(path.parent):
            _commit(tmp, path, force)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        os.close(fd)


def to_jsonable(obj):
    """Convert numpy scalars/arrays, dataclasses and non-finite floats to plain JSON.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"`` so the
    output is strict JSON (``json.loads`` and every other parser accept it).
    """
    import numpy as np  # deferred: numpy at CLI start-up

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
    import numpy as np  # deferred: numpy at CLI start-up

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
