"""The CI rule of conftest.py, run on a throw-away test file: under CI a skipped JACK test fails the run, while
an expected failure (a test that ran and states its figures) does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
BODY = {
    "skip": "pytest.skip('no JACK here')",
    "xfail": "pytest.xfail('late by 3 periods, with 12 xruns')",
}


@pytest.mark.parametrize(("outcome", "ci", "code"), [("skip", "true", 1), ("skip", "", 0), ("xfail", "true", 0)])
def test_ci_fails_a_run_with_a_skipped_jack_test(tmp_path: Path, outcome: str, ci: str, code: int) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_one.py").write_text(
        f"import pytest\n\n@pytest.mark.jack\ndef test_it():\n    {BODY[outcome]}\n")
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "PYTHONPATH": str(CONFTEST.parent.parent)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert ("JACK tests must run: this run fails" in proc.stdout) == (code == 1), proc.stdout
