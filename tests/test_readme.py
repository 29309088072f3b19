"""The README's two set-up commands, and .ci/run running command 2 verbatim."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_command(number: int) -> str:
    """The shell line in README.md's fenced block between the ci:command-N markers."""
    text = (REPO / "README.md").read_text()
    match = re.search(
        rf"<!-- ci:command-{number} -->\n```bash\n(.*?)\n```\n<!-- /ci:command-{number} -->", text, re.S
    )
    assert match, f"README.md has no ci:command-{number} block"
    return match.group(1)


def test_exactly_two_one_line_commands() -> None:
    """Two set-up commands, one shell line each."""
    text = (REPO / "README.md").read_text()
    assert re.findall(r"<!-- ci:command-(\d) -->", text) == ["1", "2"]
    for number in (1, 2):
        assert "\n" not in readme_command(number)
    assert readme_command(1).startswith("pip install . && siam-rt")
    assert "pip install torch==2.13.0" in readme_command(2)
    assert readme_command(2).endswith("python -m pytest")


def test_ci_runs_command_2_verbatim() -> None:
    """`.ci/run --print` extracts exactly README command 2."""
    proc = subprocess.run(
        ["bash", str(REPO / ".ci" / "run"), "--print"], capture_output=True, text=True, check=True
    )
    assert proc.stdout == readme_command(2) + "\n"
