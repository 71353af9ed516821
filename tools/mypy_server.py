"""Type-check the server package strictly: ``python tools/mypy_server.py`` (``make lint`` runs it).

The server's sources live in ``server/`` but import each other as ``pgboard_server`` (pyproject's
package-dir), which mypy cannot map; the editable install's import hook is invisible to it too. So
the package is copied under its real name into a temporary folder that mypy searches, and the paths of
what it reports are put back as ``server/...``. The pure modules the server imports from ``pgboard``
are checked with it (found from the repository). ``--client`` checks the client package ``pgboard``
too (as configured in pyproject, not strict), with the server found the same way (hosting imports it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / "pgboard_server"
        shutil.copytree(ROOT / "server", pkg, ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "MYPYPATH": tmp}
        cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "pgboard_server"]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        text = (out.stdout + out.stderr).replace(str(pkg) + os.sep, "server" + os.sep)
        code = out.returncode
        if "--client" in sys.argv[1:]:
            cmd = [sys.executable, "-m", "mypy", "--no-incremental", "-p", "pgboard"]
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
            text += (out.stdout + out.stderr).replace(str(pkg) + os.sep, "server" + os.sep)
            code = code or out.returncode
    print(text, end="")
    return code


if __name__ == "__main__":
    sys.exit(main())
