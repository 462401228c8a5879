"""The CLI contract shared by every command, and the atomic-output helpers."""

import argparse
import json
import os
import stat

import pytest

from simulations.cli import _main as _cli
from simulations.io import atomic_directory, atomic_write, dumps_json, to_jsonable


def _leaf_parsers(parser, path=()):
    """Yield (command path, parser) for every runnable (sub)command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaf_parsers(child, path + (name,))


LEAVES = list(_leaf_parsers(_cli.build_parser()))


def test_every_expected_command_is_registered():
    names = {" ".join(p) for p, _ in LEAVES}
    assert {"theory", "derive", "simulate bn", "simulate mbn", "simulate regularizer",
            "schedule", "regularizer", "bench", "report"} <= names


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=" ".join)
def test_every_command_has_help_json_and_seed(path, capsys):
    with pytest.raises(SystemExit) as exc:
        _cli.main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--json" in out and "--seed" in out


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=" ".join)
def test_unknown_option_is_one_line_and_status_2(path, capsys):
    with pytest.raises(SystemExit) as exc:
        _cli.main([*path, "--no-such-option"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--no-such-option" in err


def test_output_file_in_missing_folder_is_refused_before_any_work(tmp_path, capsys):
    target = tmp_path / "missing" / "x.csv"
    with pytest.raises(SystemExit) as exc:
        _cli.main(["simulate", "bn", "-m", "4", "-n", "10", "--out", str(target)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "does not exist" in err
    with pytest.raises(SystemExit):
        _cli.main(["simulate", "bn", "-m", "4", "-n", "10", "--out", str(tmp_path)])
    assert "is a folder" in capsys.readouterr().err


def test_os_error_during_run_is_one_line_and_status_2(monkeypatch, capsys):
    def boom(args):
        raise PermissionError(13, "Permission denied", "/somewhere/report")
    parser = _cli.build_parser()
    monkeypatch.setattr(_cli, "build_parser", lambda: parser)
    parser.set_defaults(func=boom)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            action.choices["theory"].set_defaults(func=boom)
    assert _cli.main(["theory"]) == 2
    err = capsys.readouterr().err
    assert err == "bn-noise theory: error: cannot write '/somewhere/report': Permission denied\n"


def test_atomic_write_has_normal_permissions_and_no_leftovers(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write(target, "hello")
    assert target.read_text() == "hello"
    mode = stat.S_IMODE(os.stat(target).st_mode)
    assert mode == 0o666 & ~_umask()
    assert os.listdir(tmp_path) == ["a.txt"]


def test_atomic_write_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write(target, "old")

    with pytest.raises(TypeError):
        atomic_write(target, 12345)  # neither str nor bytes: write() fails mid-way
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_atomic_directory_is_all_or_nothing(tmp_path):
    out = tmp_path / "rep"
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(out) as tmp:
            (tmp / "half.md").write_text("half")
            raise KeyboardInterrupt
    assert not out.exists() and os.listdir(tmp_path) == []
    with atomic_directory(out) as tmp:
        (tmp / "report.md").write_text("v1")
    assert (out / "report.md").read_text() == "v1"
    with pytest.raises(FileExistsError, match="--force"):
        with atomic_directory(out):
            pass
    with atomic_directory(out, force=True) as tmp:
        (tmp / "report.md").write_text("v2")
    assert (out / "report.md").read_text() == "v2"
    assert sorted(os.listdir(tmp_path)) == ["rep"]


def test_json_is_strict_and_keeps_infinities_as_strings():
    import numpy as np

    text = dumps_json({"a": np.float64("inf"), "b": [np.int64(3), -np.inf], "c": np.nan})
    assert json.loads(text) == {"a": "inf", "b": [3, "-inf"], "c": "nan"}
    assert to_jsonable(np.array([1.5, 2.5])) == [1.5, 2.5]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_table_cells_spell_out_non_finite_values():
    import numpy as np

    from simulations.io import format_value

    assert [format_value(v) for v in (np.float64("inf"), -np.inf, np.nan, None, np.int64(7),
                                     1 / 3, "x")] == ["inf", "-inf", "nan", "", "7",
                                                      "0.333333", "x"]
    assert format_value(0.5, ".2f") == "0.50"
