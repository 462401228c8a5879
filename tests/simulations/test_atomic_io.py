"""Atomic outputs under concurrency and signals: readers never see a missing or partial
target, concurrent writers both finish cleanly, killed runs' leftovers are removed by the
next run (simulations.io)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from simulations import io as sio
from simulations.io import atomic_directory, atomic_write, remove_leftovers

ROOT = Path(__file__).resolve().parents[2]
BODY = "x" * 4000 + "END"


def _siblings(path):
    """Hidden names beside `path` that belong to it (temporaries, versions)."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


def _write_version(out, token, force=True):
    with atomic_directory(out, force=force) as tmp:
        for name in ("a.txt", "b.txt"):
            (tmp / name).write_text(f"{token}\n{BODY}")


def _writer(out, token, times, no_exchange):
    if no_exchange:
        sio._exchange = _no_exchange
    try:
        for i in range(times):
            _write_version(out, f"{token}-{i}")
    except BaseException:  # noqa: BLE001 - the exit code tells the parent
        os._exit(1)
    os._exit(0)


def _no_exchange(a, b):
    raise NotImplementedError("test: no renameat2")


def _complete(text):
    return text.endswith("END") and text.count("\n") == 1


def _stress(tmp_path, trials, no_exchange):
    ctx = multiprocessing.get_context("fork")
    missing = failed = 0
    for trial in range(trials):
        out = tmp_path / f"out{trial}"
        _write_version(out, "init", force=False)
        if no_exchange:   # a real folder is converted to a link (two renames) first
            _write_version(out, "init")
        procs = [ctx.Process(target=_writer, args=(out, name, 4, no_exchange))
                 for name in ("A", "B")]
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):
            for name in ("a.txt", "b.txt"):
                try:
                    text = (out / name).read_text()
                except FileNotFoundError:
                    missing += 1
                    continue
                assert _complete(text), text[:40]
        for p in procs:
            p.join()
            failed += p.exitcode != 0
        final = {(out / n).read_text().split("\n")[0] for n in ("a.txt", "b.txt")}
        assert len(final) == 1 and final.pop() in ("A-3", "B-3")   # one complete result
        leftovers = [s for s in _siblings(out) if not s.endswith(".v")]
        assert leftovers == [], leftovers
        if no_exchange:   # the target is a link to the one current version
            assert len(_siblings(out)) == 1 and (out).is_symlink()
    return missing, failed


def test_two_writers_stress_reader_never_sees_none(tmp_path):
    """50 trials, two writer processes x 4 forced replacements each, a reader polling: the
    target is never missing or partial, no writer fails, nothing is left beside it. (Old
    code: the reader found the target missing thousands of times and writers failed.)"""
    t0 = time.perf_counter()
    missing, failed = _stress(tmp_path, 50, no_exchange=False)
    assert (missing, failed) == (0, 0)
    assert time.perf_counter() - t0 < 60


def test_two_writers_stress_without_exchange(tmp_path, monkeypatch):
    """The same with renameat2 unavailable: symlink flips, still never missing."""
    monkeypatch.setattr(sio, "_exchange", _no_exchange)
    missing, failed = _stress(tmp_path, 10, no_exchange=True)
    assert (missing, failed) == (0, 0)


def test_fallback_replaces_a_real_folder_and_collects_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(sio, "_exchange", _no_exchange)
    out = tmp_path / "rep"
    _write_version(out, "one", force=False)
    assert out.is_dir() and not out.is_symlink()
    for token in ("two", "three"):
        _write_version(out, token)
        assert (out / "a.txt").read_text().startswith(token)
        assert out.is_symlink() and len(_siblings(out)) == 1      # one version kept
    with pytest.raises(FileExistsError, match="force"):
        _write_version(out, "four", force=False)


def test_exchange_keeps_a_real_folder(tmp_path):
    out = tmp_path / "rep"
    _write_version(out, "one", force=False)
    _write_version(out, "two")
    assert out.is_dir() and not out.is_symlink() and _siblings(out) == []
    assert (out / "b.txt").read_text().startswith("two")


def test_second_writer_without_force_gets_file_exists(tmp_path):
    out = tmp_path / "rep"
    with pytest.raises(FileExistsError, match="force"), atomic_directory(out) as tmp:
        (tmp / "x").write_text("mine")
        _write_version(out, "other", force=False)   # another writer finished first
    assert (out / "a.txt").read_text().startswith("other") and _siblings(out) == []


_HOLD = textwrap.dedent("""
    import sys, time
    from simulations.io import atomic_directory, atomic_write
    kind, target = sys.argv[1], sys.argv[2]
    if kind == "dir":
        with atomic_directory(target) as tmp:
            (tmp / "part").write_text("half")
            print("ready", flush=True)
            time.sleep(60)
    else:
        import simulations.io as sio, os
        real_replace = os.replace
        def slow_replace(a, b):
            print("ready", flush=True)
            time.sleep(60)
        sio.os.replace = slow_replace
        atomic_write(target, "new")
""")


