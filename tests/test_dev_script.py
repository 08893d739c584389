"""``./dev serve`` on a fresh clone: it says what it installs and lets pip show its progress.

The script runs for real, in a copy of the repository's ``dev`` and ``pyproject.toml``; only the Python it is
given is a stand-in that records its calls (creating a virtualenv and installing would need the network).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e

FAKE_PYTHON = textwrap.dedent("""\
    #!/usr/bin/env bash
    # Records each call; `-m venv DIR` makes a virtualenv of stand-ins, `-m pip` prints as pip would.
    echo "python $*" >> "$FAKE_LOG"
    case "$1 ${2:-}" in
        "-m venv")
            mkdir -p "$3/bin"
            cp "$0" "$3/bin/python"
            printf '#!/usr/bin/env bash\\necho "honeydue $*" >> "$FAKE_LOG"\\n' > "$3/bin/honeydue"
            chmod +x "$3/bin/honeydue" ;;
        "-m pip") echo "Collecting stand-in-dependency>=1.0" ;;
    esac
    """)
# What the script needs from the system; npm is left out, so GraphiQL's assets are not fetched.
TOOLS = ("bash", "env", "sha256sum", "cut", "tr", "mkdir", "cp", "chmod", "touch", "dirname", "cat")


def run_dev(clone: Path, log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(clone / "dev"), *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(clone / "bin"), "PYTHON": str(clone / "fake-python"),
                               "FAKE_LOG": str(log), "HOME": str(clone)})


def test_first_serve_says_what_it_installs_and_shows_pips_progress(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / "bin").mkdir(parents=True)
    for tool in TOOLS:
        (clone / "bin" / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    shutil.copy2(REPO / "dev", clone / "dev")
    shutil.copy2(REPO / "pyproject.toml", clone / "pyproject.toml")
    fake = clone / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"

    first = run_dev(clone, log, "serve", "--port", "8123")
    assert first.returncode == 0, first.stderr
    assert "installing honeydue (.) and its dependencies from pyproject.toml into .venv/" in first.stderr
    assert "Collecting stand-in-dependency>=1.0" in first.stdout  # pip's own output reaches the terminal
    pip_calls = [line for line in log.read_text().splitlines() if " -m pip " in line]
    assert pip_calls == ["python -m pip install --progress-bar on --upgrade pip",
                         "python -m pip install --progress-bar on -e ."]
    assert log.read_text().splitlines()[-1] == "honeydue serve --port 8123"

    # Installed once: the next start is quiet and goes straight to serving.
    log.write_text("")
    second = run_dev(clone, log, "serve")
    assert second.returncode == 0, second.stderr
    assert "installing" not in second.stderr
    assert log.read_text().splitlines() == ["honeydue serve"]
    assert os.access(clone / ".venv" / "bin" / "honeydue", os.X_OK)
