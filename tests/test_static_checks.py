"""Lint (ruff) and type check (mypy) as part of the suite, so a change that breaks either fails the tests.

Both tools run from the test environment (``sys.executable -m ...``) at the repository root, so they read
``pyproject.toml``'s ``[tool.ruff]`` and ``[tool.mypy]`` (the five packages, stale ``type: ignore`` comments
reported) exactly as a developer's command line does. mypy keeps its incremental cache in the git-ignored
``.mypy_cache/``: the first run in a fresh clone takes tens of seconds, later ones a few.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=240)


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, report(result)


def test_mypy_finds_nothing() -> None:
    result = run_tool("mypy")
    assert result.returncode == 0, report(result)
    # A passing run must have looked at every module of the configured packages, honeydue/ at least:
    # an excluded or misspelt package would otherwise pass by checking less.
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"]
    assert "honeydue" in packages
    checked = re.search(r"Success: no issues found in (\d+) source files", result.stdout)
    assert checked is not None, report(result)
    modules = sum(1 for package in packages for _ in (ROOT / package).rglob("*.py"))
    assert int(checked.group(1)) >= modules, report(result)


def test_input_rejected_is_caught_in_one_place() -> None:
    """User errors reach a client one way only: ``honeydue.user_errors.attempt`` (see ``schema.mutation``)."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"]
    catchers = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ExceptHandler) and "InputRejected" in ast.unparse(node.type or node):
                    catchers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert [c.split(":")[0] for c in catchers] == ["honeydue/user_errors.py"], catchers
