"""Test set-up: pygame runs headless (dummy drivers) before anything imports it; the reliability
report (tests/reliability.py) is written at the end when ``--reliability-report FILE`` is given."""

import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import reliability  # noqa: E402 - after the environment above


def pytest_addoption(parser):
    parser.addoption(
        "--reliability-report",
        metavar="FILE",
        default=None,
        help="write the fuzz and fault figures (tests/reliability.py) to FILE as markdown",
    )


def pytest_runtest_logreport(report):
    if report.failed:
        reliability.REPORT.failed.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--reliability-report")
    if path and (reliability.REPORT.findings or reliability.REPORT.abuses):
        command = "pytest " + " ".join(sys.argv[1:]) if sys.argv else "pytest"
        Path(path).write_text(reliability.render(reliability.REPORT, command), encoding="utf-8")
