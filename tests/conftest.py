"""Test set-up: pygame runs headless (dummy drivers) before anything imports it; the reliability
report (tests/reliability.py) is written at the end when ``--reliability-report FILE`` is given."""

import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("PGBOARD_DEBUG_LOCKS", "1")  # the server's lock order is checked (server/lockorder.py)

import pytest  # noqa: E402
import reliability  # noqa: E402 - after the environment above


def pytest_addoption(parser):
    parser.addoption(
        "--reliability-report",
        metavar="FILE",
        default=None,
        help="write the fuzz and fault figures (tests/reliability.py) to FILE as markdown",
    )


@pytest.fixture(autouse=True)
def _the_lock_order_held():
    """A server thread that breaks the lock order only logs the error: fail the test that made it."""
    yield
    lockorder = sys.modules.get("pgboard_server.lockorder")
    if lockorder is not None and lockorder.VIOLATIONS:
        caught = list(lockorder.VIOLATIONS)
        lockorder.VIOLATIONS.clear()
        pytest.fail(f"the server's lock order was broken: {caught}")


def pytest_runtest_logreport(report):
    if report.failed:
        reliability.REPORT.failed.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--reliability-report")
    if path and (reliability.REPORT.findings or reliability.REPORT.abuses):
        command = "pytest " + " ".join(sys.argv[1:]) if sys.argv else "pytest"
        Path(path).write_text(reliability.render(reliability.REPORT, command), encoding="utf-8")


from fixtures import screen, server  # noqa: E402,F401 - every test's screen and server (tests/fixtures.py)
