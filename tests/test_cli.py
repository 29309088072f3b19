"""The `siam-rt` entry point: version, errors, grouping helpers, and no torch at import."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import siam_rt
import siam_rt.cli
import siam_rt.cli.devices
from siam_rt.cli.common import add_group, add_model_option, add_out_option
from siam_rt.errors import SiamError


def test_version(cli) -> None:
    """`--version` prints `siam-rt X.Y.Z`."""
    proc = cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"siam-rt {siam_rt.__version__}"


def test_console_script() -> None:
    """The installed `siam-rt` script runs."""
    exe = shutil.which("siam-rt")
    if exe is None:
        pytest.skip("siam-rt is not installed (pip install -e .)")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == f"siam-rt {siam_rt.__version__}"


def test_unknown_command_fails(cli) -> None:
    """An unknown subcommand exits nonzero with argparse's message."""
    proc = cli("no-such-command")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_no_command_prints_help(cli) -> None:
    """No command: the help, exit 2."""
    proc = cli()
    assert proc.returncode == 2
    assert "devices" in proc.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import siam_rt, siam_rt.cli, siam_rt.errors, siam_rt.resources, siam_rt.io.devices",
        "from siam_rt.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
        "from siam_rt.cli import main\nmain(['devices'])",
    ],
    ids=["import", "version", "devices"],
)
def test_no_torch(code: str, cli) -> None:
    """Neither `import siam_rt` nor a runtime command imports torch; --version does not load sounddevice."""
    check = "\nimport sys\nprint('LOADED', sorted(m for m in ('torch', 'sounddevice') if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code + check], capture_output=True, text=True, env=cli.env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.rsplit("LOADED", 1)[1]
    assert "torch" not in loaded
    if "devices" not in code:
        assert "sounddevice" not in loaded


def test_siam_error_is_reported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A SiamError becomes `siam-rt: error: <message>` on stderr and exit code 2, without a traceback."""

    def boom(args: argparse.Namespace) -> int:
        raise SiamError("song.mid: not a MIDI file")

    monkeypatch.setattr(siam_rt.cli.devices, "run", boom)
    assert siam_rt.cli.main(["devices"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "siam-rt: error: song.mid: not a MIDI file"


def test_ctrl_c(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C exits 130 without a traceback."""

    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(siam_rt.cli.devices, "run", interrupted)
    assert siam_rt.cli.main(["devices"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_group_helper(tmp_path: Path) -> None:
    """A command group dispatches to its subcommands and prints its help without one; conventions parse."""
    parser = argparse.ArgumentParser(prog="siam-rt")
    subparsers = parser.add_subparsers()
    group = add_group(subparsers, "eval", help="evaluate")
    model = group.add_parser("model")
    add_model_option(model)
    add_out_option(model, help="report file")
    model.set_defaults(func=lambda args: 7)

    args = parser.parse_args(["eval", "model", "--model", str(tmp_path), "-o", "r.json"])
    assert args.func(args) == 7
    assert args.model == tmp_path and str(args.out) == "r.json"
    bare = parser.parse_args(["eval"])
    assert bare.func is None and bare.group_parser.prog == "siam-rt eval"
    assert parser.parse_args(["eval", "model"]).model is None
