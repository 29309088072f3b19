"""Shared test fixtures: a real JACK server on the dummy driver, and the rule that CI never skips JACK tests.

The server gets a name of its own (JACK_DEFAULT_SERVER, set for this process and every subprocess), so
the tests neither touch a JACK server the user runs nor see it. JACK needs no sound card: the dummy driver is
a real server with a clock. PortAudio lists host APIs when it initialises, so audio code runs in subprocesses
started while the server runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.jack_harness import JackServer  # the one JACK server of the tests and the benchmarks

REPO = Path(__file__).resolve().parent.parent

SERVER_NAME = f"siam-rt-test-{os.getpid()}"
DEFAULT_PERIOD = 256
RATE = 48000
JACK_TOOLS = ("jackd", "jack_lsp")
INSTALL_HINT = "apt-get install jackd2 jack-capture libportaudio2 (as root)"

# The user's own presets folder (resources.user_presets_dir) is an empty one of the test run's: a developer's
# presets never change what the tests see. Tests of the user folder point it elsewhere.
os.environ["SIAM_RT_PRESETS"] = str(Path("/tmp") / f"siam-rt-test-user-presets-{os.getpid()}")

# Every process of the test run talks to our server only, and nothing ever starts a server by itself.
os.environ["JACK_DEFAULT_SERVER"] = SERVER_NAME
os.environ["JACK_NO_START_SERVER"] = "1"


def ci_enabled() -> bool:
    """True when the environment variable CI is set to something other than empty, 0 or false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class JackManager:
    """Keeps at most one test server alive, reused by tests that ask for the same period."""

    def __init__(self) -> None:
        self.server: JackServer | None = None
        self.failure: str | None = None

    def ensure(self, period: int) -> JackServer:
        """A running server with ``period``; skips the test (with the reason) when JACK is not usable here."""
        missing = [tool for tool in JACK_TOOLS if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"JACK tools not found: {', '.join(missing)}; install with: {INSTALL_HINT}")
        if self.failure:
            pytest.skip(self.failure)
        if self.server and self.server.period == period and self.server.running():
            return self.server
        self.stop()
        server = JackServer(period, RATE, SERVER_NAME)
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            self.failure = str(exc)  # one failed start is enough: the other JACK tests skip at once
            pytest.skip(self.failure)
        self.server = server
        return server

    def stop(self) -> None:
        """Stop the server if one runs."""
        if self.server:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def jack_manager() -> Iterator[JackManager]:
    """The session's JACK server keeper; stops the server at the end."""
    manager = JackManager()
    yield manager
    manager.stop()


@pytest.fixture
def jack_server(request: pytest.FixtureRequest, jack_manager: JackManager) -> JackServer:
    """A real JACK server (dummy driver, 48 kHz). Period 256 unless parametrised indirectly:
    ``@pytest.mark.parametrize("jack_server", [128], indirect=True)``."""
    return jack_manager.ensure(getattr(request, "param", DEFAULT_PERIOD))


@pytest.fixture
def no_jack_server(jack_manager: JackManager) -> None:
    """Guarantees that the test's JACK server is not running (other servers are invisible by name)."""
    jack_manager.stop()


@pytest.fixture
def jack_capture_bin() -> str:
    """Path of jack_capture, or skip saying how to install it."""
    path = shutil.which("jack_capture")
    if path is None:
        pytest.skip(f"jack_capture not found; install with: {INSTALL_HINT}")
    return path


class Cli:
    """Runs `python -m siam_rt ARGS` from this checkout in a new process (so PortAudio scans afresh)."""

    def __init__(self) -> None:
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), self.env.get("PYTHONPATH", "")]))

    def __call__(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI with extra environment variables ``env``; returns the finished process."""
        return subprocess.run(
            [sys.executable, "-m", "siam_rt", *args],
            capture_output=True,
            text=True,
            env={**self.env, **env},
            timeout=timeout,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def cli() -> Cli:
    """Run `siam-rt` in a subprocess: ``cli("devices")``."""
    return Cli()


# -- CI: JACK tests must run ---------------------------------------------------------------------------

_skipped_jack: list[tuple[str, str]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the jack_server fixture is marked `jack`."""
    for item in items:
        if "jack_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.jack)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skipped `jack` tests (an expected failure ran, and states its figures: it is not a skip)."""
    if report.skipped and not hasattr(report, "wasxfail") and "jack" in report.keywords:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped_jack.append((report.nodeid, reason))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Explain, under CI, why the run fails although nothing failed."""
    if _skipped_jack and ci_enabled():
        terminalreporter.section("JACK tests skipped under CI", sep="=", red=True, bold=True)
        for nodeid, reason in _skipped_jack:
            terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line("CI is set, so JACK tests must run: this run fails.")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped `jack` test fails the run."""
    if _skipped_jack and ci_enabled() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