def _start_holder(kind, target):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, kind, str(target)], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_kill_9_leftover_removed_by_next_run_live_one_kept(tmp_path, kind):
    """kill -9 mid-write leaves a temporary; a run while its writer lives keeps it, the
    next run after the death removes it. (Old code: never removed.)"""
    target = tmp_path / "target"
    proc = _start_holder(kind, target)
    try:
        assert len(_siblings(target)) == 1
        assert remove_leftovers(target) == []          # the writer is alive: kept
        assert len(_siblings(target)) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert len(_siblings(target)) == 1 and not target.exists()
    if kind == "dir":
        with atomic_directory(target) as tmp:
            (tmp / "ok").write_text("ok")
    else:
        atomic_write(target, "ok")
    assert _siblings(target) == []


def test_legacy_leftovers_without_pid_removed_when_old(tmp_path):
    target = tmp_path / "out"
    old = tmp_path / ".out.abcd1234.tmp"
    young = tmp_path / ".out.efgh5678.old"
    old.mkdir()
    young.mkdir()
    past = time.time() - 2 * sio.LEGACY_LEFTOVER_AGE
    os.utime(old, (past, past))
    assert remove_leftovers(target) == [old.name]
    assert young.exists() and not old.exists()


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "simulations", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_temp(target, proc, timeout=120):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if _siblings(target):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 130), (signal.SIGKILL, -9)])
def test_cli_derive_all_signal(tmp_path, sig, status):
    """SIGTERM during `derive --all` is handled like Ctrl-C (exit 130, nothing left);
    after kill -9 the next run removes the leftover."""
    target = tmp_path / "derivs"
    proc = _cli("derive", "--all", "--out", str(target))
    assert _wait_for_temp(target, proc), proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert not target.exists()
    if sig == signal.SIGTERM:
        assert _siblings(target) == [] and "interrupted" in err
    else:
        assert len(_siblings(target)) == 1
        with atomic_directory(target) as tmp:   # the next run (any writer of the target)
            (tmp / "x").write_text("x")
        assert _siblings(target) == []


def test_cli_report_sigterm_leaves_nothing(tmp_path):
    target = tmp_path / "rep"
    proc = _cli("report", "--out", str(target))
    assert _wait_for_temp(target, proc), proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert not target.exists() and _siblings(target) == []


def _children(pid):
    out = []
    for f in Path(f"/proc/{pid}/task").glob("*/children"):
        out += [int(p) for p in f.read_text().split()]
    return out


def _gone(pids, timeout=30):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        alive = []
        for p in pids:
            try:
                stat = Path(f"/proc/{p}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] != "Z":
                alive.append(p)
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_cli_report_leaves_no_process_behind(tmp_path, sig):
    """The report's worker processes (derivations) and its figure-rendering children die
    with it, also on kill -9 (they would otherwise wait on their queues for ever)."""
    target = tmp_path / "rep"
    proc = _cli("report", "--out", str(target))
    t0 = time.perf_counter()
    kids = []
    while time.perf_counter() - t0 < 120 and proc.poll() is None:
        kids = _children(proc.pid)
        if len(kids) >= 3:      # the pool's workers and at least one renderer
            break
        time.sleep(0.05)
    assert len(kids) >= 3, proc.communicate()
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    assert _gone(kids), kids
    assert not target.exists()


@pytest.mark.parametrize("delay", [0.3, 0.6, 1.0, 1.5, 2.5])
def test_cli_report_sigterm_at_any_moment(tmp_path, delay):
    """SIGTERM early on, while the report is still importing (where an interrupt can land
    in a callback that drops it, or in an extension's init that turns it into an
    ImportError): always exit 130, nothing written, nothing left."""
    target = tmp_path / "rep"
    proc = _cli("report", "--out", str(target))
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "internal error" not in err
    assert not target.exists() and _siblings(target) == []


def test_a_lost_interrupt_is_raised_again():
    """The SIGALRM retry raises a pending interrupt again, except while one is unwinding."""
    from simulations.cli import _main

    _main._PENDING.append(signal.SIGTERM)
    try:
        with pytest.raises(KeyboardInterrupt):
            _main._retry(signal.SIGALRM, None)
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            try:
                raise OSError("cleanup")
            except OSError:
                _main._retry(signal.SIGALRM, None)   # unwinding: no second interrupt
    finally:
        _main._PENDING.clear()
    _main._retry(signal.SIGALRM, None)   # nothing pending: nothing raised


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_cli_train_sigterm_stops_the_runs_at_once(tmp_path):
    """SIGTERM during `train` with worker processes: the runs are stopped at once (not
    finished first), exit 130, no output, no process left."""
    target = tmp_path / "train"
    proc = _cli("train", "--model", "cnn", "--depth", "6", "--norm", "bn", "-m", "2",
                "--epochs", "40", "--seeds", "2", "--workers", "2", "--out", str(target))
    t0 = time.perf_counter()
    kids = []
    while time.perf_counter() - t0 < 120 and proc.poll() is None and len(kids) < 2:
        kids = _children(proc.pid)
        time.sleep(0.1)
    time.sleep(2.0)
    kids = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    t1 = time.perf_counter()
    _, err = proc.communicate(timeout=120)
    assert time.perf_counter() - t1 < 15, "waited for the runs to finish"
    assert proc.returncode == 130, err
    assert _gone(kids), kids
    assert not target.exists() and _siblings(target) == []
